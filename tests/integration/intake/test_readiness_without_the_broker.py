"""Intake's readiness without the broker, and health that opens nothing: intake on the real
RabbitMQ and PostgreSQL, each behind a proxy the test can cut and count connections on
(the machine's broker stays up for everyone else).

While its broker is unreachable intake stays ready (``/health/ready`` 200, so Kubernetes
keeps it in its Service) and answers 202 to every concern, which waits in its outbox;
``/health`` says 503 with the broker's reason meanwhile; once the broker is back, the
concerns are published. ``/health``, ``/health/ready`` and ``/metrics`` answer from the
connections the service holds: asking them opens no connection to either.

A broker gone silent (the proxy frozen: a partition that drops packets, no reset) is found
by the queue consumer's AMQP heartbeats, negotiated with the broker at the service's
``HEARTBEAT`` (``ZD_AMQP_HEARTBEAT_SECONDS``, 2 s here): ``/health`` says the broker is down
within twice that, and up again once the proxy forwards again.
"""
import json
import socket
import time
import uuid
from types import SimpleNamespace
from urllib.parse import quote, urlsplit

import psycopg
import pytest
import requests
from kombu import Connection, Queue
from prometheus_client.parser import text_string_to_metric_families

from services.admin.rabbit_management import RabbitManagement, vhost_of
from services.common.config import service_database_url, settings
from services.common.messaging import BoundedQueueConsumer
from services.common.topology import SERVICE_QUEUES
from tests.support.proxy import CuttableProxy
from tests.support.services import running, wait_until
from tests.support.system import fresh_system

ROUTING_QUEUE = SERVICE_QUEUES["routing"].name  # where concern.received waits: routing is not running
#: the queue consumer's heartbeat here (whole seconds, as AMQP has them): small, so that a
#: silent broker is found in seconds; the broker's own (60 s by default) is higher, and
#: the lower of the two is what the connection gets
HEARTBEAT_SECONDS = 2


class Intake:
    def __init__(self, base, keys, broker, database):
        self.base, self.keys, self.broker, self.database = base, keys, broker, database


@pytest.fixture(scope="module")
def intake():
    """Intake whose broker and database connections each go through a ``CuttableProxy``."""
    keys, _, _ = fresh_system()
    current = settings()
    with CuttableProxy(urlsplit(current.amqp_uri).port or 5672) as broker, \
            CuttableProxy(urlsplit(current.database_url).port or 5432) as database:
        with running("intake", AMQP_URI=broker.url_for(current.amqp_uri), HEARTBEAT=HEARTBEAT_SECONDS,
                     ZD_DATABASE_URL=database.url_for(service_database_url("intake"))) as base:
            yield Intake(base, keys, broker, database)


def answer(base, path):
    got = requests.get(f"{base}{path}", timeout=10)
    return got.status_code, (got.json() if path.startswith("/health") else got.text)


def post_concern(intake):
    got = requests.post(f"{intake.base}/api/v1/concerns", timeout=10,
                        headers={"Authorization": f"Bearer {intake.keys['frontend:baiyun']}"},
                        json={"external_id": str(uuid.uuid4()), "district": "baiyun",
                              "community": "yuangang", "channel": "wechat",
                              "description": "元岗路下水道堵塞，污水外溢"})
    assert got.status_code == 202, got.text
    return got.json()["ticket_id"]


def outbox_published(ticket_ids):
    """``{ticket id: whether its concern.received was published}`` from intake's outbox."""
    with psycopg.connect(settings().database_url) as conn:
        rows = conn.execute("SELECT message_id, published_at IS NOT NULL AS published"
                            " FROM intake.outbox WHERE message_id = ANY(%s)",
                            ([f"concern-{ticket_id}" for ticket_id in ticket_ids],)).fetchall()
    return {message_id.removeprefix("concern-"): published for message_id, published in rows}


