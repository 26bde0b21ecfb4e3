"""The ``Database`` dependency: one psycopg connection pool per service process.

Each service owns one PostgreSQL schema; its pool sets ``search_path`` to it, so the
SQL of a service never names another's tables. The pool opens in ``setup`` without
waiting, so a service starts (and answers ``/health`` with 503) while the database
is down. Workers get the pool's narrow wrapper, ``Transactions``.
"""
from contextlib import contextmanager

import psycopg
from nameko.extensions import DependencyProvider
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from services.common.errors import Unavailable

CONNECT_TIMEOUT = 3  # seconds a request waits for a connection before answering 503
#: psycopg errors that mean "the database is not there", answered with 503
UNAVAILABLE = (psycopg.OperationalError, PoolTimeout)


def make_pool(url, schema, size=10, **kwargs):
    return ConnectionPool(
        url, min_size=1, max_size=size, open=False, timeout=CONNECT_TIMEOUT,
        kwargs={"options": f"-c search_path={schema}", "row_factory": dict_row,
                "connect_timeout": CONNECT_TIMEOUT},
        name=schema, **kwargs)


class Transactions:
    """What a worker sees of the database: transactions and a liveness probe."""

    def __init__(self, pool):
        self.pool = pool

    @contextmanager
    def transaction(self):
        """A connection in a transaction, committed when the block ends cleanly."""
        try:
            with self.pool.connection() as conn:
                yield conn
        except UNAVAILABLE as exc:
            raise Unavailable(f"database unavailable: {exc}") from exc

    def ping(self):
        with self.transaction() as conn:
            conn.execute("SELECT 1")


class Database(DependencyProvider):
    def __init__(self, schema):
        self.schema = schema
        self.pool = None

    def setup(self):
        config = self.container.config
        self.pool = make_pool(config["ZD_DATABASE_URL"], self.schema,
                              size=config.get("ZD_POOL_SIZE", 10))
        self.pool.open(wait=False)

    def kill(self):
        self.stop()

    def stop(self):
        if self.pool is not None:
            self.pool.close()
            self.pool = None

    def get_dependency(self, worker_ctx):
        return Transactions(self.pool)
