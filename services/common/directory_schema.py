"""The shape of a directory file (docs/reference.md#the-directory), as marshmallow schemas.

Each mapping of the file is a ``Shape``: the keys it takes, which of them it needs, and
what each value must be. Values are taken as YAML types them (``"true"`` is no boolean,
``+8613800000001`` no text), so the fields here are strict where marshmallow's own would
convert. A schema loads what ``services.common.yaml_lines`` read; what is wrong is a
message at the path of the key or item it is about, and three kinds of message say how
it is shown (``Unlike``, ``AtTheKey``, ``AtTheKeyAgain``). A list keeps the place of a
bad item, so the rules across entries (``services.common.directory``) find each item's
line by its index.
"""
import datetime
import math
import re
import zoneinfo
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validates_schema

from services.common.email_address import is_email_address
from services.common.events import LOCALES

CODE = re.compile(r"[a-z0-9_-]{1,32}")
OFFICE_HOURS = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DELIVERIES = ("amqp", "webhook", "web")  # web: its staff answer in the workbench
#: what of a service request Open311 shows to a reader without a key (never a contact)
OPEN311_PUBLIC = ("status", "service", "times", "agency", "status_notes", "point", "description",
                  "address", "media")
#: what a district does with a likely duplicate (services.routing.duplicates)
DUPLICATE_ACTIONS = ("ignore", "suggest", "auto_merge")
OFFICIAL_CALENDARS = ("CN",)
DEFAULT_MAX_OPEN, DEFAULT_DUE_HOURS = 50, 72
DEFAULT_KEYWORD_WEIGHT = 1.0


class Unlike(str):
    """A message to be ended with the value it is about, as written in the file:
    "max_open must be an integer >= 1" + ", not true (bool)"."""


class AtTheKey(str):
    """A message about a key rather than its value, ``{key}`` standing for the key: shown
    where the key is written, each time it is written."""


class AtTheKeyAgain(AtTheKey):
    """A message about a key written again: shown where it is, but the first time."""


# Values


class Value(fields.Field):
    """A YAML scalar, as it is, that ``accepts`` takes; else "{what} must be {expected}",
    what being the key, or the ``what`` given for the items of a list."""

    expected = "a value"

    def __init__(self, *, what=None, **kwargs):
        super().__init__(**kwargs)
        self.what = what

    def accepts(self, value):
        raise NotImplementedError

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if value is None and not self.allow_none:  # YAML's nothing is a value like any other
            raise self.unlike()
        return super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not self.accepts(value):
            raise self.unlike()
        return value

    def unlike(self):
        return ValidationError(Unlike(f"{self.what or self.name} must be {self.expected}"))


class Text(Value):
    expected = "a non-empty string"

    def accepts(self, value):
        return isinstance(value, str) and value.strip()


class Code(Value):
    """A code; ``or_star``: or "*", for every district."""

    expected = "1-32 of a-z 0-9 _ -"

    def __init__(self, *, or_star=False, **kwargs):
        super().__init__(**kwargs)
        self.or_star = or_star

    def accepts(self, value):
        return isinstance(value, str) and (CODE.fullmatch(value) or self.or_star and value == "*")


class Integer(Value):
    def __init__(self, minimum, maximum=math.inf, **kwargs):
        super().__init__(**kwargs)
        self.minimum, self.maximum = minimum, maximum
        upper = f" and <= {maximum}" if maximum < math.inf else ""
        self.expected = f"an integer >= {minimum}{upper}"

    def accepts(self, value):
        return type(value) is int and self.minimum <= value <= self.maximum


class PositiveNumber(Value):
    expected = "a positive number"

    def accepts(self, value):
        return type(value) in (int, float) and 0 < value < math.inf


class Share(Value):
    expected = "a number from 0 to 1"

    def accepts(self, value):
        return type(value) in (int, float) and 0 <= value <= 1


class Boolean(Value):
    expected = "true or false"

    def accepts(self, value):
        return type(value) is bool


class OneOf(Value):
    def __init__(self, choices, *, or_null=False, **kwargs):
        super().__init__(allow_none=or_null, **kwargs)
        self.choices = choices
        self.expected = f"one of {', '.join(choices)}{' or null' if or_null else ''}"

    def accepts(self, value):
        return value is None and self.allow_none or isinstance(value, str) and value in self.choices


