"""The deadlines of the district policy, acted on as if days had passed."""
import uuid
from datetime import timedelta

import psycopg
import pytest
import requests
from psycopg.rows import dict_row

from services.common.config import settings
from services.common.directory import load_directory
from services.routing.use_cases import deadlines, workflow
from tests.support import events as made
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


def test_a_due_ticket_behind_hundreds_not_yet_due_is_escalated(chain):
    directory = load_directory(DEMO_DIRECTORY)
    for code, district in directory["districts"].items():
        district["policy"]["calendar"] = None
        district["policy"]["congress_hours"] = 48 if code == "baiyun" else 8
    now = workflow.now()
    waiting = [(f"ZD20260101-B{n:07d}", "baiyun", now - timedelta(hours=20, minutes=n))
               for n in range(250)]  # older, but baiyun's office has 48 hours
    due = (f"ZD20260101-T{uuid.uuid4().hex[:7].upper()}", "tianhe", now - timedelta(hours=9))
    with routing_db() as conn:
        for ticket_id, district, since in (*waiting, due):
            conn.execute(
                "INSERT INTO tickets (ticket_id, status, district, community, channel, description,"
                " submitted_at, received_at, status_since) VALUES (%s, 'forwarded', %s, NULL,"
                " 'hotline', '积水', %s, %s, %s)", (ticket_id, district, since, since, since))
    with routing_db() as conn:
        done = deadlines.enforce(conn, directory, now)
        escalated = {row["ticket_id"] for row in conn.execute(
            "SELECT ticket_id FROM tickets WHERE escalated_at IS NOT NULL AND ticket_id = ANY(%s)",
            ([ticket_id for ticket_id, _, _ in (*waiting, due)],)).fetchall()}
        conn.execute("UPDATE tickets SET status = 'rejected' WHERE ticket_id = ANY(%s)",
                     ([ticket_id for ticket_id, _, _ in (*waiting, due)],))
    assert escalated == {due[0]} and done["escalated"] >= 1


def test_a_concern_whose_contact_never_comes_is_routed_without_it(chain):
    ticket_id = f"ZD20260101-H{uuid.uuid4().hex[:7].upper()}"
    (received,) = [event for event in made.concern_events(
        ticket_id, reporter={"name": "周女士", "phone": "+8613900000009", "wants_feedback": True},
        community="tonghe") if event.type == "concern.received"]
    made.publish(received)  # its reporter.dispatch_contact is lost on the way
    with routing_db() as conn:
        wait_until(lambda: conn.execute("SELECT 1 FROM held_concerns WHERE ticket_id = %s",
                                        (ticket_id,)).fetchone(), what="the concern held")
    assert enforce(days=0)["routed_without_contact"] == 0, "ten minutes are not up"
    done = enforce(days=1)
    assert done["routed_without_contact"] >= 1
    routed = wait_for_status(chain, ticket_id, "assigned")
    assert routed["reporter_wants_feedback"] is True
