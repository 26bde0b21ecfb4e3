"""Unit tests of services.reporting.figures: how counts become the §9 figures."""
from services.reporting.figures import STATUSES, Tally, figures, rate, seconds, tally_of


def test_rate_is_rounded_to_four_places():
    assert rate(1, 3) == 0.3333
    assert rate(2, 3) == 0.6667
    assert rate(3, 3) == 1.0


def test_rate_is_null_when_nothing_to_divide_by():
    assert rate(0, 0) is None
    assert rate(5, 0) is None


def test_rate_of_nothing_over_something_is_zero():
    assert rate(0, 4) == 0.0


def test_seconds_are_rounded_and_null_stays_null():
    assert seconds(None) is None
    assert seconds(2700) == 2700.0
    assert seconds(1.23456) == 1.235


def test_empty_report_has_every_status_at_zero_and_null_rates():
    report = figures()
    assert report["received"] == 0
    assert report["by_status"] == {status: 0 for status in STATUSES}
    assert [report[name] for name in ("resolution_rate", "rectification_rate",
                                      "satisfaction_rate", "on_time_rate")] == [None] * 4
    assert report["transfer_seconds"] == {"p50": None, "p95": None}
    assert report["resolve_seconds"] == {"p50": None, "p95": None}


def test_resolution_rate_leaves_merged_and_rejected_tickets_out():
    report = figures(Tally(received=7, resolved=3, merged=1, rejected=1))
    assert report["resolution_rate"] == 0.6


def test_resolution_rate_is_null_when_every_ticket_was_merged_or_rejected():
    assert figures(Tally(received=2, merged=1, rejected=1))["resolution_rate"] is None


def test_rectification_satisfaction_and_on_time_rates_use_their_own_denominators():
    report = figures(Tally(received=10, dispatched=4, rectified=2, rated=4, satisfied=3,
                           resolutions_due=3, on_time=1))
    assert report["rectification_rate"] == 0.5
    assert report["satisfaction_rate"] == 0.75
    assert report["on_time_rate"] == 0.3333


def test_statuses_outside_the_lifecycle_are_kept_after_the_known_ones():
    report = figures(Tally(received=3, by_status={"closed": 2, "undecided": 1}))
    assert list(report["by_status"])[:len(STATUSES)] == list(STATUSES)
    assert report["by_status"]["closed"] == 2
    assert report["by_status"]["undecided"] == 1


def test_tally_of_a_row_ignores_columns_that_are_not_counts():
    tally = tally_of({"report_group": "baiyun", "received": 2, "transfer_p50": 60.0},
                     {"received": 2})
    assert tally == Tally(received=2, transfer_p50=60.0, by_status={"received": 2})
