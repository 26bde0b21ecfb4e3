"""The whole chain with the four services as separate OS processes.

A front-end posts a concern in Chinese; the representative forwards it; the office's
rules dispatch it; a department system consumes it from ``zd.dept.<code>`` with its
own RabbitMQ user, answers ``acknowledged`` then ``resolved`` on ``zd.feedback``;
the front-end sees it resolved and the reports count it; the reporter's rating
closes it.
"""
import json
import time
from datetime import datetime
from typing import NamedTuple

import pytest
import requests
from kombu import Connection, Exchange, Producer, Queue

from services.common.directory import load_directory
from services.devstack import Stack
from services.routing.domain import due_at
from tests.support.queues import confirmed_connection
from tests.support.services import wait_until
from tests.support.system import DEMO_DIRECTORY, department_uri, free_port, fresh_system

pytestmark = pytest.mark.e2e


class StackWithKeys(NamedTuple):
    """The four services running as ``make run`` runs them, on a fresh system."""
    stack: Stack
    keys: dict    #: every party's API key, by party
    users: dict   #: the departments' broker users, by department


@pytest.fixture(scope="module")
def stack_with_keys(tmp_path_factory):
    keys, users, _ = fresh_system()
    ports = {f"ZD_{name.upper()}_PORT": str(free_port())
             for name in ("intake", "routing", "notify", "reporting")}
    logs = tmp_path_factory.mktemp("logs")
    with Stack(env=ports, log_dir=str(logs)) as stack:
        yield StackWithKeys(stack, keys, users)


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def department_connection(user):
    return Connection(department_uri(user))


def receive_dispatch(user, department, timeout=20):
    with department_connection(user) as connection:
        with connection.SimpleQueue(Queue(f"zd.dept.{department}", no_declare=True)) as queue:
            message = queue.get(block=True, timeout=timeout)
            message.ack()
            return message.properties, json.loads(message.body)


def send_feedback(user, department, body):
    with confirmed_connection(department_uri(user)) as connection:
        producer = Producer(connection.channel())
        producer.publish(body, exchange=Exchange("zd.feedback", type="topic", passive=True),
                         routing_key=f"dept.{department}", serializer="json", delivery_mode=2,
                         declare=[])


def test_a_concern_travels_the_chain_and_back(stack_with_keys):
    stack, keys, users = stack_with_keys.stack, stack_with_keys.keys, stack_with_keys.users
    intake, routing, reporting = stack.url("intake"), stack.url("routing"), stack.url("reporting")
    frontend = bearer(keys["frontend:baiyun"])
    posted = requests.post(f"{intake}/api/v1/concerns", headers=frontend, json={
        "external_id": "wx-20261122-0001", "district": "baiyun", "community": "yuangang",
        "channel": "wechat", "title": "元岗路下水道堵塞",
        "description": "元岗路32号门前下水道堵塞三天了，污水漫到人行道上，气味很大。",
        "location": {"lat": 23.19, "lon": 113.30, "address": "元岗路32号"},
        "reporter": {"name": "陈先生", "phone": "+8613800138000", "wants_feedback": True}})
    assert posted.status_code == 202, posted.text
    ticket_id = posted.json()["ticket_id"]

    def concern():
        return requests.get(f"{intake}/api/v1/concerns/{ticket_id}", headers=frontend).json()

    assigned = wait_until(lambda: concern()["status"] == "assigned" and concern(),
                          what="the ticket assigned to a representative")
    assert assigned["category"] == "drainage"
    representative = assigned["representative"]["id"]

    forwarded = requests.post(f"{routing}/api/v1/tickets/{ticket_id}/actions",
                              headers=bearer(keys[f"representative:{representative}"]),
                              json={"action": "forward", "note": "请水务局尽快疏通"})
    assert forwarded.status_code == 200, forwarded.text
    assert forwarded.json()["status"] == "dispatched"

    properties, dispatch = receive_dispatch(users["baiyun-water"], "baiyun-water")
    assert properties["message_id"] == dispatch["dispatch_id"]
    assert properties["content_type"] == "application/json"
    assert dispatch["ticket_id"] == ticket_id and dispatch["role"] == "lead"
    assert dispatch["reporter"] == {"name": "陈先生", "phone": "+8613800138000"}
    policy = load_directory(DEMO_DIRECTORY)["districts"]["baiyun"]["policy"]
    assert datetime.fromisoformat(dispatch["due_at"]) == due_at(
        datetime.fromisoformat(dispatch["dispatched_at"]), 72, policy), "72 working hours"

    send_feedback(users["baiyun-water"], "baiyun-water", {
        "dispatch_id": dispatch["dispatch_id"], "status": "acknowledged", "note": "已派员"})
    wait_until(lambda: concern()["status"] == "in_progress", what="ticket in progress")
    send_feedback(users["baiyun-water"], "baiyun-water", {
        "dispatch_id": dispatch["dispatch_id"], "status": "resolved", "result": "已疏通管道",
        "occurred_at": "2026-11-22T10:00:00+08:00"})
    resolved = wait_until(lambda: concern()["status"] == "resolved" and concern(),
                          what="ticket resolved")
    assert resolved["result"] == "已疏通管道"
    assert [(entry["action"], entry["to_status"]) for entry in resolved["timeline"]] == [
        ("receive", "received"), ("categorise", "received"), ("assign", "assigned"),
        ("forward", "forwarded"), ("dispatch", "dispatched"), ("acknowledged", "in_progress"),
        ("resolve", "resolved")]
    assert "reporter" not in resolved

    def summary():
        return requests.get(f"{reporting}/api/v1/reports/summary?district=baiyun",
                            headers=bearer(keys["admin"])).json()

    counted = wait_until(lambda: summary()["resolved"] == 1 and summary(), what="report counted")
    assert counted["received"] == 1 and counted["dispatched"] == 1
    assert counted["resolution_rate"] == 1.0

    rated = requests.post(f"{intake}/api/v1/concerns/{ticket_id}/rating", headers=frontend,
                          json={"rating": "satisfied", "comment": "疏通得很及时"})
    assert rated.status_code == 202, rated.text
    wait_until(lambda: concern()["status"] == "closed", what="ticket closed by the rating")
    closed = wait_until(lambda: summary()["by_status"]["closed"] == 1 and summary(),
                        what="the rating counted")
    assert closed["resolved"] == 1 and closed["satisfaction_rate"] == 1.0


def test_post_to_department_queue_latency_with_auto_forward(stack_with_keys, capsys):
    stack, keys, users = stack_with_keys.stack, stack_with_keys.keys, stack_with_keys.users
    started = time.monotonic()
    posted = requests.post(f"{stack.url('intake')}/api/v1/concerns",
                           headers=bearer(keys["frontend:conghua"]), json={
        "external_id": "hl-7", "district": "conghua", "community": "jiekou",
        "channel": "hotline", "description": "街口街道积水严重，排水口堵塞"})
    assert posted.status_code == 202, posted.text
    _, dispatch = receive_dispatch(users["conghua-water"], "conghua-water")
    elapsed = time.monotonic() - started
    assert dispatch["ticket_id"] == posted.json()["ticket_id"]
    with capsys.disabled():
        print(f"\n[figure] POST to department queue: {elapsed * 1000:.0f} ms")
