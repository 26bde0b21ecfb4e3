"""The overdue list as reporting counted it in Python, ticket by ticket, with one
``WorkingClock`` a district: the reference the SQL count (``services.reporting.
use_cases.overdue_list``) is checked against, in the tests and in ``make bench-rebuild``."""
from services.common.working_hours import WorkingClock, subtract_working_hours
from services.reporting.domain import COLUMNS, TicketFacts


def overdue_list(conn, directory, district, department, as_of):
    """The report's entries, read and counted as reporting did before SQL counted them."""
    return overdue_entries(candidates(conn, district, department, as_of,
                                      cutoffs(directory, district, as_of)), directory, as_of)


def candidates(conn, district, department, as_of, cutoffs):
    codes = list(cutoffs)
    rows = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM report_tickets t"
        " LEFT JOIN unnest(%(codes)s::text[], %(rep)s::timestamptz[], %(office)s::timestamptz[])"
        "   AS c(district, rep_cutoff, office_cutoff) USING (district)"
        " WHERE status IN ('assigned', 'forwarded', 'dispatched', 'in_progress')"
        " AND (%(district)s::text IS NULL OR t.district = %(district)s)"
        " AND (CASE status WHEN 'assigned' THEN held_since <= rep_cutoff"
        "                  WHEN 'forwarded' THEN held_since <= office_cutoff"
        "                  ELSE active_due_at < %(as_of)s END)"
        " AND (%(department)s::text IS NULL"
        "      OR (status IN ('dispatched', 'in_progress') AND active_department = %(department)s))",
        {"codes": codes, "rep": [cutoffs[code][0] for code in codes],
         "office": [cutoffs[code][1] for code in codes], "district": district,
         "department": department, "as_of": as_of}).fetchall()
    return [TicketFacts(**{**row, "departments": tuple(row["departments"] or ()),
                           "escalations": tuple(row["escalations"] or ())}) for row in rows]


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
