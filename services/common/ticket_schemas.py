"""The ticket as it travels in ``ticket.*`` events and shows in the APIs (see events.py),
as marshmallow schemas: they document the intake and routing APIs and shape their
answers (``dump``). ``IsoTime`` is the time field of those answers; ``AsStored``
documents a stored part of a ticket that an answer shows as it is stored."""
from marshmallow import Schema, fields

from services.common.events import DISPATCH_STATUSES

STATUSES = ["received", "assigned", "forwarded", "dispatched", "in_progress", "resolved",
            "closed", "merged", "rejected"]


class IsoTime(fields.AwareDateTime):
    """A time with its offset, as ISO 8601 text: a ``datetime`` is written with
    ``isoformat()``; text, as a ticket snapshot holds its times, is written as it is."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)


class AsStored(fields.Nested):
    """Documented as its nested schema, written as it is stored: a ticket's parts that
    another service keeps from routing's events (as PostgreSQL's ``jsonb`` gives them
    back, keys in its own order) are shown unchanged."""

    def _serialize(self, nested_obj, attr, obj, **kwargs):
        return nested_obj


class TimelineEntrySchema(Schema):
    at = IsoTime()
    actor = fields.String(metadata={"example": "representative:rep-liu-hanli"})
    action = fields.String(metadata={"example": "forward"})
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    person = fields.Nested(lambda: PersonSchema(), allow_none=True, metadata={
        "description": "The staff member who acted for the party (`actor`), when one signed"
                       " in; absent otherwise"})


class PersonSchema(Schema):
    id = fields.String()
    name = fields.String()


class DispatchViewSchema(Schema):
    dispatch_id = fields.String()
    department = fields.String()
    name = fields.String()
    role = fields.String(metadata={"enum": ["lead", "assist"]})
    status = fields.String(metadata={"enum": list(DISPATCH_STATUSES)})
    dispatched_at = IsoTime()
    due_at = IsoTime()
    resolved_at = IsoTime(allow_none=True)


class TicketSchema(Schema):
    ticket_id = fields.String()
    version = fields.Integer()
    status = fields.String(metadata={"enum": STATUSES})
    district = fields.String()
    community = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    channel = fields.String()
    title = fields.String(allow_none=True)
    representative = fields.Nested(PersonSchema, allow_none=True)
    departments = fields.List(fields.Nested(DispatchViewSchema))
    received_at = IsoTime()
    status_since = IsoTime(metadata={"description": "When it entered its status"})
    first_dispatched_at = IsoTime(allow_none=True)
    resolved_at = IsoTime(allow_none=True)
    result = fields.String(allow_none=True)
    reopen_count = fields.Integer()
    merged_into = fields.String(allow_none=True, metadata={
        "description": "For a merged ticket, the ticket it joined"})
    rating = fields.Dict(allow_none=True, metadata={"description": "{rating, comment}"})
    timeline = fields.List(fields.Nested(TimelineEntrySchema))
