"""The notify service on the real PostgreSQL and RabbitMQ with no channel configured:
who hears what is recorded (and skipped, logged once per channel), in any order of
events, once per event, recipient and channel; what cannot be read is parked.

Events are built by the producers' own code (tests/support/events.py).
"""
import logging
import os

import psycopg
import pytest
import requests
from kombu import Connection, Producer
from psycopg.rows import dict_row

from services.common import events, topology
from tests.support import events as made
from tests.support.events import T0
from tests.support.notify import new_ticket_id
from tests.support.queues import confirmed_connection
from tests.support.services import running, wait_until
from tests.support.system import fresh_system

PARKED_QUEUE = "zd.notify.events.parked"
REPORTER = {"name": "张三", "phone": "+8613900000000", "email": "zhang@example.org",
            "wants_feedback": True}


@pytest.fixture
def notify(caplog):
    caplog.set_level(logging.INFO)
    keys, _, directory = fresh_system()
    with running("notify", ZD_SMTP_URL=None, ZD_SMS_GATEWAY_URL=None,
                 ZD_WECHAT_GATEWAY_URL=None) as base:
        yield base, keys, directory


def query(sql, *params):
    with psycopg.connect(os.environ["ZD_DATABASE_URL"], row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def recorded(ticket_id, count=None):
    """The ticket's notifications; with ``count``, None until there are that many."""
    rows = query("SELECT event_id, event_type, recipient, channel, address, template, locale,"
                 " params, status FROM notify.notifications WHERE ticket_id = %s ORDER BY id",
                 ticket_id)
    return rows if count is None or len(rows) == count else None


def applied(*message_ids):
    """True once notify's inbox has every one of the messages."""
    rows = query("SELECT message_id FROM notify.inbox WHERE message_id = ANY(%s)",
                 list(message_ids))
    return len(rows) == len(set(message_ids))


def assigned(ticket_id, directory):
    return made.ticket_event("assigned", made.ticket_row(ticket_id, "assigned", 2), directory)


def resolved(ticket_id, directory):
    ticket = made.ticket_row(ticket_id, "resolved", 4, result="已疏通")
    timeline = [made.entry(T0, "department:baiyun-water", "resolve", "in_progress", "resolved")]
    return made.ticket_event("resolved", ticket, directory, timeline=timeline)


def test_every_recipient_is_recorded_and_unset_channels_skipped_logged_once(notify, caplog):
    base, keys, directory = notify
    ticket_id = new_ticket_id()
    made.publish(*made.concern_events(ticket_id, reporter=REPORTER), assigned(ticket_id, directory))

    rows = wait_until(lambda: recorded(ticket_id, count=5), what="five notifications")
    assert sorted((r["event_type"], r["recipient"], r["channel"], r["template"]) for r in rows) == [
        ("concern.received", "reporter", "email", "concern.received.reporter"),
        ("concern.received", "reporter", "sms", "concern.received.reporter"),
        ("ticket.assigned", "representative:rep-chen-jianguo", "email",
         "ticket.assigned.representative"),
        ("ticket.assigned", "representative:rep-chen-jianguo", "sms", "ticket.assigned.representative"),
        ("ticket.assigned", "representative:rep-chen-jianguo", "wechat",
         "ticket.assigned.representative")]
    assert {(r["status"], r["locale"]) for r in rows} == {("skipped", "zh-CN")}
    assert all("张三" not in repr(r["params"]) and "+86139" not in repr(r["params"]) for r in rows)
    logged = [record.getMessage() for phase in ("setup", "call")
              for record in caplog.get_records(phase)]
    for channel in ("email", "sms", "wechat"):
        warnings = [m for m in logged
                    if m == f"the {channel} channel is not configured: its notifications are skipped"]
        assert len(warnings) == 1, (channel, warnings)
    assert "the webhook channel is not configured: its notifications are skipped" not in logged
    for secret in ("张三", "+8613900000000", "zhang@example.org", "o-demo-chen"):
        assert all(secret not in message for message in logged)


def test_the_contact_stays_in_notify_and_nobody_else_is_sent_it(notify):
    base, keys, directory = notify
    ticket_id = new_ticket_id()
    made.publish(*made.concern_events(ticket_id, reporter=REPORTER))
    wait_until(lambda: recorded(ticket_id, count=2), what="the reporter's two notifications")
    stored = query("SELECT contact, feedback_requested FROM notify.ticket_reporters"
                   " WHERE ticket_id = %s", ticket_id)
    assert stored == [{"contact": {"name": "张三", "phone": "+8613900000000",
                                   "email": "zhang@example.org", "wechat_openid": None,
                                   "locale": "zh-CN", "page_token": None},
                       "feedback_requested": True}]


def test_a_silent_reporter_hears_nothing(notify):
    base, keys, directory = notify
    ticket_id = new_ticket_id()
    sent = made.publish(*made.concern_events(ticket_id, reporter=None), resolved(ticket_id, directory))
    wait_until(lambda: applied(*sent), what="both applied")
    rows = recorded(ticket_id)
    assert [(r["recipient"], r["template"]) for r in rows] == [
        ("representative:rep-chen-jianguo", "ticket.resolved.representative")] * 3
    assert query("SELECT 1 FROM notify.held_events WHERE ticket_id = %s", ticket_id) == []


@pytest.mark.parametrize("order", ["contact last", "concern last"])
def test_ticket_events_before_the_concern_still_reach_the_reporter(notify, order):
    base, keys, directory = notify
    ticket_id = new_ticket_id()
    contact, _, concern = made.concern_events(ticket_id, reporter={"phone": "+8613900000000",
                                                                   "wants_feedback": True})
    made.publish(resolved(ticket_id, directory))
    wait_until(lambda: query("SELECT 1 FROM notify.held_events WHERE ticket_id = %s", ticket_id),
               what="the resolution held for its concern")
    made.publish(*([concern, contact] if order == "contact last" else [contact, concern]))

    rows = wait_until(lambda: recorded(ticket_id, count=5), what="five notifications")
    assert sorted((r["recipient"], r["template"]) for r in rows if r["recipient"] == "reporter") == [
        ("reporter", "concern.received.reporter"), ("reporter", "ticket.resolved.reporter")]
    assert query("SELECT 1 FROM notify.held_events WHERE ticket_id = %s", ticket_id) == []


def test_the_same_message_twice_is_recorded_once(notify):
    base, keys, directory = notify
    ticket_id = new_ticket_id()
    event = assigned(ticket_id, directory)
    made.publish(event, event, event)
    marker = made.publish(assigned(new_ticket_id(), directory))

    wait_until(lambda: applied(event.message_id, *marker), what="the message after the duplicates")
    assert [(r["event_id"], r["channel"]) for r in recorded(ticket_id)] == [
        (event.message_id, "email"), (event.message_id, "sms"), (event.message_id, "wechat")]


def test_unexpected_event_type_is_parked_and_does_not_block(notify):
    base, keys, directory = notify
    odd = made.publish(events.Event("ticket.assigned", {"whatever": True}, "odd-1"))
    with confirmed_connection(os.environ["ZD_AMQP_URI"]) as connection:
        Producer(connection.channel()).publish(
            {"ticket_id": "T-x"}, exchange=topology.EVENTS.name, routing_key="concern.received",
            serializer="json", delivery_mode=2, message_id="odd-2", type="concern.withdrawn")
    contact = events.reporter_contact("T-y", {"phone": "+8613955556666", "email": "y@example.org",
                                              "wants_feedback": True})
    made.publish(events.Event(contact.type, {"contact": contact.body["contact"]}, "odd-3"))
    ticket_id = new_ticket_id()
    made.publish(assigned(ticket_id, directory))

    wait_until(lambda: recorded(ticket_id), what="the message behind the odd ones")
    parked = []
    wait_until(lambda: len(take_parked(parked)) == 3, what="three parked messages")
    reasons = {message.headers["x-original-message-id"]: message.headers["x-park-reason"]
               for message in parked}
    assert reasons[odd[0]] == "ticket.assigned carries no ticket_id"
    assert reasons["odd-2"] == "unexpected event type 'concern.withdrawn'"
    assert reasons["odd-3"] == "reporter.contact without its ticket_id and contact"
    (withheld,) = [m for m in parked if m.headers["x-original-message-id"] == "odd-3"]
    assert "+8613955556666" not in withheld.body and "y@example.org" not in withheld.body
    assert withheld.payload["contact"]["phone"] == "(withheld)"


def take_parked(parked):
    """Move what waits in notify's parking queue into ``parked``; returns it."""
    queue = next(q for q in topology.parked_queues() if q.name == PARKED_QUEUE)
    with Connection(os.environ["ZD_AMQP_URI"]) as connection:
        bound = queue(connection.channel())
        while (message := bound.get(no_ack=True)) is not None:
            parked.append(message)
    return parked


def test_operators_see_what_was_recorded_but_never_an_address(notify):
    base, keys, directory = notify
    ticket_id = new_ticket_id()
    made.publish(*made.concern_events(ticket_id, reporter={
        "name": "王女士", "phone": "+8613912345678", "wants_feedback": True}))
    wait_until(lambda: recorded(ticket_id, 1), what="the reporter's notification")

    def listed(key, **params):
        return requests.get(f"{base}/api/v1/notifications", params=params,
                            headers={"Authorization": f"Bearer {key}"}, timeout=5)

    answer = listed(keys["admin"], ticket_id=ticket_id)
    assert answer.status_code == 200
    (shown,) = answer.json()["notifications"]
    assert shown["template"] == "concern.received.reporter" and shown["channel"] == "sms"
    assert shown["status"] == "skipped"
    assert "address" not in shown and "params" not in shown and "+8613912345678" not in answer.text
    assert listed(keys["congress:baiyun"]).status_code == 403
    bad = listed(keys["admin"], status="lost")
    assert bad.status_code == 400 and "status" in bad.json()["errors"]
