"""The reporter's rating closes the loop: satisfied closes, unsatisfied reopens up to the
district's reopen_limit, no rating in 7 days closes (docs/reference.md#rate-a-resolution)."""
import uuid
from datetime import timedelta

import psycopg
import pytest
import requests
from psycopg.rows import dict_row

from services.common.config import settings
from services.common.directory import load_directory
from services.routing.use_cases import deadlines, workflow
from tests.support.services import running, wait_until
from tests.support.system import DEMO_DIRECTORY, fresh_system


@pytest.fixture(scope="module")
def chain():
    keys, _, _ = fresh_system()
    with running("intake") as intake, running("routing") as routing:
        yield keys, intake, routing


def bearer(chain, party):
    return {"Authorization": f"Bearer {chain[0][party]}"}


def concern(chain, ticket_id):
    return requests.get(f"{chain[1]}/api/v1/concerns/{ticket_id}",
                        headers=bearer(chain, "frontend:conghua")).json()


def rate(chain, ticket_id, rating, comment=None, district="conghua"):
    return requests.post(f"{chain[1]}/api/v1/concerns/{ticket_id}/rating",
                         headers=bearer(chain, f"frontend:{district}"),
                         json={"rating": rating, "comment": comment})


def resolved_ticket(chain, ticket_id=None):
    """A conghua concern (auto-forward, auto-dispatch) resolved by its department."""
    if ticket_id is None:
        answer = requests.post(f"{chain[1]}/api/v1/concerns",
                               headers=bearer(chain, "frontend:conghua"), json={
                                   "external_id": str(uuid.uuid4()), "district": "conghua",
                                   "community": "jiekou", "channel": "app",
                                   "description": "街口路下水道堵塞"})
        ticket_id = answer.json()["ticket_id"]
    shown = wait_until(lambda: concern(chain, ticket_id)["status"] == "dispatched"
                       and concern(chain, ticket_id), what="dispatched")
    latest = requests.get(f"{chain[2]}/api/v1/tickets/{ticket_id}",
                          headers=bearer(chain, "admin")).json()["departments"][-1]
    assert shown["departments"][-1]["status"] == "sent"
    answer = requests.post(f"{chain[2]}/api/v1/departments/conghua-water/feedback",
                           headers=bearer(chain, "department:conghua-water"),
                           json={"dispatch_id": latest["dispatch_id"], "status": "resolved",
                                 "result": "已疏通"})
    assert answer.status_code == 200, answer.text
    wait_until(lambda: concern(chain, ticket_id)["status"] == "resolved", what="resolved")
    return ticket_id


def test_satisfied_reporter_closes_the_ticket_and_rates_once(chain):
    ticket_id = resolved_ticket(chain)
    answer = rate(chain, ticket_id, "satisfied", "很快就修好了")
    assert answer.status_code == 202 and answer.json()["resolution"] == 0
    closed = wait_until(lambda: concern(chain, ticket_id)["status"] == "closed"
                        and concern(chain, ticket_id), what="closed")
    assert closed["rating"] == {"rating": "satisfied", "comment": "很快就修好了"}
    assert rate(chain, ticket_id, "unsatisfied").status_code == 409


def test_only_a_resolved_ticket_can_be_rated(chain):
    answer = requests.post(f"{chain[1]}/api/v1/concerns", headers=bearer(chain, "frontend:conghua"),
                           json={"external_id": str(uuid.uuid4()), "district": "conghua",
                                 "community": "jiekou", "channel": "app",
                                 "description": "街口路下水道堵塞"})
    refused = rate(chain, answer.json()["ticket_id"], "satisfied")
    assert refused.status_code == 409 and "resolved" in refused.json()["detail"]
    assert rate(chain, answer.json()["ticket_id"], "so-so").status_code == 400


def test_unsatisfied_reopens_until_the_limit_then_closes(chain):
    ticket_id = resolved_ticket(chain)
    for reopening in (1, 2):
        assert rate(chain, ticket_id, "unsatisfied", "还是堵").status_code == 202
        reopened = wait_until(lambda n=reopening: concern(chain, ticket_id)["reopen_count"] == n
                              and concern(chain, ticket_id), what=f"reopened {reopening}")
        assert reopened["status"] in ("forwarded", "dispatched")
        resolved_ticket(chain, ticket_id)
    assert rate(chain, ticket_id, "unsatisfied").status_code == 202
    closed = wait_until(lambda: concern(chain, ticket_id)["status"] == "closed"
                        and concern(chain, ticket_id), what="closed at the limit")
    assert "reopen limit 2 reached" in closed["timeline"][-1]["note"]
    assert len(closed["departments"]) == 3, "each reopening is a new dispatch"


