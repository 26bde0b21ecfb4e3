"""SQL of signing in to the workbench, behind domain verbs: routing's ``sign_in_codes``,
``staff_sessions`` and ``sign_in_requests`` tables (migration 0014).

Holds only hashes of the codes and session tokens. Every time is the caller's ``now``.
A limit's requests are counted under a transaction-scoped advisory lock on its bucket, so
that routing instances counting the same bucket at once take turns and none lets one more
through. Emits nothing; the use cases (``services.routing.use_cases.sign_in``) do.
"""
from services.common.events import STAFF_SIGN_IN_CODE


def requests_over(conn, bucket, limits, now):
    """Lock ``bucket`` until the transaction ends; the time to wait before its next request
    is allowed (a timedelta), or None when every limit has room for it."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (bucket,))
    waits = []
    for limit in limits:
        counted = conn.execute(
            "SELECT count(*) AS requests, min(at) AS oldest FROM sign_in_requests"
            " WHERE bucket = %s AND at > %s", (bucket, now - limit.window)).fetchone()
        if counted["requests"] >= limit.times:
            # the window's oldest request leaves it first; the next one is allowed then
            waits.append(counted["oldest"] + limit.window - now)
    return max(waits) if waits else None


def count_request(conn, bucket, now):
    conn.execute("INSERT INTO sign_in_requests (bucket, at) VALUES (%s, %s)", (bucket, now))


def replace_code(conn, person_id, code_hash, salt, now, expires_at):
    """The person's code from now on: any earlier one, used or not, is gone."""
    conn.execute(
        "INSERT INTO sign_in_codes (person_id, code_hash, salt, created_at, expires_at)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (person_id) DO UPDATE SET"
        " code_hash = excluded.code_hash, salt = excluded.salt,"
        " created_at = excluded.created_at, expires_at = excluded.expires_at, failed_attempts = 0",
        (person_id, code_hash, salt, now, expires_at))


def lock_code(conn, person_id):
    """The person's code row, locked until the transaction ends, or None."""
    return conn.execute("SELECT code_hash, salt, expires_at, failed_attempts FROM sign_in_codes"
                        " WHERE person_id = %s FOR UPDATE", (person_id,)).fetchone()


def count_wrong_code(conn, person_id):
    """One more wrong attempt at the person's code; returns how many there have been."""
    return conn.execute("UPDATE sign_in_codes SET failed_attempts = failed_attempts + 1"
                        " WHERE person_id = %s RETURNING failed_attempts",
                        (person_id,)).fetchone()["failed_attempts"]


def delete_code(conn, person_id):
    conn.execute("DELETE FROM sign_in_codes WHERE person_id = %s", (person_id,))


def insert_session(conn, token_hash, csrf_token, person, now, client_address, user_agent):
    """A session of ``person`` from ``now``; returns its id."""
    return conn.execute(
        "INSERT INTO staff_sessions (token_hash, csrf_token, person_id, party, started_at,"
        " last_seen_at, client_address, user_agent) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " RETURNING session_id",
        (token_hash, csrf_token, person.id, person.party, now, now, client_address,
         user_agent)).fetchone()["session_id"]


def session_by_token(conn, token_hash):
    return conn.execute(
        "SELECT session_id, csrf_token, person_id, party, started_at, last_seen_at"
        " FROM staff_sessions WHERE token_hash = %s", (token_hash,)).fetchone()


def party_key_revoked_since(conn, party, moment):
    """Whether a key of ``party`` was revoked at or after ``moment`` (routing's
    ``credentials``, kept from the admin's ``credential.*`` events)."""
    return conn.execute("SELECT 1 FROM credentials WHERE party = %s AND revoked_at >= %s LIMIT 1",
                        (party, moment)).fetchone() is not None


def touch_session(conn, session_id, now):
    conn.execute("UPDATE staff_sessions SET last_seen_at = %s WHERE session_id = %s"
                 " AND last_seen_at < %s", (now, session_id, now))


def delete_session(conn, session_id):
    conn.execute("DELETE FROM staff_sessions WHERE session_id = %s", (session_id,))


def delete_session_by_token(conn, token_hash):
    """Returns the id of the session deleted, or None."""
    row = conn.execute("DELETE FROM staff_sessions WHERE token_hash = %s RETURNING session_id",
                       (token_hash,)).fetchone()
    return row and row["session_id"]


def delete_sessions_of(conn, person_id):
    """Returns how many sessions of the person were deleted."""
    return conn.execute("DELETE FROM staff_sessions WHERE person_id = %s",
                        (person_id,)).rowcount


def forget_expired(conn, now, policy):
    """Delete the codes expired at ``now``, the sessions over (idle or too old), the counted
    requests no limit looks at any more, and the published outbox messages of codes that
    have expired (the only messages that carry a secret); returns ``{kind: rows}``."""
    return {
        "codes": conn.execute("DELETE FROM sign_in_codes WHERE expires_at <= %s",
                              (now,)).rowcount,
        "sessions": conn.execute(
            "DELETE FROM staff_sessions WHERE last_seen_at <= %s OR started_at <= %s",
            (now - policy.idle_lifetime, now - policy.session_lifetime)).rowcount,
        "requests": conn.execute("DELETE FROM sign_in_requests WHERE at <= %s",
                                 (now - policy.longest_window(),)).rowcount,
        "code_messages": conn.execute(
            "DELETE FROM outbox WHERE type = %s AND published_at IS NOT NULL"
            " AND created_at <= %s", (STAFF_SIGN_IN_CODE, now - policy.code_lifetime)).rowcount,
    }
