"""An SMTP server speaking TLS with a certificate made here by ``openssl``, for the tests
of the email channel's transport security.

The test process is eventlet-patched, so the server (aiosmtpd on asyncio) runs as its
own process: ``python -m tests.support.smtp_tls --mode starttls|implicit|plain ...``.
It writes one JSON line per login and per mail to its record file, each saying whether
the connection was encrypted, so a test can prove a password never crossed in clear.
``starttls`` offers STARTTLS and AUTH only after it (as a careful mail server does);
``implicit`` is TLS from the first byte (``smtps://``); ``plain`` has no TLS and takes a
login anyway (a development sink, or an attacker who strips STARTTLS).

    with SmtpServer.start(tmp_path, "starttls", cert, key) as server:
        EmailChannel(f"smtp://u:p@127.0.0.1:{server.port}?cafile={cert}", ...).send(...)
        assert server.record() == [{"kind": "login", "tls": True}, {"kind": "mail", ...}]
"""
import argparse
import json
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def certificate(directory, name, subject_alt_name):
    """A self-signed certificate and its key, made by openssl: ``(cert_path, key_path)``."""
    key, cert = Path(directory) / f"{name}.key", Path(directory) / f"{name}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", f"/CN={name}", "-addext", f"subjectAltName={subject_alt_name}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


class SmtpServer:
    def __init__(self, process, port, record_path):
        self.process, self.port, self.record_path = process, port, record_path

    @classmethod
    def start(cls, directory, mode, cert=None, key=None, timeout=15):
        from tests.support.system import free_port  # not in the server's own process

        port, record_path = free_port(), Path(directory) / f"smtp-{mode}.jsonl"
        record_path.write_text("", encoding="utf-8")
        command = [sys.executable, "-m", "tests.support.smtp_tls", "--mode", mode,
                   "--port", str(port), "--record", str(record_path)]
        if cert:
            command += ["--cert", str(cert), "--key", str(key)]
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        server = cls(process, port, record_path)
        server._wait_ready(timeout)
        return server

    def record(self):
        """What the server saw so far: ``[{"kind": "login" | "mail", "tls": bool, ...}]``."""
        text = self.record_path.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the SMTP server exited: {self.process.stderr.read()!r}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the SMTP server did not listen in {timeout}s") from None
                time.sleep(0.1)


def serve(mode, port, record_path, cert=None, key=None):  # pragma: no cover - its own process
    import asyncio  # noqa: F401 - aiosmtpd's, in this unpatched process

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    def write(**fields):
        with open(record_path, "a", encoding="utf-8") as record:
            record.write(json.dumps(fields) + "\n")

    def encrypted(server, session):  # by STARTTLS, or from the first byte
        return session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None

    class Recorder:
        async def handle_DATA(self, server, session, envelope):
            write(kind="mail", to=envelope.rcpt_tos, tls=encrypted(server, session))
            return "250 2.0.0 accepted"

    def any_login(server, session, envelope, mechanism, auth_data):
        write(kind="login", user=auth_data.login.decode(), tls=encrypted(server, session))
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
    arguments = parser.parse_args()
    serve(arguments.mode, arguments.port, arguments.record, arguments.cert, arguments.key)
