"""Notify delivers over real SMTP and HTTP to the development sink, on the real broker
and database: languages, results, signatures, retries, parking, and the operators' view.

Events are built by the producers' own code (tests/support/events.py).
"""
import email
import email.policy
import time
import uuid
from datetime import timedelta

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support import events as made
from tests.support.events import T0
from tests.support.notify import WEBHOOK_DEPARTMENT, new_ticket_id, notifications, notify_with_sink
from tests.support.services import wait_until

REPORTER = {"name": "Mr Chen", "phone": "+8613912340001", "email": "chen@residents.example",
            "locale": "en", "wants_feedback": True}
REPRESENTATIVE = "rep-chen-jianguo"  # email, phone and WeChat in the demo directory


@pytest.fixture
def notify_and_sink(tmp_path):
    """A fresh sink, system and notify for each test: a sink's failure plan answers the
    next deliveries to its path, whichever notification they carry, so no test may see
    another's deliveries still under way."""
    with notify_with_sink(tmp_path) as started:
        yield started


def of_ticket(sink, ticket_id, kind=None):
    """The sink's messages that name the ticket."""
    return [m for m in sink.messages(kind) if ticket_id in repr(m)]


def metric(base, name, **labels):
    text = requests.get(f"{base}/metrics", timeout=5).text
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


def resolved(ticket_id, directory, result):
    ticket = made.ticket_row(ticket_id, "resolved", 5, representative=REPRESENTATIVE,
                             result=result, resolved_at=T0 + timedelta(hours=3),
                             feedback_requested=True)
    timeline = [made.entry(T0, "department:baiyun-water", "resolve", "in_progress", "resolved",
                           result)]
    return made.ticket_event("resolved", ticket, directory, timeline=timeline)


def test_reporter_and_representative_hear_the_result_by_email_sms_and_wechat(notify_and_sink):
    sink, directory = notify_and_sink.sink, notify_and_sink.directory
    ticket_id = new_ticket_id()
    made.publish(*made.concern_events(ticket_id, reporter=REPORTER),
                 resolved(ticket_id, directory, "The drain was cleared <today>"))

    sink.wait_for(lambda _: len(of_ticket(sink, ticket_id)) == 7)  # 2 + 2 reporter, 3 representative
    mails = {tuple(m["to"]): m for m in of_ticket(sink, ticket_id, "email")}
    reporter_mails = [m for m in of_ticket(sink, ticket_id, "email") if m["to"] == [REPORTER["email"]]]
    assert len(reporter_mails) == 2
    result_mail = next(m for m in reporter_mails if "cleared" in m["text"])
    parsed = email.message_from_string(result_mail["raw"], policy=email.policy.default)
    assert parsed["To"] == REPORTER["email"] and ticket_id in parsed["Subject"]
    assert not any("\u4e00" <= char <= "\u9fff" for char in parsed["Subject"]), "English subject"
    assert "The drain was cleared <today>" in result_mail["text"]
    assert "&lt;today&gt;" in result_mail["html"] and "<today>" not in result_mail["html"]
    assert parsed["Message-ID"] == result_mail["message_id"]

    (result_sms,) = [m for m in of_ticket(sink, ticket_id, "sms")
                     if m["template"] == "ticket.resolved.reporter"]
    assert result_sms["to"] == "+8613912340001" and result_sms["locale"] == "en"
    assert result_sms["params"]["ticket_id"] == ticket_id
    assert result_sms["params"]["result"] == "The drain was cleared <today>"
    assert result_sms["idempotency_key"]

    representative = directory["representatives"][REPRESENTATIVE]["contact"]
    (staff_mail,) = [m for m in mails.values() if m["to"] == [representative["email"]]]
    staff = email.message_from_string(staff_mail["raw"], policy=email.policy.default)
    assert ticket_id in staff["Subject"] and any("\u4e00" <= c <= "\u9fff" for c in staff["Subject"])
    assert f"/workbench/tickets/{ticket_id}" in staff_mail["text"], "a representative's message links"
    (wechat,) = of_ticket(sink, ticket_id, "wechat")
    assert wechat["to"] == representative["wechat_openid"]
    assert wechat["template"] == "ticket.resolved.representative" and wechat["locale"] == "zh-CN"


