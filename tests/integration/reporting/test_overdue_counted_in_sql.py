"""The overdue list counted by the database on the districts' kept working days gives,
ticket for ticket, what counting each ticket with a ``WorkingClock`` gives
(``tests.support.overdue_reference``): the same tickets, due times, working and clock
hours late, holders and order, for generated tickets in districts with China's
official calendar, a calendar of their own, one in a zone with summer time, and none.
On the real PostgreSQL; the days are made as the report needs them.
"""
import random
from datetime import datetime, timedelta, timezone

import eventlet
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row

from services.common.config import settings as zd_settings
from services.reporting import store, working_calendars
from services.reporting.domain import TicketFacts
from services.reporting.use_cases.overdue_list import overdue_list
from tests.support import overdue_reference
from tests.support.system import reset_database

OFFICIAL = {"workdays": [1, 2, 3, 4, 5], "hours": "09:00-17:30", "official_holidays": "CN"}
OWN = {"workdays": [1, 2, 3, 4, 5, 6], "hours": "08:30-12:00", "holidays": ["2026-05-01", "2026-05-04"],
       "extra_workdays": ["2026-05-10"]}
SUMMER_TIME = {"workdays": [1, 2, 3, 4, 5], "hours": "09:00-18:00"}
POLICIES = {
    "official": {"timezone": "Asia/Shanghai", "calendar": OFFICIAL, "representative_hours": 24,
                 "congress_hours": 8},
    "own": {"timezone": "Asia/Shanghai", "calendar": OWN, "representative_hours": 1.5,
            "congress_hours": 0.25},
    "summer": {"timezone": "Europe/Berlin", "calendar": SUMMER_TIME, "representative_hours": 10,
               "congress_hours": 3},
    "clock": {"timezone": "Asia/Shanghai", "representative_hours": 24, "congress_hours": 8},
}
DIRECTORY = {
    "districts": {code: {"policy": policy, "office": {"name": f"office of {code}"}}
                  for code, policy in POLICIES.items()},
    "representatives": {"rep-a": {"name": "A", "district": "official"}},
    "departments": {"water": {"name": "Water", "districts": ["*"]}},
    "categories": {},
}
STATUSES = ("assigned", "forwarded", "dispatched", "in_progress", "resolved", "received")
AS_OF = datetime(2026, 10, 9, 3, 17, 41, 250000, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def conn():
    reset_database()
    with psycopg.connect(zd_settings().database_url, options="-c search_path=reporting",
                         row_factory=dict_row, autocommit=True) as conn:
        yield conn


def ticket(n, status, district, since, due_after, precise):
    """A ticket held since ``since``; a department's due ``due_after`` hours after it."""
    if not precise:
        since = since.replace(second=0, microsecond=0)
    department = status in ("dispatched", "in_progress")
    return TicketFacts(
        ticket_id=f"OD-{n:05d}", version=3, status=status, district=district, community="c",
        category="drainage", title=f"ticket {n}", received_at=since - timedelta(hours=1),
        representative="rep-a", held_since=since,
        active_department="water" if department else None,
        active_dispatched_at=since if department else None,
        active_due_at=since + timedelta(hours=due_after) if department else None,
        escalations=({"at": since.isoformat(), "kind": "overdue", "note": None},) if n % 3 else ())


def stored(conn, tickets):
    conn.execute("DELETE FROM report_tickets")
    store.copy_read_model(conn, [store.read_model_row(facts, "") for facts in tickets], [])


def both_ways(conn, district, department, as_of):
    with conn.transaction():
        counted = overdue_list(conn, DIRECTORY, district, department, as_of)
    return counted, overdue_reference.overdue_list(conn, DIRECTORY, district, department, as_of)


tickets_strategy = st.lists(st.tuples(
    st.sampled_from(STATUSES), st.sampled_from(list(POLICIES)),
    st.integers(0, 90 * 24 * 3600 * 10**6),  # held for up to 90 days before AS_OF, in microseconds
    st.integers(1, 400), st.booleans()), max_size=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=tickets_strategy, later=st.integers(0, 30 * 24 * 60),
       district=st.sampled_from([None, *POLICIES]))
def test_the_database_counts_what_a_working_clock_counts(conn, drawn, later, district):
    tickets = [ticket(n, status, code, AS_OF - timedelta(microseconds=held), due_after, precise)
               for n, (status, code, held, due_after, precise) in enumerate(drawn)]
    stored(conn, tickets)
    as_of = AS_OF + timedelta(minutes=later)
    counted, reference = both_ways(conn, district, None, as_of)
    assert counted == reference


def test_two_thousand_tickets_over_two_years_come_out_the_same(conn):
    chance = random.Random(21)
    tickets = [ticket(n, chance.choice(STATUSES), chance.choice(list(POLICIES)),
                      AS_OF - timedelta(seconds=chance.randrange(0, 700 * 86400)),
                      chance.randrange(1, 200), chance.random() < 0.5) for n in range(2000)]
    stored(conn, tickets)
    counted, reference = both_ways(conn, None, None, AS_OF)
    assert len(counted) > 500 and counted == reference
    assert both_ways(conn, "official", "water", AS_OF)[0] == both_ways(conn, "official", "water", AS_OF)[1]


def test_a_ticket_held_since_before_the_kept_days_makes_them_reach_back(conn):
    stored(conn, [ticket(1, "assigned", "official", AS_OF - timedelta(days=5), 1, True)])
    both_ways(conn, "official", None, AS_OF)  # days kept from some 400 days back
    old = AS_OF - timedelta(days=3 * 365)
    stored(conn, [ticket(2, "assigned", "official", old, 1, True),
                  ticket(3, "dispatched", "own", old, 30, True)])
    counted, reference = both_ways(conn, None, None, AS_OF)
    assert [entry["ticket_id"] for entry in counted] == ["OD-00002", "OD-00003"]
    assert counted == reference


def test_a_changed_calendar_is_counted_anew(conn):
    stored(conn, [ticket(1, "forwarded", "own", AS_OF - timedelta(hours=30), 1, True)])
    before = both_ways(conn, "own", None, AS_OF)[0]
    changed = {**DIRECTORY, "districts": {**DIRECTORY["districts"], "own": {
        "policy": {**POLICIES["own"], "calendar": {**OWN, "hours": "08:30-18:00"}},
        "office": {"name": "office of own"}}}}
    with conn.transaction():
        after = overdue_list(conn, changed, "own", None, AS_OF)
    assert after == overdue_reference.overdue_list(conn, changed, "own", None, AS_OF)
    assert after[0]["overdue_working_hours"] > before[0]["overdue_working_hours"]


def test_a_district_missing_from_the_directory_is_left_out(conn):
    stored(conn, [ticket(1, "assigned", "gone", AS_OF - timedelta(days=30), 1, True)])
    assert both_ways(conn, None, None, AS_OF) == ([], [])


def test_two_reports_making_a_districts_days_at_once_take_turns(conn):
    keys = {"clock": {"calendar": None, "zone": "UTC"}}
    conn.execute("DELETE FROM working_days WHERE district = 'clock'")
    conn.execute("DELETE FROM working_calendars WHERE district = 'clock'")
    url = zd_settings().database_url
    with psycopg.connect(url, options="-c search_path=reporting", row_factory=dict_row) as first, \
            psycopg.connect(url, options="-c search_path=reporting", row_factory=dict_row) as second:
        working_calendars.cover(first, keys, AS_OF)  # made, not committed yet
        waiting = eventlet.spawn(working_calendars.cover, second, keys, AS_OF)
        eventlet.sleep(0.3)
        assert not waiting.dead, "the second waits for the first"
        first.commit()
        waiting.wait()
        second.commit()
    days = conn.execute("SELECT count(*) AS n, count(DISTINCT day) AS days FROM working_days"
                        " WHERE district = 'clock'").fetchone()
    assert days["n"] == days["days"] > 700, "made once, by the first"
