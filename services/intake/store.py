"""SQL of the intake schema, behind verbs: store a concern or a rating, find and list
concerns, keep the newest view of each ticket, anonymise a reporter, keep the hash of a
reporter's page token. Runs SQL and returns rows: the events
that go with a stored concern or rating are the use cases' (``use_cases``).
"""
from psycopg.types.json import Jsonb

from services.common.sql import insert_sql, row_values

CONCERN_COLUMNS = ("ticket_id", "key_id", "external_id", "fingerprint", "district", "community",
                   "channel", "category", "title", "description", "location", "attachments",
                   "reporter", "requested_representative", "submitted_at", "received_at")
JSON_COLUMNS = {"location", "attachments", "reporter"}


class TicketIdTaken(Exception):
    """The drawn ticket id belongs to another concern: draw again."""


def insert_concern(conn, row):
    """Store a new concern; returns its ticket id, or None if the key and external id
    are already taken (a retry, or a conflicting reuse)."""
    inserted = conn.execute(
        insert_sql("concerns", CONCERN_COLUMNS, "ON CONFLICT DO NOTHING RETURNING ticket_id"),
        row_values(row, CONCERN_COLUMNS, JSON_COLUMNS)).fetchone()
    if inserted is None:
        if find_by_external_id(conn, row["key_id"], row["external_id"]) is not None:
            return None
        raise TicketIdTaken(row["ticket_id"])  # the drawn id is another concern's
    return inserted["ticket_id"]


def find_by_external_id(conn, key_id, external_id):
    """The concern a key posted under ``external_id``, with its ticket's current status."""
    return conn.execute(
        "SELECT c.ticket_id, c.fingerprint, c.received_at, v.ticket->>'status' AS status"
        " FROM concerns c LEFT JOIN ticket_views v USING (ticket_id)"
        " WHERE c.key_id = %s AND c.external_id = %s", (key_id, external_id)).fetchone()


def list_concerns(conn, district, limit, external_id=None, status=None, since=None, after=None):
    """Up to ``limit`` concerns of ``district`` in the order of their last change, after the
    ``(changed_at, ticket_id)`` pair ``after``; no description, no reporter."""
    after_at, after_id = after or (None, None)
    return conn.execute(
        "SELECT * FROM (SELECT c.ticket_id, c.external_id, c.district,"
        "  coalesce(v.ticket->>'community', c.community) AS community, c.channel,"
        "  coalesce(v.ticket->>'category', c.category) AS category, c.title, c.received_at,"
        "  coalesce(v.ticket->>'status', 'received') AS status,"
        "  greatest(c.received_at, v.updated_at) AS changed_at"
        "  FROM concerns c LEFT JOIN ticket_views v USING (ticket_id)"
        "  WHERE c.district = %(district)s"
        "  AND (%(external_id)s::text IS NULL OR c.external_id = %(external_id)s)) listed"
        " WHERE (%(status)s::text IS NULL OR status = %(status)s)"
        " AND (%(since)s::timestamptz IS NULL OR changed_at >= %(since)s)"
        " AND (%(after_at)s::timestamptz IS NULL OR (changed_at, ticket_id) > (%(after_at)s, %(after_id)s))"
        " ORDER BY changed_at, ticket_id LIMIT %(limit)s",
        {"district": district, "external_id": external_id, "status": status, "since": since,
         "after_at": after_at, "after_id": after_id, "limit": limit}).fetchall()


