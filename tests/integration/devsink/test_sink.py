"""The development sink as the notify service meets it: SMTP, the gateways, webhooks, plans, page, log."""
import base64
import signal
import smtplib
import time
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
import requests
from standardwebhooks import Webhook

from tests.support.sink import Sink

TICKET = "ZD20261122-344F89CF"
PHONE = "+8613800138000"
OPENID = "oX1y2Z3w4V5u6T7s8R9q"
EMAIL = "liu.yang@example.org"


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    with Sink.start(tmp_path_factory.mktemp("devsink")) as sink:
        yield sink


@pytest.fixture
def sink(started):
    started.reset()
    return started


def an_email(message_id="<resolved-1@zd.example>", subject=f"工单 {TICKET} 已办结"):
    email = EmailMessage()
    email["Subject"] = subject
    email["From"] = "零距离 <noreply@zd.example>"
    email["To"] = EMAIL
    email["Message-ID"] = message_id
    email.set_content("您好，您反映的元岗路下水道堵塞已疏通。")
    email.add_alternative("<p>您好，您反映的<b>元岗路下水道堵塞</b>已疏通。</p>", subtype="html")
    return email


def send(sink, email, login=False):
    with smtplib.SMTP("127.0.0.1", sink.smtp_port, timeout=10) as smtp:
        if login:
            smtp.login("notify", "any-password")
        smtp.send_message(email, from_addr="noreply@zd.example", to_addrs=[EMAIL])


def post_sms(sink, key=None, to=PHONE, **params):
    headers = {"Idempotency-Key": key} if key else {}
    return requests.post(sink.sms_url, headers=headers, timeout=10, json={
        "to": to, "template": "ticket.resolved.reporter", "locale": "zh-CN",
        "params": {"ticket_id": TICKET, "result": "已疏通", **params}})


@pytest.mark.parametrize("login", [False, True], ids=["plain", "with-login"])
def test_email_with_chinese_subject_arrives_decoded(sink, login):
    send(sink, an_email(), login=login)

    [email] = sink.messages("email")
    assert email["to"] == [EMAIL]
    assert email["from"] == "noreply@zd.example"
    assert email["subject"] == f"工单 {TICKET} 已办结"
    assert email["text"].strip() == "您好，您反映的元岗路下水道堵塞已疏通。"
    assert email["html"].strip() == "<p>您好，您反映的<b>元岗路下水道堵塞</b>已疏通。</p>"
    assert email["message_id"] == "<resolved-1@zd.example>"
    assert "=?utf-8?" in email["raw"] and "Message-ID: <resolved-1@zd.example>" in email["raw"]
    [request] = sink.requests()
    assert (request["kind"], request["path"], request["status"], request["key"]) == (
        "email", "smtp", 250, "<resolved-1@zd.example>")


def test_the_same_message_id_twice_is_stored_once(sink):
    send(sink, an_email("<dup@zd.example>"))
    send(sink, an_email("<dup@zd.example>"))
    send(sink, an_email("<other@zd.example>"))

    assert [email["message_id"] for email in sink.messages("email")] == ["<dup@zd.example>",
                                                                         "<other@zd.example>"]
    assert sink.duplicates() == ["<dup@zd.example>"]
    assert [request["status"] for request in sink.requests()] == [250, 250, 250]


def test_a_gateway_post_with_the_same_idempotency_key_is_stored_once(sink):
    first, second = post_sms(sink, key="notification-7"), post_sms(sink, key="notification-7")

    assert first.status_code == 200 and first.json()["accepted"] is True
    assert second.status_code == 200 and second.json() == {"accepted": True, "duplicate": True}
    [sms] = sink.messages("sms")
    assert sms["id"] == first.json()["id"]
    assert (sms["to"], sms["template"], sms["locale"]) == (PHONE, "ticket.resolved.reporter", "zh-CN")
    assert sms["params"] == {"ticket_id": TICKET, "result": "已疏通"}
    assert sms["idempotency_key"] == "notification-7"
    assert sink.duplicates() == ["notification-7"]


def test_messages_without_a_key_are_always_stored(sink):
    post_sms(sink)
    post_sms(sink)

    assert len(sink.messages("sms")) == 2
    assert sink.duplicates() == []


def test_the_latest_reporter_sms_gives_the_link_to_its_page(sink):
    first, latest = "http://127.0.0.1:8001/c/first-token", "http://127.0.0.1:8001/c/latest-token"
    post_sms(sink, key="n-1", link=first, text=f"已办结。请评价：{first}")
    post_sms(sink, key="n-2", link=latest, text=f"已办结。请评价：{latest}")
    post_sms(sink, key="n-3", ticket_id="ZD20261122-0THER000", link="http://127.0.0.1:8001/c/other")

    assert sink.reporter_link(TICKET) == latest
    assert sink.reporter_link() == "http://127.0.0.1:8001/c/other"
    (kept,) = [m for m in sink.messages("sms") if m["idempotency_key"] == "n-2"]
    assert kept["params"]["link"] == latest and kept["params"]["text"].endswith(latest)
    with pytest.raises(AssertionError, match="did not see"):
        sink.reporter_link(TICKET, kind="wechat", timeout=0.3)


