"""Unit tests of how a delivery attempt is judged: back-off, HTTP and SMTP answers,
phone numbers, webhook signatures. Fakes stand in for the network."""
import smtplib
import ssl
from datetime import datetime, timezone

import pytest
import requests
from standardwebhooks.webhooks import Webhook

from services.notify import retries
from services.notify.channels import Outgoing, Refused, Retry, configured
from services.notify.channels.email import EmailChannel, compose
from services.notify.channels.gateway import GatewayChannel, e164
from services.notify.channels.http import MAX_RETRY_AFTER, post, retry_after
from services.notify.channels.webhook import signed_request
from services.notify.messages import render

SECRET = "whsec_ZGVtby1wb3dlci1zdXBwbHk="


class FakeResponse:
    def __init__(self, status, headers=None):
        self.status_code, self.headers = status, headers or {}


class FakeSession:
    def __init__(self, outcome):
        self.outcome, self.calls = outcome, []

    def post(self, url, **kwargs):
        self.calls.append((url, kwargs))
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


def outgoing(address="+8613900000000", **fields):
    message = render("ticket.resolved.reporter", "zh-CN", {"ticket_id": "T1", "result": "已疏通"})
    return Outgoing("key-1", address, "ticket.resolved.reporter", "zh-CN",
                    {"ticket_id": "T1", "result": "已疏通"}, message=message, **fields)


# Back-off

def test_backoff_doubles_with_jitter_and_honours_retry_after():
    assert retries.next_step(1, True, base=2, rand=lambda: 1.0) == ("retry", 2.0)
    assert retries.next_step(3, True, base=2, rand=lambda: 1.0) == ("retry", 8.0)
    assert retries.next_step(3, True, base=2, rand=lambda: 0.0) == ("retry", 4.0)
    assert retries.next_step(1, True, retry_after=30, base=2, rand=lambda: 1.0) == ("retry", 30)
    assert retries.next_step(20, True, base=2, max_attempts=30, rand=lambda: 1.0) == (
        "retry", retries.MAX_DELAY)


def test_a_refusal_or_the_last_attempt_parks():
    assert retries.next_step(1, False) == ("failed", None)
    assert retries.next_step(10, True, max_attempts=10) == ("failed", None)


# HTTP answers

@pytest.mark.parametrize("status, failure", [(429, Retry), (500, Retry), (503, Retry),
                                             (400, Refused), (404, Refused), (410, Refused)])
def test_http_answers_are_retried_or_refused_as_the_contract_says(status, failure):
    with pytest.raises(failure) as raised:
        post(FakeSession(FakeResponse(status)), "http://gateway", 5)
    assert raised.value.detail == f"HTTP {status}"


@pytest.mark.parametrize("error", [requests.ConnectTimeout(), requests.ReadTimeout(),
                                   requests.ConnectionError(),
                                   requests.exceptions.ChunkedEncodingError(),
                                   requests.exceptions.ContentDecodingError()])
def test_timeouts_refused_connections_and_answers_broken_off_are_retried(error):
    with pytest.raises(Retry):
        post(FakeSession(error), "http://gateway", 5)


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after("7") == 7.0
    assert retry_after(None) is None and retry_after("soon") is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date passed: at once