def open311_requests(conn, district, ticket_ids=None, category=None, start=None, end=None,
                     final_statuses=None, final=None, limit=1000):
    """Concerns of ``district`` (of every district when None) with their ticket views and
    ``changed_at``, newest first:
    those of ``ticket_ids`` if given, else those received in [start, end]; with
    ``final`` True only those whose ticket is in one of ``final_statuses``, with False
    only the others (a concern routing has not reported on yet is ``received``)."""
    return conn.execute(
        "SELECT c.*, v.ticket AS view, greatest(c.received_at, v.updated_at) AS changed_at"
        " FROM concerns c LEFT JOIN ticket_views v USING (ticket_id)"
        " WHERE (%(district)s::text IS NULL OR c.district = %(district)s)"
        " AND (%(ids)s::text[] IS NULL OR c.ticket_id = ANY(%(ids)s))"
        " AND (%(category)s::text IS NULL OR coalesce(v.ticket->>'category', c.category) = %(category)s)"
        " AND (%(start)s::timestamptz IS NULL OR c.received_at >= %(start)s)"
        " AND (%(end)s::timestamptz IS NULL OR c.received_at <= %(end)s)"
        " AND (%(final)s::boolean IS NULL"
        "      OR (coalesce(v.ticket->>'status', 'received') = ANY(%(final_statuses)s)) = %(final)s)"
        " ORDER BY c.received_at DESC, c.ticket_id LIMIT %(limit)s",
        {"district": district, "ids": ticket_ids, "category": category, "start": start,
         "end": end, "final_statuses": list(final_statuses or ()), "final": final,
         "limit": limit}).fetchall()


def find_concern(conn, ticket_id):
    return conn.execute(
        "SELECT c.*, v.ticket AS view FROM concerns c"
        " LEFT JOIN ticket_views v USING (ticket_id) WHERE c.ticket_id = %s", (ticket_id,)
    ).fetchone()


def insert_page_token(conn, ticket_id, token_hash):
    conn.execute("INSERT INTO page_tokens (token_hash, ticket_id) VALUES (%s, %s)",
                 (token_hash, ticket_id))


def find_by_page_token(conn, token_hash):
    """The concern whose page token hashes to ``token_hash``, with its ticket view, or None."""
    return conn.execute(
        "SELECT c.*, v.ticket AS view FROM page_tokens p JOIN concerns c USING (ticket_id)"
        " LEFT JOIN ticket_views v USING (ticket_id) WHERE p.token_hash = %s", (token_hash,)
    ).fetchone()


def delete_page_token(conn, ticket_id):
    """Forget the concern's page token; returns how many there were (0 or 1)."""
    return conn.execute("DELETE FROM page_tokens WHERE ticket_id = %s", (ticket_id,)).rowcount


def latest_rating(conn, ticket_id):
    """The stored rating of the ticket's latest rated resolution, or None."""
    return conn.execute("SELECT resolution, rating, comment, rated_at FROM ratings"
                        " WHERE ticket_id = %s ORDER BY resolution DESC LIMIT 1", (ticket_id,)).fetchone()


def keep_newer_ticket_view(conn, ticket):
    """Store ``ticket`` (routing's view of it) unless a view of the same or a later
    version is stored already."""
    conn.execute(
        "INSERT INTO ticket_views (ticket_id, version, ticket) VALUES (%s, %s, %s)"
        " ON CONFLICT (ticket_id) DO UPDATE SET version = excluded.version,"
        " ticket = excluded.ticket, updated_at = now()"
        " WHERE ticket_views.version < excluded.version",
        (ticket["ticket_id"], ticket["version"], Jsonb(ticket)))


def insert_rating(conn, ticket_id, resolution, rating, comment, rated_at):
    """Store the rating of one resolution; False when that resolution was rated already."""
    return conn.execute(
        "INSERT INTO ratings (ticket_id, resolution, rating, comment, rated_at)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING ticket_id",
        (ticket_id, resolution, rating, comment, rated_at)).fetchone() is not None


def anonymise_reporter(conn, ticket_id, personal_keys, fingerprint):
    """Drop ``personal_keys`` from the concern's reporter (marked anonymised) and set its
    ``fingerprint``; returns how many concerns held such a detail (0 or 1)."""
    return len(conn.execute(
        "UPDATE concerns SET reporter = (reporter - %s::text[]) || '{\"anonymised\": true}',"
        " fingerprint = %s WHERE ticket_id = %s AND jsonb_typeof(reporter) = 'object'"
        " AND reporter ?| %s::text[] RETURNING ticket_id",
        (list(personal_keys), fingerprint, ticket_id, list(personal_keys))).fetchall())