class Day(Value):
    """A date, written as a YAML date or a "YYYY-MM-DD" string: as "YYYY-MM-DD"."""

    expected = "a date YYYY-MM-DD"

    def accepts(self, value):
        return _day(value) is not None

    def _deserialize(self, value, attr, data, **kwargs):
        return _day(super()._deserialize(value, attr, data, **kwargs)).isoformat()


def _day(value):
    if type(value) is datetime.date:
        return value
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    return None


def _email(value):
    if not is_email_address(value):
        raise ValidationError(f"email {value!r} is not an email address")


def _locale(value):
    if value not in LOCALES:
        raise ValidationError(f"locale {value!r} is not one of {', '.join(LOCALES)}")


def _http_url(value):
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(f"url must be an http(s) URL, not {value!r}")


def _time_zone(value):
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"timezone {value!r} is not a known IANA time zone") from None


def _office_hours(value):
    match = OFFICE_HOURS.fullmatch(value)
    if not (match and match.group(1, 2) < match.group(3, 4)):
        raise ValidationError(f"hours must be \"HH:MM-HH:MM\" with start before end, not {value!r}")


# Mappings and lists


class Shape(Schema):
    """A mapping of the directory file, named by its ``kind`` in messages: a key it does
    not declare, a key written twice, a key it needs that is missing and a value that is
    no mapping are each reported."""

    kind = "directory"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.error_messages = {"type": f"{cls.kind} must be a mapping",
                              "unknown": AtTheKey(f"unknown key {{key}} in {cls.kind}")}

    def on_bind_field(self, field_name, field_obj):
        field_obj.error_messages["required"] = f"missing key {field_name!r} in {self.kind}"

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _each_key_once(self, _, original, **kwargs):
        again = [key for key in getattr(original, "repeated", ()) if key in self.fields]
        if again:
            message = AtTheKeyAgain(f"duplicate key {{key}} in {self.kind}")
            raise ValidationError({key: [message] for key in again})


class Shaped(fields.Nested):
    """A mapping of the given Shape."""

    def __init__(self, shape, **kwargs):
        super().__init__(shape, **kwargs)
        self.error_messages["null"] = f"{shape.kind} must be a mapping"


class Items(fields.List):
    """A YAML list; ``non_empty``: of one item at least. A bad item keeps its place (as
    None, or as much of it as is good), so that its index still leads to its line."""

    def __init__(self, item, *, non_empty=False, **kwargs):
        super().__init__(item, **kwargs)
        self.non_empty = non_empty

    def _bind_to_schema(self, field_name, parent):
        super()._bind_to_schema(field_name, parent)
        self.error_messages["invalid"] = self.error_messages["null"] = f"{self.name} must be a list"

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise self.make_error("invalid")
        if self.non_empty and not value:
            raise ValidationError(f"{self.name} must not be empty")
        items, errors = [], {}
        for index, item in enumerate(value):
            try:
                items.append(self.inner.deserialize(item, **kwargs))
            except ValidationError as error:
                items.append(error.valid_data)
                errors[index] = error.messages
        if errors:
            raise ValidationError(errors, valid_data=items)
        return items


class Contact(Shape):
    kind = "contact"
    email = Text(validate=_email)
    phone = Text()
    wechat_openid = Text()
    locale = Text(validate=_locale)


class StaffMember(Shape):
    """A person who signs in for an office or a department, with their own contact."""

    kind = "staff member"
    id = Code(required=True)
    name = Text(required=True)
    contact = Shaped(Contact, load_default=dict)


class Office(Shape):
    kind = "office"
    name = Text(required=True)
    contact = Shaped(Contact, load_default=dict)
    staff = Items(Shaped(StaffMember), load_default=list)


class Calendar(Shape):
    """Working time for deadlines: ISO weekdays, daily "HH:MM-HH:MM", holidays, extra
    workdays (make-up days, 调休), and ``official_holidays: CN`` for China's official
    calendar."""

    kind = "calendar"
    workdays = Items(Integer(1, 7, what="each workday"), non_empty=True, required=True)
    hours = Text(validate=_office_hours, required=True)
    holidays = Items(Day(what="each holiday"), load_default=list)
    extra_workdays = Items(Day(what="each holiday"), load_default=list)
    official_holidays = OneOf(OFFICIAL_CALENDARS, or_null=True, load_default=None)

    @validates_schema(skip_on_field_errors=False)
    def _each_day_once(self, calendar, **kwargs):
        days = [day for day in calendar.get("workdays") or () if day is not None]
        if len(set(days)) != len(days):
            raise ValidationError("workdays lists a day twice", "workdays")


