"""Database round trips per concern, counted, not timed: ``python -m bench.round_trips``.

Runs intake, routing and notify in this process on a fresh system with the throughput
benchmark's directory (``bench.stack.bench_directory``: every concern auto-forwarded and
auto-dispatched), posts concerns one at a time (each a batch of one everywhere, so the
figures do not depend on timing), waits until the system is quiet after each, and prints
what each service asked of PostgreSQL per concern: round trips (a statement awaited
outside a pipeline, ``BEGIN`` and ``COMMIT`` included; in a pipeline, each point where its
answers are needed: a cursor's fetch, a sync), statements, and commits, for each part of
the service (intake's ``POST``, a consumer's batches, the outbox relay), and
for routing the part of its batches that holds the district's representatives locked
(from their ``FOR UPDATE`` to the commit: the critical section concerns of one district
take turns in).

It counts at libpq's door: psycopg's pure-Python implementation is loaded
(``PSYCOPG_IMPL=python``) and its ``PGconn`` wrapped, so nothing in the services changes.
``ZD_TRACE_SERVICE=<service>`` prints the statements of that service's last concern, its
round trips marked, and ``L`` before those sent holding the representatives.
Half the concerns come from a reporter who asks for feedback (one more message for
routing and two or three for notify), half from one who does not.
Runs on a database and vhost of its own, which it resets: ``zd_bench_trips`` unless
``ZD_DATABASE_URL``/``ZD_AMQP_URI`` name others (never those of ``make run``).
"""
import os
import sys

os.environ.setdefault("ZD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/zd_bench_trips")
os.environ.setdefault("ZD_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/zd_bench_trips")
# isort: off
os.environ["PSYCOPG_IMPL"] = "python"  # the pure-Python libpq wrapper: its methods can be counted
import services  # noqa: F401,E402  (PSYCOPG_WAIT_FUNC before psycopg is imported)
import eventlet  # noqa: E402

eventlet.monkey_patch()
# isort: on

import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from contextlib import ExitStack  # noqa: E402
from pathlib import Path  # noqa: E402

import psycopg  # noqa: E402
import requests  # noqa: E402
import yaml  # noqa: E402
from psycopg import pq  # noqa: E402
from psycopg.pq import pq_ctypes  # noqa: E402

from bench.stack import bench_directory  # noqa: E402
from services.common.config import settings  # noqa: E402
from tests.support.services import running  # noqa: E402
from tests.support.system import fresh_system  # noqa: E402

SERVICES = ("intake", "routing", "notify")
CONCERNS = 10  # of each kind (with and without feedback)
QUIET_SECONDS = 0.6  # nothing counted for this long, and no outbox row pending: quiet
#: the part of a service a round trip is for, by the first of these functions found on
#: the stack (innermost first); ``other``: health checks, timers
PARTS = (("courier", "courier"), ("outbox_relay", "relay"),
         ("_apply_together", "consume"), ("_apply_in_transaction", "consume"),
         ("post_concern", "post"))
LOCKS_REPRESENTATIVES = (b"representative_load", b"FOR UPDATE")

#: ``ZD_TRACE_SERVICE=routing``: the statements of that service's last concern are printed
TRACED = os.environ.get("ZD_TRACE_SERVICE")
traced = []
counts = defaultdict(Counter)  # (service, part) → {round_trips, statements, commits}
locked = set()  # PGconns holding representatives' rows locked
prepared = {}  # (PGconn, statement name) → its text: a prepared statement is sent by name
unanswered = set()  # PGconns in a pipeline that sent statements since answers were last needed
ending = set()  # PGconns in a pipeline that sent a COMMIT or a ROLLBACK


def _part():
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        for marker, part in PARTS:
            if marker == code.co_name or f"/{marker}." in code.co_filename:
                return part
        frame = frame.f_back
    return "other"


def _service(pgconn):
    name = (pgconn.parameter_status(b"application_name") or b"").decode()
    return name.removeprefix("zd-") or "?"


def _text(pgconn, method, command, args):
    text = bytes(command) if isinstance(command, (bytes, bytearray, memoryview)) else b""
    if method.__name__ == "send_prepare" and args:
        prepared[(id(pgconn), text)] = bytes(args[0])
    if method.__name__ in ("send_query_prepared", "exec_prepared"):
        return prepared.get((id(pgconn), text), b"")
    return text


def _counted(method, sends_statement=True):
    """``method`` sending a statement, counted: a round trip of its own outside a
    pipeline; in one, the round trip is counted where an answer is first needed. A
    statement's preparing (once per connection) is not counted."""
    def counting(self, command=b"", *args, **kwargs):
        text = _text(self, method, command, args)
        if not sends_statement:
            return method(self, command, *args, **kwargs)
        key = (_service(self), _part())
        if key[0] == TRACED and key[1] in ("consume", "post"):
            traced.append(f"{'L' if self in locked else ' '} {text[:150].decode(errors='replace')}")
        words = text.lstrip().upper()
        if self not in locked and all(word in text for word in LOCKS_REPRESENTATIVES):
            locked.add(self)
        in_pipeline = self.pipeline_status != pq.PipelineStatus.OFF
        for tally in _tallies(self, key):
            tally["statements"] += 1
            tally["round_trips"] += not in_pipeline
            tally["commits"] += words.startswith(b"COMMIT")
        if in_pipeline:
            unanswered.add(self)
        if words.startswith((b"COMMIT", b"ROLLBACK")):
            if in_pipeline:
                ending.add(self)
            else:
                locked.discard(self)
        return method(self, command, *args, **kwargs)
    return counting


