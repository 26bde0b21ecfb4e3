"""What crosses the reporting API: the query of a report (contract §9), the answer of a
rebuild."""
import re
from datetime import date, datetime, timedelta, timezone

from marshmallow import Schema, ValidationError, fields, validate, validates

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


def load_query(args, schema=ReportQuerySchema):
    """The report query of a request's arguments, or ValidationError.

    A name given twice is an error; an empty value (``?district=``) counts as absent.
    """
    repeated = [name for name in args if len(args.getlist(name)) > 1] \
        if hasattr(args, "getlist") else []
    if repeated:
        raise ValidationError({name: ["Give this parameter once."] for name in repeated})
    return schema().load({name: value for name, value in dict(args).items() if value != ""})
