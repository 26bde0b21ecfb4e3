"""Anonymising the reporter of a concern in place, on ``personal_data.expired``.

The concern keeps everything but the reporter's name, phone, email and openid (its
feedback wish and language stay). Its fingerprint (a hash of the posted body, reporter
included, which tells a front-end's retry from a different concern) goes too: with the
rest of the row known, a phone number's hash is found by trying them all. A front-end
that posts the same concern again after that is answered as for a different one. The
``reporter.contact`` and ``reporter.dispatch_contact`` messages in the outbox are
anonymised as well, and the token of the reporter's page is deleted: the link dies with
the reporter's data.
"""
from services.common.errors import ParkMessage
from services.common.events import EXPIRED
from services.common.personal_data import PERSONAL_KEYS, anonymise_outbox, count
from services.intake import store

SERVICE = "intake"
FINGERPRINT_GONE = "anonymised"


def anonymise_reporter(conn, body):
    ticket_id = body.get("ticket_id")
    if not isinstance(ticket_id, str) or not ticket_id:
        raise ParkMessage("personal_data.expired without its ticket_id")
    reporters = store.anonymise_reporter(conn, ticket_id, PERSONAL_KEYS, FINGERPRINT_GONE)
    store.delete_page_token(conn, ticket_id)
    count(SERVICE, body.get("reason") or EXPIRED,
          {"reporter": reporters, "outbox": anonymise_outbox(conn, ticket_id)})