def _tallies(pgconn, key):
    return [counts[key]] + ([counts[(key[0], "locked")]] if pgconn in locked else [])


def _answer_needed(pgconn):
    """In a pipeline, the first answer needed since statements were sent: a round trip."""
    if pgconn not in unanswered:
        return
    unanswered.discard(pgconn)
    key = (_service(pgconn), _part())
    if key[0] == TRACED and key[1] in ("consume", "post"):
        traced.append("    (the pipeline's answers awaited: one round trip)")
    for tally in _tallies(pgconn, key):
        tally["round_trips"] += 1
    if pgconn in ending:
        ending.discard(pgconn)
        locked.discard(pgconn)


def count_round_trips():
    """Wrap the libpq calls that send a statement, and the points where a pipeline's
    answers are needed (its sync, a cursor's fetch)."""
    cls = pq_ctypes.PGconn
    for name in ("send_query", "send_query_params", "send_query_prepared"):
        setattr(cls, name, _counted(getattr(cls, name)))
    cls.send_prepare = _counted(cls.send_prepare, sends_statement=False)
    sync = cls.pipeline_sync

    def syncing(self):
        _answer_needed(self)
        return sync(self)
    cls.pipeline_sync = syncing
    fetch = psycopg.Cursor._fetch_pipeline

    def fetching(self):
        if self._conn._pipeline is not None:
            _answer_needed(self._conn.pgconn)
        return fetch(self)
    psycopg.Cursor._fetch_pipeline = fetching


def concern(district, community, feedback):
    reporter = ({"name": "张三", "phone": "+8613912340001", "email": "zhang@example.com",
                 "wants_feedback": True} if feedback else {"name": "李四"})
    return {"external_id": str(uuid.uuid4()), "district": district, "community": community,
            "channel": "hotline", "category": "drainage", "description": "小区下水道堵塞，污水外溢",
            "reporter": reporter}


def _total():
    """What the work of concerns has counted so far (the relay's and the courier's polls,
    which go on when nothing happens, left out)."""
    return sum(sum(tally.values()) for (_, part), tally in list(counts.items())
               if part in ("consume", "post"))


def _pending_rows():
    """Outbox rows not yet published, in every service measured."""
    with psycopg.connect(settings().database_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT " + " + ".join(f"(SELECT count(*) FROM {schema}.outbox WHERE published_at IS"
                                   " NULL)" for schema in SERVICES)).fetchone()[0]


def wait_until_quiet(timeout=30):
    deadline = time.monotonic() + timeout
    last, since = _total(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = _total()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= QUIET_SECONDS and _pending_rows() == 0:
            return
    raise AssertionError("the system did not go quiet")


def post_one(base, keys, feedback):
    answer = requests.post(f"{base}/api/v1/concerns", json=concern("d1", "d1-c1", feedback),
                           headers={"Authorization": f"Bearer {keys['frontend:d1']}"}, timeout=10)
    assert answer.status_code == 202, answer.text
    return answer.json()["ticket_id"]


def measure(bases, keys, feedback):
    """``{(service, part): Counter}`` per concern, over ``CONCERNS`` concerns posted alone."""
    post_one(bases["intake"], keys, feedback)  # warm: prepared statements, caches
    wait_until_quiet()
    counts.clear()
    for _ in range(CONCERNS):
        traced.clear()
        post_one(bases["intake"], keys, feedback)
        wait_until_quiet()
    taken = {key: Counter(tally) for key, tally in counts.items()}
    return {key: {name: value / CONCERNS for name, value in tally.items()}
            for key, tally in taken.items()}


def dispatched(ticket_count):
    with psycopg.connect(settings().database_url, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM routing.tickets WHERE status = 'dispatched'"
                            ).fetchone()[0] == ticket_count


def table(figures):
    rows = [f"{'service':8} {'part':8} {'round trips':>12} {'statements':>11} {'commits':>8}"]
    for (service, part), tally in sorted(figures.items()):
        if service not in SERVICES or part in ("other", "courier"):
            continue
        rows.append(f"{service:8} {part:8} {tally.get('round_trips', 0):12.1f}"
                    f" {tally.get('statements', 0):11.1f} {tally.get('commits', 0):8.1f}")
    return "\n".join(rows)


def main():
    count_round_trips()
    with tempfile.TemporaryDirectory() as work:
        directory_file = Path(work) / "directory.yaml"
        directory_file.write_text(yaml.safe_dump(bench_directory(), allow_unicode=True))
        keys, _, _ = fresh_system(str(directory_file))
        with ExitStack() as stack:
            bases = {name: stack.enter_context(running(name, ZD_RATE_LIMIT=1_000_000))
                     for name in SERVICES}
            wait_until_quiet()
            for feedback in (False, True):
                figures = measure(bases, keys, feedback)
                print(f"\nper concern, reporter {'asks' if feedback else 'does not ask'}"
                      f" for feedback ({CONCERNS} concerns, one at a time):")
                print(table(figures))
                print("\n".join(traced))
            assert dispatched(2 * (CONCERNS + 1)), "not every concern reached its department"


if __name__ == "__main__":
    main()
