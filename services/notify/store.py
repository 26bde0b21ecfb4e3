"""SQL of the notify schema, behind verbs: reporters' feedback contacts, held ticket
events, and the notifications recorded for sending."""
from psycopg.types.json import Jsonb

from services.notify.domain import Event


def lock_ticket(conn, ticket_id):
    """Handle a concern and its ticket events one at a time (until the transaction ends)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"notify:{ticket_id}",))


def remember_reporter(conn, ticket_id, contact):
    """Note that the concern was seen, with the contact of a reporter who asked for feedback."""
    conn.execute("INSERT INTO ticket_reporters (ticket_id, contact) VALUES (%s, %s)"
                 " ON CONFLICT (ticket_id) DO NOTHING",
                 (ticket_id, Jsonb(contact) if contact else None))


def find_reporter(conn, ticket_id):
    """None while the concern is unseen; else a row whose ``contact`` may be null."""
    return conn.execute("SELECT contact FROM ticket_reporters WHERE ticket_id = %s",
                        (ticket_id,)).fetchone()


def hold_event(conn, event):
    conn.execute("INSERT INTO held_events (event_id, ticket_id, event_type, ticket, entry)"
                 " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
                 (event.id, event.ticket_id, event.type, Jsonb(event.ticket), Jsonb(event.entry)))


def release_held_events(conn, ticket_id):
    """The events held for this ticket, in the order they came; they are held no more."""
    rows = conn.execute("DELETE FROM held_events WHERE ticket_id = %s"
                        " RETURNING event_id, event_type, ticket, entry, held_at",
                        (ticket_id,)).fetchall()
    return [Event(row["event_id"], row["event_type"], row["ticket"], row["entry"])
            for row in sorted(rows, key=lambda row: row["held_at"])]


def record_notification(conn, event, notification):
    """Record one notification to send; False when it was recorded before."""
    return conn.execute(
        "INSERT INTO notifications (event_id, ticket_id, event_type, recipient, channel,"
        " address, template, locale, params) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING RETURNING id",
        (event.id, event.ticket_id, event.type, notification.recipient, notification.channel,
         notification.address, notification.template, notification.locale,
         Jsonb(notification.params))).fetchone() is not None


def notifications(conn, ticket_id=None, status=None, limit=100):
    """Recorded notifications, newest first, without addresses (operators' view)."""
    return conn.execute(
        "SELECT id, event_id, ticket_id, event_type, recipient, channel, template, locale,"
        " status, created_at FROM notifications"
        " WHERE (%(ticket_id)s::text IS NULL OR ticket_id = %(ticket_id)s)"
        " AND (%(status)s::text IS NULL OR status = %(status)s)"
        " ORDER BY id DESC LIMIT %(limit)s",
        {"ticket_id": ticket_id, "status": status, "limit": limit}).fetchall()
