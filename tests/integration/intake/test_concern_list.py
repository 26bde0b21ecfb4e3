"""``GET /api/v1/concerns``: a front-end's concerns of its own district, cursor-paged in
the order of their last change, filtered by external id, status and time; no reporter
details. Real PostgreSQL and RabbitMQ; the ticket event comes from routing's own code."""
from datetime import datetime, timezone

import pytest
import requests

from tests.support import events as made
from tests.support.services import running, wait_until
from tests.support.system import fresh_system

REPORTER = {"name": "李女士", "phone": "+8613700000000", "wants_feedback": True}


@pytest.fixture(scope="module")
def posted():
    keys, _, directory = fresh_system()
    with running("intake") as base:
        baiyun = [post(base, keys["frontend:baiyun"], f"list-{n}", "baiyun", "yuangang")
                  for n in range(5)]
        post(base, keys["frontend:conghua"], "list-other", "conghua", "jiangpu")
        yield base, keys, directory, baiyun


def post(base, key, external_id, district, community):
    answer = requests.post(f"{base}/api/v1/concerns", timeout=10, headers=bearer(key), json={
        "external_id": external_id, "district": district, "community": community,
        "channel": "wechat", "description": f"{external_id}: 路灯不亮", "reporter": REPORTER})
    assert answer.status_code == 202, answer.text
    return answer.json()["ticket_id"]


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def listing(base, key, **params):
    return requests.get(f"{base}/api/v1/concerns", params=params, headers=bearer(key), timeout=10)


def test_pages_follow_one_another_to_the_end_with_nothing_twice(posted):
    base, keys, _, baiyun = posted
    seen, cursor, pages = [], None, 0
    while True:
        answer = listing(base, keys["frontend:baiyun"], limit=2, **({"cursor": cursor} if cursor else {}))
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert "李女士" not in answer.text and "13700000000" not in answer.text
        assert "路灯不亮" not in answer.text, "a list shows no description"
        seen += [concern["ticket_id"] for concern in page["concerns"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == baiyun and pages == 3  # the order of posting is the order of change


def test_filters_by_external_id_and_status(posted):
    base, keys, _, baiyun = posted
    (found,) = listing(base, keys["frontend:baiyun"], external_id="list-3").json()["concerns"]
    assert found["ticket_id"] == baiyun[3] and found["status"] == "received"
    assert found["href"] == f"/api/v1/concerns/{baiyun[3]}"
    assert listing(base, keys["frontend:baiyun"], external_id="list-other").json()["concerns"] == []
    assert len(listing(base, keys["frontend:baiyun"], status="received").json()["concerns"]) == 5
    assert listing(base, keys["frontend:baiyun"], status="resolved").json()["concerns"] == []


def test_since_shows_what_changed_after_a_time(posted):
    base, keys, directory, baiyun = posted
    before_change = datetime.now(timezone.utc)
    ticket = made.ticket_row(baiyun[1], "dispatched", 3)
    made.publish(made.ticket_event("dispatched", ticket, directory))

    def changed():
        return listing(base, keys["frontend:baiyun"], since=before_change.isoformat()).json()["concerns"]

    (shown,) = wait_until(changed, what="the dispatched concern listed as changed")
    assert shown["ticket_id"] == baiyun[1] and shown["status"] == "dispatched"
    assert shown["changed_at"] >= before_change.isoformat()
    dispatched = listing(base, keys["frontend:baiyun"], status="dispatched").json()["concerns"]
    assert [concern["ticket_id"] for concern in dispatched] == [baiyun[1]]


@pytest.mark.parametrize("params, field", [
    ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"), ({"cursor": "%%%"}, "cursor"),
    ({"status": "lost"}, "status"), ({"since": "yesterday"}, "since"), ({"limit": "0"}, "limit"),
    ({"limit": "201"}, "limit")])
def test_a_bad_query_is_a_problem_naming_the_field(posted, params, field):
    base, keys, _, _ = posted
    answer = listing(base, keys["frontend:baiyun"], **params)
    assert answer.status_code == 400
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert field in answer.json()["errors"]


def test_only_a_front_end_key_lists(posted):
    base, keys, _, _ = posted
    assert listing(base, "zd_nobody.nothing").status_code == 401
    assert listing(base, keys["congress:baiyun"]).status_code == 403
