"""What crosses the intake API (docs/reference.md#post-a-concern): the concern a front-end posts, loaded; the
answers, dumped: the concern accepted, a concern as its front-end sees it (status and
timeline, never a contact), a page of the list, the rating accepted. And the office's
phone rating (``rating.taken_by_phone``), loaded."""
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_dump, validate, validates_schema

from services.common.events import DEFAULT_LOCALE, LOCALES
from services.common.ticket_schemas import (
    STATUSES,
    AsStored,
    DispatchViewSchema,
    IsoTime,
    PersonSchema,
    TimelineEntrySchema,
)
from services.intake import contacts

CHANNELS = ("liaison_station", "hotline", "mailbox", "wechat", "app", "grid_visit",
            "representative_report", "roundtable", "open311")
ATTACHMENT_KINDS = ("photo", "audio", "video", "document")


class LocationSchema(Schema):
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))
    address = fields.String(validate=validate.Length(max=500))


class ReporterSchema(Schema):
    name = fields.String(validate=validate.Length(max=100))
    phone = fields.String(validate=contacts.check_phone, metadata={
        "description": "E.164, or a Chinese number without its country code",
        "example": "+8613912340001"})
    email = fields.Email(validate=contacts.check_email)
    wechat_openid = fields.String(validate=validate.Regexp(
        r"^[A-Za-z0-9_-]{1,128}$", error="Not a WeChat openid."))
    wants_feedback = fields.Boolean(load_default=False)
    locale = fields.String(load_default=DEFAULT_LOCALE, validate=validate.OneOf(LOCALES),
                           metadata={"description": "The language of the notifications"})


class AttachmentSchema(Schema):
    url = fields.Url(required=True, schemes={"http", "https"})
    kind = fields.String(required=True, validate=validate.OneOf(ATTACHMENT_KINDS))


class ConcernSchema(Schema):
    external_id = fields.String(required=True, validate=validate.Length(1, 128))
    district = fields.String(required=True, validate=validate.Length(1, 32))
    community = fields.String(required=True, validate=validate.Length(1, 32))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    description = fields.String(required=True, validate=validate.Length(1, 5000))
    title = fields.String(validate=validate.Length(max=200))
    category = fields.String(validate=validate.Length(1, 32))
    location = fields.Nested(LocationSchema)
    reporter = fields.Nested(ReporterSchema)
    attachments = fields.List(fields.Nested(AttachmentSchema), validate=validate.Length(max=10))
    requested_representative = fields.String(validate=validate.Length(1, 32))
    submitted_at = fields.AwareDateTime(format="iso")

    @validates_schema
    def description_is_not_blank(self, data, **kwargs):
        if "description" in data and not data["description"].strip():
            raise ValidationError("Must not be blank.", "description")


class AcceptedSchema(Schema):
    ticket_id = fields.String(metadata={"example": "ZD20261122-344F89CF"})
    status = fields.String(metadata={"example": "received"})
    received_at = IsoTime()
    href = fields.String()


class ConcernFactsSchema(Schema):
    """What every view of a concern shows: where it stands, never a reporter's detail."""
    ticket_id = fields.String()
    external_id = fields.String()
    district = fields.String()
    community = fields.String(allow_none=True, metadata={
        "description": "null for an Open311 request that named none: the office assigns it"})
    channel = fields.String()
    category = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    received_at = IsoTime()
    status = fields.String(metadata={"enum": STATUSES})


#: what a concern's view shows of each dispatch of its ticket (null when not known)
DISPATCH_SHOWN = ("department", "name", "role", "status", "dispatched_at", "due_at")