def received_by_routing(ticket_ids):
    """The ticket ids among ``ticket_ids`` whose concern.received waits in routing's queue."""
    found = set()
    with Connection(settings().amqp_uri) as connection:
        with connection.SimpleQueue(Queue(ROUTING_QUEUE, no_declare=True)) as queue:
            while True:
                try:
                    message = queue.get(block=True, timeout=0.5)
                except queue.Empty:
                    return found
                message.ack()
                if message.properties.get("type") == "concern.received":
                    ticket_id = json.loads(message.body).get("ticket_id")
                    found |= {ticket_id} & set(ticket_ids)


def broker_up(base):
    """``zd_up{service="intake", dependency="broker"}`` as ``/metrics`` gives it."""
    return next(sample.value for family in text_string_to_metric_families(answer(base, "/metrics")[1])
                for sample in family.samples if sample.name == "zd_up"
                and sample.labels == {"service": "intake", "dependency": "broker"})


def test_health_readiness_and_metrics_open_no_connection_of_their_own(intake):
    for path in ("/health", "/health/ready", "/metrics"):  # any first read done
        assert answer(intake.base, path)[0] == 200
    broker_connections, database_connections = intake.broker.accepted, intake.database.accepted
    for _ in range(15):
        status, body = answer(intake.base, "/health")
        assert status == 200 and body["checks"]["broker"] == "ok", body
        assert answer(intake.base, "/health/ready") == (
            200, {"status": "ready", "service": "intake", "checks": {"database": "ok"}})
        assert answer(intake.base, "/metrics")[0] == 200
    assert intake.broker.accepted - broker_connections == 0
    assert intake.database.accepted - database_connections == 0


def test_intake_stays_ready_and_takes_concerns_while_the_broker_is_unreachable(intake):
    intake.broker.cut()
    try:  # the scrape alone brings zd_up down: nobody need ask /health
        wait_until(lambda: broker_up(intake.base) == 0.0, what="zd_up 0 for the broker")
        status, body = wait_until(lambda: (lambda h: h[0] == 503 and h)(answer(intake.base, "/health")),
                                  what="the broker reported down")
        assert body["checks"]["broker"] == "down" and body["checks"]["database"] == "ok", body
        assert body["reasons"]["broker"].startswith("the broker has been unreachable for"), body
        ticket_ids = [post_concern(intake) for _ in range(3)]
        assert answer(intake.base, "/health/ready") == (
            200, {"status": "ready", "service": "intake", "checks": {"database": "ok"}})
        assert outbox_published(ticket_ids) == {ticket_id: False for ticket_id in ticket_ids}
        assert answer(intake.base, "/health")[0] == 503
    finally:
        intake.broker.restore()
    wait_until(lambda: all(outbox_published(ticket_ids).values()), timeout=30,
               what="the concerns published once the broker is back")
    assert received_by_routing(ticket_ids) == set(ticket_ids)
    wait_until(lambda: broker_up(intake.base) == 1.0, timeout=45, what="zd_up 1 again")
    assert answer(intake.base, "/health")[0] == 200


def negotiated_heartbeats():
    """The heartbeat (``timeout``, seconds) of each connection to the test's vhost, as the
    broker agreed it with the client."""
    current = settings()
    rabbit = RabbitManagement(current.management_url)
    listed = requests.get(f"{rabbit.base}/vhosts/{quote(vhost_of(current.amqp_uri), safe='')}"
                          "/connections", auth=rabbit.auth, timeout=10)
    listed.raise_for_status()
    return [connection["timeout"] for connection in listed.json()]


def test_the_consumers_socket_gives_up_on_unacknowledged_data_after_one_heartbeat():
    """py-amqp's own 1 s would drop the consumer, and have its messages delivered again, on
    any network blip over a second."""
    consumer = BoundedQueueConsumer()
    consumer.container = SimpleNamespace(config={"AMQP_URI": settings().amqp_uri,
                                                 "HEARTBEAT": HEARTBEAT_SECONDS})
    with consumer.connection as connection:
        connection.connect()
        sock = connection.connection.transport.sock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == HEARTBEAT_SECONDS * 1000


