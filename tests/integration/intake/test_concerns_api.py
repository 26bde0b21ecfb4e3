"""The intake API against the real PostgreSQL and RabbitMQ."""
import pytest
import requests

from tests.support.services import running, wait_until
from tests.support.system import fresh_system


@pytest.fixture
def system():
    keys, users, directory = fresh_system()
    return keys, directory


@pytest.fixture
def intake(system):
    with running("intake") as base:
        yield base


def concern(**overrides):
    body = {"external_id": "mp-1001", "district": "baiyun", "community": "yuangang",
            "channel": "wechat", "description": "元岗路下水道堵塞，污水外溢"}
    body.update(overrides)
    return body


def post(base, key, body):
    return requests.post(f"{base}/api/v1/concerns", json=body,
                         headers={"Authorization": f"Bearer {key}"}, timeout=5)


def test_concern_is_accepted_and_readable(system, intake):
    keys, _ = system
    answer = post(intake, keys["frontend:baiyun"], concern())
    assert answer.status_code == 202, answer.text
    ticket_id = answer.json()["ticket_id"]
    shown = requests.get(f"{intake}/api/v1/concerns/{ticket_id}",
                         headers={"Authorization": f"Bearer {keys['frontend:baiyun']}"}).json()
    assert shown["status"] == "received"
    assert shown["description"].startswith("元岗路")
