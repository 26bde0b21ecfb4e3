"""Unit tests of the report query: parsing from/to/district/format and the window."""
from datetime import date, datetime, timedelta, timezone

import pytest
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from services.common.errors import BadRequest
from services.reporting.domain import Window, report_window, timezone_of
from services.reporting.schemas import load_query

SHANGHAI = timezone(timedelta(hours=8))


def test_rfc3339_times_are_read_as_the_moments_they_name():
    query = load_query(MultiDict({"from": "2026-05-01T08:00:00+08:00",
                                  "to": "2026-05-02T00:00:00Z"}))
    assert query["start"] == datetime(2026, 5, 1, 8, tzinfo=SHANGHAI)
    assert query["end"] == datetime(2026, 5, 2, tzinfo=timezone.utc)


def test_a_bare_date_is_read_as_a_date():
    assert load_query(MultiDict({"from": "2026-05-01"}))["start"] == date(2026, 5, 1)


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "2026-05-01T08:00:00",
                                   "2026-05-01T25:00:00Z", "20260501", "2026-05-01T08:00Z"])
def test_bad_from_is_a_field_error(value):
    with pytest.raises(ValidationError) as raised:
        load_query(MultiDict({"from": value}))
    assert list(raised.value.messages) == ["from"]


def test_unknown_format_and_bad_district_are_field_errors():
    with pytest.raises(ValidationError) as raised:
        load_query(MultiDict({"format": "xml", "district": "Bai Yun"}))
    assert set(raised.value.messages) == {"format", "district"}


def test_a_parameter_given_twice_is_an_error():
    with pytest.raises(ValidationError) as raised:
        load_query(MultiDict([("district", "baiyun"), ("district", "tianhe")]))
    assert list(raised.value.messages) == ["district"]


def test_empty_parameters_count_as_absent_and_format_defaults_to_json():
    assert load_query(MultiDict({"district": "", "from": "", "to": ""})) == {"format": "json"}


def test_a_date_window_starts_at_midnight_in_the_district_timezone():
    window = report_window(date(2026, 5, 1), date(2026, 5, 2), "Asia/Shanghai")
    assert window.start == datetime(2026, 4, 30, 16, tzinfo=timezone.utc)
    assert window.end == datetime(2026, 5, 1, 16, tzinfo=timezone.utc)
    assert window.echo() == {"from": "2026-05-01T00:00:00+08:00",
                             "to": "2026-05-02T00:00:00+08:00"}


def test_an_open_window_has_no_bounds():
    assert report_window(None, None, "UTC") == Window(None, None)
    assert Window().echo() == {"from": None, "to": None}


def test_a_window_that_ends_before_it_starts_is_a_bad_request():
    with pytest.raises(BadRequest) as raised:
        report_window(date(2026, 5, 2), date(2026, 5, 1), "UTC")
    assert raised.value.errors == {"to": ["Must be after 'from'."]}


def test_timezone_comes_from_the_district_policy_then_the_directory():
    directory = {"policy": {"timezone": "Asia/Shanghai"},
                 "districts": {"far": {"policy": {"timezone": "Asia/Urumqi"}}}}
    assert timezone_of(directory, "far") == "Asia/Urumqi"
    assert timezone_of(directory, None) == "Asia/Shanghai"
    assert timezone_of(None, "far") == "Asia/Shanghai"
