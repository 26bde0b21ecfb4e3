"""The overdue list's rules around the database's count: what it is asked (each
district's calendar and waits), what its rows read as, and the days kept for a calendar
(``working_calendars.days``), summed as a ``WorkingClock`` counts them."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from services.common.working_hours import WorkingClock
from services.reporting import overdue, working_calendars

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = {"workdays": [1, 2, 3, 4, 5], "hours": "09:00-18:00", "holidays": ["2026-10-01"]}
DIRECTORY = {
    "districts": {
        "baiyun": {"policy": {"timezone": "Asia/Shanghai", "calendar": CALENDAR,
                              "representative_hours": 24, "congress_hours": 0.5},
                   "office": {"name": "Office"}},
        "tianhe": {"policy": {"timezone": "Asia/Shanghai", "representative_hours": 2,
                              "congress_hours": 8}},
    },
    "representatives": {"rep-liu": {"name": "Liu"}},
    "departments": {"water": {"name": "Water"}},
}
AS_OF = datetime(2026, 10, 9, 3, tzinfo=timezone.utc)


def test_each_district_is_asked_its_calendar_and_its_waits_in_microseconds():
    assert overdue.calendars(DIRECTORY, None) == {
        "baiyun": {"calendar": CALENDAR, "zone": "Asia/Shanghai"},
        "tianhe": {"calendar": None, "zone": "UTC"}}
    assert overdue.waits(DIRECTORY, "baiyun") == {"baiyun": (24 * 3_600_000_000, 1_800_000_000)}


def test_a_row_reads_as_the_reports_entry():
    due = AS_OF - timedelta(hours=5)
    row = {"ticket_id": "T-1", "district": "baiyun", "community": "c", "category": "drainage",
           "title": "t", "status": "dispatched", "representative": "rep-liu",
           "active_department": "water", "escalations": [], "held_since": due - timedelta(hours=72),
           "due_at": due, "late_worked": 4_500_000_000}
    entry = overdue.entry(row, DIRECTORY, AS_OF)
    assert entry["holder"] == {"kind": "department", "id": "water", "name": "Water"}
    assert (entry["overdue_working_hours"], entry["overdue_hours"]) == (1.25, 5.0)
    assert entry["due_at"] == due.isoformat()


def test_only_rows_counted_from_before_the_kept_days_ask_for_more():
    early, later = AS_OF - timedelta(days=900), AS_OF - timedelta(days=800)
    rows = [{"district": "baiyun", "before_kept_days": True, "counted_from": later},
            {"district": "baiyun", "before_kept_days": True, "counted_from": early},
            {"district": "tianhe", "before_kept_days": False, "counted_from": early}]
    assert overdue.earliest_uncounted(rows) == {"baiyun": early}
    assert overdue.earliest_uncounted(rows[2:]) == {}


def test_the_kept_days_sum_what_a_working_clock_counts():
    key = working_calendars.policy_key(DIRECTORY["districts"]["baiyun"]["policy"])
    first = date(2026, 9, 1)
    days = list(working_calendars.days(key, first, date(2026, 10, 31)))
    assert len(days) == 61
    clock = WorkingClock(CALENDAR, "Asia/Shanghai")
    start = datetime.combine(first, datetime.min.time(), SHANGHAI)
    for day, opens, closes, before, after in days:
        assert before == round(clock.hours_between(start, datetime.combine(day, opens.time(), SHANGHAI))
                               * 3_600_000_000)
        assert after - before == (closes - opens) // timedelta(microseconds=1)
    holiday = next(row for row in days if row[0] == date(2026, 10, 1))
    assert holiday[1] == holiday[2] == datetime(2026, 10, 1), "a day off opens and closes at midnight"


def test_without_a_calendar_every_day_counts_round_the_clock_in_utc():
    key = working_calendars.policy_key(DIRECTORY["districts"]["tianhe"]["policy"])
    days = list(working_calendars.days(key, date(2026, 3, 28), date(2026, 3, 30)))
    assert [after - before for _, _, _, before, after in days] == [86_400_000_000] * 3
    assert days[-1][3] == 2 * 86_400_000_000
