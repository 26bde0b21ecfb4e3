"""Working hours of a district calendar: deadlines (routing) and lateness (reporting)."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.working_hours import (
    WorkingClock,
    add_working_hours,
    official_calendar_knows,
    subtract_working_hours,
    unknown_official_years,
    working_hours_between,
    working_periods,
)
from services.routing.domain import due_at

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = {"workdays": [1, 2, 3, 4, 5], "hours": "09:00-18:00",
            "holidays": ["2026-10-01", "2026-10-02"]}


def local(*parts):
    return datetime(*parts, tzinfo=SHANGHAI)


def test_without_a_calendar_hours_run_round_the_clock():
    start = datetime(2026, 11, 20, 17, tzinfo=timezone.utc)
    assert add_working_hours(start, 72, None, "Asia/Shanghai") == start + timedelta(hours=72)


def test_hours_left_on_friday_evening_continue_on_monday_morning():
    friday_five = local(2026, 11, 20, 17)
    assert add_working_hours(friday_five, 2, CALENDAR, "Asia/Shanghai") == local(2026, 11, 23, 10)


def test_a_dispatch_at_night_starts_counting_when_the_office_opens():
    assert add_working_hours(local(2026, 11, 24, 22, 30), 1, CALENDAR, "Asia/Shanghai") == \
        local(2026, 11, 25, 10)


def test_holidays_are_skipped():
    sept_30_five = local(2026, 9, 30, 17)  # Wednesday; Oct 1 and 2 are holidays
    assert add_working_hours(sept_30_five, 3, CALENDAR, "Asia/Shanghai") == local(2026, 10, 5, 11)


def test_seventy_two_working_hours_are_eight_working_days():
    monday_nine = local(2026, 11, 23, 9)
    assert add_working_hours(monday_nine, 72, CALENDAR, "Asia/Shanghai") == local(2026, 12, 2, 18)


def test_the_answer_keeps_the_time_zone_it_was_given():
    start = datetime(2026, 11, 23, 1, tzinfo=timezone.utc)  # 09:00 in Shanghai
    assert add_working_hours(start, 1, CALENDAR, "Asia/Shanghai") == \
        datetime(2026, 11, 23, 2, tzinfo=timezone.utc)


def test_a_calendar_without_working_days_is_refused():
    never = {"workdays": [], "hours": "09:00-18:00", "holidays": []}
    with pytest.raises(ValueError):
        add_working_hours(local(2026, 1, 1, 9), 1, never, "Asia/Shanghai")


def test_dispatch_due_time_follows_the_district_policy():
    policy = {"calendar": CALENDAR, "timezone": "Asia/Shanghai"}
    assert due_at(local(2026, 11, 20, 17), 2, policy) == local(2026, 11, 23, 10)


moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                       timezones=st.just(SHANGHAI))


@given(moments, st.integers(min_value=0, max_value=200))
def test_a_deadline_falls_within_working_hours_and_never_before_the_start(start, hours):
    due = add_working_hours(start, hours, CALENDAR, "Asia/Shanghai").astimezone(SHANGHAI)
    assert due >= start
    if hours:
        assert due.isoweekday() <= 5 and due.date().isoformat() not in CALENDAR["holidays"]
        assert time(9) < due.time() <= time(18)


@given(moments, st.integers(min_value=0, max_value=100), st.integers(min_value=0, max_value=100))
def test_working_hours_add_up(start, first, second):
    both = add_working_hours(start, first + second, CALENDAR, "Asia/Shanghai")
    in_two_steps = add_working_hours(add_working_hours(start, first, CALENDAR, "Asia/Shanghai"),
                                     second, CALENDAR, "Asia/Shanghai")
    if first and second:
        assert both == in_two_steps


def test_the_cutoff_of_a_wait_is_its_hours_counted_back_in_working_time():
    monday_ten = local(2026, 11, 23, 10)
    assert subtract_working_hours(monday_ten, 2, CALENDAR, "Asia/Shanghai") == local(2026, 11, 20, 17)
    assert subtract_working_hours(local(2026, 11, 22, 12), 1, CALENDAR, "Asia/Shanghai") == \
        local(2026, 11, 20, 17), "on a Sunday, count back from Friday's closing"
    start = datetime(2026, 11, 20, 17, tzinfo=timezone.utc)
    assert subtract_working_hours(start, 8, None, "Asia/Shanghai") == start - timedelta(hours=8)


@given(end=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                        timezones=st.just(SHANGHAI)),
       hours=st.integers(min_value=1, max_value=200))
def test_a_wait_begun_at_its_cutoff_is_due_and_one_begun_later_is_not(end, hours):
    cutoff = subtract_working_hours(end, hours, CALENDAR, "Asia/Shanghai")
    assert add_working_hours(cutoff, hours, CALENDAR, "Asia/Shanghai") <= end
    assert add_working_hours(cutoff + timedelta(minutes=1), hours, CALENDAR, "Asia/Shanghai") > end


OFFICIAL = {"workdays": [1, 2, 3, 4, 5], "hours": "09:00-18:00", "holidays": [],
            "official_holidays": "CN"}


def test_a_make_up_sunday_counts_and_a_national_holiday_does_not():
    saturday_five = local(2026, 9, 19, 17)   # Sunday 20 September 2026 is a make-up workday
    assert add_working_hours(saturday_five, 2, OFFICIAL, "Asia/Shanghai") == local(2026, 9, 20, 11)
    assert add_working_hours(saturday_five, 2, CALENDAR, "Asia/Shanghai") == local(2026, 9, 21, 11)
    sept_30_five = local(2026, 9, 30, 17)     # 1-7 October are the national holiday
    assert add_working_hours(sept_30_five, 2, OFFICIAL, "Asia/Shanghai") == local(2026, 10, 8, 10)


def test_local_extra_workdays_and_holidays_win_and_unknown_years_fall_back_to_workdays():
    local_rules = {**OFFICIAL, "holidays": ["2026-09-20"], "extra_workdays": ["2026-09-19"]}
    friday_five = local(2026, 9, 18, 17)
    assert add_working_hours(friday_five, 2, local_rules, "Asia/Shanghai") == local(2026, 9, 19, 10)
    friday_2027 = local(2027, 1, 8, 17)      # a year the library has no data for
    assert add_working_hours(friday_2027, 2, OFFICIAL, "Asia/Shanghai") == local(2027, 1, 11, 10)


def test_lateness_over_a_weekend_with_a_make_up_sunday_counts_only_working_hours():
    friday_five, monday_ten = local(2026, 9, 18, 17), local(2026, 9, 21, 10)
    # Friday 17-18, Sunday 20 September (a make-up workday) 9-18, Monday 9-10
    assert working_hours_between(friday_five, monday_ten, OFFICIAL, "Asia/Shanghai") == 11
    assert working_hours_between(friday_five, monday_ten, CALENDAR, "Asia/Shanghai") == 2
    assert working_hours_between(friday_five, monday_ten, None, "Asia/Shanghai") == 65
    assert working_hours_between(monday_ten, friday_five, OFFICIAL, "Asia/Shanghai") == 0


@given(moments, st.integers(min_value=1, max_value=300))
def test_the_hours_between_a_start_and_its_deadline_are_the_hours_added(start, hours):
    due = add_working_hours(start, hours, CALENDAR, "Asia/Shanghai")
    assert working_hours_between(start, due, CALENDAR, "Asia/Shanghai") == pytest.approx(hours)


# no deadline: a case of eight pairs walks years of calendar days, and on a loaded machine
# that passed hypothesis's 200 ms; the test is about the answers, not their speed
@settings(deadline=None)
@given(st.lists(st.tuples(moments, moments), min_size=1, max_size=8))
def test_one_clock_answers_many_questions_as_fresh_clocks_do(pairs):
    clock = WorkingClock(OFFICIAL, "Asia/Shanghai")
    for start, end in pairs:  # in any order: earlier days than the clock has seen as well
        assert clock.hours_between(start, end) == pytest.approx(
            WorkingClock(OFFICIAL, "Asia/Shanghai").hours_between(start, end))
        assert clock.hours_between(start, end) == pytest.approx(
            naive_hours_between(start, end, OFFICIAL))


@settings(deadline=None)
@given(st.lists(st.tuples(moments, st.integers(min_value=1, max_value=300)), min_size=1, max_size=8),
       st.sampled_from(["official", "its own days", "round the clock"]))
def test_one_clock_finds_each_deadline_as_adding_working_hours_does(questions, kind):
    calendar = {"official": OFFICIAL, "its own days": CALENDAR, "round the clock": None}[kind]
    clock = WorkingClock(calendar, "Asia/Shanghai")
    for start, hours in questions:  # in any order, as an overdue list asks them
        found = clock.moment_after(start, hours)
        assert found == add_working_hours(start, hours, calendar, "Asia/Shanghai")
        assert found.tzinfo == start.tzinfo


def test_a_deadline_ending_at_closing_time_is_that_evening_not_the_next_morning():
    clock = WorkingClock(CALENDAR, "Asia/Shanghai")
    assert clock.moment_after(local(2026, 11, 20, 9), 9) == local(2026, 11, 20, 18)
    assert clock.moment_after(local(2026, 11, 20, 19), 1) == local(2026, 11, 23, 10), "Friday night to Monday"
    assert clock.moment_after(local(2026, 9, 30, 17), 2) == local(2026, 10, 5, 10), "over the holidays"


def naive_hours_between(start, end, calendar):
    """Day by day, the slow way."""
    total = 0.0
    day = start.astimezone(SHANGHAI).date()
    working = WorkingClock(calendar, "Asia/Shanghai").working
    while day <= end.astimezone(SHANGHAI).date():
        if working(day):
            begin = max(start, datetime.combine(day, time(9), SHANGHAI))
            stop = min(end, datetime.combine(day, time(18), SHANGHAI))
            total += max((stop - begin).total_seconds(), 0) / 3600
        day += timedelta(days=1)
    return total


OFFICIAL = {**CALENDAR, "holidays": [], "official_holidays": "CN"}


def districts(**calendars):
    """A directory whose districts have these calendars (None: round the clock)."""
    return {"districts": {code: {"code": code, "policy": {"timezone": "Asia/Shanghai", "calendar": calendar}}
                          for code, calendar in calendars.items()}}


def test_the_official_calendar_is_known_up_to_2026():
    assert official_calendar_knows(2026) and official_calendar_knows(2004)
    assert not official_calendar_knows(2027)


def test_in_december_2026_the_coming_year_is_unknown_for_every_district_following_it():
    directory = districts(baiyun=OFFICIAL, tianhe=OFFICIAL, conghua=CALENDAR, yuexiu=None)
    assert unknown_official_years(directory, date(2026, 12, 5)) == {"baiyun": [2027], "tianhe": [2027]}


def test_in_2027_this_year_and_the_next_are_unknown():
    assert unknown_official_years(districts(baiyun=OFFICIAL), date(2027, 1, 1)) == {"baiyun": [2027, 2028]}


def test_years_the_library_knows_need_nothing():
    assert unknown_official_years(districts(baiyun=OFFICIAL), date(2025, 12, 31)) == {}


def test_a_district_giving_a_years_official_days_itself_knows_that_year():
    given = {**OFFICIAL, "holidays": ["2027-01-01"], "extra_workdays": ["2028-01-02"]}
    only_workdays = {**OFFICIAL, "extra_workdays": ["2027-02-07"]}
    directory = districts(baiyun=given, tianhe=only_workdays, conghua=OFFICIAL)
    assert unknown_official_years(directory, date(2027, 3, 1)) == {"conghua": [2027, 2028], "tianhe": [2028]}


def test_deadlines_in_a_year_the_library_does_not_know_use_the_directorys_days():
    calendar = {**OFFICIAL, "holidays": ["2027-02-05", "2027-02-08"], "extra_workdays": ["2027-02-06"]}
    # Friday 5 February 2027 a holiday, Saturday 6 a make-up workday, Monday 8 a holiday
    assert add_working_hours(local(2027, 2, 4, 17), 2, calendar, "Asia/Shanghai") == local(2027, 2, 6, 10)
    assert add_working_hours(local(2027, 2, 6, 17), 2, calendar, "Asia/Shanghai") == local(2027, 2, 9, 10)


def test_working_periods_are_the_days_and_hours_a_clock_counts():
    periods = list(working_periods(CALENDAR, date(2026, 9, 30), date(2026, 10, 5)))
    assert periods == [(datetime(2026, 9, 30, 9), datetime(2026, 9, 30, 18)),
                       (datetime(2026, 10, 5, 9), datetime(2026, 10, 5, 18))], \
        "the holidays and the weekend left out, local times without a zone"
