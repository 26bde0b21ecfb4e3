"""``python -m bench.counted_notify``: the notify service exactly as ``python -m
services.notify`` runs it, with each round trip it makes to PostgreSQL counted
(``zd_bench_db_round_trips_total`` on its ``/metrics``, by kind: a statement, a batch of
statements, a commit or a rollback), for ``bench.courier``.

The count is taken in psycopg's Python layer (``Cursor.execute``/``executemany``,
``Connection.commit``/``rollback`` when a transaction is open): a statement is one round
trip, so is ending a transaction. The pool's own checks are not counted. With
``ZD_BENCH_PROFILE=<file>`` the process is profiled (``cProfile``), written there at exit.
"""
# isort: off
import services.common.runner as runner  # eventlet patched before psycopg is imported
# isort: on

import psycopg  # noqa: E402
from prometheus_client import Counter  # noqa: E402
from psycopg import pq  # noqa: E402

ROUND_TRIPS = Counter("zd_bench_db_round_trips_total", "Round trips to PostgreSQL", ["kind"])


def counted(method, kind, only_in_transaction=False):
    def wrapper(self, *args, **kwargs):
        connection = getattr(self, "pgconn", None) or self.connection.pgconn
        if not only_in_transaction or connection.transaction_status != pq.TransactionStatus.IDLE:
            ROUND_TRIPS.labels(kind).inc()
        return method(self, *args, **kwargs)
    return wrapper


psycopg.Cursor.execute = counted(psycopg.Cursor.execute, "statement")
psycopg.Cursor.executemany = counted(psycopg.Cursor.executemany, "batch")
psycopg.Connection.commit = counted(psycopg.Connection.commit, "commit", only_in_transaction=True)
psycopg.Connection.rollback = counted(psycopg.Connection.rollback, "rollback",
                                      only_in_transaction=True)

if __name__ == "__main__":
    import atexit
    import cProfile
    import os

    if os.environ.get("ZD_BENCH_PROFILE"):
        profile = cProfile.Profile()
        atexit.register(lambda: profile.dump_stats(os.environ["ZD_BENCH_PROFILE"]))
        profile.enable()
    runner.main("notify")
