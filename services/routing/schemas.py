"""What crosses routing's edges: department feedback, the actions of §6 and the events
routing takes in, loaded; its answers (tickets listed, a ticket as representatives and
offices see it, feedback applied), dumped."""
from marshmallow import INCLUDE, Schema, ValidationError, fields, validate, validates_schema

from services.common.events import RATING_SOURCES
from services.common.ticket_schemas import STATUSES, IsoTime, TicketSchema
from services.routing.domain import FEEDBACK_STATUSES, RATINGS

ACTIONS = ("forward", "resolve", "merge", "reject", "reassign", "dispatch", "escalate",
           "follow_up")
#: a follow-up call is one reporter's answer on the phone: taken ticket by ticket
BULK_ACTIONS = tuple(action for action in ACTIONS if action != "follow_up")


class FeedbackSchema(Schema):
    dispatch_id = fields.String(required=True, validate=validate.Length(1, 64))
    status = fields.String(required=True, validate=validate.OneOf(FEEDBACK_STATUSES))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    result = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    occurred_at = fields.AwareDateTime(format="iso", load_default=None, allow_none=True)

    @validates_schema
    def resolution_has_result(self, data, **kwargs):
        if data.get("status") == "resolved" and not (data.get("result") or "").strip():
            raise ValidationError("Required when status is resolved.", "result")


class ConcernReceivedSchema(Schema):
    """The ``concern.received`` event as routing needs it (see services.common.events)."""

    class Meta:
        unknown = INCLUDE

    ticket_id = fields.String(required=True)
    district = fields.String(required=True)
    community = fields.String(required=True, allow_none=True)
    channel = fields.String(required=True)
    description = fields.String(required=True)
    received_at = fields.String(required=True)
    submitted_at = fields.String(required=True)
    feedback_requested = fields.Boolean(load_default=False)


class DispatchContactSchema(Schema):
    """The ``reporter.dispatch_contact`` event (see services.common.events)."""
    ticket_id = fields.String(required=True)
    reporter = fields.Dict(required=True)


class TicketQuerySchema(Schema):
    """``GET /api/v1/tickets`` filters (docs/reference.md#list-tickets)."""
    status = fields.String(validate=validate.OneOf(STATUSES))
    district = fields.String(validate=validate.Length(1, 32))
    representative = fields.String(validate=validate.Length(1, 32))
    department = fields.String(validate=validate.Length(1, 32))
    overdue = fields.Boolean(load_default=False, truthy={"true"}, falsy={"false"})
    category = fields.String(validate=validate.Length(1, 32))
    community = fields.String(validate=validate.Length(1, 32))
    undecided = fields.Boolean(load_default=False, truthy={"true"}, falsy={"false"})
    duplicates = fields.Boolean(load_default=False, truthy={"true"}, falsy={"false"})
    sort = fields.String(load_default="newest", validate=validate.OneOf(("newest", "due")))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))
    offset = fields.Integer(load_default=0, validate=validate.Range(0))


class TicketRowSchema(Schema):
    ticket_id = fields.String()
    status = fields.String(metadata={"enum": STATUSES})
    district = fields.String()
    community = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    representative_id = fields.String(allow_none=True)
    received_at = IsoTime()
    status_since = IsoTime()
    lead_department = fields.String(allow_none=True)
    due_at = IsoTime(allow_none=True)
    overdue = fields.Boolean(allow_none=True)
    undecided = fields.Boolean(metadata={"description": "With the office and no category"})
    likely_duplicate = fields.Boolean(metadata={
        "description": "Open, and linked as a likely duplicate of an open ticket"})
    version = fields.Integer(metadata={"description": "Send it with an action: 409 when the"
                                                     " ticket changed since"})


class TicketListSchema(Schema):
    tickets = fields.List(fields.Nested(TicketRowSchema))
    limit = fields.Integer()
    offset = fields.Integer()


class CategoryReportQuerySchema(Schema):
    """``GET /api/v1/category-report``: the last ``days`` days."""
    days = fields.Integer(load_default=90, validate=validate.Range(1, 3660))


class MovedToSchema(Schema):
    category = fields.String(attribute="name")
    tickets = fields.Integer(metadata={"description": "tickets the office changed to it"})


