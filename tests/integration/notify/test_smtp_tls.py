"""The email channel against real SMTP servers speaking TLS (``tests/support/smtp_tls.py``)
with certificates made here by ``openssl``: it verifies the server's certificate and
name, trusts a private CA only when the URL names it (``cafile=``), and never sends a
password in clear unless the URL says ``insecure=true``."""
import pytest

from services.notify.channels import Outgoing, Retry
from services.notify.channels.email import EmailChannel
from services.notify.messages import render
from tests.support.smtp_tls import SmtpServer, certificate

SENDER = "Zero Distance <noreply@zd.example>"
LOGIN = "zd%40mail:s3cret-pw@"


def outgoing():
    params = {"ticket_id": "ZD20260101-C0FFEE00", "result": "已疏通"}
    return Outgoing("zd-key-tls", "chen@example.org", "ticket.resolved.reporter", "zh-CN", params,
                    message=render("ticket.resolved.reporter", "zh-CN", params))


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    folder = tmp_path_factory.mktemp("smtp-certificates")
    return {"right": certificate(folder, "mail", "IP:127.0.0.1"),
            "other": certificate(folder, "other", "DNS:mail.example")}


@pytest.fixture
def no_trust_from_the_environment(monkeypatch):
    """The process trusts what the system trusts, and nothing from an overriding variable."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def send(url):
    EmailChannel(url, SENDER, 5).send(outgoing())


def refusal(url):
    with pytest.raises(Retry) as raised:
        send(url)
    assert "127.0.0.1" not in raised.value.detail and "s3cret" not in raised.value.detail
    return raised.value.detail


@pytest.mark.parametrize("mode, scheme", [("starttls", "smtp"), ("implicit", "smtps")])
def test_a_server_whose_certificate_is_not_trusted_is_refused_before_any_login(
        tmp_path, certificates, no_trust_from_the_environment, mode, scheme):
    with SmtpServer.start(tmp_path, mode, *certificates["right"]) as server:
        detail = refusal(f"{scheme}://{LOGIN}127.0.0.1:{server.port}")
        assert detail == "TLS: the SMTP server's certificate is not trusted (self-signed certificate)"
        assert server.record() == []


@pytest.mark.parametrize("mode, scheme", [("starttls", "smtp"), ("implicit", "smtps")])
def test_a_trusted_certificate_for_another_name_is_refused(
        tmp_path, certificates, no_trust_from_the_environment, mode, scheme):
    cert, key = certificates["other"]
    with SmtpServer.start(tmp_path, mode, cert, key) as server:
        detail = refusal(f"{scheme}://{LOGIN}127.0.0.1:{server.port}?cafile={cert}")
        assert detail == "TLS: the SMTP server's certificate is for another name"
        assert server.record() == []


@pytest.mark.parametrize("mode, scheme", [("starttls", "smtp"), ("implicit", "smtps")])
def test_a_server_with_a_certificate_from_the_urls_ca_gets_the_login_and_the_mail_encrypted(
        tmp_path, certificates, no_trust_from_the_environment, mode, scheme):
    cert, key = certificates["right"]
    with SmtpServer.start(tmp_path, mode, cert, key) as server:
        send(f"{scheme}://{LOGIN}127.0.0.1:{server.port}?cafile={cert}")
        assert server.record() == [{"kind": "login", "user": "zd@mail", "tls": True},
                                   {"kind": "mail", "to": ["chen@example.org"], "tls": True}]


def test_a_login_is_never_sent_to_a_server_without_starttls(tmp_path):
    with SmtpServer.start(tmp_path, "plain") as server:
        detail = refusal(f"smtp://{LOGIN}127.0.0.1:{server.port}")
        assert detail.startswith("the SMTP server offers no STARTTLS")
        assert server.record() == []


def test_insecure_true_sends_the_login_in_clear_to_a_development_sink(tmp_path):
    with SmtpServer.start(tmp_path, "plain") as server:
        send(f"smtp://{LOGIN}127.0.0.1:{server.port}?insecure=true")
        assert server.record() == [{"kind": "login", "user": "zd@mail", "tls": False},
                                   {"kind": "mail", "to": ["chen@example.org"], "tls": False}]


def test_without_credentials_a_server_without_starttls_gets_the_mail_as_before(tmp_path):
    with SmtpServer.start(tmp_path, "plain") as server:
        send(f"smtp://127.0.0.1:{server.port}")
        assert server.record() == [{"kind": "mail", "to": ["chen@example.org"], "tls": False}]