def test_a_webhook_department_receives_its_dispatch_signed(notify_and_sink):
    sink, directory = notify_and_sink.sink, notify_and_sink.directory
    ticket_id = new_ticket_id()
    ticket = made.ticket_row(ticket_id, "dispatched", 4, category="power-supply",
                             feedback_requested=True)
    dispatch = made.dispatch_row(ticket_id, WEBHOOK_DEPARTMENT, T0, dispatch_id=str(uuid.uuid4()))
    event = made.department_dispatched(ticket, dispatch, directory,
                                       reporter={"name": "Mr Chen", "phone": "+8613912340001"})
    made.publish(event)

    (hook,) = sink.wait_for(lambda _: of_ticket(sink, ticket_id, "webhook"))
    assert hook["endpoint"] == WEBHOOK_DEPARTMENT
    secret = directory["departments"][WEBHOOK_DEPARTMENT]["webhook"]["secret"]
    body = Webhook(secret).verify(hook["body"], hook["headers"])
    assert hook["headers"]["webhook-id"] == dispatch["dispatch_id"]
    assert body["type"] == "ticket.dispatched" and body["data"] == event.body
    assert body["data"]["reporter"] == {"name": "Mr Chen", "phone": "+8613912340001"}
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "d3Jvbmc=").verify(hook["body"], hook["headers"])


def test_a_gateway_answering_500_twice_then_200_accepts_exactly_one_message(notify_and_sink):
    base, sink, keys = notify_and_sink.base, notify_and_sink.sink, notify_and_sink.keys
    ticket_id = new_ticket_id()
    retried_before = metric(base, "zd_notifications_retried_total", channel="sms")
    sink.plan("/sms", [500, 500])
    made.publish(*made.concern_events(ticket_id, reporter={"phone": "+8613912340002",
                                                           "wants_feedback": True}))

    (sms,) = sink.wait_for(lambda _: of_ticket(sink, ticket_id, "sms"))
    key = sms["idempotency_key"]
    assert [r["status"] for r in sink.requests() if r["key"] == key] == [500, 500, 200]
    (shown,) = wait_until(lambda: [n for n in notifications(base, keys["admin"], ticket_id=ticket_id)
                                   if n["status"] == "sent"], what="the notification sent")
    assert [a["outcome"] for a in shown["attempts"]] == ["retry", "retry", "sent"]
    assert shown["attempts"][0]["detail"] == "HTTP 500"
    assert metric(base, "zd_notifications_retried_total", channel="sms") == retried_before + 2


def test_429_is_retried_no_sooner_than_retry_after(notify_and_sink):
    base, sink, keys = notify_and_sink.base, notify_and_sink.sink, notify_and_sink.keys
    ticket_id = new_ticket_id()
    sink.plan("/sms", [{"status": 429, "retry_after": 2}])
    made.publish(*made.concern_events(ticket_id, reporter={"phone": "+8613912340003",
                                                           "wants_feedback": True}))
    try:
        (sms,) = sink.wait_for(lambda _: of_ticket(sink, ticket_id, "sms"), timeout=40)
    except AssertionError as missing:
        raise AssertionError(f"{missing}; notify recorded"
                             f" {notifications(base, keys['admin'], ticket_id=ticket_id)}") from None
    (first, second) = [r for r in sink.requests() if r["key"] == sms["idempotency_key"]]
    waited = _seconds(second["at"]) - _seconds(first["at"])
    assert first["status"] == 429 and second["status"] == 200 and waited >= 1.9, waited


def _seconds(iso):
    from datetime import datetime
    return datetime.fromisoformat(iso).timestamp()


def test_a_refused_notification_is_parked_shown_and_sent_again_on_retry(notify_and_sink):
    base, sink, keys = notify_and_sink.base, notify_and_sink.sink, notify_and_sink.keys
    ticket_id = new_ticket_id()
    parked_before = metric(base, "zd_notifications_parked_total", channel="sms")
    sink.plan("/sms", [400])
    made.publish(*made.concern_events(ticket_id, reporter={"phone": "+8613912340004",
                                                           "wants_feedback": True}))

    (failed,) = wait_until(lambda: notifications(base, keys["admin"], status="failed",
                                                 ticket_id=ticket_id), what="parked as failed")
    assert [(a["outcome"], a["detail"]) for a in failed["attempts"]] == [("failed", "HTTP 400")]
    assert metric(base, "zd_notifications_parked_total", channel="sms") == parked_before + 1
    listing = requests.get(f"{base}/api/v1/notifications", params={"status": "failed"}, timeout=5,
                           headers={"Authorization": f"Bearer {keys['admin']}"}).text
    assert "+8613912340004" not in listing and "13912340004" not in listing

    def retry(notification_id, key=keys["admin"]):
        return requests.post(f"{base}/api/v1/notifications/{notification_id}/retry", timeout=5,
                             headers={"Authorization": f"Bearer {key}"})

    assert retry(failed["id"], keys["congress:baiyun"]).status_code == 403
    again = retry(failed["id"])
    assert again.status_code == 202, again.text
    (sms,) = sink.wait_for(lambda _: of_ticket(sink, ticket_id, "sms"))
    assert sms["to"] == "+8613912340004"
    wait_until(lambda: notifications(base, keys["admin"], ticket_id=ticket_id)[0]["status"] == "sent",
               what="sent after the retry")
    conflict = retry(failed["id"])
    assert conflict.status_code == 409 and conflict.headers["Content-Type"] == "application/problem+json"
    assert retry(987654321).status_code == 404


