"""The benchmark's batched floor: the floor's durable work per concern (``bench.floor``:
the same stages, queues, rows and messages), done in batches as the chain does it:

- intake: ``clients`` threads, each commits ``INTAKE_BATCH`` rows in one transaction,
  then publishes them and waits for their confirms together;
- routing, notify and reporting: ``WORKERS`` threads each take what has arrived, up to
  ``BATCH`` messages, commit their rows in one transaction, publish what follows from
  them (routing: the dispatch and the ticket's event of each) and wait for the
  confirms together, then acknowledge them all with one ack;
- a department consumes the dispatch, as in the floor.

Publishing is the chain's own outbox publisher (``services.common.outbox_relay.Publisher``:
confirms awaited together, ``mandatory`` set). Nothing is given up: every row is
committed before its message is published, every publish is confirmed before the
message it follows from is acknowledged.
"""
import time
import uuid

import psycopg
from kombu import Connection

from bench.floor import EXCHANGE, QUEUES, measure, measure_best, run_threads
from services.common.config import settings
from services.common.outbox_relay import Publisher

WORKERS = 2  # per consuming stage: batches make more threads needless on two cores
BATCH = 100  # messages a stage commits, publishes and acknowledges together at most
PREFETCH = 2 * BATCH
INTAKE_BATCH = 10  # concerns an intake client commits in one transaction


def _publisher():
    return Publisher(settings().amqp_uri, declare=lambda connection: None)


def _commit(db, stage, ids):
    with db.transaction(), db.cursor() as cursor:
        cursor.executemany("INSERT INTO floor.rows (stage, id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                           [(stage, message_id) for message_id in ids])


def _publish(publisher, messages):
    """Publish ``(routing key, body)`` pairs, waiting for all their confirms; raises when
    the broker did not take one."""
    rows = [{"body": body, "exchange": EXCHANGE.name, "routing_key": key, "message_id": str(uuid.uuid4()),
             "type": key, "headers": {}} for key, body in messages]
    outcomes, failure = publisher.publish_batch(rows)
    if failure or any(outcome is not None for outcome in outcomes.values()) or len(outcomes) != len(rows):
        raise RuntimeError(f"the broker did not take the batch: {failure or outcomes}")


def _intake(seconds, clients, counter):
    stop_at = time.time() + seconds

    def client():
        publisher = _publisher()
        with psycopg.connect(settings().database_url, autocommit=True) as db:
            while time.time() < stop_at:
                ids = [str(uuid.uuid4()) for _ in range(INTAKE_BATCH)]
                _commit(db, "intake", ids)
                _publish(publisher, [("concern", {"id": concern_id}) for concern_id in ids])
                with counter.get_lock():
                    counter.value += len(ids)
        publisher.close()

    run_threads(client, clients)


def _stage(name, publishes, stop):
    """``WORKERS`` threads consuming ``floor.<name>`` in batches."""
    run_threads(_worker, WORKERS, (name, publishes, stop))


def _worker(name, publishes, stop):
    """Consume ``floor.<name>``: take what has arrived (up to ``BATCH``), commit it in one
    transaction, publish what follows (if ``publishes``) confirmed together, ack them all."""
    publisher = _publisher() if publishes else None
    with psycopg.connect(settings().database_url, autocommit=True) as db, \
            Connection(settings().amqp_uri) as amqp:
        taken = []
        channel = amqp.channel()
        channel.basic_qos(0, PREFETCH, False)
        with amqp.Consumer(QUEUES[name](channel), callbacks=[lambda body, message: taken.append(
                (body, message))], accept=["json"]):
            while not stop.is_set():
                try:
                    amqp.drain_events(timeout=0.5)
                except TimeoutError:
                    continue
                while len(taken) < BATCH:
                    try:
                        amqp.drain_events(timeout=0)
                    except TimeoutError:
                        break
                if not taken:
                    continue
                _commit(db, name, [body["id"] for body, _ in taken])
                if publisher:
                    _publish(publisher, [(key, body) for body, _ in taken for key in ("dispatch", "ticket")])
                taken[-1][1].ack(multiple=True)
                taken.clear()
    if publisher:
        publisher.close()


def measure_batched(seconds, clients=4):
    """Run the batched floor for ``seconds`` of load; returns its figures."""
    figures = measure(seconds, clients, stage=_stage, intake=_intake, workers=WORKERS)
    return {**figures, "batch": BATCH, "intake_batch": INTAKE_BATCH}


def measure_batched_best(seconds, client_counts=(2, 4, 8)):
    """The batched floor at a few intake concurrencies; the best run's figures, with every run's."""
    return measure_best(seconds, client_counts, measure_one=measure_batched)


if __name__ == "__main__":
    import os
    os.environ.setdefault("ZD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/zd_bench")
    os.environ.setdefault("ZD_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/zd_bench")
    print(measure_batched_best(10))
