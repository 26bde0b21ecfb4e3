"""Department feedback that can never apply, in a batch with good feedback, on the real
broker and database, published by the departments' own RabbitMQ users
(docs/reference.md#the-feedback-message).

Whatever makes feedback unusable (a NUL in its AMQP ``message_id`` or ``type``, a lone
surrogate or a NUL in its body, another content type, bad UTF-8, not JSON), it lands
alone in ``zd.feedback.rejected`` with its reason, is counted, and the office is told
(``feedback.rejected``); the good feedback of the same batch is applied once, and
nothing is returned to the queue, parked or dead-lettered.

The routing service runs with one consumer worker; the test holds that worker on a
first feedback (its ticket locked) while the others arrive, so they are applied
together, as one batch.
"""
import base64
import json
import uuid
from typing import NamedTuple

import psycopg
import pytest
import requests
from kombu import Connection, Exchange, Producer, Queue
from prometheus_client.parser import text_string_to_metric_families

from services.admin.rabbit_management import RabbitManagement, vhost_of
from services.common import topology
from services.common.config import settings
from tests.support.queues import confirmed_connection, drain, queued
from tests.support.services import running, wait_until
from tests.support.system import department_uri, fresh_system

FEEDBACK = Exchange("zd.feedback", type="topic", passive=True)
WATER, POLICE = "conghua-water", "gz-traffic-police"


class IntakeAndRouting(NamedTuple):
    """Intake and routing running on a fresh system."""
    keys: dict     #: every party's API key, by party
    users: dict    #: the departments' broker users, by department
    intake: str    #: base URLs
    routing: str


@pytest.fixture(scope="module")
def intake_and_routing():
    keys, users, _ = fresh_system()
    with running("intake") as intake, running("routing", ZD_CONSUMER_WORKERS=1) as routing:
        yield IntakeAndRouting(keys, users, intake, routing)


def dispatched(intake_and_routing, department, count):
    """``count`` fresh dispatches to ``department``, read from its queue as it reads them."""
    category, description = {WATER: ("drainage", "街口路下水道堵塞，污水外溢"),
                             POLICE: ("roads-traffic", "街口路口红绿灯坏了")}[department]
    tickets = set()
    for _ in range(count):
        answer = requests.post(
            f"{intake_and_routing.intake}/api/v1/concerns",
            headers={"Authorization": f"Bearer {intake_and_routing.keys['frontend:conghua']}"},
            json={"external_id": str(uuid.uuid4()), "district": "conghua", "community": "jiekou",
                  "channel": "hotline", "category": category, "description": description})
        assert answer.status_code == 202, answer.text
        tickets.add(answer.json()["ticket_id"])
    found = {}
    with Connection(department_uri(intake_and_routing.users[department])) as connection:
        with connection.SimpleQueue(Queue(f"zd.dept.{department}", no_declare=True)) as queue:
            while len(found) < count:
                message = queue.get(block=True, timeout=30)
                message.ack()
                body = json.loads(message.body)
                if body["ticket_id"] in tickets:
                    found[body["ticket_id"]] = body["dispatch_id"]
    return found


def resolved(dispatch_id):
    return json.dumps({"dispatch_id": dispatch_id, "status": "resolved",
                       "result": "已处理"}).encode()


def publish(connection, department, body, message_id, message_type="department.feedback",
            content_type="application/json"):
    Producer(connection.channel()).publish(
        body, exchange=FEEDBACK, routing_key=f"dept.{department}", content_type=content_type,
        content_encoding="utf-8", delivery_mode=2, message_id=message_id, type=message_type,
        declare=[])


def metric(intake_and_routing, name, **labels):
    text = requests.get(f"{intake_and_routing.routing}/metrics", timeout=5).text
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples if sample.name == name
               and all(sample.labels.get(key) == value for key, value in labels.items()))


def resolutions(intake_and_routing, ticket_id):
    shown = requests.get(f"{intake_and_routing.routing}/api/v1/tickets/{ticket_id}",
                         headers={"Authorization": f"Bearer {intake_and_routing.keys['congress:conghua']}"})
    return [entry for entry in shown.json()["timeline"] if entry["to_status"] == "resolved"]


def redeliveries(queue):
    """How many times the broker delivered a message of ``queue`` again, and how many it
    delivered in all (its management statistics)."""
    rabbit = RabbitManagement(settings().management_url)
    vhost = requests.utils.quote(vhost_of(settings().amqp_uri), safe="")
    stats = requests.get(f"{rabbit.base}/queues/{vhost}/{queue}", auth=rabbit.auth,
                         timeout=10).json().get("message_stats") or {}
    return stats.get("redeliver", 0), stats.get("deliver_get", 0)


