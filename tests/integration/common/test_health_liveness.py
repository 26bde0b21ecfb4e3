"""``/health`` sees what a fresh connection cannot: a consumer that no longer consumes
and an outbox relay that makes no progress. Reporting on the real broker and database,
with a stall threshold of 3 s (``ZD_STALL_SECONDS``)."""
from urllib.parse import quote

import psycopg
import pytest
import requests
from psycopg.types.json import Json, Jsonb

from services.admin.rabbit_management import RabbitManagement, vhost_of
from services.common.config import settings
from tests.support.services import running, wait_until
from tests.support.system import fresh_system

STALL = {"ZD_STALL_SECONDS": 3}


@pytest.fixture(scope="module")
def broker():
    fresh_system()
    current = settings()
    return RabbitManagement(current.management_url), vhost_of(current.amqp_uri)


def health(base):
    answer = requests.get(f"{base}/health", timeout=10)
    return answer.status_code, answer.json()


def test_a_healthy_service_reports_its_consumer_and_relay(broker):
    with running("reporting", **STALL) as base:
        status, body = health(base)
    assert status == 200
    assert body["checks"] == {"database": "ok", "broker": "ok", "consumer": "ok", "outbox": "ok",
                              "admin_outbox": "ok"}


def test_a_relay_stuck_on_a_message_is_reported_stalled_then_well_again(broker):
    with running("reporting", **STALL) as base:
        with psycopg.connect(settings().database_url, autocommit=True) as conn:
            stuck = conn.execute(
                "INSERT INTO reporting.outbox (message_id, exchange, routing_key, type, headers, body)"
                " VALUES ('stuck-1', 'zd.no-such-exchange', 'x', 'x', %s, %s) RETURNING id",
                (Jsonb({}), Json({}))).fetchone()[0]
            try:
                status, body = wait_until(lambda: (lambda h: h[0] == 503 and h)(health(base)),
                                          what="the stalled relay reported")
                assert body["checks"]["outbox"] == "stalled", body
                assert body["checks"]["database"] == "ok" and body["checks"]["broker"] == "ok"
                assert "no round finished" in body["reasons"]["outbox"]
            finally:
                conn.execute("DELETE FROM reporting.outbox WHERE id = %s", (stuck,))
        wait_until(lambda: health(base)[0] == 200, what="the relay well again")


def test_a_consumer_refused_its_queue_is_reported_down_then_well_again(broker):
    rabbit, vhost = broker
    user = rabbit.auth[0]
    permissions = f"{rabbit.base}/permissions/{quote(vhost, safe='')}/{quote(user, safe='')}"
    with running("reporting", **STALL) as base:
        try:
            # the broker still answers a fresh connection, but may no longer be read from
            requests.put(permissions, json={"configure": ".*", "write": ".*", "read": "^$"},
                         auth=rabbit.auth, timeout=10).raise_for_status()
            for name in wait_until(lambda: connections(rabbit, vhost), what="connections listed"):
                requests.delete(f"{rabbit.base}/connections/{quote(name, safe='')}",
                                auth=rabbit.auth, timeout=10)
            # the connections deleted, the broker is briefly down too, until they are made again
            status, body = wait_until(
                lambda: (lambda h: h[0] == 503 and h[1]["checks"]["consumer"] == "down" and h)(
                    health(base)), what="the dead consumer reported")
            assert body["checks"]["consumer"] == "down" and body["checks"]["broker"] == "ok", body
            assert "not consuming" in body["reasons"]["consumer"]
        finally:
            requests.put(permissions, json={"configure": ".*", "write": ".*", "read": ".*"},
                         auth=rabbit.auth, timeout=10).raise_for_status()
        wait_until(lambda: health(base)[0] == 200, timeout=30, what="the consumer well again")


def connections(rabbit, vhost):
    """The names of the vhost's connections (listed with the broker's next statistics)."""
    listed = requests.get(f"{rabbit.base}/vhosts/{quote(vhost, safe='')}/connections",
                          auth=rabbit.auth, timeout=10).json()
    return [connection["name"] for connection in listed]
