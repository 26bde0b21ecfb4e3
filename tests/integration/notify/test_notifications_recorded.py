"""The notify service on the real PostgreSQL and RabbitMQ: events in, notifications recorded."""
import os
import uuid

import psycopg
import pytest
import requests
from kombu import Connection, Producer
from psycopg.rows import dict_row

from services.common import topology
from tests.support.services import running, wait_until
from tests.support.system import fresh_system

PARKED_QUEUE = "zd.notify.events.parked"


@pytest.fixture
def notify():
    fresh_system()
    with running("notify") as base:
        wait_until(lambda: query("SELECT version FROM notify.directory_snapshot"),
                   what="notify has the directory")
        yield base


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


def publish(event_type, body, message_id=None):
    message_id = message_id or str(uuid.uuid4())
    with Connection(os.environ["ZD_AMQP_URI"]) as connection:
        Producer(connection.channel()).publish(
            body, exchange=topology.EVENTS.name, routing_key=event_type, serializer="json",
            delivery_mode=2, message_id=message_id, type=event_type)
    return message_id


def new_ticket_id():
    return f"ZD20260302-{uuid.uuid4().hex[:8].upper()}"


def concern_received(ticket_id, reporter=None):
    return {"ticket_id": ticket_id, "district": "baiyun", "community": "yuangang",
            "channel": "wechat", "category": "drainage", "title": "下水道堵塞",
            "description": "元岗路下水道堵塞，污水外溢", "location": None, "attachments": [],
            "requested_representative": None, "submitted_at": "2026-03-02T01:00:00+00:00",
            "received_at": "2026-03-02T01:00:00+00:00", "reporter": reporter}


def ticket_changed(ticket_id, change, version, departments=(), actor="system", action=None,
                   category="drainage", result=None):
    ticket = {"ticket_id": ticket_id, "version": version, "status": change,
              "district": "baiyun", "community": "yuangang", "category": category,
              "channel": "wechat", "title": "下水道堵塞",
              "representative": {"id": "rep-chen-jianguo", "name": "陈建国"},
              "departments": list(departments), "received_at": "2026-03-02T01:00:00+00:00",
              "first_dispatched_at": None, "resolved_at": None, "result": result,
              "timeline": []}
    entry = {"at": f"2026-03-02T0{version}:00:00+00:00", "actor": actor,
             "action": action or change, "from_status": None, "to_status": change, "note": None}
    return {"ticket": ticket, "entry": entry}


def dispatch(ticket_id, code, name, version):
    return {"dispatch_id": f"{ticket_id}-{code}", "department": code, "name": name,
            "role": "lead", "status": "dispatched",
            "dispatched_at": f"2026-03-02T0{version}:00:00+00:00",
            "due_at": "2026-03-05T09:00:00+00:00", "resolved_at": None}


REPORTER = {"name": "张三", "phone": "+8613900000000", "email": "zhang@example.org"}


def test_reporter_representative_and_webhook_department_are_recorded(notify, caplog):
    caplog.set_level("DEBUG")
    ticket_id = new_ticket_id()
    publish("concern.received", concern_received(ticket_id, REPORTER))
    publish("ticket.assigned", ticket_changed(ticket_id, "assigned", 2))
    publish("ticket.dispatched", ticket_changed(
        ticket_id, "dispatched", 3, category="power-supply", actor="congress:baiyun",
        action="dispatch", departments=[dispatch(ticket_id, "gz-power-supply", "广州供电局", 3)]))

    rows = wait_until(lambda: recorded(ticket_id, count=6), what="six notifications")
    assert sorted((r["event_type"], r["recipient"], r["channel"], r["address"], r["template"])
                  for r in rows) == [
        ("concern.received", "reporter", "email", "zhang@example.org", "concern.received.reporter"),
        ("concern.received", "reporter", "sms", "+8613900000000", "concern.received.reporter"),
        ("ticket.assigned", "representative:rep-chen-jianguo", "wechat", "o-demo-chen-jianguo",
         "ticket.assigned.representative"),
        ("ticket.dispatched", "department:gz-power-supply", "webhook",
         "http://127.0.0.1:9099/hooks/gz-power-supply", "ticket.dispatched.department"),
        ("ticket.dispatched", "reporter", "email", "zhang@example.org",
         "ticket.dispatched.reporter"),
        ("ticket.dispatched", "reporter", "sms", "+8613900000000", "ticket.dispatched.reporter"),
    ]
    assert {(r["status"], r["locale"]) for r in rows} == {("recorded", "zh-CN")}
    assert all("张三" not in repr(r["params"]) and "+86139" not in repr(r["params"]) for r in rows)
    stored = query("SELECT contact FROM notify.ticket_reporters WHERE ticket_id = %s", ticket_id)
    assert stored == [{"contact": REPORTER}]
    assert "recorded ticket.assigned.representative for the representative by wechat" in caplog.text
    for secret in ("张三", "+8613900000000", "zhang@example.org", "o-demo-chen", "9099/hooks"):
        assert secret not in caplog.text


