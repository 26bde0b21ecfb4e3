"""Intake and routing in one process, against the real broker and database."""
import json

import psycopg
import requests
from kombu import Connection, Queue
from psycopg.rows import dict_row

from services.common.config import settings
from tests.support import events as made
from tests.support.services import running, wait_until
from tests.support.system import department_uri


def take_one(queue_name, user=None, timeout=15):
    uri = settings().amqp_uri
    if user:
        uri = department_uri(user)
    with Connection(uri) as connection:
        queue = Queue(queue_name, no_declare=True)
        with connection.SimpleQueue(queue) as simple:
            message = simple.get(block=True, timeout=timeout)
            message.ack()
            return message


def post_conghua_concern(intake, keys, external_id, description, reporter):
    answer = requests.post(f"{intake}/api/v1/concerns", headers={
        "Authorization": f"Bearer {keys['frontend:conghua']}"}, json={
        "external_id": external_id, "district": "conghua", "community": "jiekou",
        "channel": "hotline", "description": description, "reporter": reporter})
    assert answer.status_code == 202, answer.text
    return answer


def test_conghua_concern_reaches_the_water_bureau_queue(clean_system):
    keys, users = clean_system.keys, clean_system.amqp_users
    with running("intake") as intake, running("routing"):
        answer = post_conghua_concern(intake, keys, "c-1", "街口路下水道堵塞，污水外溢", {
            "name": "王女士", "phone": "+8613900000000", "wants_feedback": True})
        message = take_one("zd.dept.conghua-water", users["conghua-water"])
        body = json.loads(message.body)
        assert message.properties["message_id"] == body["dispatch_id"]
        assert body["ticket_id"] == answer.json()["ticket_id"]
        assert body["reporter"] == {"name": "王女士", "phone": "+8613900000000"}


def routing_outbox(message_type):
    with psycopg.connect(settings().database_url, row_factory=dict_row) as conn:
        return conn.execute("SELECT type, body FROM routing.outbox WHERE type = %s ORDER BY id",
                            (message_type,)).fetchall()


def test_a_webhook_department_dispatch_goes_to_notify_with_the_reporter_contact(clean_system):
    keys = clean_system.keys
    with running("intake") as intake, running("routing"):
        answer = post_conghua_concern(intake, keys, "c-2", "街口路整条街停电三个小时了", {
            "name": "李先生", "phone": "+8613900000001", "email": "li@example.org",
            "wants_feedback": True})
        ticket_id = answer.json()["ticket_id"]
        (dispatched,) = wait_until(lambda: routing_outbox("department.dispatched"),
                                   what="the webhook dispatch handed to notify")
    message = dispatched["body"]
    assert message["ticket_id"] == ticket_id and message["department"] == "gz-power-supply"
    assert message["reporter"] == {"name": "李先生", "phone": "+8613900000001"}
    ticket_events = routing_outbox("ticket.dispatched")
    assert ticket_events and all("+8613900000001" not in repr(row["body"]) for row in ticket_events)
    assert all("li@example.org" not in repr(row["body"])
               for row in routing_outbox("department.dispatched"))


def test_a_concern_whose_contact_comes_after_it_waits_for_it(clean_system):
    users = clean_system.amqp_users
    ticket_id = "ZD20261122-C0FFEE01"
    reporter = {"name": "周女士", "phone": "+8613900000002", "wants_feedback": True}
    contact, _, concern = made.concern_events(
        ticket_id, reporter=reporter, district="conghua", community="jiekou", channel="hotline",
        category=None, title=None, description="街口路下水道堵塞，污水外溢")
    assert contact.type == "reporter.contact"
    (dispatch_contact,) = [e for e in made.concern_events(ticket_id, reporter=reporter)
                           if e.type == "reporter.dispatch_contact"]
    with running("routing"):
        made.publish(concern)
        wait_until(lambda: held(ticket_id), what="the concern held for its dispatch contact")
        made.publish(dispatch_contact)
        message = take_one("zd.dept.conghua-water", users["conghua-water"])
    body = json.loads(message.body)
    assert body["ticket_id"] == ticket_id
    assert body["reporter"] == {"name": "周女士", "phone": "+8613900000002"}
    assert not held(ticket_id)


def held(ticket_id):
    with psycopg.connect(settings().database_url) as conn:
        return conn.execute("SELECT 1 FROM routing.held_concerns WHERE ticket_id = %s",
                            (ticket_id,)).fetchone() is not None


def test_a_concern_taken_as_far_as_the_policy_allows_is_one_ticket_event(clean_system):
    """Conghua forwards and dispatches at once: the concern's whole step (assigned,
    forwarded, dispatched) goes out as one ticket.dispatched with the three changes."""
    keys, users = clean_system.keys, clean_system.amqp_users
    with running("intake") as intake, running("routing"):
        ticket_id = post_conghua_concern(intake, keys, "c-4", "街口路下水道堵塞，污水外溢",
                                         {"name": "陈先生"}).json()["ticket_id"]
        take_one("zd.dept.conghua-water", users["conghua-water"])
    with psycopg.connect(settings().database_url, row_factory=dict_row) as conn:
        rows = conn.execute("SELECT type, body FROM routing.outbox WHERE type LIKE 'ticket.%%'"
                            " AND body->'ticket'->>'ticket_id' = %s", (ticket_id,)).fetchall()
    (event,) = rows
    assert event["type"] == "ticket.dispatched"
    changes = event["body"]["changes"]
    assert [change["change"] for change in changes] == ["assigned", "forwarded", "dispatched"]
    assert [change["entry"]["action"] for change in changes] == ["assign", "forward", "dispatch"]
    assert event["body"]["entry"] == changes[-1]["entry"]
    timeline = event["body"]["ticket"]["timeline"]
    assert [entry["action"] for entry in timeline] == [
        "receive", "categorise", "assign", "forward", "dispatch"]
    assert timeline[1]["note"] == "drainage (confidence 1.00): 下水道, 污水"
