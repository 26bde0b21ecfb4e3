"""Notify's side of the loop, as the throughput benchmark watches it: the courier's
backlog (``Backlog``: pending notifications counted in notify's table every half
second, as ``bench.queues`` samples the queues), the messages the development sink
received (``SinkReader``: only the new ones each time, ``GET /messages.json?after=``),
and notify's notifications of a phase's tickets (``notifications_of``), each with its
idempotency key (the sink's key of the message), status, and how long after its event
it was sent: from the event's outbox row, in intake's or routing's schema, to the
notification's ``sent_at`` (a change carried by a step's event is ``<message id>/<n>``
in notify: its step's row)."""
import time
from datetime import datetime

import psycopg
from psycopg.rows import dict_row

from bench.queues import SAMPLE_SECONDS, Sampler
from services.common.config import settings

NOTIFICATIONS_SQL = """
SELECT n.idempotency_key AS key, n.ticket_id, n.channel, n.template, n.status,
       extract(epoch FROM n.sent_at - event.created_at)::float AS event_to_sent_s
FROM notify.notifications n
LEFT JOIN LATERAL (
    SELECT created_at FROM intake.outbox WHERE message_id = split_part(n.event_id, '/', 1)
    UNION ALL SELECT created_at FROM routing.outbox WHERE message_id = split_part(n.event_id, '/', 1)
    LIMIT 1
) event ON true
WHERE n.ticket_id = ANY(%s)
"""


class Backlog(Sampler):
    """Notify's pending notifications (recorded, not yet sent: waiting for the courier
    or for a retry), counted every ``SAMPLE_SECONDS``."""

    def latest(self):
        return self.samples[-1]["pending"] if self.samples else None

    def _sample(self):
        while not self.done.is_set():
            try:
                with psycopg.connect(settings().database_url, autocommit=True) as db:
                    while not self.done.wait(SAMPLE_SECONDS):
                        [pending] = db.execute("SELECT count(*) FROM notify.notifications"
                                               " WHERE status = 'pending'").fetchone()
                        self.samples.append({"t": time.time(), "pending": pending})
            except psycopg.Error:  # the database away for a moment: sample again
                self.done.wait(SAMPLE_SECONDS)


class SinkReader:
    """The development sinks' messages (``bench.sinks.SplitSinks``), read a phase at a
    time: each read returns only those received since the last, in the light shape the
    figures need."""

    def __init__(self, sinks):
        self.sinks = sinks
        self.marks = (0,) * len(sinks.parts)
        self.duplicates = 0

    def read(self):
        """``(messages, duplicates)``: the messages received since the last read, and the
        duplicates the sinks refused meanwhile."""
        messages, duplicates, self.marks = self.sinks.messages_after(self.marks)
        new_duplicates, self.duplicates = duplicates - self.duplicates, duplicates
        return [light(message) for message in messages], new_duplicates


def light(message):
    """A sink message as the figures use it: kind, when it was received (seconds),
    its notification's idempotency key, template and ticket id (SMS and WeChat)."""
    params = message.get("params") or {}
    return {"kind": message["kind"], "received": _seconds(message["received_at"]),
            "key": key_of(message), "template": message.get("template"),
            "ticket_id": params.get("ticket_id")}


def key_of(message):
    """The notification's idempotency key a message carries: a gateway's
    ``Idempotency-Key``, or an email's ``Message-ID`` ``<key@zero-distance>``."""
    if message["kind"] == "email":
        return (message.get("message_id") or "").strip("<>").split("@")[0] or None
    return message.get("idempotency_key")


def _seconds(iso):
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def notifications_of(ticket_ids):
    """Notify's notifications of ``ticket_ids``: key, ticket id, channel, template, status
    and seconds from their event to their sending (None until sent)."""
    with psycopg.connect(settings().database_url, row_factory=dict_row) as db:
        return db.execute(NOTIFICATIONS_SQL, (list(ticket_ids),)).fetchall()
