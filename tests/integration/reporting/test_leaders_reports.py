"""The reports leaders and offices read every week, through the public API, on the
real broker and database: who holds each overdue ticket and how late it is in working
hours, the daily trend, the hot topics; and the read model's rebuild from its event
log, with the same figures after.

Events are built by the producers' own code (tests/support/events.py). Each test
keeps to its own district or days, so the tests share one running service.
"""
import csv
import io
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
import requests

from services.common.config import settings
from services.reporting import store
from tests.support import events as made
from tests.support import scenarios
from tests.support.services import running_on_a_fresh_system, wait_until
from tests.support.ticket_life import TicketLife

LOCAL = ZoneInfo("Asia/Shanghai")


def local(*parts):
    return datetime(*parts, tzinfo=LOCAL)


@pytest.fixture(scope="module")
def reporting():
    with running_on_a_fresh_system("reporting") as reporting:
        yield reporting


def get(reporting, path, key="admin", **params):
    return requests.get(f"{reporting.base}{path}", params=params, timeout=10,
                        headers={"Authorization": f"Bearer {reporting.keys[key]}"})


def rebuild(reporting):
    """The read model rebuilt by reporting, asked as the operator's command asks (the admin
    key); the counts it answers."""
    answer = requests.post(f"{reporting.base}/api/v1/read-model/rebuild", timeout=120,
                           headers={"Authorization": f"Bearer {reporting.keys['admin']}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def applied(*sent):
    """Wait until reporting applied the events ``sent`` (their message ids)."""
    wanted = {message_id for ids in sent for message_id in ids}

    def all_in_inbox():
        with psycopg.connect(settings().database_url) as conn:
            return conn.execute("SELECT count(*) FROM reporting.inbox WHERE message_id = ANY(%s)",
                                (list(wanted),)).fetchone()[0] == len(wanted)
    wait_until(all_in_inbox, timeout=60, what=f"reporting applied {len(wanted)} events")


def life(directory, ticket_id, received_at, district="baiyun"):
    """A concern received in ``district`` (in yuangang, of drainage), its life to come."""
    return TicketLife(directory, ticket_id, received_at, district=district)


def test_overdue_lists_who_holds_each_late_ticket_in_working_hours(reporting):
    directory = reporting.directory
    received = local(2026, 9, 14, 9)
    due_friday = local(2026, 9, 18, 17)
    sent = [
        # a department due Friday 17:00: late by Friday 17-18, the make-up Sunday, Monday 9-10
        life(directory, "OD-DEPT", received).assigned(received)
        .forwarded(local(2026, 9, 16, 9)).dispatched(local(2026, 9, 16, 9), "baiyun-water",
                                                     due=due_friday)
        .in_progress(local(2026, 9, 16, 10)),
        life(directory, "OD-TRAFFIC", received).assigned(received)
        .forwarded(local(2026, 9, 16, 9)).dispatched(local(2026, 9, 16, 9), "gz-traffic-police",
                                                     due=due_friday),
        # a representative assigned Thursday 9:00, 24 working hours: due Sunday 15:00
        life(directory, "OD-REP", received).assigned(local(2026, 9, 17, 9)),
        # the office since Friday 12:00, 8 working hours: due Sunday 11:00, escalated
        life(directory, "OD-OFFICE", received).assigned(received)
        .forwarded(local(2026, 9, 18, 12))        .escalated(local(2026, 9, 20, 11, 1)),
        # not late yet, resolved, or another district's
        life(directory, "OD-NOT-YET", received).assigned(received)
        .forwarded(local(2026, 9, 18, 9)).dispatched(local(2026, 9, 18, 9), "baiyun-water",
                                                     due=local(2026, 9, 21, 12)),
        life(directory, "OD-RESOLVED", received).assigned(received).resolved(local(2026, 9, 18, 9)),
        life(directory, "OD-TIANHE", received, "tianhe").assigned(local(2026, 9, 1, 9)),
    ]
    applied(*[made.publish(*ticket.events) for ticket in sent])
    as_of = local(2026, 9, 21, 10).isoformat()

    report = get(reporting, "/api/v1/reports/overdue", district="baiyun", as_of=as_of)
    assert report.status_code == 200, report.text
    body = report.json()
    shown = {entry["ticket_id"]: entry for entry in body["tickets"]}
    assert [entry["ticket_id"] for entry in body["tickets"]] == [
        "OD-DEPT", "OD-TRAFFIC", "OD-OFFICE", "OD-REP"]
    assert body["count"] == 4 and body["as_of"] == "2026-09-21T02:00:00+00:00"
    department = shown["OD-DEPT"]
    assert department["holder"] == {"kind": "department", "id": "baiyun-water", "name": "白云区水务局"}
    assert (department["held_since"], department["due_at"]) == (
        "2026-09-16T01:00:00+00:00", "2026-09-18T09:00:00+00:00")
    assert (department["overdue_working_hours"], department["overdue_hours"]) == (11.0, 65.0)
    assert department["escalations"] == []
    office = shown["OD-OFFICE"]
    assert office["holder"]["kind"] == "office" and office["holder"]["name"] == "白云区人大常委会代表联络室"
    assert office["due_at"] == "2026-09-20T03:00:00+00:00"   # Sunday 11:00 local
    assert (office["overdue_working_hours"], office["overdue_hours"]) == (8.0, 23.0)
    assert office["escalations"] == [{"at": "2026-09-20T03:01:00+00:00", "kind": "escalated",
                                      "note": "not dispatched within 8 hours"}]
    representative = shown["OD-REP"]
    assert representative["holder"] == {"kind": "representative", "id": "rep-chen-jianguo",
                                        "name": directory["representatives"]["rep-chen-jianguo"]["name"]}
    assert representative["due_at"] == "2026-09-20T07:00:00+00:00"  # Sunday 15:00 local
    assert (representative["overdue_working_hours"], representative["overdue_hours"]) == (4.0, 19.0)

    by_department = get(reporting, "/api/v1/reports/overdue", district="baiyun", as_of=as_of,
                        department="baiyun-water").json()
    assert [entry["ticket_id"] for entry in by_department["tickets"]] == ["OD-DEPT"]
    an_hour_earlier = get(reporting, "/api/v1/reports/overdue", district="baiyun",
                          as_of=local(2026, 9, 18, 16).isoformat()).json()
    assert an_hour_earlier["tickets"] == []

    as_csv = get(reporting, "/api/v1/reports/overdue", district="baiyun", as_of=as_of, format="csv")
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert [row["ticket_id"] for row in rows] == ["OD-DEPT", "OD-TRAFFIC", "OD-OFFICE", "OD-REP"]
    assert rows[2]["holder.kind"] == "office" and rows[2]["overdue_working_hours"] == "8.0"
    assert (rows[2]["escalations"], rows[2]["last_escalation"]) == ("1", "escalated")

    office_key = get(reporting, "/api/v1/reports/overdue", key="congress:baiyun", as_of=as_of).json()
    assert office_key["district"] == "baiyun" and office_key["count"] == 4
    assert get(reporting, "/api/v1/reports/overdue", key="congress:baiyun",
               district="tianhe").status_code == 403
    bad = get(reporting, "/api/v1/reports/overdue", as_of="monday")
    assert bad.status_code == 400 and "as_of" in bad.json()["errors"]


def test_the_trend_counts_each_local_day_received_dispatched_and_resolved(reporting):
    directory = reporting.directory
    sent = []
    for n, (received, dispatched, resolved) in enumerate([
            (local(2025, 3, 3, 9), local(2025, 3, 3, 10), local(2025, 3, 4, 11)),
            (local(2025, 3, 3, 23, 30), local(2025, 3, 4, 9), None),   # 15:30 UTC: still the 3rd
            (local(2025, 3, 5, 0, 30), None, None)]):                  # 16:30 UTC on the 4th
        ticket = life(directory, f"TR-{n}", received, "tianhe").assigned(received)
        if dispatched:
            ticket.forwarded(dispatched).dispatched(dispatched, "tianhe-water")
        if resolved:
            ticket.resolved(resolved)
        sent.append(ticket.events)
    applied(*[made.publish(*events) for events in sent])

    answer = get(reporting, "/api/v1/reports/trend", district="tianhe",
                 **{"from": "2025-03-02", "to": "2025-03-06"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["days"] == [
        {"day": "2025-03-02", "received": 0, "dispatched": 0, "resolved": 0},
        {"day": "2025-03-03", "received": 2, "dispatched": 1, "resolved": 0},
        {"day": "2025-03-04", "received": 0, "dispatched": 1, "resolved": 1},
        {"day": "2025-03-05", "received": 1, "dispatched": 0, "resolved": 0}]
    rows = list(csv.DictReader(io.StringIO(get(
        reporting, "/api/v1/reports/trend", district="tianhe", format="csv",
        **{"from": "2025-03-02", "to": "2025-03-06"}).content.decode("utf-8-sig"))))
    assert [(row["day"], row["received"]) for row in rows][1] == ("2025-03-03", "2")


def figures_of(reporting, district, paths=("summary", "by-category", "trend")):
    """The figures of a district's June 2025, and its overdue tickets of this test."""
    window = {"district": district, "from": "2025-06-01", "to": "2025-07-01"}
    figures = {path: get(reporting, f"/api/v1/reports/{path}", **window).json() for path in paths}
    overdue = get(reporting, "/api/v1/reports/overdue", district=district,
                  as_of="2027-01-01T00:00:00+08:00").json()
    return figures | {"overdue": [entry for entry in overdue["tickets"]
                                  if entry["ticket_id"].startswith("RB-")]}


ALL_REPORTS = ("summary", "by-category", "by-department", "by-representative", "trend")


def lifecycle_events(directory, ticket_id, district, day):
    """A ticket received, assigned, dispatched, resolved and rated, as its producers emit it."""
    received = local(2025, 6, day, 9)
    ticket = life(directory, ticket_id, received, district).assigned(received)
    with ticket.step():  # forwarded and dispatched by the category rules at once
        ticket.forwarded(received + timedelta(hours=1)).dispatched(
            received + timedelta(hours=1), f"{district}-water", due=received + timedelta(hours=30))
    rated = received + timedelta(hours=30)
    ticket.resolved(received + timedelta(hours=26)).rated(rated, "satisfied").closed(rated)
    return ticket.events


def test_a_rebuild_and_events_delivered_twice_and_shuffled_change_no_figure(reporting):
    directory = reporting.directory
    in_order = [event for n in range(12)
                for event in lifecycle_events(directory, f"RB-A{n}", "conghua", 1 + n % 5)]
    in_order += life(directory, "RB-A-LATE", local(2025, 6, 2, 9), "conghua").assigned(
        local(2025, 6, 2, 9)).events
    applied(made.publish(*in_order))
    before = figures_of(reporting, "conghua", ALL_REPORTS)
    assert before["summary"]["received"] == 13 and before["summary"]["resolved"] == 12
    assert [entry["ticket_id"] for entry in before["overdue"]] == ["RB-A-LATE"]

    with psycopg.connect(settings().database_url) as conn:  # a read model gone wrong
        logged = conn.execute("SELECT (SELECT count(*) FROM reporting.event_log),"
                              " (SELECT count(*) FROM reporting.report_tickets),"
                              " (SELECT count(*) FROM reporting.ratings)").fetchone()
        conn.execute("UPDATE reporting.report_tickets SET status = 'rejected', departments = '{}'"
                     " WHERE district = 'conghua'")
    assert figures_of(reporting, "conghua", ALL_REPORTS) != before
    done = rebuild(reporting)
    assert (done["events"], done["tickets"], done["ratings"]) == logged  # every event, ticket and rating
    assert logged[0] >= len(in_order) and logged[2] >= 12
    assert figures_of(reporting, "conghua", ALL_REPORTS) == before

    # the same history once more under other ids, every event twice, in a random order
    again = [event for n in range(12)
             for event in lifecycle_events(directory, f"RB-B{n}", "baiyun", 1 + n % 5)]
    again += life(directory, "RB-B-LATE", local(2025, 6, 2, 9), "baiyun").assigned(
        local(2025, 6, 2, 9)).events
    shuffled = again * 2
    random.Random(7).shuffle(shuffled)
    applied(made.publish(*shuffled))
    assert strip_district(figures_of(reporting, "baiyun"), "baiyun", directory) == \
        strip_district(figures_of(reporting, "conghua"), "conghua", directory)


def strip_district(figures, district, directory):
    """``figures`` with the district's code, its representatives and its tickets' ids
    taken out, to compare one district's figures with another's."""
    text = repr(figures)
    representatives = [(rep_id, rep["name"]) for rep_id, rep in directory["representatives"].items()
                       if rep["district"] == district]
    for old in (*(part for rep in representatives for part in rep), district, "RB-A", "RB-B"):
        text = text.replace(old, "X")
    return text


def test_hot_topics_put_the_twenty_reports_of_one_blocked_sewer_on_top(reporting):
    sent, sewer_ids = scenarios.sewer_among_others(reporting.directory, local(2026, 4, 1, 8))
    applied(made.publish(*sent))
    answer = get(reporting, "/api/v1/reports/hot-topics", district="baiyun", days=30,
                 as_of=local(2026, 4, 25).isoformat())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["tickets"] == 120
    top = body["groups"][0]
    assert (top["category"], top["community"], top["count"]) == ("drainage", "yuangang", 20)
    assert top["ticket_ids"] == sorted(sewer_ids)
    assert {"下水道", "堵塞", "污水"} <= set(top["top_words"])
    assert (top["open"], top["resolved"], top["previous_count"], top["growth"]) == (16, 4, 0, 20)
    assert all(group["count"] < 20 for group in body["groups"][1:])
    assert not any(set(group["ticket_ids"]) & set(sewer_ids) for group in body["groups"][1:])
    again = get(reporting, "/api/v1/reports/hot-topics", district="baiyun", days=30,
                as_of=local(2026, 4, 25).isoformat()).json()
    assert again == body, "the same data gives the same topics"
    later = get(reporting, "/api/v1/reports/hot-topics", district="baiyun", days=30,
                as_of=local(2026, 5, 25).isoformat()).json()
    assert later["groups"] == [] and later["tickets"] == 0
    office = get(reporting, "/api/v1/reports/hot-topics", key="congress:tianhe", days=30,
                 as_of=local(2026, 4, 25).isoformat()).json()
    assert office["district"] == "tianhe" and office["groups"] == []


def test_who_asks_is_checked_before_what_and_out_of_range_queries_are_refused(reporting):
    no_key = requests.get(f"{reporting.base}/api/v1/reports/overdue", params={"as_of": "monday"},
                          timeout=10)
    assert no_key.status_code == 401, "a caller without a key learns nothing of the query"
    far = get(reporting, "/api/v1/reports/overdue", as_of="2036-01-01T00:00:00+08:00")
    assert far.status_code == 400 and far.json()["errors"]["as_of"] == [
        "At most 3 years before or after now."]
    long_trend = get(reporting, "/api/v1/reports/trend", **{"from": "2024-01-01", "to": "2025-06-01"})
    assert long_trend.status_code == 400 and "from" in long_trend.json()["errors"]
    few_days = get(reporting, "/api/v1/reports/hot-topics", days=0)
    assert few_days.status_code == 400 and "days" in few_days.json()["errors"]


def test_events_arriving_while_the_read_model_is_rebuilt_are_in_it(reporting, monkeypatch):
    """The rebuild replays the log up to where it began, then, holding the tables,
    what came meanwhile: an event consumed between the two is not lost."""
    late = life(reporting.directory, "RB-DURING", local(2025, 7, 1, 9), "tianhe").assigned(
        local(2025, 7, 1, 9)).events
    lock = store.lock_read_model
    published = []

    def an_event_arrives_then_lock(conn):
        if not published:  # after the first pass, before the lock: the consumer applies it
            published.append(made.publish(*late))
            applied(published[0])
        lock(conn)
    monkeypatch.setattr(store, "lock_read_model", an_event_arrives_then_lock)
    rebuild(reporting)
    with psycopg.connect(settings().database_url) as conn:
        status = conn.execute("SELECT status FROM reporting.report_tickets"
                              " WHERE ticket_id = 'RB-DURING'").fetchone()
    assert published and status == ("assigned",)
