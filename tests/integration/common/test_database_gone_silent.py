"""A question asked of a database gone silent (a partition: no reset, no answer) is given
up within its bound (``Transactions.transaction(within=)``), counts as evidence of the
database down, and its connection is closed, not lent again; every pooled connection
carries TCP keepalives and a user timeout. The real PostgreSQL behind a proxy the test
freezes; no service runs."""
import time
from urllib.parse import urlsplit

import pytest

from services.common.config import settings
from services.common.db import KEEPALIVE, Transactions, make_pool
from services.common.errors import Unavailable
from services.common.held_state import DatabaseEvidence
from tests.support.proxy import CuttableProxy


@pytest.fixture
def silent():
    """``(proxy, pool through it)``: two connections, both open."""
    url = settings().database_url
    with CuttableProxy(urlsplit(url).port or 5432) as proxy:
        pool = make_pool(proxy.url_for(url), "public", size=2, min_size=2)
        pool.open(wait=True, timeout=10)
        try:
            yield proxy, pool
        finally:
            proxy.thaw()
            pool.close()


def test_a_question_to_a_silent_database_is_given_up_and_its_connection_closed(silent):
    proxy, pool = silent
    evidence = DatabaseEvidence()
    transactions = Transactions(pool, evidence=evidence)
    with transactions.transaction(within=2) as conn:
        given = dict(part.split("=", 1) for part in conn.info.dsn.split())
        assert {key: given.get(key) for key in KEEPALIVE} == {
            key: str(value) for key, value in KEEPALIVE.items()}
    assert evidence.state(fresh_seconds=10) == ("ok", None)
    proxy.freeze()
    started = time.monotonic()
    with pytest.raises(Unavailable):
        with transactions.transaction(within=2) as conn:
            conn.execute("SELECT 1")
    took = time.monotonic() - started
    assert 1.9 <= took < 2.5, took
    state, reason = evidence.state(fresh_seconds=10)
    assert state == "down" and reason.endswith("(DatabaseSilent)"), reason
    assert conn.closed  # never lent again mid-question
    proxy.thaw()
    with transactions.transaction(within=2) as again:
        assert again.execute("SELECT 1 AS one").fetchone() == {"one": 1}
        assert again is not conn
    assert evidence.state(fresh_seconds=10) == ("ok", None)
