"""A database outage is not a poison message: a consumer holds what it was handling and
tries again until the database is back, without returning it to its queue (where each
return counts towards the delivery limit and would park it), and a stop during the
outage gives it back for the next start. Reporting, on the real broker, with its
database behind a proxy the test cuts; the other services' database stays up."""
import time
import uuid

import psycopg
import pytest
from kombu import Connection, Queue

from services.common import db, messaging, metrics
from services.common.config import settings
from tests.support import events as made
from tests.support.proxy import CuttableProxy
from tests.support.services import running, wait_until
from tests.support.system import fresh_system

QUEUE = "zd.reporting.events"


@pytest.fixture
def outage(monkeypatch):
    """``(proxy, database_url through it)``; pauses between attempts kept short, so that
    giving up after them (as a consumer once did) would park a message within seconds."""
    monkeypatch.setattr(messaging, "RETRY_SECONDS", (0.05, 0.1))
    monkeypatch.setattr(db, "POOL_WAIT_SECONDS", 0.2)
    fresh_system()
    with CuttableProxy(5432) as proxy:
        yield proxy, proxy.url_for(settings().database_url)


def reported(ticket_id):
    with psycopg.connect(settings().database_url) as conn:
        return conn.execute("SELECT count(*) FROM reporting.report_tickets WHERE ticket_id = %s",
                            (ticket_id,)).fetchone()[0]


def parked():
    with Connection(settings().amqp_uri) as connection:
        return connection.SimpleQueue(Queue(f"{QUEUE}.parked", no_declare=True)).qsize()


def outage_waits():
    return metrics.OUTAGE_WAITS.labels(QUEUE)._value.get()


def new_concern():
    ticket_id = f"ZD20260302-{uuid.uuid4().hex[:8].upper()}"
    made.publish(*made.concern_events(ticket_id))
    return ticket_id


def test_a_message_waits_out_an_outage_longer_than_its_delivery_limit_allows(outage):
    proxy, database_url = outage
    with running("reporting", ZD_DATABASE_URL=database_url):
        proxy.cut()
        before = outage_waits()
        ticket_id = new_concern()
        # ten deliveries of three attempts each would have parked it
        wait_until(lambda: parked() or outage_waits() >= before + 40, timeout=60,
                   what="forty attempts in the outage, or the message parked")
        assert parked() == 0, "the outage parked the message"
        assert reported(ticket_id) == 0
        proxy.restore()
        wait_until(lambda: reported(ticket_id) == 1, timeout=30, what="the concern reported")
    assert parked() == 0, "an outage parked a message"


def test_a_stop_during_an_outage_gives_the_message_back_for_the_next_start(outage):
    proxy, database_url = outage
    with running("reporting", ZD_DATABASE_URL=database_url):
        proxy.cut()
        before = outage_waits()
        ticket_id = new_concern()
        wait_until(lambda: outage_waits() > before, what="the message held in the outage")
        stopping_at = time.monotonic()
    stop_seconds = time.monotonic() - stopping_at
    assert stop_seconds < 10, f"a worker waiting out the outage held the stop {stop_seconds:.1f}s"
    proxy.restore()
    with running("reporting", ZD_DATABASE_URL=database_url):
        wait_until(lambda: reported(ticket_id) == 1, timeout=30, what="the concern reported")
    assert parked() == 0
