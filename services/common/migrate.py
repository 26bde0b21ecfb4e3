"""Creating the database and applying every schema's migrations with yoyo.

Each service owns one schema of the same database: the common plumbing tables
(``services/common/migrations``) then the service's own (``services/<name>/migrations``).
The admin schema belongs to the admin CLI (keys, department users, directory loads).

Yoyo applies each migration in a transaction of its own. Every migration's session waits at
most ``LOCK_TIMEOUT`` for a lock: a migration that alters a table (ACCESS EXCLUSIVE) behind a
long transaction would otherwise wait, and every claim and insert queued behind it with it.
It fails instead, rolled back, and is tried again ``ATTEMPTS`` times; then the migration
stops with ``MigrationBlocked``, saying which migration and what to do (run it again once the
long transaction has ended: the migrations already applied stay applied).
"""
import logging
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from yoyo import get_backend, read_migrations

log = logging.getLogger(__name__)
#: how long a migration waits for a table's lock before it gives up (PostgreSQL's units)
LOCK_TIMEOUT = "5s"
#: how many times a migration that could not take its locks is tried, with ATTEMPT_PAUSE
#: seconds (doubling) between tries
ATTEMPTS = 4
ATTEMPT_PAUSE = 2.0


class MigrationBlocked(RuntimeError):
    """A migration could not take its locks within the lock timeout, however often tried."""

SCHEMAS = ("admin", "intake", "routing", "notify", "reporting")
SERVICES_DIR = Path(__file__).resolve().parent.parent


def ensure_database(database_url):
    """Create the database named in the URL when it does not exist."""
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def migrate(database_url, schemas=SCHEMAS, lock_timeout=LOCK_TIMEOUT, attempts=ATTEMPTS,
            pause=ATTEMPT_PAUSE):
    ensure_database(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    for schema in schemas:
        backend = get_backend(_yoyo_url(database_url, schema, lock_timeout))
        with backend.lock():
            pending = backend.to_apply(migrations_of(schema))
            for migration in pending:
                _apply(backend, migration, lock_timeout, attempts, pause)
            if pending:
                backend.run_post_apply(pending)


def migrations_of(schema):
    """The schema's migrations: the common plumbing tables', then its service's own."""
    sources = [SERVICES_DIR / "common" / "migrations", SERVICES_DIR / schema / "migrations"]
    return read_migrations(*[str(path) for path in sources if path.is_dir()])


def _apply(backend, migration, lock_timeout, attempts, pause):
    for attempt in range(1, attempts + 1):
        try:
            backend.apply_one(migration)
            return
        except psycopg.errors.LockNotAvailable as exc:
            if attempt == attempts:
                raise MigrationBlocked(
                    f"migration {migration.id} not applied: it waited {lock_timeout} for a lock"
                    f" {attempts} times ({exc.diag.message_primary}); a long transaction holds"
                    " the table (pg_stat_activity shows it): end it, or run the migration again"
                    " later. The migrations before it are applied.") from exc
            log.warning("migration %s waited %s for a lock (try %d of %d); trying again",
                        migration.id, lock_timeout, attempt, attempts)
            time.sleep(pause * 2 ** (attempt - 1))


def _yoyo_url(database_url, schema, lock_timeout):
    """Yoyo's URL: its query's parameters are the connection's (``options``: every
    session's lock_timeout)."""
    parts = urlsplit(database_url)
    ours = f"schema={schema}&options={quote(f'-c lock_timeout={lock_timeout}', safe='')}"
    query = f"{parts.query}&{ours}" if parts.query else ours
    return urlunsplit(parts._replace(scheme="postgresql+psycopg", query=query))
