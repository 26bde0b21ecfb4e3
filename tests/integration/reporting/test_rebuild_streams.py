"""The read model's rebuild, streamed ticket by ticket from the event log into tables
of its own: the same read model as the consumer made, and when it fails, the read model
as it was and no table of the rebuild left behind. On the real PostgreSQL."""
import psycopg
import pytest

from services.common.config import settings
from services.reporting import rebuild_store
from services.reporting.use_cases import rebuild
from tests.integration.reporting.test_batched_projection import (  # noqa: F401 (fixtures)
    consume,
    db,
    directory,
    envelopes,
    read_model,
)


def rebuild_tables():
    with psycopg.connect(settings().database_url) as conn:
        return conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'reporting'"
                            " AND tablename LIKE 'rebuilt%'").fetchall()


def test_the_rebuild_makes_the_read_model_the_consumer_made(db, directory):  # noqa: F811
    transactions, _ = db
    consume(transactions, envelopes(directory), 64)
    consumed = read_model()
    done = rebuild.rebuild(transactions)
    assert (done.tickets, done.ratings, done.events) == (20, 2, len(consumed["log"]))
    rebuilt = read_model()
    assert rebuilt["tickets"] == consumed["tickets"] and rebuilt["ratings"] == consumed["ratings"]
    assert rebuild_tables() == []


def test_a_failed_rebuild_leaves_the_read_model_as_it_was_and_no_table_behind(
        db, directory, monkeypatch):  # noqa: F811
    transactions, _ = db
    consume(transactions, envelopes(directory), 64)
    consumed = read_model()

    def broken(conn, fresh):
        raise RuntimeError("the swap failed")
    monkeypatch.setattr(rebuild_store, "swap_in", broken)
    with pytest.raises(RuntimeError):
        rebuild.rebuild(transactions)
    assert read_model() == consumed
    assert rebuild_tables() == []
