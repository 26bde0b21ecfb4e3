"""Reporting's rules: what a ticket's facts are, how late news merges with early
news, who may read which district, and what a report window means.

Pure functions and dataclasses; no nameko, kombu or psycopg. Events arrive twice and
out of order, so ``merge`` is commutative in what it keeps: the newest version says
what a ticket is now, while first dispatch, first resolution and the newest rating
are kept whichever event brought them.
"""
import zoneinfo
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta

from services.common.errors import BadRequest, Forbidden
from services.common.events import (
    ACTIVE_DISPATCH_STATUSES,
    CONCERN_RATED,
    CONCERN_RECEIVED,
    SYSTEM_ACTOR,
)
from services.reporting.figures import RATINGS

#: timeline actions that are escalations, by the kind the overdue report names them
ESCALATIONS = {"escalate": "escalated", "overdue": "overdue"}
UTC = zoneinfo.ZoneInfo("UTC")
EARLIEST = datetime.min.replace(tzinfo=UTC)
CONCERN_VERSION = 0
UNKNOWN_VERSION = -1
DEFAULT_TIMEZONE = "Asia/Shanghai"


class MalformedEvent(ValueError):
    """An event this service can never apply (it is parked with this reason)."""


@dataclass(frozen=True)
class TicketFacts:
    """What reporting knows of one ticket; never the reporter's contact details."""
    ticket_id: str
    version: int = UNKNOWN_VERSION
    status: str = "received"
    district: str = None
    community: str = None
    category: str = None
    channel: str = None
    representative: str = None
    departments: tuple = ()
    title: str = None
    description: str = None
    received_at: datetime = None
    dispatched: bool = False
    first_dispatched_at: datetime = None
    first_resolved_at: datetime = None
    lead_due_at: datetime = None
    rating: str = None
    rating_version: int = None
    held_since: datetime = None
    active_department: str = None
    active_dispatched_at: datetime = None
    active_due_at: datetime = None
    escalations: tuple = ()


#: what the newest version decides (an older one only fills what it leaves empty); the
#: holder's facts (held_since, active_*, escalations) are the newest version's alone
CURRENT = ("status", "district", "community", "category", "channel", "representative",
           "departments", "title", "description", "received_at")
COLUMNS = tuple(f.name for f in fields(TicketFacts))


def concern_facts(concern):
    """The facts of a ``concern.received`` body; its ``reporter`` is never read."""
    _require(concern, "ticket_id", "received_at")
    return TicketFacts(
        ticket_id=concern["ticket_id"], version=CONCERN_VERSION, status="received",
        district=concern.get("district"), community=concern.get("community"),
        category=concern.get("category"), channel=concern.get("channel"),
        title=concern.get("title"), description=concern.get("description"),
        received_at=_time(concern["received_at"]))


def event_facts(event_type, body):
    """What a read-model event tells: ``("rating", rating_facts)`` for ``concern.rated``,
    else ``("ticket", TicketFacts)``; MalformedEvent when it cannot be read. The
    consumer and the rebuild both read events through it."""
    if event_type == CONCERN_RATED:
        return "rating", rating_facts(body)
    if event_type == CONCERN_RECEIVED:
        return "ticket", concern_facts(body)
    if not isinstance(body, dict):
        raise MalformedEvent(f"expected an object, got {type(body).__name__}")
    return "ticket", ticket_facts(body.get("ticket"), body.get("entry"))


def rating_facts(rated):
    """``{ticket_id, resolution, rating, rated_at}`` of a ``concern.rated`` body."""
    _require(rated, "ticket_id", "resolution", "rating", "rated_at")
    if rated["rating"] not in RATINGS:
        raise MalformedEvent(f"unknown rating {rated['rating']!r}")
    if not isinstance(rated["resolution"], int) or rated["resolution"] < 0:
        raise MalformedEvent(f"resolution must be a non-negative integer: {rated['resolution']!r}")
    return {"ticket_id": rated["ticket_id"], "resolution": rated["resolution"],
            "rating": rated["rating"], "rated_at": _time(rated["rated_at"])}


