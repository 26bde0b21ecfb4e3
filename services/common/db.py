"""The ``Database`` dependency: one psycopg connection pool per service process.

Each service owns one PostgreSQL schema; its pool sets ``search_path`` to it, so the
SQL of a service never names another's tables. The pool opens in ``setup`` without
waiting, so a service starts (and answers ``/health`` with 503) while the database
is down. Workers get the pool's narrow wrapper, ``Transactions``, whose every transaction tells
the process's ``DatabaseEvidence`` whether the database was reached (``/health``).
Each transaction keeps what it read once and may use again until it ends
(``services.common.transaction_keeps``).

Only a failure of the connection itself is evidence that the database is down
(``is_database_down``): a ``PoolTimeout`` while every connection is lent out is the pool's
saturation (``zd_db_pool_*``), answered 503 but not evidence. Every pool's connections
carry TCP keepalives and ``tcp_user_timeout`` (``KEEPALIVE``), so a connection to a
database gone silent (a partition: no reset) fails within about ``DEAD_PEER_SECONDS``
instead of TCP's many minutes. No ``statement_timeout`` is set: a migration or an admin
load may rightly run for minutes; a question that must be answered soon is asked with
``transaction(within=seconds)``, whose connection is closed, never pooled again, when
the answer does not come in time.
"""
import logging
import random
import time
from contextlib import contextmanager

import eventlet
import psycopg
from nameko.extensions import DependencyProvider
from psycopg import errors as pg_errors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from services.common import metrics
from services.common.errors import Contention, Unavailable
from services.common.held_state import database_evidence
from services.common.transaction_keeps import keeping

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 3  # seconds libpq waits for the server to answer a new connection
POOL_WAIT_SECONDS = 3  # seconds a request waits for a pooled connection before answering 503
#: psycopg errors that mean "the database is not there", answered with 503
UNAVAILABLE = (psycopg.OperationalError, PoolTimeout)
#: libpq's TCP keepalives on every pooled connection: an idle connection to a silent peer is
#: given up after idle + interval * count seconds, one with data unacknowledged after
#: ``tcp_user_timeout`` (milliseconds)
DEAD_PEER_SECONDS = 30
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
             "keepalives_count": 4, "tcp_user_timeout": DEAD_PEER_SECONDS * 1000}
#: psycopg errors that mean "do it again": a deadlock or serialization conflict was broken
CONTENTION = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)
CONTENTION_ATTEMPTS = 5


class DatabaseSilent(psycopg.OperationalError):
    """The database did not answer a bounded question in time (``transaction(within=)``)."""


def is_database_down(failure):
    """Whether ``failure`` (one of ``UNAVAILABLE``) is evidence that the database is down:
    a connection failed, not a wait for a pool whose every connection is busy."""
    return isinstance(failure, psycopg.OperationalError) and not isinstance(failure, PoolTimeout)


def pause_after_contention(attempt):
    """A short random pause before doing again what the database broke off, so that the
    transactions that collided do not collide again."""
    eventlet.sleep(random.uniform(0.01, 0.05) * attempt)


def make_pool(url, schema, size=10, min_size=1, **kwargs):
    return ConnectionPool(
        url, min_size=min_size, max_size=size, open=False, timeout=POOL_WAIT_SECONDS,
        kwargs={"options": f"-c search_path={schema}", "row_factory": dict_row,
                "application_name": f"zd-{schema}",
                "connect_timeout": CONNECT_TIMEOUT, **KEEPALIVE},
        name=schema, **kwargs)


def _never():
    return False


class Transactions:
    """What a worker sees of the database: transactions, a liveness probe, and whether
    its entrypoint is stopping (``stopping()``), so that a worker waiting out an outage
    gives way to a stop."""

    def __init__(self, pool, stopping=_never, evidence=None):
        self.pool = pool
        self.stopping = stopping
        self.evidence = evidence  # told whether the database was reached (held_state)

    @contextmanager
    def transaction(self, within=None):
        """A connection in a transaction, committed when the block ends cleanly.
        ``within``: seconds for the whole, the wait for a connection included; past them
        ``DatabaseSilent`` is raised (``Unavailable`` to the caller) and the connection,
        perhaps mid-question, is closed, not pooled again."""
        deadline = None if within is None else time.monotonic() + within
        try:
            with self.pool.connection(timeout=within) as conn, keeping(conn), \
                    _answered_by(conn, deadline):
                yield conn
        except CONTENTION as exc:
            raise Contention(str(exc)) from exc
        except UNAVAILABLE as exc:  # the details (host, port) go to the log, not to callers
            if self.evidence is not None and is_database_down(exc):
                self.evidence.missed(exc)
            log.warning("database unavailable: %s", exc)
            raise Unavailable("The database is unreachable.") from exc
        else:
            if self.evidence is not None:
                self.evidence.reached()

    def ping(self):
        with self.transaction() as conn:
            conn.execute("SELECT 1")


@contextmanager
def _answered_by(conn, deadline):
    if deadline is None:
        yield
        return
    silent = DatabaseSilent("no answer in time")
    try:
        with eventlet.Timeout(max(deadline - time.monotonic(), 0.01), silent):
            yield
            conn.commit()
    except DatabaseSilent as exc:
        if exc is silent:
            conn.close()  # mid-question: the pool discards it and opens another
        raise


class Database(DependencyProvider):
    def __init__(self, schema):
        self.schema = schema
        self.pool = None
        self.evidence = None

    def setup(self):
        config = self.container.config
        self.pool = make_pool(config["ZD_DATABASE_URL"], self.schema,
                              size=config.get("ZD_POOL_SIZE", 10))
        metrics.watch_pool(self.container.service_name, self.attr_name, self.pool)
        self.pool.open(wait=False)
        self.evidence = database_evidence(self.container)

    def kill(self):
        self.stop()

    def stop(self):
        if self.pool is not None:
            self.pool.close()
            self.pool = None

    def get_dependency(self, worker_ctx):
        entrypoint = worker_ctx.entrypoint
        return Transactions(self.pool, stopping=lambda: bool(getattr(entrypoint, "stopping", False)),
                            evidence=self.evidence)
