"""Anonymising a reporter's personal details in place: what every service's ``retention``
module shares.

A reporter's details are their ``name``, ``phone``, ``email``, ``wechat_openid`` and the
``page_token`` of their concern's own page (a bearer link, theirs alone);
they travel in a message's ``reporter`` object (a dispatch, ``reporter.dispatch_contact``)
or ``contact`` object (``reporter.contact``). ``anonymised`` replaces them with
``ANONYMISED`` and leaves everything else (the ticket, its figures) as it was.

``anonymise_outbox`` does it to the rows of a service's outbox that name a ticket:
published rows keep their bodies for ``ZD_RETENTION_DAYS``, and a pending one goes out
anonymised. ``count`` adds a run's counts to ``zd_personal_data_anonymised_total`` and
logs them: counts only, never a detail.
"""
import logging

from psycopg.types.json import Json

from services.common import metrics

log = logging.getLogger(__name__)

PERSONAL_KEYS = ("name", "phone", "email", "wechat_openid", "page_token")
#: the objects of a message that describe the reporter
REPORTER_OBJECTS = ("reporter", "contact")
ANONYMISED = "(anonymised)"


def anonymised(body, about_reporter=False):
    """``body`` with the details of every reporter object in it replaced (a new value)."""
    if isinstance(body, dict):
        return {key: ANONYMISED if about_reporter and key in PERSONAL_KEYS and value is not None
                else anonymised(value, key in REPORTER_OBJECTS)
                for key, value in body.items()}
    if isinstance(body, list):
        return [anonymised(item, about_reporter) for item in body]
    return body


def details_in(body, about_reporter=False):
    """Every personal detail the reporter objects of ``body`` hold (to scrub elsewhere)."""
    if isinstance(body, dict):
        found = set()
        for key, value in body.items():
            if about_reporter and key in PERSONAL_KEYS and isinstance(value, str) and value:
                if value != ANONYMISED:
                    found.add(value)
            else:
                found |= details_in(value, key in REPORTER_OBJECTS)
        return found
    if isinstance(body, list):
        return set().union(*(details_in(item, about_reporter) for item in body))
    return set()


def anonymise_outbox(conn, ticket_id):
    """Anonymise the outbox rows (of the connection's schema) about ``ticket_id``; returns
    how many changed."""
    rows = conn.execute(
        "SELECT id, body FROM outbox WHERE body ->> 'ticket_id' = %s"
        " OR body -> 'ticket' ->> 'ticket_id' = %s FOR UPDATE", (ticket_id, ticket_id)).fetchall()
    changed = 0
    for row in rows:
        body = anonymised(row["body"])
        if body != row["body"]:
            conn.execute("UPDATE outbox SET body = %s WHERE id = %s", (Json(body), row["id"]))
            changed += 1
    return changed


def count(service, reason, counts):
    """Add ``counts`` (``{kind: records}``) to the metric and log them, details never."""
    for kind, records in counts.items():
        if records:
            metrics.PERSONAL_DATA_ANONYMISED.labels(service, kind).inc(records)
    if any(counts.values()):
        log.info("personal data anonymised (%s): %s", reason,
                 ", ".join(f"{kind} {records}" for kind, records in sorted(counts.items())))
