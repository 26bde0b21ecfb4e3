"""Deadlines in working hours: the district policy's calendar (docs/reference.md#the-directory).

``add_working_hours`` counts hours only on working days, between the calendar's
opening and closing times, in the district's time zone. A working day is one of the
calendar's ``extra_workdays``, else not one of its ``holidays``, else, with
``official_holidays: CN``, what China's official calendar says (its holidays and its
make-up workdays, 调休, from ``chinese-calendar``, for the years it knows), else one of
its ``workdays``. Without a calendar the hours run round the clock. Routing counts
deadlines with it, reporting how late an overdue ticket is (``COUNTED_BY``); for many
deadlines or lateness at once (a whole district's overdue list), one ``WorkingClock``
answers each from day sums worked out once; ``working_periods`` lists a calendar's
working hours day by day, for a store to keep those sums (reporting's overdue list).
Pure functions; no I/O.

``chinese-calendar`` knows the years the State Council had published when it was
released; a later year silently counts weekdays only. ``unknown_official_years`` tells
which districts follow the official calendar into the current or the coming year
without anyone knowing its days: neither the library nor the district's own calendar,
where any day of a year among ``holidays`` or ``extra_workdays`` means the directory
gives that year's official days (deploy/README.md says how).
"""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

#: a calendar with no working day in ten years is a directory mistake, not a deadline
MAX_DAYS = 3660
#: the services that count deadlines in working hours: they say when a year is unknown
COUNTED_BY = ("routing", "reporting")


def add_working_hours(start, hours, calendar, timezone):
    """The moment ``hours`` working hours after ``start`` (an aware datetime)."""
    remaining = timedelta(hours=hours)
    if not calendar:
        return start + remaining
    zone = ZoneInfo(timezone)
    opens, closes = _office_hours(calendar["hours"])
    working = _working_days(calendar)
    cursor = start.astimezone(zone)
    for _ in range(MAX_DAYS):
        day = cursor.date()
        if working(day):
            begin = max(cursor, datetime.combine(day, opens, zone))
            end = datetime.combine(day, closes, zone)
            if begin < end:
                if remaining <= end - begin:
                    return (begin + remaining).astimezone(start.tzinfo)
                remaining -= end - begin
        cursor = datetime.combine(day + timedelta(days=1), time(0), zone)
    raise ValueError(f"no working hours in {MAX_DAYS} days: check the calendar")


def subtract_working_hours(end, hours, calendar, timezone):
    """The latest moment from which ``hours`` working hours have run out by ``end``: a
    wait that began at or before it has passed its deadline (``add_working_hours``)."""
    remaining = timedelta(hours=hours)
    if not calendar:
        return end - remaining
    zone = ZoneInfo(timezone)
    opens, closes = _office_hours(calendar["hours"])
    working = _working_days(calendar)
    cursor = end.astimezone(zone)
    day = cursor.date()
    for _ in range(MAX_DAYS):
        if working(day):
            begin = datetime.combine(day, opens, zone)
            stop = min(cursor, datetime.combine(day, closes, zone))
            if begin < stop:
                if remaining <= stop - begin:
                    return (stop - remaining).astimezone(end.tzinfo)
                remaining -= stop - begin
        day -= timedelta(days=1)
        cursor = datetime.combine(day, time.max, zone)
    raise ValueError(f"no working hours in {MAX_DAYS} days: check the calendar")


def working_hours_between(start, end, calendar, timezone):
    """The working hours from ``start`` to ``end`` (aware datetimes), as a float;
    0 when ``end`` is not after ``start``. For many questions, use one ``WorkingClock``."""
    return WorkingClock(calendar, timezone).hours_between(start, end)


