"""What the reporter's page shows of their concern: intake's stored concern and its ticket
view (routing's snapshot) turned into a screen, as phrases (a word's key and its
values) that ``words`` says in either language.

A resident sees what they reported, where it stands in plain words (a representative,
the liaison office, the departments by name, the result, the reason it was not taken
up), the steps it took with their times, and whether the resolution may be rated. Never
a contact, an internal note or a staff member's name: a step names parties only, and
the timeline's notes are read for nothing but a rejection's reason. ``open_until``:
when the page's link stops working. Pure: no I/O.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from services.common.events import ACTIVE_DISPATCH_STATUSES

FINAL = ("closed", "merged", "rejected")
#: a department's answer that hands the ticket back to the office
HANDED_BACK = ("rejected", "transfer_requested")


@dataclass(frozen=True)
class Phrase:
    """A thing to say: a key of ``words.WORDS`` and its values."""
    key: str
    values: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    at: datetime
    phrase: Phrase
    kind: str


def concern_screen(concern, directory, latest_rating, days):
    """The page of ``concern`` (a row of ``store.find_by_page_token``): ``latest_rating``
    is intake's rating of the ticket's latest rated resolution (or None; only one of the
    current resolution is shown as given), ``days`` how long the page stays open once the
    ticket is final."""
    ticket = concern["view"] or {}
    status = ticket.get("status", "received")
    current = ticket.get("reopen_count", 0)
    rated_now = latest_rating if latest_rating and latest_rating["resolution"] == current else None
    return {
        "ticket_id": concern["ticket_id"],
        "title": ticket.get("title") or concern["title"],
        "description": concern["description"],
        "category": _category_name(directory, ticket.get("category", concern["category"])),
        "community": _community_name(directory, concern["district"],
                                     ticket.get("community", concern["community"])),
        "address": (concern["location"] or {}).get("address") or None,
        "received_at": concern["received_at"],
        "status": status,
        "status_phrase": status_phrase(ticket),
        "representative": (ticket.get("representative") or {}).get("name"),
        "departments": _names(ticket.get("departments", [])),
        "result": ticket.get("result") if status in ("resolved", "closed", "merged") else None,
        "reason": rejection_reason(ticket) if status == "rejected" else None,
        "steps": steps(ticket, concern),
        "rating_form": is_ratable(ticket) and rated_now is None,
        "after_rating": after_rating(ticket, directory, concern["district"]),
        "given_rating": rated_now,
        "outcome": outcome(ticket, latest_rating, directory, concern["district"]),
        "open_until": open_until(ticket, days),
    }


def is_ratable(ticket):
    """As intake's rating rules (``use_cases.rating``) take a rating."""
    status = ticket.get("status", "received")
    return status == "resolved" or (status == "merged" and ticket.get("result") is not None)


def status_phrase(ticket):
    """Where the ticket stands, for a resident."""
    status = ticket.get("status", "received")
    if status == "assigned" and (ticket.get("representative") or {}).get("name"):
        return Phrase("status.assigned_named", {"name": ticket["representative"]["name"]})
    if status in ("dispatched", "in_progress"):
        departments = ticket.get("departments", [])
        active = [d for d in departments if d.get("status") in ACTIVE_DISPATCH_STATUSES]
        groups = _dispatch_groups(departments)
        names = _names(active or (groups[-1] if groups else []))
        return Phrase("status.dispatched_named", {"names": names}) if names else Phrase("status.dispatched")
    if status == "merged" and ticket.get("result") is not None:
        return Phrase("status.merged_resolved")
    return Phrase(f"status.{status}")


def steps(ticket, concern):
    """The steps of the ticket's timeline a resident follows, in order, each with its time;
    the office's and departments' notes, categorising and deadlines are left out."""
    timeline = ticket.get("timeline")
    if not timeline:
        return [Step(concern["received_at"], Phrase("step.received"), "received")]
    groups = iter(_dispatch_groups(ticket.get("departments", [])))
    shown = []
    for entry in timeline:
        at = _time(entry.get("at"))
        for kind, values in _step_kinds(entry, groups):
            key = f"step.{kind}_named" if values.get("names") else f"step.{kind}"
            shown.append(Step(at, Phrase(key, values), kind))
    return shown