def test_a_broker_gone_silent_is_reported_down_within_two_heartbeats_and_up_once_it_answers(intake):
    with Connection(settings().amqp_uri, heartbeat=HEARTBEAT_SECONDS) as probe:
        offered = probe.connect().server_heartbeat  # RabbitMQ's `heartbeat`, 60 s by default
    assert offered > HEARTBEAT_SECONDS  # the lower of the two is agreed: the consumer's
    wait_until(lambda: HEARTBEAT_SECONDS in negotiated_heartbeats(), timeout=30,
               what="the consumer's heartbeat agreed with the broker")
    assert answer(intake.base, "/health")[0] == 200
    intake.broker.freeze()
    frozen = time.monotonic()
    try:
        status, body = wait_until(
            lambda: (lambda h: h[1]["checks"]["broker"] == "down" and h)(answer(intake.base, "/health")),
            timeout=4 * HEARTBEAT_SECONDS + 10, what="the silent broker reported down")
        found = time.monotonic() - frozen
        assert status == 503 and body["checks"]["database"] == "ok", body
        assert body["reasons"]["broker"].startswith("the broker has been unreachable for"), body
        assert "ConnectionForced" in body["reasons"]["broker"], body  # missed heartbeats
        # the broker's last heartbeat came at most half an interval before the freeze, and
        # the consumer gives up two intervals after it (checked every 0.2 s)
        assert HEARTBEAT_SECONDS <= found <= 2 * HEARTBEAT_SECONDS + 2, found
        assert answer(intake.base, "/health/ready")[0] == 200
    finally:
        intake.broker.thaw()
    wait_until(lambda: answer(intake.base, "/health")[0] == 200, timeout=30,
               what="the broker up again once it answers")


def timed(base, path):
    """``(status, body, seconds)`` of one GET."""
    started = time.monotonic()
    status, body = answer(base, path)
    return status, body, time.monotonic() - started


def database_up(base):
    """``zd_up{service="intake", dependency="database"}`` as ``/metrics`` gives it."""
    return next(sample.value for family in text_string_to_metric_families(answer(base, "/metrics")[1])
                for sample in family.samples if sample.name == "zd_up"
                and sample.labels == {"service": "intake", "dependency": "database"})


def test_a_database_gone_silent_holds_no_probe_and_is_reported_down(intake):
    """The database's proxy frozen (no reset): no probe waits on it. The question asked of
    a quiet database is given up after two seconds, and counts as the database down."""
    assert answer(intake.base, "/health/ready")[0] == 200
    intake.database.freeze()
    frozen = time.monotonic()
    try:
        status, body, _ = wait_until(
            lambda: (lambda r: r[2] < 3 and r[0] == 503 and r)(timed(intake.base, "/health/ready")),
            timeout=15, what="readiness lost with the silent database")
        found = time.monotonic() - frozen
        assert body["checks"] == {"database": "down"}, body
        assert body["reasons"]["database"].startswith("the database has been unreachable for"), body
        assert body["reasons"]["database"].endswith("(DatabaseSilent)"), body
        assert found < 10, found  # quiet for 3 s, then a look given up after 2 s
        for path in ("/health", "/health/ready", "/metrics"):
            status, body, took = timed(intake.base, path)
            assert took < 3, (path, took)
            assert status == (200 if path == "/metrics" else 503), (path, body)
        assert database_up(intake.base) == 0.0
    finally:
        intake.database.thaw()
    wait_until(lambda: answer(intake.base, "/health/ready")[0] == 200, timeout=30,
               what="ready again once the database answers")
    assert database_up(intake.base) == 1.0


def test_intake_is_not_ready_while_its_database_is_unreachable(intake):
    intake.database.cut()
    try:
        status, body = wait_until(
            lambda: (lambda r: r[0] == 503 and r)(answer(intake.base, "/health/ready")),
            what="readiness lost with the database")
        assert body["status"] == "unavailable" and body["checks"] == {"database": "down"}, body
        assert body["reasons"]["database"].startswith("the database has been unreachable for"), body
        status, body = answer(intake.base, "/health")
        assert status == 503 and body["checks"]["database"] == "down", body
    finally:
        intake.database.restore()
    wait_until(lambda: answer(intake.base, "/health/ready")[0] == 200, timeout=30,
               what="ready again with the database back")