@pytest.mark.parametrize("value", ["3601", "86400", "9" * 5000, "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_a_retry_after_longer_than_an_hour_is_an_hour(value):
    assert retry_after(value) == MAX_RETRY_AFTER == 3600


@pytest.mark.parametrize("value", ["", "-5", "1.5", "1e400", "Infinity", "NaN", "12 seconds", "²",
                                   "Mon, 32 Foo 2020", "Fri, 31 Dec 99999 23:59:59 GMT"])
def test_a_malformed_retry_after_is_ignored(value):
    assert retry_after(value) is None


def test_a_429_carries_its_retry_after():
    with pytest.raises(Retry) as raised:
        post(FakeSession(FakeResponse(429, {"Retry-After": "12"})), "http://gateway", 5)
    assert raised.value.retry_after == 12.0


# Gateways

def test_phone_numbers_go_out_in_e164_and_a_bad_one_is_refused_without_echoing_it():
    assert e164("13800138000") == "+8613800138000"
    assert e164("+86 138 0013 8000") == "+8613800138000"
    with pytest.raises(Refused) as raised:
        e164("+86 123")
    assert "123" not in raised.value.detail


def test_a_gateway_gets_the_contract_json_and_the_idempotency_key():
    channel = GatewayChannel("sms", "http://gateway/sms", 5)
    channel.session = FakeSession(FakeResponse(200))
    channel.send(outgoing("138 0013 8000"))
    (url, call), = channel.session.calls
    assert url == "http://gateway/sms" and call["headers"] == {"Idempotency-Key": "key-1"}
    assert call["json"]["to"] == "+8613800138000" and call["json"]["template"] == "ticket.resolved.reporter"
    assert call["json"]["params"]["result"] == "已疏通" and "T1" in call["json"]["params"]["text"]


def test_a_wechat_message_goes_to_the_openid_as_given():
    channel = GatewayChannel("wechat", "http://gateway/wechat", 5)
    channel.session = FakeSession(FakeResponse(204))
    channel.send(outgoing("o-abc_123"))
    assert channel.session.calls[0][1]["json"]["to"] == "o-abc_123"


# Webhooks

def test_a_webhook_is_signed_per_standard_webhooks_with_the_key_as_its_id():
    now = datetime.now(timezone.utc)
    body, headers = signed_request(outgoing("http://dept/hook", secret=SECRET), now)
    assert headers["webhook-id"] == "key-1" and headers["webhook-timestamp"] == str(int(now.timestamp()))
    verified = Webhook(SECRET).verify(body, headers)
    assert verified["type"] == "ticket.dispatched" and verified["data"]["ticket_id"] == "T1"


def test_a_webhook_without_a_usable_secret_is_refused():
    with pytest.raises(Refused):
        signed_request(outgoing("http://dept/hook", secret=None))


# Email

def test_an_email_is_multipart_with_a_stable_message_id():
    message = compose(outgoing("chen@example.org"), "Zero Distance <noreply@zd.example>")
    assert message["Message-ID"] == "<key-1@zero-distance>" and message["To"] == "chen@example.org"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]


def test_not_an_email_address_is_refused():
    with pytest.raises(Refused) as raised:
        compose(outgoing("not an address"), "noreply@zd.example")
    assert "not an address" not in raised.value.detail


class FakeSMTP:
    error = None

    def __init__(self, host, port, timeout, context=None):
        self.address, self.context = (host, port, timeout), context

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def login(self, user, password):
        FakeSMTP.login_as = (user, password)

    def send_message(self, message):
        if FakeSMTP.error:
            raise FakeSMTP.error


@pytest.mark.parametrize("error, failure", [
    (smtplib.SMTPDataError(451, b"try later"), Retry),
    (smtplib.SMTPDataError(554, b"no"), Refused),
    (smtplib.SMTPRecipientsRefused({"x@example.org": (550, b"no such user")}), Refused),
    (smtplib.SMTPServerDisconnected("gone"), Retry),
    (smtplib.SMTPNotSupportedError("no SMTPUTF8 for x@example.org"), Refused),
    (ConnectionRefusedError(), Retry),
])
def test_smtp_answers_are_retried_or_refused_and_name_no_address(error, failure):
    channel = EmailChannel("smtps://zd%40mail:p%40ss@mail.example", "noreply@zd.example", 5)
    channel.client, FakeSMTP.error = FakeSMTP, error
    with pytest.raises(failure) as raised:
        channel.send(outgoing("x@example.org"))
    assert "x@example.org" not in raised.value.detail
    assert FakeSMTP.login_as == ("zd@mail", "p@ss") and channel.port == 465


def test_only_the_channels_given_are_configured_and_webhooks_always():
    assert set(configured({"ZD_SMTP_URL": None, "ZD_SMS_GATEWAY_URL": "http://g/sms"})) == {
        "webhook", "sms"}
    with pytest.raises(ValueError):
        EmailChannel("http://mail.example", "noreply@zd.example", 5)


@pytest.mark.parametrize("query, says", [
    ("insecure=yes", "insecure must be true or false"),
    ("insecure=true&insecure=false", "a parameter given twice"),
    ("verify=false", "unknown parameter 'verify'"),
    ("cafile=", "cafile names no file"),
])
def test_a_wrong_smtp_url_parameter_stops_the_start_without_showing_the_url(query, says):
    with pytest.raises(ValueError) as raised:
        EmailChannel(f"smtp://zd:s3cret-pw@mail.example?{query}", "noreply@zd.example", 5)
    assert says in str(raised.value) and "s3cret" not in str(raised.value)


def test_smtps_cannot_be_insecure_and_a_missing_ca_file_stops_the_start(tmp_path):
    with pytest.raises(ValueError, match="choose one"):
        EmailChannel("smtps://mail.example?insecure=true", "noreply@zd.example", 5)
    with pytest.raises(FileNotFoundError):
        EmailChannel(f"smtps://mail.example?cafile={tmp_path}/none.crt", "noreply@zd.example", 5)


def test_every_smtp_connection_verifies_certificate_and_name():
    for url in ("smtp://mail.example", "smtps://zd:pw@mail.example:2465"):
        context = EmailChannel(url, "noreply@zd.example", 5).tls
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert EmailChannel("smtp://127.0.0.1:1025?insecure=true", "noreply@zd.example", 5).tls is None
