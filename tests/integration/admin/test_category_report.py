"""The category report: the office's changes of category, read back from routing's
timeline, with the words to add as keywords."""
from collections import Counter

import psycopg
import pytest
from psycopg.rows import dict_row

from services.admin import category_report
from services.common import events
from services.common.config import settings
from services.common.credentials import Party
from services.common.errors import BadRequest
from services.routing import store
from services.routing.use_cases import actions, inbound, workflow
from services.routing.use_cases.step import Step
from tests.support import events as made
from tests.support.system import fresh_system

LEAKS = ["楼上一直漏水，天花板发霉", "隔壁漏水渗到我家墙面", "漏水把楼下天花板泡坏了"]


@pytest.fixture
def system():
    return fresh_system()


def connection():
    return psycopg.connect(settings().database_url, row_factory=dict_row,
                           options="-c search_path=routing")


def receive(conn, directory, n, text):
    row = made.concern_row(f"ZD20260302-{n:08d}", category=None, title=None, description=text)
    with conn.transaction(), Step.on(conn, directory) as step:
        workflow.receive_concern(step, inbound.checked_concern(
            events.concern_received(row).body, directory))
    return row["ticket_id"]


def dispatch(conn, directory, ticket_id, category):
    with conn.transaction():
        return actions.act(conn, ticket_id, Party("congress", "baiyun"), {
            "action": "dispatch", "departments": {"lead": "baiyun-water", "assist": []},
            "category": category}, directory)


def test_the_office_changes_are_counted_with_the_words_to_add(system):
    directory = system[2]
    with connection() as conn:
        leaks = [receive(conn, directory, n, text) for n, text in enumerate(LEAKS)]
        sewer = receive(conn, directory, 9, "元岗路下水道堵塞，污水外溢")
        assert all(store.find_ticket(conn, ticket_id)["status"] == "forwarded" for ticket_id in leaks)
        for ticket_id in leaks:
            dispatched = dispatch(conn, directory, ticket_id, "water-supply")
            assert (dispatched["status"], dispatched["category"]) == ("dispatched", "water-supply")
        notes = [entry["note"] for entry in store.timeline(conn, leaks[0])
                 if entry["action"] == "recategorise"]
        assert notes == ["none → water-supply"]
        chosen, changes = category_report.read(conn, 90)
    rows, suggestions = category_report.report(chosen, changes, directory["categories"])
    by_chosen = {row.chosen: row for row in rows}
    assert by_chosen["none"].tickets == 3 and by_chosen["none"].changed_to == Counter({"water-supply": 3})
    assert by_chosen["drainage"].tickets == 1 and not by_chosen["drainage"].changed_to
    assert chosen[sewer] == "drainage"
    assert ("漏水", 3) in suggestions["water-supply"]
    printed = category_report.lines(rows, suggestions, 90)
    assert any(line.startswith("none") and "water-supply 3" in line for line in printed)
    assert "  water-supply: 漏水 (3 tickets)" in [line.split(", ")[0] for line in printed]


def test_an_unknown_category_is_refused_and_changes_nothing(system):
    directory = system[2]
    with connection() as conn:
        ticket_id = receive(conn, directory, 1, LEAKS[0])
        with pytest.raises(BadRequest) as refused:
            dispatch(conn, directory, ticket_id, "plumbing")
        assert refused.value.errors == {"category": ["Unknown category plumbing."]}
        ticket = store.find_ticket(conn, ticket_id)
    assert (ticket["status"], ticket["category"]) == ("forwarded", None)


def test_a_category_chosen_wrong_is_counted_against_it():
    chosen = {"t1": "drainage", "t2": "drainage", "t3": "sanitation"}
    changes = [(["水管", "漏水"], "drainage", "water-supply"), (["水管"], "drainage", "water-supply")]
    rows, suggestions = category_report.report(chosen, changes, {"water-supply": {"keywords": ["水管"]}})
    assert [(row.chosen, row.tickets, dict(row.changed_to)) for row in rows] == [
        ("drainage", 2, {"water-supply": 2}), ("sanitation", 1, {})]
    assert suggestions == {"water-supply": []}  # 水管 is a keyword already; 漏水 came once
