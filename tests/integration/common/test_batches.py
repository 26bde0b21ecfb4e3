"""Messages applied in batches: one transaction for many, each still applied once, a
failing one handled alone, and parallel batches that never deadlock. On the real
PostgreSQL (``handle_batch``) and the real broker (the ``consume_messages`` entrypoint).
"""
import time

import eventlet
import pytest
from kombu import Exchange, Producer, Queue
from nameko.containers import ServiceContainer

from services.common import metrics
from services.common.config import nameko_config
from services.common.db import Database, Transactions
from services.common.messaging import (
    Batch,
    Envelope,
    ParkMessage,
    consume_messages,
    handle_batch,
)
from tests.support.queues import confirmed_connection, drain, queued
from tests.support.services import scraped, wait_until

EFFECTS = "public.zd_batch_effects"


@pytest.fixture(autouse=True)
def effects(pool):
    """A table of what each applied message did, and in which transaction."""
    with pool.connection() as conn:
        conn.execute(f"DROP TABLE IF EXISTS {EFFECTS}")
        conn.execute(f"CREATE TABLE {EFFECTS} (message_id text, ticket_id text,"
                     " txid bigint DEFAULT txid_current(), at timestamptz DEFAULT clock_timestamp())")
    yield
    with pool.connection() as conn:
        conn.execute(f"DROP TABLE IF EXISTS {EFFECTS}")


def record(conn, envelope):
    conn.execute(f"INSERT INTO {EFFECTS} (message_id, ticket_id) VALUES (%s, %s)",
                 (envelope.message_id, envelope.ticket_id))


def recorded(pool):
    with pool.connection() as conn:
        return conn.execute(f"SELECT message_id, ticket_id, txid FROM {EFFECTS} ORDER BY at"
                            ).fetchall()


def envelope(message_id, ticket_id="T-1"):
    return Envelope(message_id, "ticket.assigned", {"ticket": {"ticket_id": ticket_id}},
                    queue="zd.notify.events")


def batch_of(*envelopes):
    batch = Batch()
    for one in envelopes:
        batch.add(one, None)
    return batch


def test_a_batch_is_one_transaction_with_its_inbox_rows_and_applies_once(pool):
    first = [envelope(f"m-{n}", f"T-{n}") for n in range(5)]
    assert handle_batch(Transactions(pool), batch_of(*first), record) == [True] * 5
    again = [envelope("m-1", "T-1"), envelope("m-9", "T-9"), envelope("m-9", "T-9")]
    assert handle_batch(Transactions(pool), batch_of(*again), record) == [True] * 3
    rows = recorded(pool)
    assert sorted(row["message_id"] for row in rows) == ["m-0", "m-1", "m-2", "m-3", "m-4", "m-9"]
    assert len({row["txid"] for row in rows[:5]}) == 1, "the first five in one transaction"
    with pool.connection() as conn:
        inbox = conn.execute("SELECT count(*) AS n FROM inbox").fetchone()["n"]
    assert inbox == 6


def test_a_batch_is_applied_in_the_order_of_its_tickets_each_ticket_in_arrival_order(pool):
    arrived = [envelope("m-1", "T-3"), envelope("m-2", "T-1"), envelope("m-3", "T-3"),
               envelope("m-4", "T-2"), envelope("m-5", "T-1")]
    handle_batch(Transactions(pool), batch_of(*arrived), record)
    assert [row["message_id"] for row in recorded(pool)] == ["m-2", "m-5", "m-4", "m-1", "m-3"]


def test_a_message_to_park_is_parked_alone_and_the_others_are_applied(pool):
    def refuse_m2(conn, one):
        if one.message_id == "m-2":
            raise ParkMessage("cannot be read")
        record(conn, one)

    batch = batch_of(*[envelope(f"m-{n}", f"T-{n}") for n in range(5)])
    assert handle_batch(Transactions(pool), batch, refuse_m2) == [True] * 5
    assert sorted(row["message_id"] for row in recorded(pool)) == ["m-0", "m-1", "m-3", "m-4"]
    with pool.connection() as conn:
        parked = conn.execute("SELECT routing_key, headers FROM outbox").fetchall()
    assert [(row["routing_key"], row["headers"]["x-original-message-id"]) for row in parked] == [
        ("zd.notify.events", "m-2")]


