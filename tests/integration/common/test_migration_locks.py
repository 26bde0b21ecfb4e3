"""A migration that must lock a table behind a long transaction gives up within its lock
timeout, tried again a few times, instead of queueing every claim and insert behind it
(services/common/migrate.py); on real PostgreSQL, in a database of its own."""
import os
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from yoyo import get_backend

from services.common.migrate import LOCK_TIMEOUT, MigrationBlocked, _yoyo_url, migrate

ALTERING = "0005-trace-context"  # ALTER TABLE notifications: ACCESS EXCLUSIVE


@pytest.fixture(scope="module")
def database_url():
    """A database of this module's own with the notify schema migrated, then taken back to
    before ALTERING (its column dropped, yoyo's record of it deleted)."""
    parts = urlsplit(os.environ["ZD_DATABASE_URL"])
    name = f"{parts.path.lstrip('/')}_migration_locks"
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    url = urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    migrate(url, schemas=("notify",))
    yield url
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def before_altering(url):
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE notify.notifications DROP COLUMN IF EXISTS trace_context")
        conn.execute("DELETE FROM notify._yoyo_migration WHERE migration_id = %s", (ALTERING,))


def columns(url):
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = 'notify' AND table_name = 'notifications'")}


def test_a_migration_behind_a_long_transaction_gives_up_within_its_lock_timeout(database_url):
    before_altering(database_url)
    with psycopg.connect(database_url) as reader:  # a long transaction that read the table
        reader.execute("SELECT count(*) FROM notify.notifications")
        started = time.monotonic()
        with pytest.raises(MigrationBlocked) as blocked:
            migrate(database_url, schemas=("notify",), lock_timeout="200ms", attempts=2, pause=0.1)
        took = time.monotonic() - started
        # two tries of 200 ms and a pause, not the reader's whole transaction
        assert 0.4 <= took < 3, took
        assert str(blocked.value).startswith(
            f"migration {ALTERING} not applied: it waited 200ms for a lock 2 times"), blocked.value
        assert isinstance(blocked.value.__cause__, psycopg.errors.LockNotAvailable)
        # meanwhile the table still takes work: no ALTER waits in its lock queue
        with psycopg.connect(database_url, options="-c lock_timeout=200") as other:
            other.execute("SELECT id FROM notify.notifications FOR UPDATE")
        reader.rollback()
    assert "trace_context" not in columns(database_url)
    # once the long transaction has ended, the same migration goes through
    migrate(database_url, schemas=("notify",), lock_timeout="200ms", attempts=1)
    assert "trace_context" in columns(database_url)


def test_every_migration_session_has_the_lock_timeout(database_url):
    """Yoyo's URL carries the setting into each migration's connection."""
    backend = get_backend(_yoyo_url(database_url, "notify", LOCK_TIMEOUT))
    with backend.copy() as migrating:
        assert migrating.execute("SHOW lock_timeout").fetchone()[0] == LOCK_TIMEOUT