def test_a_plan_of_two_500s_is_answered_before_the_gateway_accepts(sink):
    sink.plan("/sms", [500, 500])

    statuses = [post_sms(sink, key="retried").status_code for _ in range(3)]

    assert statuses == [500, 500, 200]
    assert [sms["idempotency_key"] for sms in sink.messages("sms")] == ["retried"]
    assert sink.duplicates() == []
    assert [(r["path"], r["status"], r["key"]) for r in sink.requests()] == [
        ("/sms", 500, "retried"), ("/sms", 500, "retried"), ("/sms", 200, "retried")]


def test_a_planned_429_carries_retry_after(sink):
    sink.plan("/wechat", [{"status": 429, "retry_after": 2}])

    throttled = requests.post(sink.wechat_url, json={"to": OPENID, "template": "ticket.assigned"}, timeout=10)
    accepted = requests.post(sink.wechat_url, json={"to": OPENID, "template": "ticket.assigned"}, timeout=10)

    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2"
    assert accepted.status_code == 200
    assert [wechat["to"] for wechat in sink.messages("wechat")] == [OPENID]


def test_a_planned_delay_plays_a_slow_gateway_then_accepts(sink):
    sink.plan("/sms", [{"delay": 1}])

    started = time.monotonic()
    answer = post_sms(sink, key="slow")

    assert time.monotonic() - started >= 1
    assert answer.status_code == 200
    assert [sms["idempotency_key"] for sms in sink.messages("sms")] == ["slow"]


def test_a_planned_451_fails_the_smtp_data_and_the_next_attempt_is_accepted(sink):
    sink.plan("smtp", [451])

    with pytest.raises(smtplib.SMTPResponseException) as refused:
        send(sink, an_email("<later@zd.example>"))
    send(sink, an_email("<later@zd.example>"))

    assert refused.value.smtp_code == 451
    assert b"try again later" in refused.value.smtp_error
    assert [email["message_id"] for email in sink.messages("email")] == ["<later@zd.example>"]
    assert [request["status"] for request in sink.requests()] == [451, 250]


def test_a_webhook_body_and_headers_are_kept_exactly_as_signed(sink):
    secret = "whsec_" + base64.b64encode(b"the water bureau's webhook secret").decode()
    body = ('{"type": "ticket.dispatched",  "timestamp": "2026-11-22T08:00:00Z", '
            f'"data": {{"ticket_id": "{TICKET}", "title": "元岗路下水道堵塞"}}}}')
    signature = Webhook(secret).sign("dispatch-41", datetime.now(UTC), body)
    headers = {"webhook-id": "dispatch-41", "webhook-timestamp": str(int(time.time())),
               "webhook-signature": signature, "content-type": "application/json"}

    first = requests.post(sink.webhook_url("baiyun-water"), data=body.encode(), headers=headers, timeout=10)
    again = requests.post(sink.webhook_url("baiyun-water"), data=body.encode(), headers=headers, timeout=10)

    assert first.status_code == 204 and again.status_code == 200
    [call] = sink.messages("webhook")
    assert call["endpoint"] == "baiyun-water"
    assert call["body"] == body
    assert {name: call["headers"][name] for name in headers} == headers
    assert Webhook(secret).verify(call["body"], call["headers"])["data"]["ticket_id"] == TICKET
    assert sink.duplicates() == ["dispatch-41"]


def test_the_page_escapes_what_messages_carry(sink):
    post_sms(sink, result="<script>alert('x')</script>已疏通")

    page = requests.get(sink.http_url + "/", timeout=10)

    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;已疏通" in page.text
    assert '<meta name="viewport"' in page.text and '<meta http-equiv="refresh" content="5">' in page.text
    assert "ticket.resolved.reporter" in page.text and "+8613800138000" in page.text
    assert "://" not in page.text and "<link" not in page.text  # nothing fetched from elsewhere


@pytest.mark.parametrize("body", [
    b"not json", b'["a list"]', b'{"template": "ticket.assigned"}', b'{"to": "+8613800138000"}',
    b'{"to": "+8613800138000", "template": "ticket.assigned", "params": ["not", "an", "object"]}',
], ids=["not-json", "not-an-object", "no-to", "no-template", "params-not-an-object"])
def test_a_bad_gateway_body_gets_400(sink, body):
    answer = requests.post(sink.sms_url, data=body, headers={"Content-Type": "application/json"}, timeout=10)

    assert answer.status_code == 400 and answer.json()["error"]
    assert sink.messages() == []
    assert [(request["path"], request["status"]) for request in sink.requests()] == [("/sms", 400)]