def test_a_message_no_store_can_keep_is_parked_alone_escaped_and_the_others_applied(pool):
    unreadable = [Envelope("m-\x00", "ticket.assigned", {"ticket": {"ticket_id": "T-7"}},
                           queue="zd.notify.events"),
                  Envelope("m-8", "ticket.assigned", {"ticket": {"ticket_id": "T-8"},
                                                      "note": "\ud800"}, queue="zd.notify.events")]
    arrived = [envelope(f"m-{n}", f"T-{n}") for n in range(3)] + unreadable
    assert handle_batch(Transactions(pool), batch_of(*arrived), record) == [True] * 5
    assert sorted(row["message_id"] for row in recorded(pool)) == ["m-0", "m-1", "m-2"]
    with pool.connection() as conn:
        parked = sorted(conn.execute("SELECT headers, body FROM outbox").fetchall(),
                        key=lambda row: row["headers"]["x-original-message-id"])
    assert [(row["headers"]["x-original-message-id"], row["headers"]["x-park-reason"])
            for row in parked] == [
        ("m-8", "unreadable message: its body holds a lone surrogate (U+D800) in note"),
        ("m-\\u0000", "unreadable message: its message_id holds NUL (U+0000)")]
    assert parked[0]["body"]["note"] == "\\ud800"


def test_a_failing_message_alone_goes_back_and_the_others_are_handled(pool):
    def fail_m3(conn, one):
        if one.message_id == "m-3":
            raise KeyError("a bug")
        record(conn, one)

    arrived = [envelope(f"m-{n}", f"T-{9 - n}") for n in range(6)]  # applied in another order
    handled = handle_batch(Transactions(pool), batch_of(*arrived), fail_m3)
    assert handled == [True, True, True, False, True, True]  # in the order they arrived
    assert sorted(row["message_id"] for row in recorded(pool)) == ["m-0", "m-1", "m-2", "m-4", "m-5"]
    with pool.connection() as conn:
        seen = {row["message_id"] for row in conn.execute("SELECT message_id FROM inbox")}
    assert "m-3" not in seen and len(seen) == 5


def failing_unread(others_read):
    """m-3's statement fails, and nobody reads its answer: in a pipeline, the failure shows
    at the next statement whose answer is read (another message's, ``others_read``), or
    else at the commit."""
    def apply(conn, one):
        if one.message_id == "m-3":
            conn.execute("SELECT 1 / 0")
            return
        record(conn, one)
        if others_read:
            conn.execute("SELECT 1").fetchone()
    return apply


@pytest.mark.parametrize("others_read", [True, False], ids=["at-a-later-read", "at-the-commit"])
def test_a_pipelined_batch_whose_unread_statement_fails_handles_each_alone(pool, others_read):
    arrived = [envelope(f"m-{n}", f"T-{n}") for n in range(6)]
    handled = handle_batch(Transactions(pool), batch_of(*arrived), failing_unread(others_read),
                           pipelined=True)
    assert handled == [True, True, True, False, True, True]
    rows = recorded(pool)
    assert sorted(row["message_id"] for row in rows) == ["m-0", "m-1", "m-2", "m-4", "m-5"]
    assert len({row["txid"] for row in rows}) == 5, "each applied alone"
    with pool.connection() as conn:
        seen = {row["message_id"] for row in conn.execute("SELECT message_id FROM inbox")}
    assert seen == {"m-0", "m-1", "m-2", "m-4", "m-5"}


def test_a_pipelined_batch_is_one_transaction_and_applies_once(pool):
    first = [envelope(f"m-{n}", f"T-{n}") for n in range(5)]
    assert handle_batch(Transactions(pool), batch_of(*first), record, pipelined=True) == [True] * 5
    again = [envelope("m-1", "T-1"), envelope("m-9", "T-9")]
    assert handle_batch(Transactions(pool), batch_of(*again), record, pipelined=True) == [True] * 2
    rows = recorded(pool)
    assert sorted(row["message_id"] for row in rows) == ["m-0", "m-1", "m-2", "m-3", "m-4", "m-9"]
    assert len({row["txid"] for row in rows[:5]}) == 1, "the first five in one transaction"


