"""The report figures (docs/reference.md#report-figures), defined in one place.

Each figure is counted in SQL over the tickets received in a report's window
(``TALLY_SQL``, run by ``store.tallies``) and finished here (``figures``): rates are
rounded to 4 places and null when their denominator is 0; percentiles are null when
no ticket has the data. No I/O here: the SQL is text that the store runs.

- ``received``: tickets received in the window.
- ``by_status``: tickets per current status; every status of §4 is listed, 0 or not.
- ``dispatched``: tickets dispatched to a department at least once.
- ``resolved``: tickets whose current status is ``resolved`` or ``closed``.
- ``resolution_rate``: resolved / (received - merged - rejected), by current status.
- ``rectification_rate``: of the tickets dispatched at least once, the share resolved
  or closed now.
- ``satisfaction_rate``: of the ratings given (one per resolution, from
  ``concern.rated``), the share ``satisfied`` or ``basically_satisfied``; a ticket
  whose ratings were not seen counts its newest rating (from its ticket events).
- ``on_time_rate``: of the first resolutions that have a due time, the share before
  the ``due_at`` of the lead dispatch that held the ticket then; a ticket a
  representative resolved without any dispatch has none and is left out.
- ``transfer_seconds``: p50 and p95 (``percentile_cont``) of received → first dispatch.
- ``resolve_seconds``: p50 and p95 of first dispatch → first resolution, for tickets
  first resolved after their first dispatch.

Grouped reports give the same figures per district, category, representative (the
one holding the ticket now) or department; a ticket counts for every department it
was dispatched to, as lead or assisting.
"""
from dataclasses import asdict, dataclass, field

STATUSES = ("received", "assigned", "forwarded", "dispatched", "in_progress", "resolved",
            "closed", "merged", "rejected")
RESOLVED_STATUSES = ("resolved", "closed")
SATISFIED_RATINGS = ("satisfied", "basically_satisfied")
RATINGS = (*SATISFIED_RATINGS, "unsatisfied")
RATE_PLACES = 4
SECONDS_PLACES = 3

#: the tickets of a report: received in the window, of the district if one is given
WINDOW_TICKETS = """
    SELECT *, {group} AS report_group,
           extract(epoch FROM first_dispatched_at - received_at) AS transfer_seconds,
           CASE WHEN first_resolved_at >= first_dispatched_at
                THEN extract(epoch FROM first_resolved_at - first_dispatched_at) END
               AS resolve_seconds,
           coalesce(given.ratings, (rating IS NOT NULL)::int) AS ratings_given,
           coalesce(given.satisfied, (rating = ANY(%(satisfied_ratings)s))::int) AS ratings_satisfied
      FROM report_tickets
      LEFT JOIN LATERAL (
           SELECT count(*) AS ratings,
                  count(*) FILTER (WHERE r.rating = ANY(%(satisfied_ratings)s)) AS satisfied
             FROM ratings r WHERE r.ticket_id = report_tickets.ticket_id
           HAVING count(*) > 0) given ON true
     WHERE received_at IS NOT NULL
       AND received_at >= coalesce(%(start)s::timestamptz, '-infinity')
       AND received_at < coalesce(%(end)s::timestamptz, 'infinity')
       AND (%(district)s::text IS NULL OR district = %(district)s::text)
"""

#: one row per group: the counts behind each figure, named as the fields of Tally
TALLY_SQL = """
    WITH window_tickets AS ({window_tickets})
    SELECT report_group,
           count(*) AS received,
           count(*) FILTER (WHERE dispatched) AS dispatched,
           count(*) FILTER (WHERE status = ANY(%(resolved_statuses)s)) AS resolved,
           count(*) FILTER (WHERE status = 'merged') AS merged,
           count(*) FILTER (WHERE status = 'rejected') AS rejected,
           count(*) FILTER (WHERE dispatched AND status = ANY(%(resolved_statuses)s))
               AS rectified,
           coalesce(sum(ratings_given), 0)::int AS rated,
           coalesce(sum(ratings_satisfied), 0)::int AS satisfied,
           count(*) FILTER (WHERE first_resolved_at IS NOT NULL AND lead_due_at IS NOT NULL)
               AS resolutions_due,
           count(*) FILTER (WHERE first_resolved_at < lead_due_at) AS on_time,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY transfer_seconds) AS transfer_p50,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY transfer_seconds) AS transfer_p95,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY resolve_seconds) AS resolve_p50,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY resolve_seconds) AS resolve_p95
      FROM window_tickets
  GROUP BY report_group
"""

#: one row per group and current status
STATUS_SQL = """
    WITH window_tickets AS ({window_tickets})
    SELECT report_group, status, count(*) AS tickets
      FROM window_tickets
  GROUP BY report_group, status
"""

SQL_PARAMETERS = {"resolved_statuses": list(RESOLVED_STATUSES),
                  "satisfied_ratings": list(SATISFIED_RATINGS)}


@dataclass(frozen=True)
class Tally:
    """The counts of one group of tickets, as TALLY_SQL and STATUS_SQL give them."""
    received: int = 0
    by_status: dict = field(default_factory=dict)
    dispatched: int = 0
    resolved: int = 0
    merged: int = 0
    rejected: int = 0
    rectified: int = 0
    rated: int = 0
    satisfied: int = 0
    resolutions_due: int = 0
    on_time: int = 0
    transfer_p50: float = None
    transfer_p95: float = None
    resolve_p50: float = None
    resolve_p95: float = None


def rate(part, whole):
    """``part / whole`` rounded to 4 places; None when ``whole`` is 0."""
    if not whole:
        return None
    return round(part / whole, RATE_PLACES)


def seconds(value):
    return None if value is None else round(float(value), SECONDS_PLACES)


def status_counts(counted):
    """Every status of §4 with its count (0 when none), then any other status seen."""
    return {**{status: 0 for status in STATUSES}, **counted}


def figures(tally=None):
    """The §9 figures of one tally (an empty group when None)."""
    tally = tally or Tally()
    return {
        "received": tally.received,
        "by_status": status_counts(tally.by_status),
        "dispatched": tally.dispatched,
        "resolved": tally.resolved,
        "resolution_rate": rate(tally.resolved, tally.received - tally.merged - tally.rejected),
        "rectification_rate": rate(tally.rectified, tally.dispatched),
        "satisfaction_rate": rate(tally.satisfied, tally.rated),
        "on_time_rate": rate(tally.on_time, tally.resolutions_due),
        "transfer_seconds": {"p50": seconds(tally.transfer_p50),
                             "p95": seconds(tally.transfer_p95)},
        "resolve_seconds": {"p50": seconds(tally.resolve_p50),
                            "p95": seconds(tally.resolve_p95)},
    }


def tally_of(row, by_status):
    """A Tally from one TALLY_SQL row and that group's status counts."""
    names = set(asdict(Tally()))
    return Tally(**{key: value for key, value in row.items() if key in names},
                 by_status=by_status)