def ticket_facts(ticket, entry=None):
    """The facts of the ticket snapshot a ``ticket.*`` event carries."""
    _require(ticket, "ticket_id", "version", "status")
    if not isinstance(ticket["version"], int) or ticket["version"] < 0:
        raise MalformedEvent(
            f"ticket version must be a non-negative integer: {ticket['version']!r}")
    dispatches = [d for d in ticket.get("departments") or [] if isinstance(d, dict)]
    first_dispatched_at = _earliest(_time(ticket.get("first_dispatched_at")),
                                    *(_time(d.get("dispatched_at")) for d in dispatches))
    resolved_at = _resolved_at(ticket, entry or {})
    rating = rating_of(ticket)
    return TicketFacts(
        ticket_id=ticket["ticket_id"], version=ticket["version"], status=ticket["status"],
        district=ticket.get("district"), community=ticket.get("community"),
        category=ticket.get("category"), channel=ticket.get("channel"),
        representative=(ticket.get("representative") or {}).get("id"),
        departments=tuple(dict.fromkeys(d["department"] for d in dispatches
                                        if d.get("department"))),
        title=ticket.get("title"), received_at=_time(ticket.get("received_at")),
        dispatched=bool(dispatches) or first_dispatched_at is not None,
        first_dispatched_at=first_dispatched_at, first_resolved_at=resolved_at,
        lead_due_at=lead_due_at(dispatches, resolved_at) if resolved_at else None,
        rating=rating, rating_version=ticket["version"] if rating else None,
        **holder_facts(ticket, dispatches))


def holder_facts(ticket, dispatches):
    """Since when the ticket is in its status, its active lead dispatch (department,
    dispatched, due) and the escalations its timeline tells of so far."""
    active = [d for d in dispatches
              if d.get("role") == "lead" and d.get("status") in ACTIVE_DISPATCH_STATUSES]
    lead = max(active, key=lambda d: _time(d.get("dispatched_at")) or EARLIEST, default={})
    timeline = [entry for entry in ticket.get("timeline") or [] if isinstance(entry, dict)]
    return {"held_since": _time(ticket.get("status_since")) or _entered(ticket["status"], timeline)
            or _time(ticket.get("received_at")),
            "active_department": lead.get("department"),
            "active_dispatched_at": _time(lead.get("dispatched_at")),
            "active_due_at": _time(lead.get("due_at")),
            "escalations": tuple(escalations(timeline))}


def escalations(timeline):
    """The timeline's escalations: the office escalated, a department flagged overdue,
    a representative passed over (the system forwarding), oldest first."""
    for entry in timeline:
        kind = ESCALATIONS.get(entry.get("action"))
        if entry.get("action") == "forward":
            kind = "passed_over" if entry.get("actor") == SYSTEM_ACTOR else None
        if kind:
            at = _time(entry.get("at"))
            yield {"at": at and at.astimezone(UTC).isoformat(), "kind": kind, "note": entry.get("note")}


def _entered(status, timeline):
    """When the newest timeline entry that moved the ticket into ``status`` happened."""
    moves = [entry for entry in timeline
             if entry.get("to_status") == status and entry.get("from_status") != status]
    return _time(moves[-1].get("at")) if moves else None


def rating_of(ticket):
    """``ticket.rating`` as a rating code (it may come bare or as ``{rating, comment}``)."""
    rating = ticket.get("rating")
    if isinstance(rating, dict):
        rating = rating.get("rating")
    return rating if rating in RATINGS else None


def lead_due_at(dispatches, resolved_at):
    """The due time of the lead dispatch that held the ticket when it was resolved:
    the latest lead dispatched no later than the resolution."""
    leads = [(_time(d.get("dispatched_at")), _time(d.get("due_at"))) for d in dispatches
             if d.get("role") == "lead" and d.get("due_at")]
    held = [(at, due) for at, due in leads if at is None or at <= resolved_at]
    if not held:
        return None
    return max(held, key=lambda lead: lead[0].timestamp() if lead[0] else float("-inf"))[1]


def merge(known: TicketFacts, seen: TicketFacts) -> TicketFacts:
    """Combine two accounts of a ticket, whichever came first or came twice."""
    newer, older = (seen, known) if seen.version > known.version else (known, seen)
    current = {name: _first_given(getattr(newer, name), getattr(older, name)) for name in CURRENT}
    first_resolution = min((known, seen), key=_resolution_order)
    rated = max((known, seen),
                key=lambda facts: -1 if facts.rating is None else facts.rating_version)
    return replace(
        newer, **current, version=max(known.version, seen.version),
        dispatched=known.dispatched or seen.dispatched,
        first_dispatched_at=_earliest(known.first_dispatched_at, seen.first_dispatched_at),
        first_resolved_at=first_resolution.first_resolved_at,
        lead_due_at=first_resolution.lead_due_at,
        rating=rated.rating, rating_version=rated.rating_version)


def report_district(party, wanted):
    """The district a caller may read: an admin any (None: all), an office its own."""
    if party.role == "admin":
        return wanted
    if party.role == "congress" and wanted in (None, party.scope):
        return party.scope
    raise Forbidden(f"This key reads reports of district '{party.scope}' only.")


@dataclass(frozen=True)
class Window:
    """Tickets received at or after ``start`` and before ``end`` (None: unbounded)."""
    start: datetime = None
    end: datetime = None

    def echo(self):
        return {"from": _iso(self.start), "to": _iso(self.end)}