class CategoryChangesSchema(Schema):
    chosen = fields.String(metadata={"description": "the category the keywords chose, or"
                                                    " `none` when they chose none"})
    tickets = fields.Integer(metadata={"description": "tickets the keywords gave this category"
                                                     " in the window"})
    changed = fields.Integer(metadata={"description": "of them, changed by the liaison office"})
    changed_to = fields.List(fields.Nested(MovedToSchema), metadata={
        "description": "what the office changed them to, most tickets first"})


class SharedWordSchema(Schema):
    word = fields.String(attribute="name")
    tickets = fields.Integer(metadata={"description": "tickets moved to the category that share it"})


class KeywordsToAddSchema(Schema):
    category = fields.String()
    words = fields.List(fields.Nested(SharedWordSchema), metadata={
        "description": "words shared by at least two of the tickets the office moved to the"
                       " category, not yet among its keywords; the most shared first"})


class ModelConfusionsSchema(Schema):
    model = fields.String(metadata={"description": "the category the learned model found best"})
    tickets = fields.Integer(metadata={"description": "tickets it found best for, in the window"})
    agreed = fields.Integer(metadata={"description": "of them, tickets that have it now"})
    confused_with = fields.List(fields.Nested(MovedToSchema), metadata={
        "description": "the categories the others have now (`none`: none), most tickets first"})


class CategoryReportSchema(Schema):
    days = fields.Integer()
    categories = fields.List(fields.Nested(CategoryChangesSchema), metadata={
        "description": "the most changed first (`chosen`: by the keywords, the model or both)"})
    keywords_to_add = fields.List(fields.Nested(KeywordsToAddSchema), metadata={
        "description": "one entry per category the office changed tickets to"})
    model_confusions = fields.List(fields.Nested(ModelConfusionsSchema), metadata={
        "description": "the learned model's best category against the ticket's category now,"
                       " the most confused first; empty when no model scored a ticket"})


class RatingEventSchema(Schema):
    """The ``concern.rated`` event (see services.common.events)."""

    class Meta:
        unknown = INCLUDE

    ticket_id = fields.String(required=True)
    resolution = fields.Integer(required=True, strict=True)
    rating = fields.String(required=True, validate=validate.OneOf(RATINGS))
    comment = fields.String(allow_none=True)
    taken_by = fields.String(load_default="frontend", validate=validate.OneOf(RATING_SOURCES))
    recorded_by = fields.Nested(lambda: RecordedBySchema(), load_default=None, allow_none=True)


class RecordedBySchema(Schema):
    """Who took a rating by phone: a staff member of the office, or the office itself."""
    id = fields.String(required=True, validate=validate.Length(1, 64))
    name = fields.String(required=True, allow_none=True, validate=validate.Length(max=200))


class DepartmentsSchema(Schema):
    lead = fields.String(required=True)
    assist = fields.List(fields.String(), load_default=list)


class ActionSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    result = fields.String(validate=validate.Length(1, 5000))
    into = fields.String(validate=validate.Length(1, 64))
    reason = fields.String(validate=validate.Length(1, 2000))
    representative = fields.String(validate=validate.Length(1, 32))
    departments = fields.Nested(DepartmentsSchema)
    due_at = fields.AwareDateTime(format="iso")
    category = fields.String(validate=validate.Length(1, 32), metadata={
        "description": "dispatch: the category the office decides on, when the keywords"
                       " chose another or none (kept in the timeline as `recategorise`)"})
    rating = fields.String(validate=validate.OneOf(RATINGS), metadata={
        "description": "follow_up: the rating the reporter gave the office on the phone"})
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000),
                            metadata={"description": "follow_up: what the reporter said of it"})
    version = fields.Integer(validate=validate.Range(1), metadata={
        "description": "The ticket's `version` the action was decided on: when the ticket"
                       " has changed since, 409 with `current_version` and `ticket_status`"
                       " and nothing done"})

    REQUIRED = {"resolve": "result", "merge": "into", "reject": "reason",
                "reassign": "representative", "dispatch": "departments", "follow_up": "rating"}

    @validates_schema
    def action_has_its_fields(self, data, **kwargs):
        needed = self.REQUIRED.get(data.get("action"))
        if needed and needed not in data:
            raise ValidationError(f"Required for action {data['action']}.", needed)


