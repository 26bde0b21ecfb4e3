"""The deadlines of the district policy, acted on as if days had passed."""
import uuid
from datetime import timedelta

import psycopg
import pytest
import requests
from psycopg.rows import dict_row

from services.common.config import settings
from services.common.directory import load_directory
from services.routing import deadlines, workflow
from tests.support.services import running, wait_until
from tests.support.system import DEMO_DIRECTORY, fresh_system


@pytest.fixture(scope="module")
def chain():
    keys, _, _ = fresh_system()
    with running("intake") as intake, running("routing") as routing:
        yield keys, intake, routing


def routing_db():
    return psycopg.connect(settings().database_url, row_factory=dict_row,
                           options="-c search_path=routing")


def enforce(days):
    with routing_db() as conn:
        return deadlines.enforce(conn, load_directory(DEMO_DIRECTORY),
                                 workflow.now() + timedelta(days=days))


def post(chain, description, community="tonghe"):
    keys, intake, _ = chain
    answer = requests.post(f"{intake}/api/v1/concerns",
                           headers={"Authorization": f"Bearer {keys['frontend:baiyun']}"},
                           json={"external_id": str(uuid.uuid4()), "district": "baiyun",
                                 "community": community, "channel": "hotline",
                                 "description": description})
    assert answer.status_code == 202, answer.text
    return answer.json()["ticket_id"]


def ticket(chain, ticket_id):
    keys, _, routing = chain
    return requests.get(f"{routing}/api/v1/tickets/{ticket_id}",
                        headers={"Authorization": f"Bearer {keys['admin']}"}).json()


def wait_for_status(chain, ticket_id, status):
    return wait_until(lambda: ticket(chain, ticket_id).get("status") == status
                      and ticket(chain, ticket_id), what=f"ticket {status}")


def test_a_representative_who_does_not_act_is_passed_over(chain):
    ticket_id = post(chain, "同和路下水道堵塞")
    wait_for_status(chain, ticket_id, "assigned")
    assert enforce(days=0)["passed_over"] == 0
    assert enforce(days=10)["passed_over"] >= 1
    shown = ticket(chain, ticket_id)
    assert shown["status"] == "dispatched"  # baiyun dispatches by the rules at once
    forward = next(entry for entry in shown["timeline"] if entry["action"] == "forward")
    assert forward["actor"] == "system" and "did not act within 24 hours" in forward["note"]


def test_an_office_that_does_not_dispatch_is_escalated_once(chain):
    ticket_id = post(chain, "想咨询一下社区的事情")  # no category: it waits for the office
    wait_for_status(chain, ticket_id, "forwarded")
    enforce(days=10)
    enforce(days=11)
    escalations = [entry for entry in ticket(chain, ticket_id)["timeline"]
                   if entry["action"] == "escalate"]
    assert len(escalations) == 1 and "within 8 hours" in escalations[0]["note"]


def test_a_dispatch_past_its_due_time_is_flagged_overdue_once(chain):
    ticket_id = post(chain, "同和路积水，排水口堵塞")
    keys, _, routing = chain
    wait_for_status(chain, ticket_id, "assigned")
    representative = ticket(chain, ticket_id)["representative"]["id"]
    requests.post(f"{routing}/api/v1/tickets/{ticket_id}/actions",
                  headers={"Authorization": f"Bearer {keys[f'representative:{representative}']}"},
                  json={"action": "forward"})
    wait_for_status(chain, ticket_id, "dispatched")
    enforce(days=30)
    enforce(days=31)
    overdue = [entry for entry in ticket(chain, ticket_id)["timeline"]
               if entry["action"] == "overdue"]
    assert len(overdue) == 1 and overdue[0]["note"].startswith("baiyun-water was due at")
