"""Pages of the concern list, and their cursors: an opaque token naming the last row a
page showed.

The list is ordered by (changed_at, ticket_id); a cursor carries that pair, so the next
page starts right after it however many concerns arrive meanwhile. Pure; no I/O.
"""
import base64
import binascii
import json
from datetime import datetime

from services.common.errors import BadRequest


def page(rows, limit):
    """One page of the list (``schemas.ConcernListSchema``) from up to ``limit + 1`` rows:
    the first ``limit``, and the cursor after them when a row is left over."""
    shown = rows[:limit]
    return {"concerns": shown,
            "next_cursor": cursor_after(shown[-1]) if len(rows) > limit else None}


def cursor_after(row):
    """The cursor of the page that follows ``row`` (``changed_at``, ``ticket_id``)."""
    raw = json.dumps([row["changed_at"].isoformat(), row["ticket_id"]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def read_cursor(token):
    """``(changed_at, ticket_id)`` from a cursor; ``BadRequest`` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        changed_at, ticket_id = json.loads(raw)
        at = datetime.fromisoformat(changed_at)
        if at.tzinfo is None or not isinstance(ticket_id, str):
            raise ValueError(token)
        return at, ticket_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise BadRequest("The cursor is not one this API gave.",
                         errors={"cursor": ["Not a cursor from this API."]}) from None
