"""A representative's open tickets are counted exactly, however many concerns arrive at once.

Routing keeps each representative's open tickets in ``representative_load`` (a trigger on
tickets) and locks only the rows of the representatives a concern may go to. Concerns
are taken here in parallel transactions, each by routing's own workflow, on the real
database, and through the services themselves.
"""
import time

import eventlet
import pytest
import requests

from services.common import events
from services.common.config import settings
from services.common.db import make_pool
from services.routing import store
from services.routing.use_cases import inbound, workflow
from services.routing.use_cases.step import Step
from tests.support import events as made
from tests.support.services import running, wait_until

CONCERNS = 24
OPENING_SECONDS = 60  # every transaction open, or the test fails rather than waits forever


@pytest.fixture
def directory(clean_system):
    return clean_system.directory


@pytest.fixture
def pool():
    # every connection opened up front: none of the parallel transactions waits for one
    pool = make_pool(settings().database_url, "routing", size=CONCERNS, min_size=CONCERNS)
    pool.open(wait=True, timeout=OPENING_SECONDS)
    yield pool
    pool.close()


def open_per_representative(conn):
    rows = conn.execute("SELECT representative_id, count(*) AS open FROM tickets"
                        " WHERE representative_id IS NOT NULL AND status = ANY(%s)"
                        " GROUP BY representative_id", (list(store.OPEN_STATUSES),)).fetchall()
    return {row["representative_id"]: row["open"] for row in rows}


def concern(n, community, directory):
    """A new concern as routing reads it, from intake's own event."""
    row = made.concern_row(f"ZD20260302-{n:08d}", community=community)
    return inbound.checked_concern(events.concern_received(row).body, directory)


def receive(conn, n, community, directory):
    with Step.on(conn, directory) as step:
        workflow.receive_concern(step, concern(n, community, directory))
    return f"ZD20260302-{n:08d}"


def set_ticket(conn, ticket_id, **columns):
    """Change a ticket's columns directly, as any code path might: the trigger must follow."""
    assignments = ", ".join(f"{column} = %({column})s" for column in columns)
    conn.execute(f"UPDATE tickets SET {assignments} WHERE ticket_id = %(ticket_id)s",
                 {**columns, "ticket_id": ticket_id})


def assert_chen_full_and_the_rest_with_liu(pool):
    """Yuangang's station after CONCERNS concerns: Chen at her max_open (3), the rest
    with Liu, and the kept load equal to the tickets' own count."""
    with pool.connection() as conn:
        counted = open_per_representative(conn)
        assert counted == {"rep-chen-jianguo": 3, "rep-liu-hanli": CONCERNS - 3}
        assert kept_load(conn) == counted


def kept_load(conn):
    rows = conn.execute("SELECT representative_id, open FROM representative_load WHERE open > 0")
    return {row["representative_id"]: row["open"] for row in rows}


def test_concerns_arriving_together_never_overfill_a_representative(directory, pool):
    """Yuangang's station is rep-chen-jianguo (max_open 3), then rep-liu-hanli: of 24
    concerns taken at the same moment, exactly 3 go to Chen and 21 to Liu."""
    started = []
    deadline = time.monotonic() + OPENING_SECONDS

    def take(n):
        new = concern(n, "yuangang", directory)
        with pool.connection() as conn:
            started.append(n)
            while len(started) < CONCERNS:  # every transaction open before any assigns
                assert time.monotonic() < deadline, f"only {len(started)} transactions opened"
                eventlet.sleep(0.005)
            with Step.on(conn, directory) as step:
                workflow.receive_concern(step, new)

    threads = [eventlet.spawn(take, n) for n in range(CONCERNS)]
    for thread in threads:
        thread.wait()
    assert_chen_full_and_the_rest_with_liu(pool)


def test_the_kept_load_follows_every_change_of_representative_and_status(directory, pool):
    with pool.connection() as conn:
        tickets = [receive(conn, n, "sanyuanli", directory) for n in range(6)]
        set_ticket(conn, tickets[0], status="resolved")
        set_ticket(conn, tickets[1], status="closed")
        set_ticket(conn, tickets[2], representative_id="rep-zhao-min")
        set_ticket(conn, tickets[3], representative_id=None)
        set_ticket(conn, tickets[0], status="forwarded")  # reopened
        set_ticket(conn, tickets[4], status="merged", representative_id="rep-zhao-min")
        assert kept_load(conn) == open_per_representative(conn) == {
            "rep-liu-hanli": 2, "rep-zhao-min": 1}


def test_concerns_posted_together_are_assigned_exactly_through_the_services(clean_system, pool):
    """The same through intake and routing's consumer, which applies what arrives at once
    in batches (one transaction per district, its representatives locked first)."""
    keys = clean_system.keys
    with running("intake") as intake, running("routing"):
        def post(n):
            answer = requests.post(f"{intake}/api/v1/concerns", headers={
                "Authorization": f"Bearer {keys['frontend:baiyun']}"}, json={
                "external_id": f"load-{n}", "district": "baiyun", "community": "yuangang",
                "channel": "hotline", "description": "元岗路下水道堵塞，污水外溢"}, timeout=30)
            assert answer.status_code == 202, answer.text

        posts = [eventlet.spawn(post, n) for n in range(CONCERNS)]
        for thread in posts:
            thread.wait()

        def all_routed():
            with pool.connection() as conn:
                return sum(open_per_representative(conn).values()) == CONCERNS

        wait_until(all_routed, what=f"{CONCERNS} concerns assigned")
    assert_chen_full_and_the_rest_with_liu(pool)


def test_a_step_of_one_change_is_announced_alone(directory, pool):
    """Every entry point opens a step; a step that makes one change announces it alone."""
    with pool.connection() as conn:
        ticket = store.find_ticket(conn, receive(conn, 1, "tonghe", directory))
        with Step.on(conn, directory) as step:
            workflow.note(step, ticket, workflow.Note("system", "escalate", "by hand",
                                                      event="escalated"))
        types = [found["type"] for found in conn.execute(
            "SELECT type FROM outbox WHERE type LIKE 'ticket.%%' ORDER BY id")]
        last = conn.execute("SELECT body FROM outbox WHERE type = 'ticket.escalated'").fetchone()
    assert types[-1] == "ticket.escalated" and len(types) == 2
    assert [change["change"] for change in last["body"]["changes"]] == ["escalated"]
