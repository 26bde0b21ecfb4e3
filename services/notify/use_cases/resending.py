"""Sending a notification again on an operator's word
(``POST /api/v1/notifications/{id}/retry``).

Only a failed one (its attempts used up, or refused for good) or a skipped one is sent
again: its attempts start over and it is due at once; the courier is woken. One that is
pending or sent is a conflict. Emits nothing.
"""
from services.common.errors import Conflict, NotFound
from services.notify import store

SENT_AGAIN = ("failed", "skipped")  # the statuses an operator may send again


def send_again(conn, notification_id):
    """Make the notification due again; NotFound or Conflict when it cannot be."""
    status = store.lock_status(conn, notification_id)
    if status is None:
        raise NotFound(f"No notification {notification_id}.")
    if status not in SENT_AGAIN:
        raise Conflict(f"Notification {notification_id} is {status}: only a failed or"
                       " skipped one is sent again.", status_now=status)
    store.make_due_again(conn, notification_id)
