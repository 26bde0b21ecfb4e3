"""The outbox relay never waits on the broker without a bound, and one message the
broker refuses holds up nothing else: real PostgreSQL and RabbitMQ (a full queue that
rejects publishes, a memory alarm raised with rabbitmqctl)."""
import subprocess
import time

import eventlet
import psycopg
import pytest
import requests
from kombu import Connection, Exchange, Queue

from services.admin.rabbit_management import RabbitManagement
from services.common import metrics, outbox_relay, topology
from services.common.config import settings
from services.common.outbox import emit, emit_event
from services.common.outbox_relay import Publisher, relay_pending, relay_round
from tests.support.queues import drain, queued
from tests.support.services import wait_until


def outbox_rows(pool):
    with pool.connection() as conn:
        return conn.execute("SELECT routing_key, published_at IS NOT NULL AS published, attempts,"
                            " last_error FROM outbox ORDER BY id").fetchall()


def test_a_refused_message_is_postponed_alone_and_the_batch_goes_on(pool):
    full = Queue("zd.test.full", Exchange(topology.EVENTS.name, type="topic"), routing_key="test.full",
                 queue_arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    with Connection(settings().amqp_uri) as connection:
        full(connection.channel()).declare()
    with pool.connection() as conn:
        emit(conn, topology.EVENTS.name, "test.full", "test.full", {"n": 1})
        emit(conn, topology.EVENTS.name, "test.full", "test.full", {"n": 2})  # the queue is full
        emit_event(conn, "concern.received", {"ticket_id": "T-after-the-refused-one"})
    publisher = Publisher(settings().amqp_uri)
    try:
        assert relay_pending(pool, publisher, "notify") == 2
        assert relay_pending(pool, publisher, "notify") == 0  # the refused one waits its turn
    finally:
        publisher.close()
    first, refused, last = outbox_rows(pool)
    assert first["published"] and last["published"]
    assert not refused["published"] and refused["attempts"] == 1 and "nack" in refused["last_error"]
    assert queued("zd.test.full") == 1 and queued("zd.routing.events") == 1  # nothing sent twice


def test_the_relay_connection_has_heartbeats(pool):
    publisher = Publisher(settings().amqp_uri)
    try:
        publisher.open()
        assert publisher.connection.connection.heartbeat == outbox_relay.HEARTBEAT_SECONDS
        publisher.keep_alive()  # sends or checks heartbeats without blocking
    finally:
        publisher.close()


def rabbitmqctl(*args):
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)


def memory_alarm_on():
    rabbit = RabbitManagement(settings().management_url)
    nodes = requests.get(f"{rabbit.base}/nodes", auth=rabbit.auth, timeout=10).json()
    return any(node.get("mem_alarm") for node in nodes)


@pytest.fixture
def memory_alarm():
    """Raises RabbitMQ's memory alarm (every publisher is blocked) until ``clear()``."""
    class Alarm:
        def raise_(self):
            rabbitmqctl("set_vm_memory_high_watermark", "0.000001")
            wait_until(memory_alarm_on, timeout=30, what="the memory alarm raised")

        def clear(self):
            rabbitmqctl("set_vm_memory_high_watermark", "0.4")
            wait_until(lambda: not memory_alarm_on(), timeout=30, what="the memory alarm cleared")
    alarm = Alarm()
    alarm.clear()
    try:
        yield alarm
    finally:
        alarm.clear()


def row_lockable(conn_url):
    with psycopg.connect(conn_url, options="-c search_path=notify") as conn:
        try:
            conn.execute("SELECT id FROM outbox WHERE published_at IS NULL FOR UPDATE NOWAIT")
            return True
        except psycopg.errors.LockNotAvailable:
            return False


@pytest.mark.alone  # the alarm blocks every publisher on the machine
def test_under_a_memory_alarm_the_relay_waits_in_bounded_time_holding_no_row(pool, memory_alarm):
    publisher = Publisher(settings().amqp_uri, confirm_timeout=3)
    relay = None
    try:
        with pool.connection() as conn:
            emit_event(conn, "concern.received", {"ticket_id": "T-before-the-alarm"})
        assert relay_round(pool, publisher, "notify") == 1
        memory_alarm.raise_()
        with pool.connection() as conn:
            emit_event(conn, "concern.received", {"ticket_id": "T-in-the-alarm"})
        relay = eventlet.spawn(relay_round, pool, publisher, "notify")
        with eventlet.Timeout(15, False):
            relay.wait()
        assert relay.dead, "the relay still waits on a blocked broker"
        assert publisher.blocked, "the broker said it blocks publishing"
        assert metrics.OUTBOX_BROKER_BLOCKED.labels("notify")._value.get() == 1
        assert row_lockable(settings().database_url), "the relay holds its row while blocked"
        started = time.monotonic()
        assert relay_round(pool, publisher, "notify") == 0  # blocked: publishes nothing
        assert time.monotonic() - started < 1, "a round while blocked does not wait for a confirm"
        memory_alarm.clear()
        wait_until(lambda: relay_round(pool, publisher, "notify") or not pending(pool),
                   what="the relay publishing again")
        assert not pending(pool) and not publisher.blocked
        assert metrics.OUTBOX_BROKER_BLOCKED.labels("notify")._value.get() == 0
    finally:
        if relay is not None:
            relay.kill()
        publisher.close()
    tickets = [message.payload["ticket_id"] for message in drain("zd.routing.events")]
    # a message whose confirm timed out may be there twice: at least once
    assert set(tickets) == {"T-before-the-alarm", "T-in-the-alarm"}, tickets


def pending(pool):
    with pool.connection() as conn:
        return conn.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL"
                            ).fetchone()["n"]
