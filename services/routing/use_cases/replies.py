"""Saved replies: texts a district's staff keep for the notes and results they write
often (``kind`` ``note`` or ``result``), shared by the district's representatives and
office. Each district sees and changes only its own."""
from services.common.errors import BadRequest, NotFound
from services.routing import store

KINDS = ("note", "result")
MAX_TITLE = 100
MAX_TEXT = {"note": 2000, "result": 5000}  # as long as the action's note or result may be


def list_for(conn, district):
    """The district's saved replies, by kind then title: ``{reply_id, district, kind,
    title, text, created_by, created_at}``."""
    return store.saved_replies(conn, district)


def save(conn, district, kind, title, text, person):
    """Keep a reply for the district, saved by ``person`` (a ``step.Person``, or the
    party's name as text); returns it as stored. BadRequest when a field does not fit."""
    title, text = (title or "").strip(), (text or "").strip()
    errors = {}
    if kind not in KINDS:
        errors["kind"] = [f"One of {', '.join(KINDS)}."]
    if not 1 <= len(title) <= MAX_TITLE:
        errors["title"] = [f"Between 1 and {MAX_TITLE} characters."]
    if kind in KINDS and not 1 <= len(text) <= MAX_TEXT[kind]:
        errors["text"] = [f"Between 1 and {MAX_TEXT[kind]} characters."]
    if errors:
        raise BadRequest("Cannot save this reply.", errors=errors)
    return store.save_reply(conn, district, kind, title, text, who(person))


def delete(conn, district, reply_id):
    """Forget one of the district's replies; NotFound when it has no such reply."""
    if not store.delete_reply(conn, district, reply_id):
        raise NotFound("No such saved reply in this district.")


def who(person):
    """How a record names who did it: ``name (id)`` of a person, or the party as text."""
    return f"{person.name} ({person.id})" if hasattr(person, "name") else person
