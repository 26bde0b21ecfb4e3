"""The overdue report's rules: who holds an open ticket, when it was due, and how late
it is in the district's working hours.

A ticket ``assigned`` is held by its representative, due ``representative_hours``
after it was assigned; ``forwarded`` by the district's liaison office, due
``congress_hours`` after it got there; ``dispatched`` or ``in_progress`` by the lead
department of its active dispatch, due at that dispatch's ``due_at``. Hours are
counted in the district calendar's working hours (docs/reference.md#the-directory). Pure functions over
the read model's facts and the directory; no I/O.
"""
from services.common.working_hours import WorkingClock, subtract_working_hours

HELD_BY = {"assigned": "representative", "forwarded": "office",
           "dispatched": "department", "in_progress": "department"}
WAIT_HOURS = {"representative": "representative_hours", "office": "congress_hours"}


def cutoffs(directory, district, as_of):
    """``{district: (representative cutoff, office cutoff)}``: a ticket held since at or
    before its cutoff is overdue at ``as_of`` (it lets SQL skip those that are not)."""
    return {code: tuple(subtract_working_hours(as_of, policy[WAIT_HOURS[kind]], policy.get("calendar"),
                                               policy["timezone"])
                        for kind in ("representative", "office"))
            for code, policy in _policies(directory, district)}


def overdue_entries(candidates, directory, as_of):
    """The report's entries of the ``candidates`` (``TicketFacts``) overdue at ``as_of``,
    latest first. Due times and lateness are counted with one working clock per district."""
    clocks = {}
    entries = []
    for facts in candidates:
        district = directory["districts"].get(facts.district)
        if district is None:
            continue
        policy = district["policy"]
        if facts.district not in clocks:
            clocks[facts.district] = WorkingClock(policy.get("calendar"), policy["timezone"])
        entry = overdue_entry(facts, directory, as_of, clocks[facts.district])
        if entry:
            entries.append(entry)
    return ordered(entries)


def overdue_entry(facts, directory, as_of, clock):
    """The report's entry for one open ticket (``TicketFacts``), or None when it is not
    overdue at ``as_of``; ``clock`` is its district's ``WorkingClock``."""
    kind = HELD_BY.get(facts.status)
    if kind is None:
        return None
    policy = directory["districts"][facts.district]["policy"]
    if kind == "department":
        since, due = facts.active_dispatched_at, facts.active_due_at
    else:
        since = facts.held_since
        due = since and clock.moment_after(since, policy[WAIT_HOURS[kind]])
    if due is None or due >= as_of:
        return None
    return {
        "ticket_id": facts.ticket_id, "district": facts.district, "community": facts.community,
        "category": facts.category, "title": facts.title, "status": facts.status,
        "holder": _holder(kind, facts, directory),
        "held_since": _iso(since), "due_at": _iso(due),
        "overdue_working_hours": round(clock.hours_between(due, as_of), 2),
        "overdue_hours": round((as_of - due).total_seconds() / 3600, 2),
        "escalations": list(facts.escalations),
    }


def ordered(entries):
    """Latest first: the most working hours overdue, then the ticket id."""
    return sorted(entries, key=lambda entry: (-entry["overdue_working_hours"], entry["ticket_id"]))


def _holder(kind, facts, directory):
    if kind == "representative":
        person = directory["representatives"].get(facts.representative) or {}
        return {"kind": kind, "id": facts.representative, "name": person.get("name")}
    if kind == "office":
        office = directory["districts"][facts.district].get("office") or {}
        return {"kind": kind, "id": facts.district, "name": office.get("name")}
    department = directory["departments"].get(facts.active_department) or {}
    return {"kind": kind, "id": facts.active_department, "name": department.get("name")}


def _policies(directory, district):
    return [(code, entry["policy"]) for code, entry in directory["districts"].items()
            if district in (None, code)]


def _iso(moment):
    return moment.isoformat() if moment else None
