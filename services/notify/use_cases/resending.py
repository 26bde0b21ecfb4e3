"""Sending a notification again on an operator's word
(``POST /api/v1/notifications/{id}/retry``).

Only a failed one (its attempts used up, or refused for good) or a skipped one is sent
again: its attempts start over and it is due at once; the courier is woken. One that is
pending or sent is a conflict, and so is a sign-in code: its code is forgotten once it
failed, and a new one is asked for instead. Emits nothing.
"""
from services.common.errors import Conflict, NotFound
from services.notify import store
from services.notify.domain import SECRET_TEMPLATES

SENT_AGAIN = ("failed", "skipped")  # the statuses an operator may send again


def send_again(conn, notification_id):
    """Make the notification due again; NotFound or Conflict when it cannot be."""
    found = store.lock_status(conn, notification_id)
    if found is None:
        raise NotFound(f"No notification {notification_id}.")
    status = found["status"]
    if found["template"] in SECRET_TEMPLATES:  # its code is forgotten, and expired by now
        raise Conflict(f"Notification {notification_id} was a sign-in code: it is not sent"
                       " again; the person asks for a new one.", status_now=status)
    if status not in SENT_AGAIN:
        raise Conflict(f"Notification {notification_id} is {status}: only a failed or"
                       " skipped one is sent again.", status_now=status)
    store.make_due_again(conn, notification_id)
