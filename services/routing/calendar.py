"""Deadlines in working hours: the district policy's calendar (contract §3).

``add_working_hours`` counts hours only on the calendar's workdays, between its
opening and closing times, skipping holidays, in the district's time zone. Without a
calendar the hours run round the clock. Pure functions; no I/O.
"""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: a calendar with no working day in ten years is a directory mistake, not a deadline
MAX_DAYS = 3660


def add_working_hours(start, hours, calendar, timezone):
    """The moment ``hours`` working hours after ``start`` (an aware datetime)."""
    remaining = timedelta(hours=hours)
    if not calendar:
        return start + remaining
    zone = ZoneInfo(timezone)
    opens, closes = _office_hours(calendar["hours"])
    workdays = set(calendar["workdays"])
    holidays = {date.fromisoformat(day) for day in calendar.get("holidays") or []}
    cursor = start.astimezone(zone)
    for _ in range(MAX_DAYS):
        day = cursor.date()
        if day.isoweekday() in workdays and day not in holidays:
            begin = max(cursor, datetime.combine(day, opens, zone))
            end = datetime.combine(day, closes, zone)
            if begin < end:
                if remaining <= end - begin:
                    return (begin + remaining).astimezone(start.tzinfo)
                remaining -= end - begin
        cursor = datetime.combine(day + timedelta(days=1), time(0), zone)
    raise ValueError(f"no working hours in {MAX_DAYS} days: check the calendar")


def _office_hours(text):
    opens, closes = text.split("-")
    return time.fromisoformat(opens), time.fromisoformat(closes)
