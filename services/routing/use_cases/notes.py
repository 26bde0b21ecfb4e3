"""Internal notes: what the people handling a ticket tell each other about it. They are
never announced (no event carries them, no ticket snapshot holds them): only routing's own
view of the ticket (``reading.ticket_as_seen``) and the workbench's pages show them, so
neither the reporter nor a front-end ever sees one.

The district's office, the ticket's representative and a department with an active
dispatch of it may add one (the admin too); anyone else's ticket answers as one that
does not exist.
"""
from services.common.errors import BadRequest, NotFound
from services.routing import store

MAX_NOTE = 2000


def may_keep_notes(ticket, party, department_is_active):
    """Whether ``party`` may add an internal note to ``ticket`` (``department_is_active``:
    whether the party, a department, has an active dispatch of it)."""
    return ticket is not None and (
        party.role == "admin"
        or (party.role == "congress" and ticket["district"] == party.scope)
        or (party.role == "representative" and ticket["representative_id"] == party.scope)
        or (party.role == "department" and department_is_active))


def add_internal_note(conn, ticket, party, person, text):
    """Add ``text`` (1-2000 characters) as ``party``'s note (by ``person``, a
    ``step.Person``, or None) on the ticket row ``ticket``; returns the note as stored."""
    active = (party.role == "department" and ticket is not None
              and store.active_dispatch_of(conn, ticket["ticket_id"], party.scope))
    if not may_keep_notes(ticket, party, active):
        raise NotFound("No such ticket among yours.")
    text = (text or "").strip()
    if not 1 <= len(text) <= MAX_NOTE:
        raise BadRequest("Cannot keep this note.", errors={"text": [
            f"Between 1 and {MAX_NOTE} characters."]})
    return store.add_internal_note(conn, ticket["ticket_id"], str(party), person, text)


def internal_notes(conn, ticket_id):
    """The ticket's internal notes, oldest first: ``{note_id, ticket_id, at, party,
    person_id, person_name, text}``."""
    return store.internal_notes(conn, ticket_id)