def test_a_resolution_not_rated_in_seven_days_closes(chain):
    ticket_id = resolved_ticket(chain)
    with psycopg.connect(settings().database_url, row_factory=dict_row,
                         options="-c search_path=routing") as conn:
        deadlines.enforce(conn, load_directory(DEMO_DIRECTORY),
                          workflow.now() + timedelta(days=8))
    closed = wait_until(lambda: concern(chain, ticket_id)["status"] == "closed"
                        and concern(chain, ticket_id), what="closed unrated")
    assert closed["timeline"][-1]["note"] == "not rated within 7 days"


def test_a_stale_hand_back_on_an_earlier_resolved_dispatch_changes_nothing(chain):
    ticket_id = resolved_ticket(chain)
    first = requests.get(f"{chain[2]}/api/v1/tickets/{ticket_id}",
                         headers=bearer(chain, "admin")).json()["departments"][-1]
    assert rate(chain, ticket_id, "unsatisfied", "还是堵").status_code == 202
    reopened = wait_until(lambda: concern(chain, ticket_id)["status"] == "dispatched"
                          and concern(chain, ticket_id)["reopen_count"] == 1
                          and concern(chain, ticket_id), what="reopened and dispatched again")
    assert len(reopened["departments"]) == 2
    stale = requests.post(f"{chain[2]}/api/v1/departments/conghua-water/feedback",
                          headers=bearer(chain, "department:conghua-water"),
                          json={"dispatch_id": first["dispatch_id"], "status": "rejected",
                                "note": "不归我们管"})
    assert stale.status_code == 409, stale.text
    assert "no longer active (resolved)" in stale.json()["detail"]
    after = requests.get(f"{chain[2]}/api/v1/tickets/{ticket_id}", headers=bearer(chain, "admin")).json()
    assert after["status"] == "dispatched" and after["departments"][-1]["status"] == "sent"


def test_the_reporter_of_a_merged_repeat_rates_the_original_s_result(chain):
    """Tianhe merges a repeat at once (its policy: auto_merge). When the representative
    resolves the original, the front-end shows the repeat merged with the result, and its
    reporter's rating is taken: once."""
    def post(n):
        answer = requests.post(f"{chain[1]}/api/v1/concerns", headers=bearer(chain, "frontend:tianhe"),
                               json={"external_id": str(uuid.uuid4()), "district": "tianhe",
                                     "community": "shipai", "channel": "app",
                                     "description": "石牌东路下水道堵塞，污水外溢",
                                     "location": {"lat": 23.1335, "lon": 113.3410 + n / 100_000}})
        assert answer.status_code == 202, answer.text
        return answer.json()["ticket_id"]

    def shown(ticket_id):
        return requests.get(f"{chain[1]}/api/v1/concerns/{ticket_id}",
                            headers=bearer(chain, "frontend:tianhe")).json()

    original = post(0)
    assigned = wait_until(lambda: shown(original)["status"] == "assigned" and shown(original),
                          what="original assigned")
    repeat = post(1)
    wait_until(lambda: shown(repeat)["status"] == "merged", what="repeat merged")
    assert rate(chain, repeat, "satisfied", district="tianhe").status_code == 409  # nothing resolved yet
    representative = assigned["representative"]["id"]
    answer = requests.post(f"{chain[2]}/api/v1/tickets/{original}/actions",
                           headers=bearer(chain, f"representative:{representative}"),
                           json={"action": "resolve", "result": "已疏通下水道"})
    assert answer.status_code == 200, answer.text
    followed = wait_until(lambda: shown(repeat).get("result") and shown(repeat), what="result")
    assert (followed["status"], followed["result"]) == ("merged", "已疏通下水道")
    rated = rate(chain, repeat, "satisfied", "修好了", "tianhe")
    assert rated.status_code == 202 and rated.json()["resolution"] == 0
    wait_until(lambda: shown(repeat).get("rating"), what="rating kept")
    assert shown(repeat)["rating"] == {"rating": "satisfied", "comment": "修好了"}
    assert shown(repeat)["status"] == "merged" and shown(original)["status"] == "resolved"
    assert rate(chain, repeat, "unsatisfied", district="tianhe").status_code == 409