def test_amqp_department_and_silent_reporter_get_nothing(notify):
    ticket_id = new_ticket_id()
    sent = [
        publish("concern.received", concern_received(ticket_id, reporter=None)),
        publish("ticket.dispatched", ticket_changed(ticket_id, "dispatched", 3, departments=[
            dispatch(ticket_id, "baiyun-water", "白云区水务局", 3)])),
        publish("ticket.resolved", ticket_changed(ticket_id, "resolved", 4,
                                                  actor="department:baiyun-water", result="已疏通")),
    ]

    wait_until(lambda: applied(*sent), what="all three applied")
    rows = recorded(ticket_id)
    assert [(r["recipient"], r["channel"], r["template"]) for r in rows] == [
        ("representative:rep-chen-jianguo", "wechat", "ticket.resolved.representative")]
    assert rows[0]["params"]["result"] == "已疏通"


def test_the_same_message_twice_is_recorded_once(notify):
    ticket_id = new_ticket_id()
    body = ticket_changed(ticket_id, "assigned", 2)
    message_id = publish("ticket.assigned", body)
    publish("ticket.assigned", body, message_id=message_id)
    publish("ticket.assigned", ticket_changed(ticket_id, "assigned", 2), message_id=message_id)
    marker = publish("ticket.undecided", ticket_changed(new_ticket_id(), "undecided", 2))

    wait_until(lambda: applied(message_id, marker), what="the message after the duplicates")
    rows = recorded(ticket_id)
    assert [(r["event_id"], r["recipient"]) for r in rows] == [
        (message_id, "representative:rep-chen-jianguo")]


def test_ticket_event_before_its_concern_still_reaches_the_reporter(notify):
    ticket_id = new_ticket_id()
    publish("ticket.resolved", ticket_changed(ticket_id, "resolved", 4,
                                              actor="department:baiyun-water", result="已疏通"))
    wait_until(lambda: query("SELECT 1 FROM notify.held_events WHERE ticket_id = %s", ticket_id),
               what="the resolution held for its concern")
    publish("concern.received", concern_received(ticket_id, {"phone": "+8613900000000"}))

    rows = wait_until(lambda: recorded(ticket_id, count=3), what="three notifications")
    assert sorted((r["recipient"], r["template"]) for r in rows) == [
        ("reporter", "concern.received.reporter"),
        ("reporter", "ticket.resolved.reporter"),
        ("representative:rep-chen-jianguo", "ticket.resolved.representative")]
    assert query("SELECT 1 FROM notify.held_events WHERE ticket_id = %s", ticket_id) == []


def test_unexpected_event_type_is_parked_and_does_not_block(notify):
    odd = publish("ticket.assigned", {"whatever": True}, message_id="odd-1")
    with Connection(os.environ["ZD_AMQP_URI"]) as connection:
        Producer(connection.channel()).publish(
            {"ticket_id": "T-x"}, exchange=topology.EVENTS.name, routing_key="concern.received",
            serializer="json", delivery_mode=2, message_id="odd-2", type="concern.withdrawn")
    ticket_id = new_ticket_id()
    publish("ticket.assigned", ticket_changed(ticket_id, "assigned", 2))

    wait_until(lambda: recorded(ticket_id), what="the message behind the odd ones")
    parked = []
    wait_until(lambda: len(take_parked(parked)) == 2, what="two parked messages")
    reasons = {message.headers["x-original-message-id"]: message.headers["x-park-reason"]
               for message in parked}
    assert reasons[odd] == "ticket.assigned carries no ticket_id"
    assert reasons["odd-2"] == "unexpected event type 'concern.withdrawn'"


def take_parked(parked):
    """Move what waits in notify's parking queue into ``parked``; returns it."""
    queue = next(q for q in topology.parked_queues() if q.name == PARKED_QUEUE)
    with Connection(os.environ["ZD_AMQP_URI"]) as connection:
        bound = queue(connection.channel())
        while (message := bound.get(no_ack=True)) is not None:
            parked.append(message)
    return parked


def test_operators_see_what_was_recorded_but_never_an_address():
    keys, _, _ = fresh_system()
    with running("notify") as base:
        ticket_id = new_ticket_id()
        reporter = {"name": "王女士", "phone": "+8613912345678", "email": None}
        publish("concern.received", concern_received(ticket_id, reporter))
        wait_until(lambda: recorded(ticket_id, 1), what="the reporter's notification")

        def listed(key, **params):
            return requests.get(f"{base}/api/v1/notifications", params=params,
                                headers={"Authorization": f"Bearer {key}"}, timeout=5)

        answer = listed(keys["admin"], ticket_id=ticket_id)
        assert answer.status_code == 200
        (shown,) = answer.json()["notifications"]
        assert shown["template"] == "concern.received.reporter" and shown["channel"] == "sms"
        assert "address" not in shown and "+8613912345678" not in answer.text
        assert listed(keys["congress:baiyun"]).status_code == 403
        assert listed(keys["admin"], status="lost").status_code == 400
