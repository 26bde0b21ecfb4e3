"""What crosses the reporting API (docs/reference.md#reporting-api): the query of a report, loaded; the
reports, dumped (the JSON body, and the rows its CSV is made of); the answer of a rebuild."""
import re
from datetime import date, datetime, timedelta, timezone

from marshmallow import Schema, ValidationError, fields, pre_dump, validate, validates

from services.common.ticket_schemas import IsoTime

RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
FORMATS = ("json", "csv")


class WindowBound(fields.Field):
    """An RFC 3339 time with its offset (a ``datetime``, in UTC) or a bare ``YYYY-MM-DD``
    (a ``date``), between 1970 and 9000: a window counts days and zones from it."""

    EARLIEST, LATEST = date(1970, 1, 1), date(9000, 1, 1)
    default_error_messages = {
        "invalid": "Give an RFC 3339 time with an offset (2026-05-01T08:00:00+08:00)"
                   " or a date (2026-05-01).",
        "range": "Between 1970 and 9000.",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        text = value.strip() if isinstance(value, str) else ""
        try:
            if ISO_DATE.fullmatch(text):
                bound = date.fromisoformat(text)
            elif RFC3339.fullmatch(text):
                bound = datetime.fromisoformat(text.upper().replace(" ", "T")).astimezone(timezone.utc)
            else:
                bound = None
        except OverflowError as exc:  # in UTC it falls outside the calendar
            raise self.make_error("range") from exc
        except ValueError:
            bound = None
        if bound is None:
            raise self.make_error("invalid")
        day = bound.date() if isinstance(bound, datetime) else bound
        if not self.EARLIEST <= day < self.LATEST:
            raise self.make_error("range")
        return bound

    def _serialize(self, value, attr, obj, **kwargs):
        return value.isoformat() if value is not None else None


DISTRICT = validate.Regexp(r"^[a-z0-9_-]{1,32}$", error="Not a district code.")


class ReportQuerySchema(Schema):
    district = fields.String(validate=DISTRICT)
    start = WindowBound(data_key="from")
    end = WindowBound(data_key="to")
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))


CODE = validate.Regexp(r"^[a-z0-9_-]{1,32}$", error="Not a code.")


class Moment(fields.AwareDateTime):
    """An RFC 3339 time with its offset, in UTC (PostgreSQL takes offsets up to ±15:59
    only), between 1970 and 9000: a report counts back and forth from it."""

    EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
    LATEST = datetime(9000, 1, 1, tzinfo=timezone.utc)

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs).astimezone(timezone.utc)
        if not self.EARLIEST <= moment < self.LATEST:
            raise ValidationError("Between 1970 and 9000.")
        return moment


class OverdueQuerySchema(Schema):
    """``GET /api/v1/reports/overdue``: which tickets, and as of when lateness is counted
    (at most ``AS_OF_YEARS`` from now: the tickets are as they are now)."""
    AS_OF_YEARS = 3

    district = fields.String(validate=DISTRICT)
    department = fields.String(validate=CODE)
    as_of = Moment(metadata={"description": "default: now"})
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))

    @validates("as_of")
    def _near_now(self, value, **kwargs):
        if abs(value - datetime.now(timezone.utc)) > timedelta(days=366 * self.AS_OF_YEARS):
            raise ValidationError(f"At most {self.AS_OF_YEARS} years before or after now.")


class HotTopicsQuerySchema(Schema):
    """``GET /api/v1/reports/hot-topics``: the last ``days`` days, against the ``days``
    before them."""
    district = fields.String(validate=DISTRICT)
    days = fields.Integer(load_default=30, validate=validate.Range(1, 366))
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    as_of = Moment(metadata={"description": "the window's end; default: now"})


class RebuiltSchema(Schema):
    """The answer of ``POST /api/v1/read-model/rebuild``, once the new read model is in."""
    events = fields.Integer(metadata={"description": "events replayed from the log"})
    tickets = fields.Integer()
    ratings = fields.Integer()
    seconds = fields.Float(metadata={"description": "how long the rebuild took"})
    locked_seconds = fields.Float(metadata={
        "description": "how long the consumer waited: the catch-up and the swap"})


#: the answers: each report's JSON body is its schema's ``dump``, and its CSV rows are
#: read from that body (``csv_format``)


class PercentilesSchema(Schema):
    p50 = fields.Float(allow_none=True)
    p95 = fields.Float(allow_none=True)


class FiguresSchema(Schema):
    received = fields.Integer(metadata={"description": "tickets received in the window"})
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    dispatched = fields.Integer(metadata={"description": "dispatched at least once"})
    resolved = fields.Integer(metadata={"description": "now resolved or closed"})
    resolution_rate = fields.Float(allow_none=True, metadata={
        "description": "resolved / (received - merged - rejected)"})
    rectification_rate = fields.Float(allow_none=True)
    satisfaction_rate = fields.Float(allow_none=True)
    on_time_rate = fields.Float(allow_none=True)
    transfer_seconds = fields.Nested(PercentilesSchema, metadata={
        "description": "received → first dispatch"})
    resolve_seconds = fields.Nested(PercentilesSchema, metadata={
        "description": "first dispatch → first resolution"})