def test_after_the_last_attempt_the_notification_is_parked(notify_and_sink):
    base, sink, keys = notify_and_sink.base, notify_and_sink.sink, notify_and_sink.keys
    ticket_id = new_ticket_id()
    sink.plan("/sms", [503, 503, 503, 503])  # ZD_NOTIFY_MAX_ATTEMPTS is 4 here
    made.publish(*made.concern_events(ticket_id, reporter={"phone": "+8613912340005",
                                                           "wants_feedback": True}))
    (failed,) = wait_until(lambda: notifications(base, keys["admin"], status="failed",
                                                 ticket_id=ticket_id), what="parked as failed")
    assert [a["outcome"] for a in failed["attempts"]] == ["retry", "retry", "retry", "failed"]
    assert of_ticket(sink, ticket_id, "sms") == []


def test_a_bad_phone_number_fails_at_once_without_calling_the_gateway(notify_and_sink):
    base, sink, keys = notify_and_sink.base, notify_and_sink.sink, notify_and_sink.keys
    ticket_id = new_ticket_id()
    made.publish(*made.concern_events(ticket_id, reporter={"phone": "+86 123", "wants_feedback": True}))
    (failed,) = wait_until(lambda: notifications(base, keys["admin"], status="failed",
                                                 ticket_id=ticket_id), what="failed at once")
    assert failed["attempts"][0]["detail"] == "not a valid phone number"
    assert not [r for r in sink.requests() if r["path"] == "/sms" and ticket_id in repr(r)]


def test_a_slow_gateway_holds_up_no_other_channel(notify_and_sink):
    sink = notify_and_sink.sink
    sink.plan("/sms", [{"delay": 1.5}] * 8)
    ticket_ids = [new_ticket_id() for _ in range(8)]
    for number, ticket_id in enumerate(ticket_ids):
        made.publish(*made.concern_events(ticket_id, reporter={
            "phone": f"+86139123401{number:02d}", "email": f"r{number}@residents.example",
            "wants_feedback": True}))
    started = time.monotonic()
    sink.wait_for(lambda _: all(of_ticket(sink, t, "email") for t in ticket_ids))
    emails_in = time.monotonic() - started
    sms_by_then = sum(bool(of_ticket(sink, t, "sms")) for t in ticket_ids)
    assert sms_by_then < len(ticket_ids), (emails_in, sms_by_then)
    sink.wait_for(lambda _: all(of_ticket(sink, t, "sms") for t in ticket_ids))


def test_the_same_event_twice_is_delivered_once(notify_and_sink):
    base, sink, keys = notify_and_sink.base, notify_and_sink.sink, notify_and_sink.keys
    ticket_id = new_ticket_id()
    concern = made.concern_events(ticket_id, reporter={"phone": "+8613912340006",
                                                       "wants_feedback": True})
    made.publish(*concern)
    made.publish(*concern)
    made.publish(*concern)
    sink.wait_for(lambda _: of_ticket(sink, ticket_id, "sms"))
    wait_until(lambda: len(notifications(base, keys["admin"], ticket_id=ticket_id)) == 1,
               what="one notification")
    time.sleep(1)
    assert len(of_ticket(sink, ticket_id, "sms")) == 1


def test_deliveries_are_counted_timed_and_the_backlog_measured(notify_and_sink):
    base, sink = notify_and_sink.base, notify_and_sink.sink
    sent_before = metric(base, "zd_notifications_sent_total", channel="email")
    timed_before = metric(base, "zd_notification_delivery_seconds_count", channel="email")
    ticket_id = new_ticket_id()
    made.publish(*made.concern_events(ticket_id, reporter={"email": "m@residents.example",
                                                           "wants_feedback": True}))
    sink.wait_for(lambda _: of_ticket(sink, ticket_id, "email"))
    wait_until(lambda: metric(base, "zd_notifications_sent_total", channel="email") == sent_before + 1,
               what="the email counted")
    assert metric(base, "zd_notification_delivery_seconds_count", channel="email") == timed_before + 1
    assert metric(base, "zd_notification_delivery_seconds_sum", channel="email") > 0
    sink.plan("/sms", [{"status": 429, "retry_after": 7}])
    waiting = new_ticket_id()
    made.publish(*made.concern_events(waiting, reporter={"phone": "+8613912340007",
                                                         "wants_feedback": True}))
    wait_until(lambda: metric(base, "zd_notifications_pending") >= 1
               and metric(base, "zd_notifications_oldest_pending_seconds") > 0,
               timeout=20, what="the waiting SMS in the backlog gauges")
    sink.wait_for(lambda _: of_ticket(sink, waiting, "sms"))