class WorkingClock:
    """One calendar's working time, for many questions: each day's working seconds are
    worked out once and summed from a first day, so that the hours between any two
    moments cost two lookups, however many days lie between."""

    def __init__(self, calendar, timezone):
        self.calendar = calendar
        self.zone = ZoneInfo(timezone)
        if calendar:
            self.opens, self.closes = _office_hours(calendar["hours"])
            self.working = _working_days(calendar)
        self.first_day = None
        self.sums = []  # sums[i]: working seconds of the days before first_day + i

    def hours_between(self, start, end):
        if end <= start:
            return 0.0
        if not self.calendar:
            return (end - start).total_seconds() / 3600
        start, end = start.astimezone(self.zone), end.astimezone(self.zone)
        first, last = start.date(), end.date()
        if first == last:
            return self._worked(first, start, end) / 3600
        before_first = self._before(first)  # first: it may move the day the sums start at
        days_between = self._before(last) - before_first - self._day_seconds(first)
        return (self._worked(first, start, None) + days_between + self._worked(last, None, end)) / 3600

    def moment_after(self, start, hours):
        """The moment ``hours`` (above 0) working hours after ``start``: what
        ``add_working_hours`` answers, found from the same sums as ``hours_between``, so
        many deadlines cost little more than one."""
        if not self.calendar:
            return start + timedelta(hours=hours)
        local = start.astimezone(self.zone)
        day = local.date()
        target = self._before(day) + self._worked(day, None, local) + hours * 3600
        for _ in range(MAX_DAYS):
            if self._before(day) + self._day_seconds(day) >= target:
                opens = datetime.combine(day, self.opens, self.zone)
                return (opens + timedelta(seconds=target - self._before(day))).astimezone(start.tzinfo)
            day += timedelta(days=1)
        raise ValueError(f"no working hours in {MAX_DAYS} days: check the calendar")

    def _before(self, day):
        """Working seconds of the days from ``first_day`` up to ``day`` (not included)."""
        if self.first_day is None or day < self.first_day:
            self.first_day, self.sums = day - timedelta(days=366), [0]
        index = (day - self.first_day).days
        while len(self.sums) <= index:
            counted = self.first_day + timedelta(days=len(self.sums) - 1)
            self.sums.append(self.sums[-1] + self._day_seconds(counted))
        return self.sums[index]

    def _day_seconds(self, day):
        return self._worked(day, None, None)

    def _worked(self, day, start, end):
        """Working seconds of ``day`` between ``start`` and ``end`` (None: the whole day)."""
        if not self.working(day):
            return 0
        begin = datetime.combine(day, self.opens, self.zone)
        stop = datetime.combine(day, self.closes, self.zone)
        begin, stop = max(begin, start) if start else begin, min(stop, end) if end else stop
        return max((stop - begin).total_seconds(), 0)


def working_periods(calendar, first, last):
    """``(opens, closes)`` of each working day from ``first`` to ``last`` (dates, both
    included), as naive local times: the days, and the hours of them, that a
    ``WorkingClock`` of ``calendar`` counts."""
    opens, closes = _office_hours(calendar["hours"])
    working = _working_days(calendar)
    day = first
    while day <= last:
        if working(day) and opens < closes:
            yield datetime.combine(day, opens), datetime.combine(day, closes)
        day += timedelta(days=1)


def _working_days(calendar):
    """``is_working(day)`` for one calendar (see the module's docstring for the order)."""
    workdays = set(calendar["workdays"])
    holidays = {date.fromisoformat(day) for day in calendar.get("holidays") or []}
    extra = {date.fromisoformat(day) for day in calendar.get("extra_workdays") or []}
    official = calendar.get("official_holidays") == "CN"
    known = {}  # day → working: chinese-calendar checks a day's year against all it knows each time

    def is_working(day):
        working = known.get(day)
        if working is None:
            working = known[day] = _is_working(day)
        return working

    def _is_working(day):
        if day in extra:
            return True
        if day in holidays:
            return False
        if official:
            try:
                return chinese_calendar.is_workday(day)
            except NotImplementedError:  # a year the library has no data for yet
                pass
        return day.isoweekday() in workdays
    return is_working


def official_calendar_knows(year):
    """Whether chinese-calendar has China's official holidays and make-up workdays of ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def unknown_official_years(directory, today):
    """``{district: [years]}``: of ``today``'s year and the next, those whose official
    days nobody gives for a district whose calendar follows them (``official_holidays:
    CN``): chinese-calendar does not know the year and the district's calendar has none
    of its days among ``holidays`` or ``extra_workdays``. Districts that need nothing
    are left out."""
    unknown = {}
    for code, district in sorted(directory.get("districts", {}).items()):
        calendar = district.get("policy", {}).get("calendar")
        if not calendar or calendar.get("official_holidays") != "CN":
            continue
        given = {int(day[:4]) for day in [*(calendar.get("holidays") or []),
                                          *(calendar.get("extra_workdays") or [])]}
        years = [year for year in (today.year, today.year + 1)
                 if year not in given and not official_calendar_knows(year)]
        if years:
            unknown[code] = years
    return unknown


def _office_hours(text):
    opens, closes = text.split("-")
    return time.fromisoformat(opens), time.fromisoformat(closes)
