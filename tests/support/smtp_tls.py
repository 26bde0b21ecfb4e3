"""An SMTP server speaking TLS with a certificate made here by ``openssl``, for the tests
of the email channel's transport security.

The test process is eventlet-patched, so the server (aiosmtpd on asyncio) runs as its
own process: ``python -m tests.support.smtp_tls --mode starttls|implicit|plain ...``.
It writes one JSON line per login and per mail to its record file, each saying whether
the connection was encrypted, so a test can prove a password never crossed in clear.
``starttls`` offers STARTTLS and AUTH only after it (as a careful mail server does);
``implicit`` is TLS from the first byte (``smtps://``); ``plain`` has no TLS and takes a
login anyway (a development sink, or an attacker who strips STARTTLS). Each record names
the client's port (``peer``: one per connection); a mail's its ``Message-ID``. A mail to
an address starting ``busy`` is answered ``451``; with ``--close-after-mail`` the server
closes each session just after answering a mail (as one dropping idle sessions does).

    with SmtpServer.start(tmp_path, "starttls", cert, key) as server:
        EmailChannel(f"smtp://u:p@127.0.0.1:{server.port}?cafile={cert}", ...).send(...)
        assert server.record() == [{"kind": "login", "tls": True}, {"kind": "mail", ...}]
"""
import argparse
import json
import ssl
import subprocess
import time
from pathlib import Path

from tests.support.server_process import ServerProcess


def certificate(directory, name, subject_alt_name):
    """A self-signed certificate and its key, made by openssl: ``(cert_path, key_path)``."""
    key, cert = Path(directory) / f"{name}.key", Path(directory) / f"{name}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", f"/CN={name}", "-addext", f"subjectAltName={subject_alt_name}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


class SmtpServer(ServerProcess):
    kind = "SMTP server"

    @classmethod
    def start(cls, directory, mode, cert=None, key=None, timeout=15, close_after_mail=False):
        from tests.support.system import free_port  # not in the server's own process

        port, record_path = free_port(), Path(directory) / f"smtp-{mode}.jsonl"
        record_path.write_text("", encoding="utf-8")
        arguments = ["--mode", mode, "--port", str(port), "--record", str(record_path)]
        if cert:
            arguments += ["--cert", str(cert), "--key", str(key)]
        if close_after_mail:
            arguments.append("--close-after-mail")
        return cls.launch("tests.support.smtp_tls", arguments, port, record_path, timeout)

    def record(self, detailed=False):
        """What the server saw so far: ``[{"kind": "login" | "mail", "tls": bool, ...}]``;
        ``detailed``: with each one's ``peer`` and a mail's ``message_id``."""
        text = self.record_path.read_text(encoding="utf-8")
        seen = [json.loads(line) for line in text.splitlines() if line]
        if detailed:
            return seen
        return [{k: v for k, v in item.items() if k not in ("peer", "message_id")} for item in seen]


def serve(mode, port, record_path, cert=None, key=None,
          close_after_mail=False):  # pragma: no cover - its own process
    import asyncio  # aiosmtpd's, in this unpatched process
    import email

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    def write(**fields):
        with open(record_path, "a", encoding="utf-8") as record:
            record.write(json.dumps(fields) + "\n")

    def encrypted(server, session):  # by STARTTLS, or from the first byte
        return session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None

    class Recorder:
        async def handle_DATA(self, server, session, envelope):
            if envelope.rcpt_tos[0].startswith("busy"):
                return "451 4.3.0 busy, try again later"
            message_id = email.message_from_bytes(envelope.original_content).get("Message-ID")
            write(kind="mail", to=envelope.rcpt_tos, tls=encrypted(server, session),
                  peer=session.peer[1], message_id=message_id)
            if close_after_mail:
                asyncio.get_running_loop().call_later(0.05, server.transport.close)
            return "250 2.0.0 accepted"

    def any_login(server, session, envelope, mechanism, auth_data):
        write(kind="login", user=auth_data.login.decode(), tls=encrypted(server, session),
              peer=session.peer[1])
        return AuthResult(success=True)

    context = None
    if cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
    options = {"authenticator": any_login, "auth_require_tls": mode == "starttls"}
    if mode == "starttls":
        options["tls_context"] = context
    elif mode == "implicit":
        options["ssl_context"] = context
    controller = Controller(Recorder(), hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("starttls", "implicit", "plain"), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--close-after-mail", action="store_true")
    arguments = parser.parse_args()
    serve(arguments.mode, arguments.port, arguments.record, arguments.cert, arguments.key,
          arguments.close_after_mail)
