"""Intake and routing in one process, against the real broker and database."""
import json

import pytest
import requests
from kombu import Connection, Queue

from services.common.config import settings
from tests.support.services import running
from tests.support.system import department_uri, fresh_system


@pytest.fixture
def system():
    keys, users, directory = fresh_system()
    return keys, users


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


def test_conghua_concern_reaches_the_water_bureau_queue(system):
    keys, users = system
    with running("intake") as intake, running("routing"):
        answer = requests.post(f"{intake}/api/v1/concerns", headers={
            "Authorization": f"Bearer {keys['frontend:conghua']}"}, json={
            "external_id": "c-1", "district": "conghua", "community": "jiekou",
            "channel": "hotline", "description": "街口路下水道堵塞，污水外溢",
            "reporter": {"name": "王女士", "phone": "+8613900000000", "wants_feedback": True}})
        assert answer.status_code == 202, answer.text
        message = take_one("zd.dept.conghua-water", users["conghua-water"])
        body = json.loads(message.body)
        assert message.properties["message_id"] == body["dispatch_id"]
        assert body["ticket_id"] == answer.json()["ticket_id"]
        assert body["reporter"] == {"name": "王女士", "phone": "+8613900000000"}
