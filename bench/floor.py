"""The benchmark's floor: what plain kombu and psycopg carry on this machine when they
do the chain's durable work per concern, one process per stage, with nothing else.

- intake: ``clients`` threads, each commits a row and publishes it, confirmed;
- routing: consumes it, commits a row, publishes the dispatch and the ticket's event,
  each confirmed, then acks;
- notify and reporting: each consumes the event and commits a row, then acks;
- a department consumes the dispatch.

Each consuming stage runs ``WORKERS`` threads, as a service runs its workers. Quorum
queues and persistent messages, as the services use them; every commit waits for
PostgreSQL's disk. The intake stage offers more than the others can take; the floor
is how many concerns reached the department a second while it did. Each message is
committed, published and acknowledged on its own here; ``bench.floor_batched`` does
the same work in batches, as the chain's outbox relay and consumers do.
"""
import multiprocessing
import threading
import time
import uuid

import psycopg
from kombu import Connection, Exchange, Producer, Queue

from services.common.config import settings

WORKERS = 10  # per consuming stage: a nameko service's default max_workers
PREFETCH = 10
EXCHANGE = Exchange("floor.events", type="topic", durable=True)
QUORUM = {"x-queue-type": "quorum"}
QUEUES = {name: Queue(f"floor.{name}", EXCHANGE, routing_key=key, durable=True,
                      queue_arguments=QUORUM)
          for name, key in (("routing", "concern"), ("notify", "ticket"), ("reporting", "ticket"),
                            ("department", "dispatch"))}
SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS floor;
DROP TABLE IF EXISTS floor.rows;
CREATE TABLE floor.rows (stage text, id text, at timestamptz DEFAULT now(), PRIMARY KEY (stage, id));
"""


def run_threads(target, count, args=()):
    """``count`` threads running ``target(*args)``, until all of them return."""
    threads = [threading.Thread(target=target, args=args) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _connection():
    return Connection(settings().amqp_uri, transport_options={"confirm_publish": True})


def _commit(db, stage, message_id):
    with db.transaction():
        db.execute("INSERT INTO floor.rows (stage, id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                   (stage, message_id))


def _intake(seconds, clients, counter):
    stop_at = time.time() + seconds

    def client():
        with psycopg.connect(settings().database_url, autocommit=True) as db, _connection() as amqp:
            producer = Producer(amqp.channel(), exchange=EXCHANGE)
            while time.time() < stop_at:
                concern_id = str(uuid.uuid4())
                _commit(db, "intake", concern_id)
                producer.publish({"id": concern_id}, routing_key="concern", delivery_mode=2,
                                 serializer="json")
                with counter.get_lock():
                    counter.value += 1

    run_threads(client, clients)


def _stage(name, publishes, stop):
    """``WORKERS`` threads consuming ``floor.<name>``, as a service's workers do."""
    run_threads(_worker, WORKERS, (name, publishes, stop))


def _worker(name, publishes, stop):
    """Consume ``floor.<name>``: commit, publish the next messages if ``publishes``, ack.
    Publishing waits for confirms: on a connection of its own, not the consuming one."""
    with psycopg.connect(settings().database_url, autocommit=True) as db, _connection() as amqp, \
            _connection() as publishing:
        producer = Producer(publishing.channel(), exchange=EXCHANGE)

        def handle(body, message):
            _commit(db, name, body["id"])
            if publishes:
                producer.publish(body, routing_key="dispatch", delivery_mode=2, serializer="json")
                producer.publish(body, routing_key="ticket", delivery_mode=2, serializer="json")
            message.ack()

        channel = amqp.channel()
        channel.basic_qos(0, PREFETCH, False)
        with amqp.Consumer(QUEUES[name](channel), callbacks=[handle], accept=["json"]):
            while not stop.is_set():
                try:
                    amqp.drain_events(timeout=0.5)
                except TimeoutError:
                    pass


def _department(counter, stop):
    with _connection() as amqp:
        def arrived(body, message):
            message.ack()
            with counter.get_lock():
                counter.value += 1

        channel = amqp.channel()
        channel.basic_qos(0, 200, False)
        with amqp.Consumer(QUEUES["department"](channel), callbacks=[arrived], accept=["json"]):
            while not stop.is_set():
                try:
                    amqp.drain_events(timeout=0.5)
                except TimeoutError:
                    pass


def prepare():
    with psycopg.connect(settings().database_url, autocommit=True) as db:
        db.execute(SCHEMA_SQL)
    with Connection(settings().amqp_uri) as amqp:
        channel = amqp.channel()
        for queue in QUEUES.values():
            bound = queue(channel)
            bound.declare()
            bound.purge()


def cleanup():
    with Connection(settings().amqp_uri) as amqp:
        channel = amqp.channel()
        for queue in QUEUES.values():
            queue(channel).delete()
        EXCHANGE(channel).delete()
    with psycopg.connect(settings().database_url, autocommit=True) as db:
        db.execute("DROP SCHEMA IF EXISTS floor CASCADE")


def measure_best(seconds, client_counts=(2, 4, 8), measure_one=None):
    """The floor (``measure_one``: ``measure`` by default) at a few intake concurrencies
    (too many clients starve the consuming stages of CPU on a small machine); returns
    the best run's figures, with every run's."""
    runs = [(measure_one or measure)(seconds, clients) for clients in client_counts]
    best = max(runs, key=lambda run: run["delivered_per_s"])
    return {**best, "runs": runs}


def measure(seconds, clients=4, stage=None, intake=None, workers=WORKERS):
    """Run the floor for ``seconds`` of load; returns its figures. ``stage(name,
    publishes, stop)`` and ``intake(seconds, clients, counter)`` run the stages
    (default: a message at a time)."""
    prepare()
    context = multiprocessing.get_context("fork")
    stop = context.Event()
    sent, delivered = context.Value("l", 0), context.Value("l", 0)
    stages = [context.Process(target=stage or _stage, args=(name, name == "routing", stop))
              for name in ("routing", "notify", "reporting")]
    stages.append(context.Process(target=_department, args=(delivered, stop)))
    for process in stages:
        process.start()
    time.sleep(1)
    began = time.time()
    producer = context.Process(target=intake or _intake, args=(seconds, clients, sent))
    producer.start()
    producer.join()
    in_time, elapsed = delivered.value, time.time() - began
    stop.set()
    for process in stages:
        process.join(10)
    cleanup()
    return {"clients": clients, "workers_per_stage": workers, "sent": sent.value,
            "sent_per_s": round(sent.value / elapsed, 1), "delivered_in_time": in_time,
            "delivered_per_s": round(in_time / elapsed, 1)}


if __name__ == "__main__":
    import os
    os.environ.setdefault("ZD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/zd_bench")
    os.environ.setdefault("ZD_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/zd_bench")
    print(measure_best(10))
