"""The transactional outbox, as rows: a message is stored with the change that caused it.

Owns the ``outbox`` table of each schema. ``emit`` inserts a message inside the caller's
transaction and ``NOTIFY``s the relay; nothing reaches RabbitMQ unless that transaction
commits, and nothing committed is forgotten. ``message_id`` is stable, so consumers
deduplicate (delivery is at least once).

The relay (``services.common.outbox_relay``) reads the pending rows, publishes them and
marks them with the other verbs here. This module imports no messaging library: a use
case that emits needs only its connection. A row's headers keep the trace context of
what emitted it (``services.common.tracing``).
"""
import uuid

from psycopg.types.json import Json, Jsonb

from services.common import tracing
from services.common.events import EVENTS_EXCHANGE

CHANNEL = "zd_outbox_{}"  # one notification channel per schema


def emit(conn, exchange, routing_key, message_type, body, message_id=None, headers=None):
    """Queue a message for publishing when ``conn``'s transaction commits; its headers
    keep the trace context of the span under way (``tracing``), which the relay continues."""
    message_id = message_id or str(uuid.uuid4())
    conn.execute(  # one round trip; PostgreSQL sends a transaction's equal notifications once
        "WITH queued AS (INSERT INTO outbox (message_id, exchange, routing_key, type, headers,"
        " body) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (message_id) DO NOTHING)"
        " SELECT pg_notify(%s || current_schema(), '')",
        (message_id, exchange, routing_key, message_type, Jsonb(tracing.inject(dict(headers or {}))),
         Json(body), CHANNEL.format("")))
    return message_id


def emit_event(conn, event_type, body, message_id=None):
    """An internal domain event on ``zd.events``, routed by its type."""
    return emit(conn, EVENTS_EXCHANGE, event_type, event_type, body, message_id)


def emit_events(conn, *events):
    """Queue ``services.common.events.Event``s (None ones are skipped) on ``zd.events``."""
    for event in events:
        if event is not None:
            emit_event(conn, event.type, event.body, event.message_id)


def lock_pending(conn, limit):
    """Up to ``limit`` rows due for publishing, oldest first, locked until the transaction
    ends; rows another relay holds are skipped."""
    return conn.execute(
        "SELECT id, message_id, exchange, routing_key, type, headers, body FROM outbox"
        " WHERE published_at IS NULL AND next_attempt_at <= now()"
        " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED", (limit,)).fetchall()


def mark_published(conn, row_ids):
    # a mark lost in a crash only sends the row again (consumers deduplicate): it need not
    # wait for the disk
    conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY(%s)"
                 " RETURNING set_config('synchronous_commit', 'off', true)", (row_ids,))


def postpone(conn, row_id, reason):
    """The broker did not take the row: it is due again later, with back-off."""
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = %s,"
        " next_attempt_at = now() + least(interval '1 second' * power(2, attempts), '5 minutes')"
        " WHERE id = %s", (reason, row_id))


def delete(conn, row_ids):
    conn.execute("DELETE FROM outbox WHERE id = ANY(%s)", (row_ids,))


def backlog(conn):
    """``{pending, oldest}``: how many rows wait, and for how many seconds the oldest has."""
    return conn.execute(
        "SELECT count(*) AS pending, coalesce(extract(epoch FROM now() - min(created_at)), 0)"
        " AS oldest FROM outbox WHERE published_at IS NULL").fetchone()


def forget_old(conn, keep_days):
    """Delete published outbox rows and inbox records older than ``keep_days``.

    Pending outbox rows are never deleted. An inbox record must outlive any
    redelivery of its message; days are far more than that.
    """
    for table, column in (("outbox", "published_at"), ("inbox", "received_at")):
        conn.execute(f"DELETE FROM {table} WHERE {column} < now() - make_interval(days => %s)",
                     (keep_days,))