def test_parallel_batches_over_the_same_tickets_in_crossed_orders_never_deadlock(pool):
    """Each message locks its ticket: two batches that came in opposite orders would
    deadlock if applied as they came; in ticket order both commit in one transaction."""
    def lock_ticket(conn, one):
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (one.ticket_id,))
        eventlet.sleep(0.01)
        record(conn, one)

    tickets = [f"T-{n:02}" for n in range(12)]
    forward = batch_of(*[envelope(f"a-{ticket}", ticket) for ticket in tickets])
    backward = batch_of(*[envelope(f"b-{ticket}", ticket) for ticket in reversed(tickets)])
    db = Transactions(pool)
    both = [eventlet.spawn(handle_batch, db, batch, lock_ticket) for batch in (forward, backward)]
    assert [thread.wait() for thread in both] == [[True] * 12, [True] * 12]
    rows = recorded(pool)
    assert len(rows) == 24 and len({row["txid"] for row in rows}) == 2


def test_a_partitioned_batch_is_one_transaction_per_key_and_a_failure_stays_in_its_key(pool):
    def fail_b2(conn, one):
        if one.message_id == "b-2":
            raise KeyError("a bug")
        record(conn, one)

    arrived = [envelope(f"{key}-{n}", f"T-{key}{n}") for n in range(3) for key in "abc"]
    handled = handle_batch(Transactions(pool), batch_of(*arrived), fail_b2,
                           partition=lambda one: one.message_id[0])
    assert handled == [one.message_id != "b-2" for one in arrived]
    rows = recorded(pool)
    assert [row["message_id"] for row in rows] == ["a-0", "a-1", "a-2", "b-0", "b-1",
                                                   "c-0", "c-1", "c-2"]
    txids = {key: {row["txid"] for row in rows if row["message_id"][0] == key} for key in "abc"}
    assert len(txids["a"]) == len(txids["c"]) == 1 and txids["a"] != txids["c"]
    assert len(txids["b"]) == 2, "b's good messages were handled alone"


# --- the entrypoint, on the real broker ---------------------------------------------

EXCHANGE = Exchange("zd.test.batches", type="direct", durable=True)
PARKED = Queue("zd.test.batches.parked", EXCHANGE, routing_key="parked", durable=True)
QUEUE = Queue("zd.test.batches", EXCHANGE, routing_key="work", durable=True,
              queue_arguments={"x-queue-type": "quorum", "x-delivery-limit": 2,
                               "x-dead-letter-exchange": EXCHANGE.name,
                               "x-dead-letter-routing-key": "parked"})


class BatchedService:
    name = "batched"
    db = Database("notify")
    slow_first = True

    @consume_messages(QUEUE)
    def on_message(self, batch):
        return handle_batch(self.db, batch, self.apply)

    @classmethod
    def apply(cls, conn, one):
        if one.body.get("poison"):
            raise ValueError("never applies")
        if cls.slow_first:  # the others arrive meanwhile and wait together
            cls.slow_first = False
            eventlet.sleep(0.5)
        record(conn, one)


def publish(*bodies):
    with confirmed_connection() as connection:
        PARKED(connection.channel()).declare()
        QUEUE(connection.channel()).declare()
        producer = Producer(connection.channel())
        for n, body in enumerate(bodies):
            producer.publish(body, exchange=EXCHANGE, routing_key="work", message_id=f"m-{n}",
                             type="test.work", delivery_mode=2, serializer="json")


@pytest.fixture
def batched_service():
    BatchedService.slow_first = True
    container = ServiceContainer(BatchedService, nameko_config("notify", {
        "WEB_SERVER_ADDRESS": "127.0.0.1:0", "ZD_CONSUMER_WORKERS": 1}))
    publish()  # the queues exist before the consumer starts
    container.start()
    yield container
    container.stop()


def processing_time(suffix, **labels):
    """A sample of ``zd_message_processing_seconds`` for the batched service, as scraped."""
    return scraped(f"zd_message_processing_seconds_{suffix}", service=BatchedService.name,
                   queue=QUEUE.name, **labels) or 0.0


