"""A private CA for the broker is given to the broker connections alone (``ZD_AMQP_CA_FILE``),
not to the whole process: notify's SMTP server and webhooks keep the system's CAs.

The TLS listener and the certificates are those of ``test_broker_tls``: a loopback server
completes (or fails) the handshake of the services' own broker check.
"""
import ssl

import pytest

from services.common.config import amqp_ssl
from tests.integration.common.test_broker_tls import caused_by_verification, certificate, check_against


@pytest.fixture
def certificates(tmp_path):
    return {"right": certificate(tmp_path, "broker", "IP:127.0.0.1"),
            "other": certificate(tmp_path, "other", "DNS:broker.example")}


@pytest.fixture(autouse=True)
def the_process_trusts_only_the_system(monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def test_the_brokers_ca_file_lets_the_broker_check_complete_the_handshake(certificates, monkeypatch):
    monkeypatch.setenv("ZD_AMQP_CA_FILE", str(certificates["right"][0]))
    failure, handshakes = check_against(*certificates["right"])
    assert caused_by_verification(failure) is None, failure
    assert "ok" in handshakes


def test_the_brokers_ca_file_still_checks_the_brokers_name(certificates, monkeypatch):
    monkeypatch.setenv("ZD_AMQP_CA_FILE", str(certificates["other"][0]))
    failure, _ = check_against(*certificates["other"])
    reason = caused_by_verification(failure)
    assert reason is not None and "mismatch" in reason.lower()


def test_the_brokers_ca_is_trusted_by_no_other_connection(certificates, monkeypatch):
    monkeypatch.setenv("ZD_AMQP_CA_FILE", str(certificates["right"][0]))
    assert amqp_ssl("amqps://u:p@mq:5671/zd") == {"server_hostname": None,
                                                  "ca_certs": str(certificates["right"][0])}
    assert amqp_ssl("amqp://u:p@mq:5672/zd") is None
    with open(certificates["right"][0], encoding="ascii") as cert:
        broker_ca = ssl.PEM_cert_to_DER_cert(cert.read())
    assert broker_ca not in ssl.create_default_context().get_ca_certs(binary_form=True)