class ConcernViewSchema(ConcernFactsSchema):
    """A concern as its front-end sees it: no reporter contact details.

    Dumped from a stored concern (``store.find_concern``): what routing last showed of
    its ticket (``view``) stands over what was received; until routing shows it, the
    concern is ``received``, with its receipt as its timeline. The timeline is shown
    as intake stores it.
    """

    class Meta:  # in the order its answer shows them
        fields = ("ticket_id", "external_id", "status", "district", "community", "channel",
                  "category", "title", "description", "location", "attachments", "submitted_at",
                  "received_at", "representative", "departments", "result", "reopen_count",
                  "merged_into", "rating", "timeline")

    description = fields.String()
    location = fields.Nested(LocationSchema, allow_none=True)
    attachments = fields.List(fields.Nested(AttachmentSchema))
    submitted_at = IsoTime()
    representative = fields.Nested(PersonSchema, allow_none=True)
    departments = fields.List(fields.Nested(DispatchViewSchema(exclude=("dispatch_id",
                                                                        "resolved_at"))))
    result = fields.String(allow_none=True)
    reopen_count = fields.Integer()
    merged_into = fields.String(allow_none=True, metadata={
        "description": "For a merged concern, the ticket it joined: follow that one"})
    rating = fields.Dict(allow_none=True, metadata={"description": "{rating, comment}"})
    timeline = fields.List(AsStored(TimelineEntrySchema))

    @pre_dump
    def as_routing_shows_it(self, concern, **kwargs):
        ticket = concern["view"] or {}
        return {**concern, "status": ticket.get("status", "received"),
                "community": ticket.get("community", concern["community"]),
                "category": ticket.get("category", concern["category"]),
                "attachments": concern["attachments"] or [],
                "representative": ticket.get("representative"),
                "departments": [{key: dispatch.get(key) for key in DISPATCH_SHOWN}
                                for dispatch in ticket.get("departments", [])],
                "result": ticket.get("result"), "reopen_count": ticket.get("reopen_count", 0),
                "merged_into": ticket.get("merged_into"), "rating": ticket.get("rating"),
                "timeline": ticket.get("timeline", [{
                    "at": concern["received_at"].isoformat(), "actor": f"channel:{concern['channel']}",
                    "action": "receive", "from_status": None, "to_status": "received",
                    "note": None}])}


RATINGS = ("satisfied", "basically_satisfied", "unsatisfied")


class RatingSchema(Schema):
    rating = fields.String(required=True, validate=validate.OneOf(RATINGS))
    comment = fields.String(load_default=None, allow_none=True,
                            validate=validate.Length(max=2000))


class StaffMemberSchema(Schema):
    """The office's staff member who took a call (``{id, name}`` of the directory)."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True, validate=validate.Length(1, 64))
    name = fields.String(required=True, validate=validate.Length(1, 100))


class PhoneRatingSchema(Schema):
    """``rating.taken_by_phone`` (services.common.events): a rating the office took by phone."""

    class Meta:
        unknown = EXCLUDE  # a field added to the event later is no reason to park it

    ticket_id = fields.String(required=True, validate=validate.Length(1, 64))
    resolution = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    rating = fields.String(required=True, validate=validate.OneOf(RATINGS))
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    taken_at = fields.AwareDateTime(required=True, format="iso")
    recorded_by = fields.Nested(StaffMemberSchema, required=True)


class RatingAcceptedSchema(Schema):
    ticket_id = fields.String()
    rating = fields.String(metadata={"enum": list(RATINGS)})
    resolution = fields.Integer(metadata={"description": "0 for the first resolution, 1 after"
                                                        " one reopening, ..."})


class ConcernQuerySchema(Schema):
    """``GET /api/v1/concerns`` filters (docs/reference.md#post-a-concern)."""
    external_id = fields.String(validate=validate.Length(1, 128),
                                metadata={"description": "The front-end's own id"})
    status = fields.String(validate=validate.OneOf(STATUSES))
    since = fields.AwareDateTime(format="iso", metadata={
        "description": "Only concerns that changed at or after this time (RFC 3339)"})
    cursor = fields.String(validate=validate.Length(1, 200),
                           metadata={"description": "next_cursor of the page before"})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class ConcernSummarySchema(ConcernFactsSchema):
    """A concern in a list: where it stands, no description or contact."""
    changed_at = IsoTime(metadata={"description": "Its last change"})
    href = fields.String()

    @pre_dump
    def with_its_address(self, row, **kwargs):
        return {**row, "href": f"/api/v1/concerns/{row['ticket_id']}"}


class ConcernListSchema(Schema):
    concerns = fields.List(fields.Nested(ConcernSummarySchema))
    next_cursor = fields.String(allow_none=True, metadata={
        "description": "Pass as cursor for the next page; null on the last page"})
