"""Outbox, inbox and parking against the real PostgreSQL and RabbitMQ."""
import uuid

import kombu.exceptions
import pytest
from kombu import Connection, Queue

from services.common import metrics, topology
from services.common.config import settings
from services.common.credentials import RateLimiter, authenticated_caller, hash_secret
from services.common.db import Transactions
from services.common.errors import TooManyRequests, Unauthorized
from services.common.messaging import Envelope, ParkMessage, body_digest, handle_once
from services.common.outbox import emit_event
from services.common.outbox_relay import (
    Publisher,
    forget_idle_buckets,
    forget_old_messages,
    observe_backlog,
    relay_pending,
)
from tests.support.queues import queued


def pending(pool):
    with pool.connection() as conn:
        return conn.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL"
                            ).fetchone()["n"]


def test_outbox_keeps_messages_while_the_broker_is_unreachable(pool):
    with pool.connection() as conn:
        emit_event(conn, "concern.received", {"ticket_id": "T-1"})
    unreachable = Publisher("amqp://guest:guest@127.0.0.1:1/")
    with pytest.raises(kombu.exceptions.OperationalError):
        relay_pending(pool, unreachable, "notify")
    assert pending(pool) == 1
    assert relay_pending(pool, Publisher(settings().amqp_uri), "notify") == 1
    assert pending(pool) == 0 and queued("zd.routing.events") == 1


def test_publisher_reconnects_after_its_connection_was_closed(pool):
    with pool.connection() as conn:
        emit_event(conn, "concern.received", {"ticket_id": "T-4"})
        emit_event(conn, "concern.received", {"ticket_id": "T-5"})
    publisher = Publisher(settings().amqp_uri)
    with pool.connection() as conn:
        first = conn.execute("SELECT * FROM outbox ORDER BY id LIMIT 1").fetchone()
    assert publisher.publish_batch([first]) == ({first["message_id"]: None}, None)
    publisher.close()  # what the relay does after a broker error
    assert relay_pending(pool, publisher, "notify") == 2
    assert queued("zd.routing.events") == 3  # at least once: the first went out twice


def test_backlog_gauges_show_what_waits(pool):
    with pool.connection() as conn:
        emit_event(conn, "concern.received", {"ticket_id": "T-3"})
        conn.execute("UPDATE outbox SET created_at = now() - interval '1 minute'")  # it waited
    observe_backlog(pool, "notify")
    assert metrics.OUTBOX_PENDING.labels("notify")._value.get() == 1
    assert 60 <= metrics.OUTBOX_OLDEST_PENDING.labels("notify")._value.get() < 70


def test_uncommitted_message_is_never_published(pool):
    with pytest.raises(RuntimeError):
        with pool.connection() as conn:
            emit_event(conn, "concern.received", {"ticket_id": "T-2"})
            raise RuntimeError("the change failed")
    assert relay_pending(pool, Publisher(settings().amqp_uri), "notify") == 0
    assert queued("zd.routing.events") == 0


def test_message_applies_once_however_often_it_comes(pool):
    applied = []
    envelope = Envelope("m-1", "ticket.assigned", {}, queue="zd.notify.events")
    outcomes = [handle_once(Transactions(pool), envelope, lambda conn, env: applied.append(env))
                for _ in range(3)]
    assert outcomes == ["applied", "duplicate", "duplicate"] and len(applied) == 1


def test_failed_effect_leaves_no_inbox_record(pool):
    envelope = Envelope("m-2", "ticket.assigned", {}, queue="zd.notify.events")

    def failing(conn, env):
        raise KeyError("bug")

    with pytest.raises(KeyError):
        handle_once(Transactions(pool), envelope, failing)
    assert handle_once(Transactions(pool), envelope, lambda conn, env: None) == "applied"


def test_message_that_can_never_apply_is_parked_with_its_reason(pool):
    body = {"x": 1, "reporter": {"name": "王小明", "phone": "+8613900000000"}}
    envelope = Envelope("m-3", "ticket.unknown", body, queue="zd.notify.events")

    def refuse(conn, env):
        raise ParkMessage("unexpected event type")

    assert handle_once(Transactions(pool), envelope, refuse) == "parked"
    relay_pending(pool, Publisher(settings().amqp_uri), "notify")
    with Connection(settings().amqp_uri) as connection:
        with connection.SimpleQueue(Queue("zd.notify.events.parked", no_declare=True)) as parked:
            message = parked.get(block=True, timeout=5)
    assert message.headers["x-park-reason"] == "unexpected event type"
    assert message.headers["x-original-message-id"] == "m-3"
    assert message.headers["x-original-body-sha256"] == body_digest(body)
    assert "王小明" not in message.body and "13900000000" not in message.body
    assert message.payload["x"] == 1
    with pool.connection() as conn:  # the parked copy is not kept in the outbox for days
        assert conn.execute("SELECT count(*) AS n FROM outbox").fetchone()["n"] == 0


