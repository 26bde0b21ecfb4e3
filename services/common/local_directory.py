"""Each service's own copy of the directory, kept from ``directory.published`` events.

The admin CLI validates a directory file and publishes the whole normalized snapshot
(see ``services.common.directory``); every service stores the newest one it has seen
in its ``directory_snapshot`` table (as ``json``, which keeps the order of keys: the
order of departments and categories decides ties). ``current_directory`` answers from a per-process
cache that is reparsed only when the stored version changes, so every instance of a
service sees a reload at once (a transaction reads the version once, and keeps what it
read until it ends or applies a snapshot itself); a snapshot published before a policy key existed reads
with that key's default.
"""
from psycopg.types.json import Json

from services.common.directory import with_current_defaults
from services.common.errors import Unavailable
from services.common.transaction_keeps import kept_for_transaction

_cache = {}


def apply_directory_event(conn, envelope):
    """Store the published snapshot unless a newer one is already here."""
    body = envelope.body
    conn.execute(
        "INSERT INTO directory_snapshot (id, version, published_at, body)"
        " VALUES (1, %(version)s, %(published_at)s, %(directory)s)"
        " ON CONFLICT (id) DO UPDATE SET version = excluded.version,"
        " published_at = excluded.published_at, body = excluded.body"
        " WHERE directory_snapshot.published_at < excluded.published_at",
        {**body, "directory": Json(body["directory"])})
    kept = kept_for_transaction(conn)
    if kept is not None:
        kept.pop("directory", None)


def current_directory(conn):
    """The directory snapshot (a dict), or Unavailable when none was loaded yet."""
    kept = kept_for_transaction(conn)
    if kept is not None and "directory" in kept:
        return kept["directory"]
    row = conn.execute(
        "SELECT version, current_schema() AS schema FROM directory_snapshot").fetchone()
    if row is None:
        raise Unavailable("No directory has been loaded yet; run the directory loader.")
    schema_key = row["schema"]
    cached = _cache.get(schema_key)
    if cached is None or cached[0] != row["version"]:
        body = conn.execute("SELECT body FROM directory_snapshot").fetchone()["body"]
        cached = _cache[schema_key] = (row["version"], with_current_defaults(body))
    if kept is not None:
        kept["directory"] = cached[1]
    return cached[1]


def directory_version(conn):
    row = conn.execute("SELECT version FROM directory_snapshot").fetchone()
    return row["version"] if row else None
