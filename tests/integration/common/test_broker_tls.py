"""``amqps://`` verifies the broker: its certificate against the trusted CAs
(``SSL_CERT_FILE``) and its name against the host connected to.

A TLS server on loopback plays the broker's listener with certificates made here by
``openssl``; the services' own broker check (``check_broker``, the same connection
options as the outbox publisher and the consumers) connects to it. The handshake is
all that is tested: no AMQP is spoken after it.
"""
import socket
import ssl
import subprocess
import threading

import pytest

from services.common.config import amqp_ssl, nameko_config
from services.common.observability import check_broker


def certificate(directory, name, subject_alt_name):
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", f"/CN={name}", "-addext", f"subjectAltName={subject_alt_name}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


class TlsListener:
    """Accepts connections on loopback and completes (or fails) the TLS handshake.

    Its thread polls a stop flag instead of being closed under: closing a socket that a
    green thread waits on leaves eventlet's hub listening on a number the next socket
    reuses."""

    def __init__(self, cert, key):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.handshakes = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                connection, _ = self.sock.accept()
            except socket.timeout:
                continue
            connection.settimeout(5)
            try:
                with self.context.wrap_socket(connection, server_side=True):
                    self.handshakes.append("ok")
            except (ssl.SSLError, OSError) as exc:
                self.handshakes.append(type(exc).__name__)

    def close(self):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def certificates(tmp_path):
    return {"right": certificate(tmp_path, "broker", "IP:127.0.0.1"),
            "other": certificate(tmp_path, "other", "DNS:broker.example")}


def broker_check_failure(port):
    try:
        check_broker(f"amqps://zd-intake:secret@127.0.0.1:{port}/zd")
    except Exception as exc:  # any failure: the listener speaks no AMQP after the handshake
        return exc
    raise AssertionError("the check passed against a listener that is no broker")


def caused_by_verification(exc):
    while exc is not None:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return exc.verify_message
        exc = exc.__cause__ or exc.__context__
    return None


def test_amqps_uris_ask_for_verification_and_amqp_ones_for_none():
    assert amqp_ssl("amqps://u:p@mq-1:5671/zd;amqps://u:p@mq-2:5671/zd") == {"server_hostname": None}
    assert amqp_ssl("amqp://u:p@mq:5672/zd") is None
    assert amqp_ssl("amqps://u:p@mq/zd") is not amqp_ssl("amqps://u:p@mq/zd")  # kombu fills it in


def test_the_services_consumers_get_the_same_option(monkeypatch):
    monkeypatch.setenv("ZD_NOTIFY_AMQP_URI", "amqps://zd-notify:secret@mq.example:5671/zd")
    assert nameko_config("notify")["AMQP_SSL"] == {"server_hostname": None}


def check_against(cert, key):
    """The broker check's failure against a listener with ``cert``, and its handshakes."""
    listener = TlsListener(cert, key)
    try:
        return broker_check_failure(listener.port), listener.handshakes
    finally:
        listener.close()


def test_a_broker_whose_certificate_is_not_trusted_is_refused(certificates, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    failure, _ = check_against(*certificates["right"])
    reason = caused_by_verification(failure)
    assert reason is not None and "self" in reason.lower()


def test_a_trusted_broker_under_another_name_is_refused(certificates, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates["other"][0]))
    failure, _ = check_against(*certificates["other"])
    reason = caused_by_verification(failure)
    assert reason is not None and "mismatch" in reason.lower()


def test_a_trusted_broker_under_its_own_name_completes_the_handshake(certificates, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates["right"][0]))
    failure, handshakes = check_against(*certificates["right"])
    assert caused_by_verification(failure) is None, failure
    assert "ok" in handshakes