def test_unusable_feedback_in_a_batch_is_rejected_alone_and_the_rest_applied_once(intake_and_routing):
    water = dispatched(intake_and_routing, WATER, 4)
    police = dispatched(intake_and_routing, POLICE, 3)
    (blocker, *water_tickets), police_tickets = list(water), list(police)
    rejected_before = {kind: metric(intake_and_routing, "zd_feedback_rejected_total", reason=kind)
                       for kind in ("unreadable message", "undecodable message")}
    batched_before = metric(intake_and_routing, "zd_consumed_batch_messages_sum",
                            queue=topology.ROUTING_FEEDBACK.name)
    drain(topology.FEEDBACK_REJECTED)
    drain(topology.SERVICE_QUEUES["notify"].name)
    a_dispatch = water[water_tickets[0]]
    # (department, body, message id, type, content type) -> the words its reason must hold
    poisoned = {
        "nul-id": ((WATER, resolved(a_dispatch), "nul-id\x00", "department.feedback",
                    "application/json"), ("message_id", "NUL")),
        "nul-type": ((POLICE, resolved(police[police_tickets[0]]), "nul-type",
                      "department.feedback\x00", "application/json"), ("type", "NUL")),
        "surrogate": ((WATER, b'{"dispatch_id": "%s", "status": "in_progress", "note": "\\ud800"}'
                       % a_dispatch.encode(), "surrogate", "department.feedback",
                       "application/json"), ("lone surrogate", "note")),
        "nul-body": ((POLICE, b'{"dispatch_id": "x", "status": "acknowledged", "note": "a\\u0000"}',
                      "nul-body", "department.feedback", "application/json"), ("NUL", "note")),
        "plain": ((WATER, b"status=resolved&result=done", "plain", "department.feedback",
                   "text/plain"), ("text/plain",)),
        "bad-utf8": ((POLICE, b'{"status": "\xff\xfe"}', "bad-utf8", "department.feedback",
                      "application/json"), ("UTF-8",)),
        "not-json": ((WATER, b"{status: resolved", "not-json", "department.feedback",
                      "application/json"), ("not JSON",)),
    }
    good = [(WATER, ticket_id, water[ticket_id]) for ticket_id in water_tickets] + [
        (POLICE, ticket_id, police[ticket_id]) for ticket_id in police_tickets]
    with psycopg.connect(settings().database_url) as hold, \
            confirmed_connection(department_uri(intake_and_routing.users[WATER])) as by_water, \
            confirmed_connection(department_uri(intake_and_routing.users[POLICE])) as by_police:
        by = {WATER: by_water, POLICE: by_police}
        hold.execute("SELECT 1 FROM routing.tickets WHERE ticket_id = %s FOR UPDATE", (blocker,))
        publish(by_water, WATER, resolved(water[blocker]), "blocker")
        wait_until(lambda: queued(topology.ROUTING_FEEDBACK.name) == 0,
                   what="the only worker holding the first feedback")
        bad = list(poisoned.values())
        for n in range(max(len(good), len(bad))):  # interleaved: good, bad, good, bad...
            if n < len(good):
                department, _, dispatch_id = good[n]
                publish(by[department], department, resolved(dispatch_id), f"good-{n}")
            if n < len(bad):
                (department, body, message_id, message_type, content_type), _ = bad[n]
                publish(by[department], department, body, message_id, message_type, content_type)
        wait_until(lambda: queued(topology.ROUTING_FEEDBACK.name) == 0,
                   what="every feedback waiting for the worker")
        hold.rollback()  # the worker goes on: the others follow as one batch

    parked = {}
    wait_until(lambda: parked.update((m.headers["x-original-message-id"], m) for m in drain(
        topology.FEEDBACK_REJECTED, wait=0.2)) or len(parked) >= len(poisoned),
        timeout=60, what="every unusable feedback in zd.feedback.rejected")
    assert len(parked) == len(poisoned), sorted(parked)
    for name, (sent, words) in poisoned.items():
        shown_id = sent[2].replace("\x00", "\\u0000")
        reason = parked[shown_id].headers["x-park-reason"]
        assert all(word in reason for word in words), (name, reason)
        assert parked[shown_id].headers["x-original-routing-key"] == f"dept.{sent[0]}"
    kept = json.loads(parked["plain"].body)
    assert base64.b64decode(kept["body_base64"]) == b"status=resolved&result=done"

    for _, ticket_id, _ in good:
        wait_until(lambda ticket_id=ticket_id: resolutions(intake_and_routing, ticket_id), what="resolved")
    for _, ticket_id, _ in [*good, (WATER, blocker, None)]:
        assert len(resolutions(intake_and_routing, ticket_id)) == 1

    # one batch: the good and the unusable together, none handled alone or returned
    assert metric(intake_and_routing, "zd_consumed_batch_messages_sum",
                  queue=topology.ROUTING_FEEDBACK.name) - batched_before == len(good) + len(bad)
    assert queued(f"{topology.ROUTING_FEEDBACK.name}.parked") == 0
    assert queued(topology.ROUTING_FEEDBACK.name) == 0
    redelivered, delivered = wait_until(lambda: (found := redeliveries(
        topology.ROUTING_FEEDBACK.name))[1] >= 1 + len(good) + len(bad) and found,
        timeout=30, what="the broker's delivery statistics")
    assert redelivered == 0, "no feedback was returned to its queue"

    assert metric(intake_and_routing, "zd_feedback_rejected_total", reason="unreadable message") \
        - rejected_before["unreadable message"] == 4
    assert metric(intake_and_routing, "zd_feedback_rejected_total", reason="undecodable message") \
        - rejected_before["undecodable message"] == 3

    text = requests.get(f"{intake_and_routing.routing}/metrics", timeout=5).text
    assert {sample.labels["type"] for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name == "zd_messages_consumed_total"
            and sample.labels["queue"] == topology.ROUTING_FEEDBACK.name} == {"(from outside)"}, \
        "a department's own types make no time series of their own"

    told = [json.loads(m.body) for m in drain(topology.SERVICE_QUEUES["notify"].name, wait=1)
            if m.properties.get("type") == "feedback.rejected"]
    assert len(told) == len(poisoned)
    office = {event["reason"]: event for event in told}
    named = [event for reason, event in office.items() if "message_id" in reason]
    assert [(event["ticket_id"], event["district"]) for event in named] == [
        (water_tickets[0], "conghua")], "the office of the ticket hears of it"
