"""Department feedback that names no ticket (it cannot be decoded, or its dispatch is
unknown) still reaches a liaison office, on the real broker and database
(docs/reference.md#the-feedback-message:
"the office alerted"). Each department publishes with its own RabbitMQ user; routing
rejects the feedback to ``zd.feedback.rejected`` and announces ``feedback.rejected``;
notify tells the office of every district the department serves, once, without a
ticket id, and without a word of what the department sent.
"""
import json
import os
from typing import NamedTuple

import psycopg
import pytest
import requests
from kombu import Connection, Exchange, Producer
from psycopg.rows import dict_row

from services.common import events, metrics, topology
from tests.support import events as made
from tests.support.services import running, wait_until
from tests.support.system import department_uri, fresh_system

FEEDBACK = Exchange("zd.feedback", type="topic", passive=True)
WATER, POLICE = "conghua-water", "gz-traffic-police"  # conghua alone; the whole city ("*")
RAW = "dispatch=DSP-1 status=resolved 联系人 13912345678"  # what the office must never read


class RoutingAndNotify(NamedTuple):
    """Routing and notify running on a fresh system."""
    keys: dict       #: every party's API key, by party
    users: dict      #: the departments' broker users, by department
    directory: dict  #: the directory snapshot
    routing: str     #: base URLs
    notify: str


@pytest.fixture(scope="module")
def routing_and_notify():
    keys, users, directory = fresh_system()
    with running("routing") as routing, running("notify", ZD_SMTP_URL=None, ZD_SMS_GATEWAY_URL=None,
                                                 ZD_WECHAT_GATEWAY_URL=None) as notify:
        yield RoutingAndNotify(keys, users, directory, routing, notify)


def publish(routing_and_notify, department, body, content_type, message_id):
    with Connection(department_uri(routing_and_notify.users[department])) as connection:
        Producer(connection.channel()).publish(
            body, exchange=FEEDBACK, routing_key=f"dept.{department}", content_type=content_type,
            content_encoding="utf-8", delivery_mode=2, message_id=message_id,
            type="department.feedback", declare=[])


def told(department, count):
    """The offices' notifications of rejected feedback from ``department``; None until
    there are ``count``."""
    with psycopg.connect(os.environ["ZD_DATABASE_URL"], row_factory=dict_row) as conn:
        rows = conn.execute(
            "SELECT id, event_id, ticket_id, recipient, channel, address, template, locale, params,"
            " status FROM notify.notifications WHERE event_type = 'feedback.rejected'"
            " AND params ->> 'department' = %s ORDER BY recipient, channel",
            (department,)).fetchall()
    return rows if len(rows) == count else None


def listed(routing_and_notify):
    answer = requests.get(f"{routing_and_notify.notify}/api/v1/notifications", params={"status": "skipped"},
                          headers={"Authorization": f"Bearer {routing_and_notify.keys['admin']}"}, timeout=5)
    assert answer.status_code == 200, answer.text
    return {item["id"]: item for item in answer.json()["notifications"]}


def office_address(routing_and_notify, district):
    return routing_and_notify.directory["districts"][district]["office"]["contact"]


def test_undecodable_feedback_tells_the_office_of_the_departments_district(routing_and_notify):
    publish(routing_and_notify, WATER, RAW.encode(), "text/plain", "undecodable-1")

    rows = wait_until(lambda: told(WATER, 2), timeout=60, what="the conghua office told")
    contact = office_address(routing_and_notify, "conghua")
    assert [(row["recipient"], row["channel"], row["address"]) for row in rows] == [
        ("office:conghua", "email", contact["email"]), ("office:conghua", "sms", contact["phone"])]
    assert {row["template"] for row in rows} == {"feedback.rejected.office"}
    assert {row["ticket_id"] for row in rows} == {None}
    (params,) = {json.dumps(row["params"], sort_keys=True) for row in rows}
    assert json.loads(params) == {
        "ticket_id": None, "title": None, "department": WATER, "department_name": "从化区水务局",
        "dispatch": None,
        "reason": "undecodable message: its content type 'text/plain' is not application/json"}
    assert "13912345678" not in params
    shown = listed(routing_and_notify)
    assert [shown[row["id"]]["ticket_id"] for row in rows] == [None, None]
    assert [shown[row["id"]]["recipient"] for row in rows] == ["office:conghua"] * 2


def test_feedback_for_an_unknown_dispatch_tells_every_office_of_a_city_wide_department(routing_and_notify):
    publish(routing_and_notify, POLICE, json.dumps({"dispatch_id": "DSP-NOT-OURS", "status": "resolved",
                                        "result": "已处理"}).encode(), "application/json", "unknown-1")

    rows = wait_until(lambda: told(POLICE, 6), timeout=60, what="every office told")
    assert sorted({row["recipient"] for row in rows}) == [
        f"office:{district}" for district in sorted(routing_and_notify.directory["districts"])]
    assert {row["params"]["dispatch"] for row in rows} == {"DSP-NOT-OURS"}
    assert {row["params"]["reason"] for row in rows} == {"unknown dispatch"}
    assert len({row["event_id"] for row in rows}) == 1

    # the same event again (a redelivery) tells nobody twice
    (event_id,) = {row["event_id"] for row in rows}
    again = events.feedback_rejected(POLICE, "DSP-NOT-OURS", None, "unknown dispatch",
                                     event_id.removeprefix("feedback-rejected-"))
    assert again.message_id == event_id
    duplicates = metrics.MESSAGES_CONSUMED.labels(topology.SERVICE_QUEUES["notify"].name,
                                                  events.FEEDBACK_REJECTED, "duplicate")
    before = duplicates._value.get()
    made.publish(again)
    wait_until(lambda: duplicates._value.get() == before + 1, timeout=30, what="seen again")
    still = told(POLICE, 6) or []
    assert [row["id"] for row in still] == [row["id"] for row in rows], "the same six, none added"