class Policy(Shape):
    """The policy keys given; the directory sets the others to their defaults."""

    kind = "policy"
    representative_hours = PositiveNumber()
    congress_hours = PositiveNumber()
    auto_forward = Boolean()
    auto_dispatch = Boolean()
    reopen_limit = Integer(0)
    timezone = Text(validate=_time_zone)
    calendar = Shaped(Calendar, allow_none=True)
    category_confidence = Share()
    duplicates = OneOf(DUPLICATE_ACTIONS)
    duplicate_days = PositiveNumber()
    duplicate_radius_m = PositiveNumber()
    duplicate_suggest = Share()
    duplicate_auto_merge = Share()
    personal_data_days = Integer(1)
    open311_public = Items(OneOf(OPEN311_PUBLIC, what="each of open311_public"))

    @validates_schema(skip_on_field_errors=False)
    def _merge_what_would_be_suggested(self, policy, **kwargs):
        suggest, auto_merge = policy.get("duplicate_suggest"), policy.get("duplicate_auto_merge")
        if suggest is not None and auto_merge is not None and auto_merge < suggest:
            raise ValidationError("duplicate_auto_merge must be at least duplicate_suggest"
                                  f" ({suggest}): it merges what would be suggested",
                                  "duplicate_auto_merge")


class Community(Shape):
    kind = "community"
    code = Code(required=True)
    name = Text(required=True)
    representatives = Items(Code(what="each of representatives"), load_default=list)


class District(Shape):
    kind = "district"
    code = Code(required=True)
    name = Text(required=True)
    communities = Items(Shaped(Community), required=True)
    office = Shaped(Office, required=True)
    policy = Shaped(Policy, load_default=dict)


class Representative(Shape):
    kind = "representative"
    id = Code(required=True)
    name = Text(required=True)
    district = Code(required=True)
    max_open = Integer(1, load_default=DEFAULT_MAX_OPEN)
    contact = Shaped(Contact, load_default=dict)


class KeywordWithWeight(Shape):
    kind = "keyword"
    word = Text(required=True)
    weight = PositiveNumber(load_default=DEFAULT_KEYWORD_WEIGHT)


class Keyword(Text):
    """A category keyword: a word, of weight 1, or {word, weight}; as {word, weight}."""

    expected = "a non-empty string or {word, weight}"

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict):
            keyword = KeywordWithWeight().load(value)
            return {**keyword, "weight": float(keyword["weight"])}
        return {"word": super()._deserialize(value, attr, data), "weight": DEFAULT_KEYWORD_WEIGHT}


class Category(Shape):
    kind = "category"
    code = Code(required=True)
    name = Text(required=True)
    keywords = Items(Keyword(what="each keyword"), non_empty=True, required=True)


class Webhook(Shape):
    kind = "webhook"
    url = Text(validate=_http_url, required=True)
    secret = Text(required=True)


class Department(Shape):
    kind = "department"
    code = Code(required=True)
    name = Text(required=True)
    districts = Items(Code(or_star=True, what="each of districts"), non_empty=True, required=True)
    categories = Items(Code(what="each of categories"), non_empty=True, required=True)
    due_hours = Integer(1, load_default=DEFAULT_DUE_HOURS)
    delivery = OneOf(DELIVERIES, load_default="amqp")
    webhook = Shaped(Webhook)
    contact = Shaped(Contact, load_default=dict)
    staff = Items(Shaped(StaffMember), load_default=list)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _webhook_for_webhook_delivery(self, department, original, **kwargs):
        """The webhook {url, secret}: required for webhook delivery, refused for the others."""
        given = isinstance(original, dict) and "webhook" in original
        delivery = department.get("delivery")
        if given and delivery in DELIVERIES and delivery != "webhook":
            raise ValidationError(f"webhook is given but delivery is {delivery}", "webhook")
        if not given and department.get("delivery") == "webhook":
            raise ValidationError("delivery webhook requires webhook: {url, secret}")


class Directory(Shape):
    """One directory file: any of the four lists, and the policy (in one file only)."""

    kind = "directory"
    districts = Items(Shaped(District))
    representatives = Items(Shaped(Representative))
    categories = Items(Shaped(Category))
    departments = Items(Shaped(Department))
    policy = Shaped(Policy)
