"""The overdue report's rules: who holds an open ticket, when it was due, and how late
it is in the district's working hours.

A ticket ``assigned`` is held by its representative, due ``representative_hours``
after it was assigned; ``forwarded`` by the district's liaison office, due
``congress_hours`` after it got there; ``dispatched`` or ``in_progress`` by the lead
department of its active dispatch, due at that dispatch's ``due_at``. Hours are
counted in the district calendar's working hours (docs/reference.md#the-directory):
the database counts them (``store.overdue_tickets``, on the days
``working_calendars`` keeps); here, what it is asked and how its rows read. Pure
functions over the directory and those rows; no I/O.
"""
from services.reporting import working_calendars

HELD_BY = {"assigned": "representative", "forwarded": "office",
           "dispatched": "department", "in_progress": "department"}
WAIT_HOURS = {"representative": "representative_hours", "office": "congress_hours"}
MICROSECONDS_AN_HOUR = 3_600_000_000


def calendars(directory, district):
    """``{district: working_calendars.policy_key}`` of the districts a report covers."""
    return {code: working_calendars.policy_key(policy) for code, policy in _policies(directory, district)}


def waits(directory, district):
    """``{district: (representative's, office's wait)}`` in working microseconds."""
    return {code: tuple(round(policy[WAIT_HOURS[kind]] * MICROSECONDS_AN_HOUR)
                        for kind in ("representative", "office"))
            for code, policy in _policies(directory, district)}


def earliest_uncounted(rows):
    """``{district: moment}``: the earliest moment rows were counted from that lies
    before the days kept for their district (none: every row was counted)."""
    earliest = {}
    for row in rows:
        if row["before_kept_days"]:
            known = earliest.get(row["district"])
            earliest[row["district"]] = min(known or row["counted_from"], row["counted_from"])
    return earliest


def entries(rows, directory, as_of):
    """The report's entries of ``store.overdue_tickets`` rows, latest first."""
    return ordered([entry(row, directory, as_of) for row in rows])


def entry(row, directory, as_of):
    """The report's entry for one overdue ticket's row."""
    kind = HELD_BY[row["status"]]
    due = row["due_at"]
    return {
        "ticket_id": row["ticket_id"], "district": row["district"], "community": row["community"],
        "category": row["category"], "title": row["title"], "status": row["status"],
        "holder": _holder(kind, row, directory),
        "held_since": _iso(row["held_since"]), "due_at": _iso(due),
        "overdue_working_hours": round(row["late_worked"] / 1_000_000 / 3600, 2),
        "overdue_hours": round((as_of - due).total_seconds() / 3600, 2),
        "escalations": list(row["escalations"] or ()),
    }


def ordered(entries):
    """Latest first: the most working hours overdue, then the ticket id."""
    return sorted(entries, key=lambda entry: (-entry["overdue_working_hours"], entry["ticket_id"]))


def _holder(kind, row, directory):
    if kind == "representative":
        person = directory["representatives"].get(row["representative"]) or {}
        return {"kind": kind, "id": row["representative"], "name": person.get("name")}
    if kind == "office":
        office = directory["districts"][row["district"]].get("office") or {}
        return {"kind": kind, "id": row["district"], "name": office.get("name")}
    department = directory["departments"].get(row["active_department"]) or {}
    return {"kind": kind, "id": row["active_department"], "name": department.get("name")}


def _policies(directory, district):
    return [(code, entry["policy"]) for code, entry in directory["districts"].items()
            if district in (None, code)]


def _iso(moment):
    return moment.isoformat() if moment else None