def test_messages_are_filtered_by_kind_and_unknown_paths_get_404(sink):
    post_sms(sink)
    send(sink, an_email())

    missing = requests.post(sink.http_url + "/fax", json={}, timeout=10)

    assert [message["kind"] for message in sink.messages()] == ["sms", "email"]
    assert [message["kind"] for message in sink.messages("email")] == ["email"]
    assert missing.status_code == 404 and missing.json()["error"]
    assert requests.get(sink.http_url + "/messages.json?kind=fax", timeout=10).status_code == 400


def test_messages_after_an_id_are_only_the_newer_ones_with_the_duplicates_count(sink):
    first = post_sms(sink, key="first").json()["id"]
    send(sink, an_email("<second@zd.example>"))
    third = post_sms(sink, key="third").json()["id"]
    post_sms(sink, key="third")

    newer, duplicates = sink.messages_after(first)
    assert [message["kind"] for message in newer] == ["email", "sms"]
    assert newer[-1]["id"] == third and newer[-1]["idempotency_key"] == "third"
    assert duplicates == 1
    assert [message["id"] for message in sink.messages_after(first, kind="sms")[0]] == [third]
    assert sink.messages_after(third) == ([], 1)
    assert len(sink.messages_after(0)[0]) == 3
    answer = requests.get(sink.http_url + "/messages.json?after=latest", timeout=10)
    assert answer.status_code == 400 and answer.json()["error"]


def test_messages_after_an_id_count_on_after_a_reset(sink):
    before = post_sms(sink, key="before-reset").json()["id"]
    sink.reset()
    after_reset = post_sms(sink, key="after-reset").json()["id"]

    assert after_reset == before + 1
    assert [message["id"] for message in sink.messages_after(0)[0]] == [after_reset]
    assert [message["id"] for message in sink.messages_after(before)[0]] == [after_reset]
    assert sink.messages_after(after_reset) == ([], 0)


def test_reset_forgets_messages_plans_and_requests(sink):
    post_sms(sink, key="before-reset")
    sink.plan("/sms", [500])

    sink.reset()

    assert post_sms(sink, key="before-reset").status_code == 200
    assert [sms["idempotency_key"] for sms in sink.messages()] == ["before-reset"]
    assert sink.duplicates() == [] and len(sink.requests()) == 1


def test_log_lines_carry_no_full_phone_number_or_email_address(tmp_path):
    with Sink.start(tmp_path) as sink:
        post_sms(sink, key="sms-1")
        requests.post(sink.wechat_url, json={"to": OPENID, "template": "ticket.assigned",
                                             "params": {"ticket_id": TICKET}}, timeout=10)
        send(sink, an_email(), login=True)
        sink.wait_for(lambda messages: len(messages) == 3)
        log = sink.log()

    lines = [line for line in log.splitlines() if line.startswith("devsink: ") and " to " in line]
    assert lines == [f"devsink: sms ticket.resolved.reporter to +86138****8000 ({TICKET})",
                     f"devsink: wechat ticket.assigned to oX1y*** ({TICKET})",
                     f"devsink: email to l***@example.org ({TICKET})"]
    for contact in (PHONE, PHONE[1:], "13800138000", OPENID, EMAIL, "liu.yang@"):
        assert contact not in log
    assert log.startswith("devsink: SMTP on 127.0.0.1:")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_sink_exits_cleanly_on_a_signal(tmp_path, signum):
    sink = Sink.start(tmp_path)
    post_sms(sink)

    sink.process.send_signal(signum)

    assert sink.process.wait(10) == 0
    assert "Traceback" not in sink.log()
    assert sink.stop() == 0


def test_make_run_says_plainly_when_the_sink_cannot_start(monkeypatch):
    import socket

    from services import devstack
    from tests.support.system import free_port
    for name in devstack.CHANNEL_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setattr(devstack, "SINK_HTTP_PORT", taken.getsockname()[1])
        monkeypatch.setattr(devstack, "SINK_SMTP_PORT", free_port())
        with pytest.raises(devstack.SinkFailed) as failed:
            devstack.start_sink()
    assert f"are ports {devstack.SINK_SMTP_PORT} and {devstack.SINK_HTTP_PORT} free?" in str(failed.value)


def test_make_run_links_a_reporters_page_on_the_stacks_own_intake(monkeypatch):
    from services import devstack

    monkeypatch.delenv("ZD_REPORTER_LINK", raising=False)
    stack = devstack.Stack(env={"ZD_INTAKE_PORT": "18001"})
    assert stack.env["ZD_REPORTER_LINK"] == "http://127.0.0.1:18001/c/{token}"
    given = devstack.Stack(env={"ZD_REPORTER_LINK": "https://zd.example/c/{token}"})
    assert given.env["ZD_REPORTER_LINK"] == "https://zd.example/c/{token}"