def report_window(start, end, timezone):
    """The window of ``from``/``to``; a bare date is midnight in ``timezone``."""
    zone = zoneinfo.ZoneInfo(timezone)
    window = Window(_moment(start, zone), _moment(end, zone))
    if window.start and window.end and window.end <= window.start:
        raise BadRequest("The window is empty.", errors={"to": ["Must be after 'from'."]})
    return window


EMPTY_DIRECTORY = {"districts": {}, "representatives": {}, "departments": {}, "categories": {}}
TREND_DAYS = 30  # the trend's window when none is given: the last 30 local days


def now():
    return datetime.now(UTC)


@dataclass(frozen=True)
class Days:
    """Local days ``first`` to ``last`` of a trend, and the moments they span."""
    first: date
    last: date
    start: datetime
    end: datetime

    def each(self):
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def trend_days(start, end, timezone, at):
    """The days a trend counts: those of the report window (``from``/``to``, as
    ``report_window`` reads them), else the last ``TREND_DAYS`` local days up to ``at``."""
    zone = zoneinfo.ZoneInfo(timezone)
    window = report_window(start, end, timezone)
    last = (window.end - timedelta(microseconds=1)).astimezone(zone).date() if window.end \
        else at.astimezone(zone).date()
    first = window.start.astimezone(zone).date() if window.start \
        else last - timedelta(days=TREND_DAYS - 1)
    if (last - first).days >= 366:
        raise BadRequest("A trend covers at most 366 days.",
                         errors={"from": ["At most 366 days before 'to'."]})
    return Days(first, last, datetime.combine(first, time.min, zone),
                datetime.combine(last + timedelta(days=1), time.min, zone))


def trend(district, days, counts):
    """The trend report (``schemas.TrendSchema``): one entry per local day of ``days``,
    zeros included, with what was received, first dispatched and first resolved that day
    (``counts``: day → those of them that are not 0)."""
    empty = {"received": 0, "dispatched": 0, "resolved": 0}
    return {"district": district, "from": days.first, "to": days.last,
            "days": [{"day": day, **empty, **counts.get(day, {})} for day in days.each()]}


def timezone_of(directory, district):
    """The district's policy timezone, else the directory's, else the default."""
    if not directory:
        return DEFAULT_TIMEZONE
    policy = (directory["districts"].get(district) or directory).get("policy") or {}
    return policy.get("timezone") or DEFAULT_TIMEZONE


def group_keys(directory, group, district, seen):
    """The groups a report lists: those of the directory in scope, then any others seen."""
    known = []
    if directory and group == "district":
        known = [code for code in directory["districts"] if district in (None, code)]
    elif directory and group == "category":
        known = list(directory["categories"])
    elif directory and group == "representative":
        known = [rep_id for rep_id, rep in directory["representatives"].items()
                 if district in (None, rep["district"])]
    elif directory and group == "department":
        known = [code for code, department in directory["departments"].items()
                 if district is None or {"*", district} & set(department["districts"])]
    return list(dict.fromkeys([*known, *sorted(seen, key=lambda key: (key is None, key or ""))]))


def _moment(value, zone):
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time.min, tzinfo=zone)
    raise TypeError(f"not a date or time: {value!r}")


def _resolved_at(ticket, entry):
    """The first time this snapshot tells the ticket was resolved: ``resolved_at``, or
    the earliest timeline entry (or the event's own entry) that resolved it."""
    entries = [*(ticket.get("timeline") or []), entry]
    return _earliest(_time(ticket.get("resolved_at")),
                     *(_time(item.get("at")) for item in entries
                       if isinstance(item, dict) and item.get("to_status") == "resolved"))


def _resolution_order(facts):
    """Earliest resolution first; at the same time, the one that knows its due time."""
    if facts.first_resolved_at is None:
        return (1, 0.0, 1)
    return (0, facts.first_resolved_at.timestamp(), 0 if facts.lead_due_at else 1)


def _require(body, *keys):
    if not isinstance(body, dict):
        raise MalformedEvent(f"expected an object, got {type(body).__name__}")
    missing = [key for key in keys if body.get(key) is None]
    if missing:
        raise MalformedEvent(f"missing {', '.join(missing)}")


def _time(value):
    if value is None or isinstance(value, datetime):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise MalformedEvent(f"not an RFC 3339 time: {value!r}") from exc
    if moment.tzinfo is None:
        raise MalformedEvent(f"time without an offset: {value!r}")
    return moment


def _earliest(*moments):
    given = [moment for moment in moments if moment is not None]
    return min(given) if given else None


def _first_given(*values):
    for value in values:
        if value not in (None, ()):
            return value
    return values[-1]


def _iso(moment):
    return moment.isoformat() if moment else None
