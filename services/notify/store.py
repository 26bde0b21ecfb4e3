"""SQL of the notify schema, behind verbs: reporters' contacts, held events, the
notifications outbox (record, claim for a lease with the page token a reporter's contact
holds then, settle each attempt, list, make due again), and the verbs that anonymise a
reporter's details in them. Runs SQL and returns rows: which notification may be sent
again, and what is a reporter's detail, are the use cases' (``use_cases``). A notification
keeps the trace context of the event that caused it: its delivery joins that trace."""
from psycopg.types.json import Jsonb

from services.common import tracing
from services.notify.domain import SECRET_PARAMS, SECRET_TEMPLATES, SIGN_IN_CODE_TEMPLATE, Event

NOTIFY_CHANNEL = "zd_notifications"  # NOTIFY'd when a notification is due


def lock_ticket(conn, ticket_id):
    """Handle a ticket's events one at a time (until the transaction ends)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"notify:{ticket_id}",))


def remember_feedback_requested(conn, ticket_id, requested):
    """Whether the reporter asked for feedback, kept; returns the reporter as
    ``find_reporter`` would now, in the same round trip."""
    return conn.execute(
        "INSERT INTO ticket_reporters (ticket_id, feedback_requested) VALUES (%s, %s)"
        " ON CONFLICT (ticket_id) DO UPDATE SET feedback_requested ="
        " ticket_reporters.feedback_requested OR excluded.feedback_requested"
        " RETURNING contact, feedback_requested", (ticket_id, requested)).fetchone()


def remember_contact(conn, ticket_id, contact):
    conn.execute("INSERT INTO ticket_reporters (ticket_id, contact, feedback_requested)"
                 " VALUES (%s, %s, true) ON CONFLICT (ticket_id) DO UPDATE SET"
                 " contact = excluded.contact, feedback_requested = true",
                 (ticket_id, Jsonb(contact)))


def find_reporter(conn, ticket_id):
    """``{contact, feedback_requested}``; None while neither the concern nor the contact came."""
    return conn.execute("SELECT contact, feedback_requested FROM ticket_reporters"
                        " WHERE ticket_id = %s", (ticket_id,)).fetchone()


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


def record_notification(conn, event, notification, key, status="pending"):
    """Record one notification to send; False when it was recorded before."""
    return conn.execute(  # the courier is woken, in the same round trip, for a pending one
        "WITH recorded AS (INSERT INTO notifications (event_id, ticket_id, event_type,"
        " recipient, channel, address, template, locale, params, idempotency_key, status,"
        " trace_context) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING RETURNING status)"
        " SELECT CASE WHEN status = 'pending' THEN pg_notify(%s, '') END FROM recorded",
        (event.id, event.ticket_id, event.type, notification.recipient, notification.channel,
         notification.address, notification.template, notification.locale,
         Jsonb(notification.params), key, status, _trace_context(),
         NOTIFY_CHANNEL)).fetchone() is not None


def _trace_context():
    """The current span's trace context, to keep with a notification; None when none."""
    carried = tracing.inject()
    return Jsonb(carried) if carried else None


NOTIFICATION_COLUMNS = ("event_id", "ticket_id", "event_type", "recipient", "channel", "address",
                        "template", "locale", "params", "idempotency_key", "status",
                        "trace_context")


def record_notifications(conn, event, recorded):
    """Record the notifications of one event, ``recorded``: ``(notification, idempotency
    key, status)`` each, in one statement; returns the keys of those not recorded before.
    The courier is woken, in the same round trip, for a pending one."""
    if not recorded:
        return set()
    row = "(" + ", ".join(["%s"] * len(NOTIFICATION_COLUMNS)) + ")"
    trace_context = _trace_context()
    values = [value for notification, key, status in recorded for value in (
        event.id, event.ticket_id, event.type, notification.recipient, notification.channel,
        notification.address, notification.template, notification.locale,
        Jsonb(notification.params), key, status, trace_context)]
    rows = conn.execute(
        f"WITH recorded AS (INSERT INTO notifications ({', '.join(NOTIFICATION_COLUMNS)})"
        f" VALUES {', '.join([row] * len(recorded))} ON CONFLICT DO NOTHING"
        " RETURNING idempotency_key, status)"
        " SELECT idempotency_key, CASE WHEN status = 'pending' THEN pg_notify(%s, '') END"
        " FROM recorded", [*values, NOTIFY_CHANNEL]).fetchall()
    return {row["idempotency_key"] for row in rows}


