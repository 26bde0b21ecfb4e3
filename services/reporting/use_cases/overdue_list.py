"""The overdue list (``GET /api/v1/reports/overdue``): the districts' working days kept
up to date, then one query that finds every overdue ticket, its due time and how late
it is (``store.overdue_tickets``), read into the report's entries (``overdue``)."""
from services.reporting import overdue, store, working_calendars


def overdue_list(conn, directory, district, department, as_of):
    """The report's entries of the tickets of ``district`` (None: all), held by
    ``department`` (None: anyone), overdue at ``as_of``, latest first."""
    keys = overdue.calendars(directory, district)
    working_calendars.cover(conn, keys, as_of)
    waits = overdue.waits(directory, district)
    rows = store.overdue_tickets(conn, district, department, as_of, waits)
    earliest = overdue.earliest_uncounted(rows)
    if earliest:  # a ticket held since before the days kept: keep more, and count again
        working_calendars.cover(conn, keys, as_of, earliest)
        rows = store.overdue_tickets(conn, district, department, as_of, waits)
    return overdue.entries(rows, directory, as_of)