def test_messages_arriving_while_the_worker_is_busy_are_applied_together_each_one_timed(
        batched_service, pool):
    """The first message is alone in its batch and takes 0.5 s; the others wait for the
    worker, and their processing time starts when it starts on them: one observation of
    ``zd_message_processing_seconds`` for each message."""
    before = metrics.CONSUMED_BATCH_SIZE.labels(QUEUE.name)._sum.get()
    count, total, fast = (processing_time("count"), processing_time("sum"),
                          processing_time("bucket", le="0.25"))
    publish(*[{"ticket_id": f"T-{n:02}"} for n in range(30)])
    wait_until(lambda: len(recorded(pool)) == 30, what="30 messages applied")
    rows = recorded(pool)
    assert len({row["message_id"] for row in rows}) == 30
    assert len({row["txid"] for row in rows}) <= 3, "the first alone, the rest together"
    assert metrics.CONSUMED_BATCH_SIZE.labels(QUEUE.name)._sum.get() - before >= 20
    wait_until(lambda: queued(QUEUE.name) == 0, what="every message acknowledged")
    wait_until(lambda: processing_time("count") - count >= 30, what="30 messages timed")
    assert processing_time("count") - count == 30
    assert processing_time("bucket", le="+Inf") - count == 30
    assert processing_time("sum") - total >= 0.5, "the first message's batch took 0.5 s"
    assert processing_time("bucket", le="0.25") - fast <= 29, "the first took over 0.25 s"


def test_a_poison_message_in_a_batch_is_returned_alone_until_it_is_dead_lettered(batched_service,
                                                                                 pool):
    bodies = [{"ticket_id": f"T-{n:02}"} for n in range(10)]
    bodies[4] = {"ticket_id": "T-04", "poison": True}
    publish(*bodies)
    deadline = time.monotonic() + 30
    while queued(PARKED.name) == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    (parked,) = drain(PARKED.name)
    assert parked.properties["message_id"] == "m-4"
    assert sorted(row["message_id"] for row in recorded(pool)) == sorted(
        f"m-{n}" for n in range(10) if n != 4)
    assert queued(QUEUE.name) == 0
    with confirmed_connection() as connection:
        for queue in (QUEUE, PARKED):
            queue(connection.channel()).delete()


def test_messages_waiting_for_a_worker_go_back_to_their_queue_when_the_service_stops(pool):
    """One worker, busy with the first message: the others wait in a batch. A stop lets
    the worker finish, and the waiting ones are back in the queue: none is lost, none
    applied twice."""
    BatchedService.slow_first = True
    container = ServiceContainer(BatchedService, nameko_config("notify", {
        "WEB_SERVER_ADDRESS": "127.0.0.1:0", "ZD_CONSUMER_WORKERS": 1}))
    publish()
    container.start()
    try:
        publish(*[{"ticket_id": f"T-{n:02}"} for n in range(20)])
        wait_until(lambda: not BatchedService.slow_first, what="the first message taken")
    finally:
        container.stop()
    applied = [row["message_id"] for row in recorded(pool)]
    assert len(set(applied)) == len(applied) >= 1
    assert len(applied) + queued(QUEUE.name) == 20 and queued(QUEUE.name) > 0
    with confirmed_connection() as connection:
        for queue in (QUEUE, PARKED):
            queue(connection.channel()).delete()


def test_apply_all_gets_a_batchs_new_messages_at_once_and_a_failure_handles_each_alone(pool):
    calls = []

    def record_all(conn, envelopes):
        calls.append([one.message_id for one in envelopes])
        for one in envelopes:
            if one.message_id == "m-bad":
                raise ParkMessage("cannot be applied")
            record(conn, one)
    db = Transactions(pool)
    handle_batch(db, batch_of(envelope("m-1", "T-1")), record)
    arrived = [envelope("m-2", "T-2"), envelope("m-1", "T-1"), envelope("m-3", "T-3"), envelope("m-3", "T-3")]
    assert handle_batch(db, batch_of(*arrived), record, apply_all=record_all) == [True] * 4
    assert calls == [["m-2", "m-3"]], "once, the new messages only, in the batch's order"
    assert handle_batch(db, batch_of(envelope("m-4", "T-4"), envelope("m-bad", "T-5")), record,
                        apply_all=record_all) == [True, True]
    assert calls[-1] == ["m-4", "m-bad"]
    rows = recorded(pool)
    assert [row["message_id"] for row in rows] == ["m-1", "m-2", "m-3", "m-4", "m-bad"], \
        "the batch rolled back, then each handled alone by apply"
    assert rows[3]["txid"] != rows[4]["txid"]