#: where a notification goes, as far as who may be slow is concerned: each webhook
#: department is its own receiver; the SMTP server and each gateway serve a whole channel
DESTINATION = "CASE WHEN channel = 'webhook' THEN recipient ELSE channel END"
#: a reporter's notification is claimed with the page token of their contact as it is now
#: (null once anonymised): their page's link is made as it is sent, never kept with it
PAGE_TOKEN = ("(SELECT r.contact ->> 'page_token' FROM ticket_reporters r"
              " WHERE r.ticket_id = notifications.ticket_id"
              " AND notifications.recipient = 'reporter') AS page_token")
CLAIMED = ("RETURNING id, event_id, ticket_id, recipient, channel, address, template, locale,"
           " params, idempotency_key, attempts, created_at, trace_context, "
           + DESTINATION + " AS destination, " + PAGE_TOKEN)
DUE = ("status = 'pending' AND channel = %(channel)s AND next_attempt_at <= now()"
       " AND (lease_until IS NULL OR lease_until < now())")
LEASED = ("UPDATE notifications SET lease_until = now() + make_interval(secs => %(lease)s),"
          " attempts = attempts + 1")


def claim_due(conn, channel, limit, lease_seconds, per_destination, busy=None, room=None):
    """Take up to ``limit`` due notifications of ``channel`` for ``lease_seconds``, at most
    ``per_destination`` for each destination less the ones of it already ``busy``
    (``{destination: sends under way}``), or the places ``room`` gives it
    (``{destination: places}``); each row says its ``destination``. One round trip (two
    when sign-in codes wait first).

    A claim that outlives its lease (its sender died) is taken again, with the same
    idempotency key.
    """
    busy, room = busy or {}, room or {}
    if channel != "webhook":  # one destination: the oldest due rows, through the index
        limit = min(limit, room.get(channel, per_destination - busy.get(channel, 0)))
        if limit <= 0:
            return []
        urgent = _claim_oldest(conn, channel, limit, lease_seconds, URGENT)
        return urgent + _claim_oldest(conn, channel, limit - len(urgent), lease_seconds)
    return conn.execute(  # the oldest due rows of each department, as many as it has free
        LEASED + " WHERE id IN (SELECT id FROM notifications WHERE id IN (SELECT id FROM"
        " (SELECT id, destination, row_number() OVER"
        "   (PARTITION BY destination ORDER BY next_attempt_at, id) AS place"
        "   FROM (SELECT id, next_attempt_at, " + DESTINATION + " AS destination"
        "     FROM notifications WHERE " + DUE + ") due) ranked"
        "   WHERE place <= coalesce((%(room)s::jsonb ->> destination)::int,"
        "     %(per)s - coalesce((%(busy)s::jsonb ->> destination)::int, 0)))"
        " AND " + DUE + " ORDER BY next_attempt_at, id LIMIT %(limit)s"
        " FOR UPDATE SKIP LOCKED) " + CLAIMED,
        {"lease": lease_seconds, "channel": channel, "limit": limit, "per": per_destination,
         "busy": Jsonb(busy), "room": Jsonb(room)}).fetchall()


#: a sign-in code goes before whatever else waits (a literal: index notifications_urgent_due)
URGENT = f" AND template = '{SIGN_IN_CODE_TEMPLATE}'"


def _claim_oldest(conn, channel, limit, lease_seconds, only=""):
    if limit <= 0:
        return []
    return conn.execute(
        LEASED + " WHERE id IN (SELECT id FROM notifications WHERE " + DUE + only +
        " ORDER BY next_attempt_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED) " + CLAIMED,
        {"lease": lease_seconds, "channel": channel, "limit": limit}).fetchall()


def settle(conn, notification_id, attempt, outcome, detail=None, seconds=None,
           retry_in=None):
    """Record one attempt (``settle_many`` of one): ``sent``, ``retry`` (due again in
    ``retry_in`` seconds), ``failed`` (parked), ``skipped`` or ``released``; True when its
    holder settled it."""
    return notification_id in settle_many(conn, [{
        "id": notification_id, "attempt": attempt, "outcome": outcome, "detail": detail,
        "seconds": seconds, "retry_in": retry_in}])