class BulkActionSchema(ActionSchema):
    """One action on many tickets (``POST /api/v1/tickets/actions``): any but a follow-up call."""
    action = fields.String(required=True, validate=validate.OneOf(BULK_ACTIONS))
    ticket_ids = fields.List(fields.String(validate=validate.Length(1, 64)), required=True,
                             validate=validate.Length(1, 100))


class BulkOutcomeSchema(Schema):
    ticket_id = fields.String()
    ok = fields.Boolean()
    status = fields.String(metadata={"enum": STATUSES, "description": "The ticket's status"
                                     " after the action (when ok)"})
    problem = fields.Raw(metadata={"description": "Why the action was not taken on this"
                                   " ticket (when not ok): `status`, `detail`, `errors` and"
                                   " the problem's other members"})


class BulkOutcomesSchema(Schema):
    outcomes = fields.List(fields.Nested(BulkOutcomeSchema), metadata={
        "description": "One per ticket, in the order asked; each was done or refused on its"
                       " own"})


class DuplicateLinkSchema(Schema):
    ticket_id = fields.String(metadata={"description": "The other ticket of the link"})
    score = fields.Float(metadata={"description": "How alike the texts are, 0 to 1"})
    shared_words = fields.List(fields.String())
    distance_m = fields.Float(allow_none=True, metadata={
        "description": "Metres between the two points; null when either has none"})
    linked_at = IsoTime()


class InternalNoteBodySchema(Schema):
    """``POST /api/v1/tickets/{id}/notes``."""
    text = fields.String(required=True, validate=validate.Length(1, 2000))


class InternalNoteSchema(Schema):
    note_id = fields.Integer()
    at = IsoTime()
    party = fields.String(metadata={"example": "congress:conghua"})
    person = fields.Method("_person", allow_none=True, metadata={
        "description": "{id, name} of the staff member who wrote it, when one signed in"})
    text = fields.String()

    def _person(self, note):
        return {"id": note["person_id"], "name": note["person_name"]} if note["person_id"] else None


class TicketViewSchema(TicketSchema):
    """A ticket as representatives and offices see it: the ticket and its full timeline
    (dumped from ``use_cases.reading.ticket_as_seen``)."""
    description = fields.String()
    location = fields.Dict(allow_none=True)
    attachments = fields.List(fields.Dict())
    submitted_at = IsoTime()
    reporter_wants_feedback = fields.Boolean()
    likely_duplicate_of = fields.Nested(DuplicateLinkSchema, allow_none=True, metadata={
        "description": "The open ticket this one likely repeats (merge it there with one"
                       " action), or null"})
    likely_duplicates = fields.List(fields.Nested(DuplicateLinkSchema), metadata={
        "description": "The tickets found to repeat this one, merged or not"})
    internal_notes = fields.List(fields.Nested(InternalNoteSchema), metadata={
        "description": "What the office, the representative and the departments of the"
                       " ticket noted for each other, oldest first: never sent to the"
                       " reporter or a front-end"})


class FeedbackAppliedSchema(Schema):
    ticket_id = fields.String()
    status = fields.String()


class TrainModelSchema(Schema):
    """``POST /api/v1/category-models``: what to learn from."""
    days = fields.Integer(load_default=365, validate=validate.Range(1, 3660), metadata={
        "description": "the tickets received in the last N days whose category the liaison office"
                       " confirmed or corrected: it changed the category, dispatched by hand, or a"
                       " department resolved what was dispatched"})
    with_corpus = fields.Boolean(load_default=False, metadata={
        "description": "add the project's corpus of residents' texts (a deployment with little"
                       " history yet)"})


class CategoryModelSchema(Schema):
    version = fields.Integer()
    trained_at = IsoTime()
    uploaded_at = IsoTime()
    uploaded_by = fields.String()
    examples = fields.Integer(metadata={"description": "tickets (or texts) it learned from"})
    retired_at = IsoTime(allow_none=True)
    in_use = fields.Boolean(metadata={"description": "the model routing chooses with now"})
    evaluation = fields.Dict(allow_none=True, metadata={
        "description": "how it did on what it did not learn from, as its training measured"})


class CategoryModelsSchema(Schema):
    models = fields.List(fields.Nested(CategoryModelSchema), metadata={"description": "newest first"})


class RetiredModelsSchema(Schema):
    retired = fields.Integer(metadata={"description": "models no longer used: the keywords alone decide"})