class ReportWindowSchema(Schema):
    """Which tickets a report counts: the district (null: all) and the window echoed as
    ``Window.echo`` writes it (``from``, ``to``)."""
    district = fields.String(allow_none=True)
    start = fields.String(attribute="from", data_key="from", allow_none=True)
    end = fields.String(attribute="to", data_key="to", allow_none=True)


class SummarySchema(FiguresSchema, ReportWindowSchema):
    """The window, then its figures (marshmallow orders the bases' fields from the last
    base to the first)."""


class GroupedSchema(ReportWindowSchema):
    group_by = fields.String()
    groups = fields.List(fields.Dict(), metadata={"description": "the group's key and figures"})

    @pre_dump
    def each_group_with_its_key(self, report, **kwargs):
        """``groups`` come as ``[(group value, figures)]``: each is shown as one object,
        its value under the group's name first."""
        figures = FiguresSchema()
        return {**report, "groups": [{report["group_by"]: key, **figures.dump(group)}
                                     for key, group in report["groups"]]}


class HolderSchema(Schema):
    kind = fields.String(metadata={"enum": ["representative", "office", "department"]})
    id = fields.String(allow_none=True, metadata={
        "description": "the representative's id, the district's code, the department's code"})
    name = fields.String(allow_none=True)


class EscalationSchema(Schema):
    at = fields.String(allow_none=True, metadata={"format": "date-time"})
    kind = fields.String(metadata={"enum": ["escalated", "overdue", "passed_over"]})
    note = fields.String(allow_none=True)


class OverdueTicketSchema(Schema):
    ticket_id = fields.String()
    district = fields.String(allow_none=True)
    community = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": ["assigned", "forwarded", "dispatched", "in_progress"]})
    holder = fields.Nested(HolderSchema)
    held_since = fields.String(allow_none=True, metadata={
        "format": "date-time", "description": "since when the holder has it"})
    due_at = fields.String(metadata={"format": "date-time"})
    overdue_working_hours = fields.Float(metadata={
        "description": "past due, in the district calendar's working hours"})
    overdue_hours = fields.Float(metadata={"description": "past due, on the clock"})
    escalations = fields.List(fields.Nested(EscalationSchema), metadata={
        "description": "escalated by the office deadline, flagged overdue, representative"
                       " passed over; oldest first"})


class OverdueSchema(Schema):
    district = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    as_of = IsoTime()
    count = fields.Integer()
    tickets = fields.List(fields.Nested(OverdueTicketSchema), metadata={
        "description": "the latest first (most working hours past due)"})

    @pre_dump
    def counted(self, report, **kwargs):
        return {**report, "count": len(report["tickets"])}


class TrendDaySchema(Schema):
    day = fields.Date()
    received = fields.Integer()
    dispatched = fields.Integer(metadata={"description": "first dispatched that day"})
    resolved = fields.Integer(metadata={"description": "first resolved that day"})


class TrendSchema(Schema):
    district = fields.String(allow_none=True)
    start = fields.Date(attribute="from", data_key="from")
    end = fields.Date(attribute="to", data_key="to", metadata={"description": "the last day"})
    days = fields.List(fields.Nested(TrendDaySchema))


class TopicSchema(Schema):
    category = fields.String(allow_none=True)
    community = fields.String(allow_none=True)
    communities = fields.List(fields.String(allow_none=True))
    count = fields.Integer()
    previous_count = fields.Integer(metadata={"description": "similar concerns the window before"})
    growth = fields.Integer(metadata={"description": "count - previous_count"})
    top_words = fields.List(fields.String())
    ticket_ids = fields.List(fields.String())
    open = fields.Integer()
    resolved = fields.Integer(metadata={"description": "resolved or closed"})


class HotTopicsSchema(Schema):
    district = fields.String(allow_none=True)
    days = fields.Integer()
    start = fields.String(attribute="from", data_key="from", metadata={"format": "date-time"})
    end = fields.String(attribute="to", data_key="to", metadata={"format": "date-time"})
    tickets = fields.Integer(metadata={"description": "concerns received in the window"})
    groups = fields.List(fields.Nested(TopicSchema), metadata={
        "description": "most concerns first, then most growth"})


def load_query(args, schema=ReportQuerySchema):
    """The report query of a request's arguments, or ValidationError.

    A name given twice is an error; an empty value (``?district=``) counts as absent.
    """
    repeated = [name for name in args if len(args.getlist(name)) > 1] \
        if hasattr(args, "getlist") else []
    if repeated:
        raise ValidationError({name: ["Give this parameter once."] for name in repeated})
    return schema().load({name: value for name, value in dict(args).items() if value != ""})