#: an attempt's outcome and the status it leaves; ``released``: given back unsent (its lease
#: would not outlast the call), not an attempt: its count is taken back and nothing logged
OUTCOME_STATUS = {"sent": "sent", "retry": "pending", "failed": "failed", "skipped": "skipped",
                  "released": "pending"}


def settle_many(conn, settlements):
    """Record many attempts in one statement: ``settlements`` are ``{id, attempt, outcome,
    detail, seconds, retry_in}``: only the holder of an attempt settles it, and a secret
    (``SECRET_PARAMS`` of ``SECRET_TEMPLATES``) is forgotten once its notification is no
    longer pending. Returns the ids of the ones settled."""
    if not settlements:
        return set()
    columns = {name: [settlement.get(name) for settlement in settlements]
               for name in ("id", "attempt", "outcome", "detail", "seconds", "retry_in")}
    rows = conn.execute(
        "WITH settled AS (SELECT * FROM unnest(%(id)s::bigint[], %(attempt)s::int[],"
        "   %(outcome)s::text[], %(detail)s::text[], %(seconds)s::float8[], %(retry_in)s::float8[])"
        "   AS s (id, attempt, outcome, detail, seconds, retry_in)),"
        " updated AS (UPDATE notifications n SET status = (%(statuses)s::jsonb ->> s.outcome),"
        "   lease_until = NULL,"
        "   attempts = CASE WHEN s.outcome = 'released' THEN n.attempts - 1 ELSE n.attempts END,"
        "   last_error = CASE WHEN s.outcome = 'released' THEN n.last_error ELSE s.detail END,"
        "   sent_at = CASE WHEN s.outcome = 'sent' THEN now() END,"
        "   next_attempt_at = CASE WHEN s.outcome = 'released' THEN n.next_attempt_at"
        "     ELSE now() + make_interval(secs => coalesce(s.retry_in, 0)) END,"
        "   params = CASE WHEN (%(statuses)s::jsonb ->> s.outcome) <> 'pending'"
        "     AND n.template = ANY(%(secret_templates)s) THEN n.params - %(secret_params)s::text[]"
        "     ELSE n.params END"
        "   FROM settled s WHERE n.id = s.id AND n.attempts = s.attempt AND n.status = 'pending'"
        "   RETURNING n.id, s.attempt, s.outcome, s.detail, s.seconds),"
        " recorded AS (INSERT INTO notification_attempts (notification_id, attempt, outcome,"
        "   detail, seconds) SELECT id, attempt, outcome, detail, seconds FROM updated"
        "   WHERE outcome <> 'released' ORDER BY id)"
        " SELECT id FROM updated",
        {**columns, "statuses": Jsonb(OUTCOME_STATUS), "secret_templates": list(SECRET_TEMPLATES),
         "secret_params": list(SECRET_PARAMS)}).fetchall()
    return {row["id"] for row in rows}


#: due and not taken: what DUE claims, of every channel (a lease not yet expired is a
#: delivery under way, not overdue; an expired one is a courier that let it go)
OVERDUE = "next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())"


def backlog(conn):
    """``{pending, oldest_seconds, overdue, overdue_seconds}`` of the notifications waiting
    to be sent: all of them, those waiting in back-off and those being delivered included,
    and the ones overdue (their next attempt's time has passed, no courier holds them and
    they are not sent yet: what DUE would claim), ``overdue_seconds`` counted from when the
    oldest of them became due. One scan of the pending rows."""
    return conn.execute(
        "SELECT count(*) AS pending,"
        " coalesce(extract(epoch FROM now() - min(created_at)), 0)::float AS oldest_seconds,"
        " count(*) FILTER (WHERE " + OVERDUE + ") AS overdue,"
        " coalesce(extract(epoch FROM now() - min(next_attempt_at)"
        "   FILTER (WHERE " + OVERDUE + ")), 0)::float AS overdue_seconds"
        " FROM notifications WHERE status = 'pending'").fetchone()


