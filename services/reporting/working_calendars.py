"""Each district's working days kept in reporting's schema (``working_calendars``,
``working_days``), so that the overdue list counts due times and lateness in SQL.

A district's row in ``working_days`` is one day: when it opens and closes (local
wall-clock times, as ``services.common.working_hours`` counts them; a day without
working hours opens and closes at midnight) and the microseconds worked from the
calendar's first day up to its opening and its closing. The working time up to a moment
is then its day's sum at opening and the part of the day's hours before it; the moment
a number of working hours run out, on the first working day whose sum at closing
reaches them. A district without a calendar counts round the clock, in UTC.

The days are made from the directory's policy when the overdue list first needs
them, and made again when the policy changes or a question reaches past the days
kept (``cover``); a year ahead and more than a year back are made at once, so that
this is rare. Two reports that make one district's days at once take turns.
"""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb

from services.common.working_hours import working_periods

#: days kept before and after the day a question is asked, when they are made
DAYS_BACK = 400
DAYS_AHEAD = 400
#: days kept before the earliest moment a question reached back to
MARGIN_DAYS = 31
MICROSECOND = timedelta(microseconds=1)
ROUND_THE_CLOCK = "UTC"


def policy_key(policy):
    """What a district's days are counted from: its calendar and the zone they are in."""
    calendar = policy.get("calendar") or None
    return {"calendar": calendar, "zone": policy["timezone"] if calendar else ROUND_THE_CLOCK}


def days(key, first, last):
    """The rows of ``working_days`` from ``first`` to ``last`` (dates, both included):
    ``(day, opens, closes, worked_before, worked_after)``, the sums in microseconds."""
    periods = None
    if key["calendar"]:
        periods = {opens.date(): (opens, closes)
                   for opens, closes in working_periods(key["calendar"], first, last)}
    worked = 0
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        midnight = datetime.combine(day, time.min)
        if periods is None:
            opens, closes = midnight, midnight + timedelta(days=1)
        else:
            opens, closes = periods.get(day, (midnight, midnight))
        length = (closes - opens) // MICROSECOND
        yield day, opens, closes, worked, worked + length
        worked += length


def local_day(moment, key):
    return moment.astimezone(ZoneInfo(key["zone"])).date()


def cover(conn, keys, as_of, earliest=None):
    """Make sure the kept days of each district of ``keys`` (``{district: policy_key}``)
    follow its policy and reach from ``earliest`` (``{district: moment}``, optional) to
    ``as_of``; make them again where they do not."""
    earliest = earliest or {}
    kept = _kept(conn, list(keys))
    for district, key in keys.items():
        needed = (local_day(earliest.get(district) or as_of, key), local_day(as_of, key))
        if _covers(kept.get(district), key, needed):
            continue
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('reporting.working_days'), hashtext(%s))",
                     (district,))
        known = _kept(conn, [district]).get(district)  # another report may have made them meanwhile
        if not _covers(known, key, needed):
            _make(conn, district, key, _span(known, key, needed))


def _kept(conn, districts):
    rows = conn.execute("SELECT district, policy, first_day, last_day FROM working_calendars"
                        " WHERE district = ANY(%s)", (districts,)).fetchall()
    return {row["district"]: row for row in rows}


def _covers(known, key, needed):
    return (known is not None and known["policy"] == key
            and known["first_day"] < needed[0] and needed[1] < known["last_day"])


def _span(known, key, needed):
    """The days to keep: those kept already under the same policy, and what is needed,
    with room on either side."""
    first = min(needed[0] - timedelta(days=MARGIN_DAYS), needed[1] - timedelta(days=DAYS_BACK))
    last = needed[1] + timedelta(days=DAYS_AHEAD)
    if known is not None and known["policy"] == key:
        first, last = min(first, known["first_day"]), max(last, known["last_day"])
    return first, last


def _make(conn, district, key, span):
    conn.execute("DELETE FROM working_days WHERE district = %s", (district,))
    with conn.cursor().copy("COPY working_days (district, day, opens, closes, worked_before, worked_after)"
                            " FROM STDIN") as copy:
        for row in days(key, *span):
            copy.write_row([district, *row])
    conn.execute(
        "INSERT INTO working_calendars (district, policy, zone, first_day, last_day)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (district) DO UPDATE SET policy = EXCLUDED.policy,"
        " zone = EXCLUDED.zone, first_day = EXCLUDED.first_day, last_day = EXCLUDED.last_day",
        (district, Jsonb(key), key["zone"], *span))