def _step_kinds(entry, dispatch_groups):
    """``[(kind, values)]``: what one timeline entry tells a resident (often nothing)."""
    action, before, after = entry.get("action"), entry.get("from_status"), entry.get("to_status")
    if action == "receive":
        return [("received", {})]
    if action == "rate":
        then = {"closed": [("closed", {})], "forwarded": [("reopened", {})]}.get(after, []) \
            if after != before else []
        return [("rated", {}), *then]
    if after == before:
        if action == "reassign":
            return [("with_representative", {})]
        if after == "merged" and action == "resolve":
            return [("resolved_with_joined", {})]
        return []
    if after == "forwarded":
        return [("handed_back" if action in HANDED_BACK else "with_office", {})]
    if after == "dispatched":
        return [("with_departments", {"names": _names(next(dispatch_groups, []))})]
    if after == "in_progress":
        return [("taken_on" if action == "acknowledged" else "in_progress", {})]
    if after == "assigned":
        return [("with_representative", {})]
    if after in ("resolved", "closed", "merged", "rejected"):
        return [(after, {})]
    return []


def _dispatch_groups(departments):
    """The ticket's dispatches as routing sent them, one group per dispatch step (a lead
    and its assisting departments share their time), in order."""
    groups = []
    for dispatch in departments:
        if groups and groups[-1][0].get("dispatched_at") == dispatch.get("dispatched_at"):
            groups[-1].append(dispatch)
        else:
            groups.append([dispatch])
    return groups


def _names(departments):
    return list(dict.fromkeys(d["name"] or d["department"] for d in departments))


def rejection_reason(ticket):
    """The reason the office gave for not taking the concern up: its rejection's text."""
    made = [entry for entry in ticket.get("timeline", []) if entry.get("to_status") == "rejected"
            and entry.get("from_status") != "rejected"]
    return made[-1].get("note") if made else None


def after_rating(ticket, directory, district):
    """What an unsatisfied rating does: ``reopens`` the ticket, ``closes`` it all the same
    (reopened as often as the district allows), or is ``noted`` on the concern it joined."""
    if ticket.get("status") == "merged":
        return "noted"
    limit = directory["districts"].get(district, {}).get("policy", {}).get("reopen_limit")
    return "closes" if limit is not None and ticket.get("reopen_count", 0) >= limit else "reopens"


def outcome(ticket, latest_rating, directory, district):
    """What the reporter's latest rating does: ``closes``, ``reopens`` or ``noted``; None
    when there is none."""
    if latest_rating is None:
        return None
    if ticket.get("status") == "merged":
        return "noted"
    if latest_rating["rating"] != "unsatisfied":
        return "closes"
    limit = directory["districts"].get(district, {}).get("policy", {}).get("reopen_limit")
    return "closes" if limit is not None and latest_rating["resolution"] >= limit else "reopens"


def final_since(ticket):
    """When the ticket became final (the entry that made it so; for a merged one, the later
    result it took with the concern it joined), or None while it is not final."""
    status = ticket.get("status")
    if status not in FINAL:
        return None
    timeline = ticket.get("timeline", [])
    made = [_time(e["at"]) for e in timeline if e.get("to_status") == status
            and (e.get("from_status") != status or (status == "merged" and e.get("action") == "resolve"))]
    return max(made) if made else _time(ticket.get("status_since") or ticket.get("received_at"))


def open_until(ticket, days):
    """When the page's link stops working: ``days`` after the ticket became final; None
    while it is not final."""
    since = final_since(ticket)
    return since + timedelta(days=days) if since else None


def is_open(ticket, days, now):
    until = open_until(ticket, days)
    return until is None or now < until


def _category_name(directory, code):
    return directory["categories"].get(code, {}).get("name") if code else None


def _community_name(directory, district, code):
    communities = directory["districts"].get(district, {}).get("communities", {})
    return communities.get(code, {}).get("name") if code else None


def _time(value):
    if value is None or isinstance(value, datetime):
        return value
    at = datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)