def notifications(conn, ticket_id=None, status=None, limit=100, notification_id=None):
    """Notifications, newest first, each with its attempts; never an address or params."""
    rows = conn.execute(
        "SELECT id, event_id, ticket_id, event_type, recipient, channel, template, locale,"
        " status, attempts AS attempt_count, created_at, sent_at, next_attempt_at, last_error"
        " FROM notifications WHERE (%(ticket_id)s::text IS NULL OR ticket_id = %(ticket_id)s)"
        " AND (%(status)s::text IS NULL OR status = %(status)s)"
        " AND (%(id)s::bigint IS NULL OR id = %(id)s)"
        " ORDER BY id DESC LIMIT %(limit)s",
        {"ticket_id": ticket_id, "status": status, "limit": limit, "id": notification_id}).fetchall()
    attempts = conn.execute(
        "SELECT notification_id, attempt, at, outcome, detail, seconds FROM notification_attempts"
        " WHERE notification_id = ANY(%s) ORDER BY id", ([row["id"] for row in rows],)).fetchall()
    for row in rows:
        row["attempts"] = [attempt for attempt in attempts if attempt["notification_id"] == row["id"]]
    return rows


def lock_status(conn, notification_id):
    """A notification's ``{status, template}``, its row locked until the transaction ends;
    None when there is no such notification."""
    return conn.execute("SELECT status, template FROM notifications WHERE id = %s FOR UPDATE",
                        (notification_id,)).fetchone()


def make_due_again(conn, notification_id):
    """The notification is pending again with its attempts starting over, due at once; the
    courier is woken."""
    conn.execute("UPDATE notifications SET status = 'pending', attempts = 0, lease_until = NULL,"
                 " next_attempt_at = now() WHERE id = %s", (notification_id,))
    conn.execute("SELECT pg_notify(%s, '')", (NOTIFY_CHANNEL,))


def reporter_erased(conn, ticket_id):
    """Whether the ticket's reporter was erased (or anonymised) already."""
    row = conn.execute("SELECT contact ->> 'anonymised' = 'true' AS erased FROM ticket_reporters"
                       " WHERE ticket_id = %s", (ticket_id,)).fetchone()
    return bool(row and row["erased"])


def anonymise_contact(conn, ticket_id, personal_keys):
    """Drop ``personal_keys`` from the reporter's contact (marked anonymised); returns the
    contacts as they were (none when no such detail was kept)."""
    rows = conn.execute(
        "UPDATE ticket_reporters r SET contact = (r.contact - %s::text[]) || '{\"anonymised\": true}'"
        " FROM ticket_reporters before WHERE r.ticket_id = %s AND before.ticket_id = r.ticket_id"
        " AND jsonb_typeof(r.contact) = 'object' AND r.contact ?| %s::text[]"
        " RETURNING before.contact", (list(personal_keys), ticket_id, list(personal_keys))).fetchall()
    return [row["contact"] for row in rows]


def remember_erased(conn, ticket_id):
    """The reporter is anonymised before a contact came: one that comes later is not kept."""
    conn.execute("INSERT INTO ticket_reporters (ticket_id, contact) VALUES (%s, %s)"
                 " ON CONFLICT (ticket_id) DO UPDATE SET contact = excluded.contact"
                 " WHERE ticket_reporters.contact IS NULL", (ticket_id, Jsonb({"anonymised": True})))


def drop_held_events(conn, ticket_id):
    conn.execute("DELETE FROM held_events WHERE ticket_id = %s", (ticket_id,))


def lock_notifications_of(conn, ticket_id):
    """The ticket's notifications, locked until the transaction ends."""
    return conn.execute("SELECT id, recipient, address, params, status FROM notifications"
                        " WHERE ticket_id = %s FOR UPDATE", (ticket_id,)).fetchall()


def anonymise_notification(conn, notification_id, params, address, skip_if_pending):
    """Set a notification's ``params`` and ``address``; with ``skip_if_pending`` one still
    waiting to be sent is skipped."""
    conn.execute(
        "UPDATE notifications SET params = %s, address = %s,"
        " status = CASE WHEN status = 'pending' AND %s THEN 'skipped' ELSE status END"
        " WHERE id = %s", (Jsonb(params), address, skip_if_pending, notification_id))


def replace_in_attempts(conn, notification_ids, text, replacement):
    """Replace ``text`` in the outcomes of those notifications' attempts; returns the ids
    of the attempts changed."""
    rows = conn.execute(
        "UPDATE notification_attempts SET detail = replace(detail, %s, %s)"
        " WHERE notification_id = ANY(%s) AND strpos(detail, %s) > 0 RETURNING id",
        (text, replacement, notification_ids, text)).fetchall()
    return [row["id"] for row in rows]