def test_message_that_keeps_failing_is_dead_lettered_after_the_delivery_limit(pool):
    with pool.connection() as conn:
        emit_event(conn, "ticket.assigned", {"ticket": "poison"}, message_id=str(uuid.uuid4()))
    relay_pending(pool, Publisher(settings().amqp_uri), "notify")
    with Connection(settings().amqp_uri) as connection:
        with connection.SimpleQueue(Queue("zd.notify.events", no_declare=True)) as queue:
            for _ in range(topology.DELIVERY_LIMIT + 1):
                queue.get(block=True, timeout=5).requeue()
            with pytest.raises(queue.Empty):
                queue.get(block=True, timeout=1)
        with connection.SimpleQueue(Queue("zd.notify.events.parked", no_declare=True)) as parked:
            message = parked.get(block=True, timeout=5)
    assert message.headers["x-death"][0]["reason"] == "delivery_limit"


def test_old_published_and_inbox_rows_are_forgotten_but_pending_ones_kept(pool):
    with pool.connection() as conn:
        for message_id in ("old-sent", "old-pending", "new-sent"):
            emit_event(conn, "concern.received", {}, message_id=message_id)
        conn.execute("UPDATE outbox SET created_at = now() - interval '40 days'"
                     " WHERE message_id LIKE 'old-%'")
        conn.execute("UPDATE outbox SET published_at = created_at WHERE message_id LIKE '%-sent'")
        conn.execute("INSERT INTO inbox (message_id, type, received_at) VALUES"
                     " ('old', 'x', now() - interval '40 days'), ('new', 'x', now())")
    forget_old_messages(pool, keep_days=30)
    with pool.connection() as conn:
        left = {row["message_id"] for row in conn.execute("SELECT message_id FROM outbox")}
        inbox = {row["message_id"] for row in conn.execute("SELECT message_id FROM inbox")}
    assert left == {"old-pending", "new-sent"} and inbox == {"new"}


def test_idle_rate_buckets_are_forgotten_and_a_forgotten_one_starts_full(pool):
    limiter = RateLimiter(rate=1)  # a burst of 2
    with pool.connection() as conn:
        for key_id in ("page:guessed", "address:198.51.100.7", "key-busy"):
            limiter.check(conn, key_id)
        conn.execute("UPDATE rate_buckets SET tokens = 0, updated_at = now() - interval '2 hours'"
                     " WHERE key_id <> 'key-busy'")
    forget_idle_buckets(pool)
    with pool.connection() as conn:
        left = {row["key_id"]: row["tokens"] for row in conn.execute("SELECT * FROM rate_buckets")}
        assert set(left) == {"key-busy"}, "a bucket drawn from within the hour is kept"
        limiter.check(conn, "page:guessed")
        limiter.check(conn, "page:guessed")  # full again: the whole burst, as an hour's rest gives
        with pytest.raises(TooManyRequests):
            limiter.check(conn, "page:guessed")


def test_a_key_is_looked_up_with_its_token_taken_only_when_authentic_and_allowed(pool):
    limiter = RateLimiter(rate=1)  # a burst of 2
    with pool.connection() as conn:
        conn.execute("INSERT INTO credentials (key_id, party, key_hash) VALUES"
                     " ('k1', 'frontend:baiyun', %s)", (hash_secret("right"),))
    buckets = "SELECT key_id, tokens FROM rate_buckets"
    with pool.connection() as conn:
        with pytest.raises(Unauthorized):
            authenticated_caller(conn, "zd_k1.wrong", ("frontend",), limiter)
        with pytest.raises(Unauthorized):
            authenticated_caller(conn, "zd_unknown.right", ("frontend",), limiter)
        conn.rollback()
        caller, left = authenticated_caller(conn, "zd_k1.right", ("admin",), limiter)
        assert (str(caller.party), left) == ("frontend:baiyun", None), "another role: none taken"
        conn.rollback()
        assert conn.execute(buckets).fetchall() == []
        caller, left = authenticated_caller(conn, "zd_k1.right", ("frontend",), limiter)
        assert left == 1
        limiter.settle(conn, left)  # committed
        _, left = authenticated_caller(conn, "zd_k1.right", (), limiter)  # any role
        limiter.settle(conn, left)
        _, left = authenticated_caller(conn, "zd_k1.right", ("frontend",), limiter)
        with pytest.raises(TooManyRequests):
            limiter.settle(conn, left)
        conn.rollback()  # the refusal takes nothing
        assert [row["key_id"] for row in conn.execute(buckets).fetchall()] == ["k1"]
        assert conn.execute(buckets).fetchone()["tokens"] < 1
