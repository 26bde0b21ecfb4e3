"""Reporting applies a batch of consumed events at once (``projection.apply_events``):
the same read model, ratings and event log as applying them one by one, in a handful of
round trips to the database whatever the batch's size; a redelivered batch changes
nothing; an event that cannot be applied is parked while the others of its batch are
applied. On the real PostgreSQL, through ``handle_batch`` as the consumer calls it.
"""
import uuid
from datetime import datetime, timedelta, timezone
from itertools import zip_longest

import psycopg
import pytest
from psycopg.rows import dict_row

from services.common.config import settings
from services.common.db import Transactions, make_pool
from services.common.directory import load_directory
from services.common.messaging import Batch, Envelope, handle_batch
from services.reporting.use_cases import projection
from tests.support.round_trips import RoundTrips
from tests.support.system import DEMO_DIRECTORY, reset_database
from tests.support.ticket_life import TicketLife

QUEUE = "zd.reporting.events"
START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
#: BEGIN, the inbox rows, the tickets locked, their rows written, ratings and log, COMMIT
ROUND_TRIPS_A_BATCH = 6


@pytest.fixture(scope="module")
def directory():
    return load_directory([DEMO_DIRECTORY])


@pytest.fixture
def db():
    reset_database()
    counter = RoundTrips()
    with make_pool(settings().database_url, "reporting", size=2, configure=counter.configure) as pool:
        yield Transactions(pool), counter


def envelopes(directory, tickets=20):
    """The events of ``tickets`` tickets (received, assigned, dispatched, resolved, two
    rated and closed), interleaved as they would arrive."""
    lives = []
    for n in range(tickets):
        received = START + timedelta(minutes=n)
        life = TicketLife(directory, f"BP-{n:03d}", received, community="yuangang",
                          category="drainage", title=f"drain {n}", description=f"下水道堵塞 {n}")
        life.assigned(received + timedelta(minutes=1))
        with life.step():
            life.forwarded(received + timedelta(hours=1)).dispatched(received + timedelta(hours=1))
        life.resolved(received + timedelta(hours=5), "fixed")
        if n % 10 == 0:
            life.rated(received + timedelta(hours=6), "satisfied").closed(received + timedelta(hours=6))
        lives.append(life.events)
    return [Envelope(str(uuid.uuid4()), event.type, event.body, QUEUE)
            for step in zip_longest(*lives) for event in step if event]


def consume(db, arrived, size, at_once=True):
    handled = []
    for start in range(0, len(arrived), size):
        batch = Batch()
        for envelope in arrived[start:start + size]:
            batch.add(envelope, None)
        handled += handle_batch(db, batch, projection.apply_event,
                                apply_all=projection.apply_events if at_once else None)
    return handled


def read_model():
    with psycopg.connect(settings().database_url, options="-c search_path=reporting",
                         row_factory=dict_row) as conn:
        tickets = conn.execute("SELECT * FROM report_tickets ORDER BY ticket_id").fetchall()
        return {"tickets": [{k: v for k, v in row.items() if k != "updated_at"} for row in tickets],
                "ratings": conn.execute("SELECT * FROM ratings ORDER BY 1, 2").fetchall(),
                "log": conn.execute("SELECT type, body FROM event_log ORDER BY id").fetchall(),
                "parked": conn.execute("SELECT count(*) AS n FROM outbox").fetchone()["n"]}


def test_a_batch_at_once_makes_what_event_by_event_makes(db, directory):
    transactions, _ = db
    arrived = envelopes(directory)
    assert all(consume(transactions, arrived, 64, at_once=False))
    one_by_one = read_model()
    reset_database()
    assert all(consume(transactions, arrived, 64))
    at_once = read_model()
    assert at_once["tickets"] == one_by_one["tickets"] and len(at_once["tickets"]) == 20
    assert at_once["ratings"] == one_by_one["ratings"] and len(at_once["ratings"]) == 2
    assert sorted(map(str, at_once["log"])) == sorted(map(str, one_by_one["log"]))


def test_a_batch_costs_a_handful_of_round_trips_whatever_its_size(db, directory):
    transactions, counter = db
    arrived = envelopes(directory)
    transactions.ping()
    counter.reset()
    consume(transactions, arrived[:64], 64)
    assert counter.count() == ROUND_TRIPS_A_BATCH
    counter.reset()
    consume(transactions, arrived[64:80], 16, at_once=False)
    assert counter.count() > 3 * 16, "event by event, each event costs its own statements"


def test_a_redelivered_batch_changes_nothing(db, directory):
    transactions, _ = db
    arrived = envelopes(directory)
    consume(transactions, arrived, 64)
    before = read_model()
    assert all(consume(transactions, arrived, 64)), "acknowledged again"
    assert read_model() == before


def test_an_event_that_cannot_be_applied_is_parked_and_the_rest_of_its_batch_applied(db, directory):
    transactions, _ = db
    arrived = envelopes(directory, tickets=3)
    broken = Envelope(str(uuid.uuid4()), "ticket.assigned", {"ticket": {"ticket_id": "BP-X"}}, QUEUE)
    handled = consume(transactions, [*arrived[:5], broken, *arrived[5:]], 64)
    assert all(handled)
    model = read_model()
    assert len(model["tickets"]) == 3 and model["parked"] == 1
    assert len(model["log"]) == len(arrived)
