"""Routing's rules (docs/reference.md#ticket-statuses), as pure functions over the directory snapshot.

The lifecycle ``received → assigned → forwarded → dispatched → in_progress →
resolved → closed`` with the side states ``merged`` and ``rejected``; who gets a
ticket (representative, department).
No I/O: the workflow module loads, decides here, and stores.
"""
from services.common.events import ACTIVE_DISPATCH_STATUSES
from services.common.working_hours import add_working_hours

OPEN = ("received", "assigned", "forwarded", "dispatched", "in_progress")
FINAL = ("closed", "merged", "rejected")
STATUSES = OPEN + ("resolved",) + FINAL

TRANSITIONS = {
    "received": ("assigned", "forwarded", "merged", "rejected"),
    "assigned": ("assigned", "forwarded", "resolved", "merged", "rejected"),
    "forwarded": ("assigned", "dispatched", "merged", "rejected"),
    "dispatched": ("in_progress", "resolved", "forwarded"),
    "in_progress": ("in_progress", "resolved", "forwarded"),
    "resolved": ("closed", "forwarded"),
    "closed": (), "merged": (), "rejected": (),
}

#: a reporter's rating of a resolution, the best first
RATINGS = ("satisfied", "basically_satisfied", "unsatisfied")

#: a department's feedback and what it does to its dispatch
FEEDBACK_STATUSES = ("acknowledged", "in_progress", "resolved", "rejected", "transfer_requested")
PROGRESS = ("acknowledged", "in_progress")
PROGRESS_RANK = {"sent": 0, "acknowledged": 1, "in_progress": 2, "resolved": 3}
HANDS_BACK = ("rejected", "transfer_requested")


class IllegalTransition(Exception):
    def __init__(self, current, wanted):
        self.current, self.wanted = current, wanted
        self.allowed = TRANSITIONS[current]
        super().__init__(f"a {current} ticket cannot become {wanted};"
                         f" allowed: {', '.join(self.allowed) or 'nothing'}")


def check_transition(current, wanted):
    if wanted not in TRANSITIONS[current]:
        raise IllegalTransition(current, wanted)


def choose_representative(directory, district, community, requested, open_counts):
    """Who takes a new ticket, and why: ``(representative_id | None, reason)``.

    The one the reporter named; else the first of the community's liaison station
    below ``max_open``; else the one with the fewest open tickets in the district. A
    concern that names no community (an Open311 request) goes to the district's
    liaison office, which assigns it. ``open_counts(ids)`` gives the open tickets of
    the representatives it is asked about: the station's first, the whole district's
    only when the station is full.
    """
    representatives = directory["representatives"]
    if requested in representatives and representatives[requested]["district"] == district:
        return requested, "named by the reporter"
    if community is None:
        return None, "no community named: the liaison office assigns it"
    station_reps = station_representatives(directory, district, community)
    counts = open_counts(station_reps) if station_reps else {}
    for rep_id in station_reps:
        if counts.get(rep_id, 0) < representatives[rep_id]["max_open"]:
            return rep_id, f"liaison station of {community}"
    in_district = [rep_id for rep_id, rep in representatives.items() if rep["district"] == district]
    if not in_district:
        return None, "no representative in the district"
    counts = open_counts(in_district)
    fewest = min(in_district, key=lambda rep_id: counts.get(rep_id, 0))
    return fewest, "fewest open tickets in the district"


def station_representatives(directory, district, community):
    """The representatives of a community's liaison station, in order of preference
    (none for an unknown district or community)."""
    communities = directory["districts"].get(district, {}).get("communities", {})
    return communities.get(community, {}).get("representatives", [])


def choose_department(directory, district, category, exclude=()):
    """The lead department for a category in a district, by the directory's rules.

    A department naming the district is preferred to a city-wide one (``"*"``);
    ``exclude`` is the department that just handed the ticket back.
    """
    candidates = [code for code, department in directory["departments"].items()
                  if category in department["categories"] and code not in exclude
                  and (district in department["districts"] or "*" in department["districts"])]
    local = [code for code in candidates if district in directory["departments"][code]["districts"]]
    return (local or candidates or [None])[0]


def due_at(dispatched_at, due_hours, policy):
    """When a dispatch must be resolved: the department's hours, counted in the
    district's working hours when its policy has a calendar."""
    return add_working_hours(dispatched_at, due_hours, policy.get("calendar"), policy["timezone"])


def feedback_problem(dispatch, department, ticket_status, status):
    """Why a department's feedback cannot apply, or None when it can."""
    if dispatch is None:
        return "unknown dispatch"
    if dispatch["department"] != department:
        return f"dispatch belongs to department {dispatch['department']}, not {department}"
    if dispatch["status"] in HANDS_BACK or dispatch["status"] == "withdrawn":
        return f"dispatch is no longer active ({dispatch['status']})"
    if status == "resolved" and dispatch["status"] == "resolved":
        return "dispatch is already resolved"
    if status in HANDS_BACK and dispatch["status"] not in ACTIVE_DISPATCH_STATUSES:
        return f"dispatch is no longer active ({dispatch['status']})"
    if dispatch["role"] == "lead" and status in ("resolved", *HANDS_BACK) \
            and ticket_status not in ("dispatched", "in_progress"):
        return f"a {ticket_status} ticket does not take {status} feedback"
    return None


def may_merge_into(role, scope, ticket, target, likely_original):
    """Whether a party (``role``, ``scope``) may merge ``ticket`` into ``target`` (None when
    there is no such ticket): another ticket of the district; for a representative, one
    of their own or the one ``ticket`` was linked to as a likely duplicate
    (``likely_original``). Any other answers as a ticket that does not exist: a
    representative learns nothing of the tickets they may not see."""
    if target is None or target["ticket_id"] == ticket["ticket_id"] \
            or target["district"] != ticket["district"]:
        return False
    if role == "representative":
        return target["representative_id"] == scope or target["ticket_id"] == likely_original
    return True  # the district's office (the admin too) merges within the district


def is_late_progress(dispatch, status):
    """Progress feedback overtaken by a later one (messages may be reordered)."""
    return status in PROGRESS and PROGRESS_RANK[status] <= PROGRESS_RANK.get(dispatch["status"], 0)


def awaits_rating(ticket):
    """Whether the ticket's latest resolution may still be rated: it is resolved, or merged
    and resolved with the ticket it joined and not rated yet."""
    return ticket["status"] == "resolved" or (
        ticket["status"] == "merged" and ticket["result"] is not None and ticket["rating"] is None)
