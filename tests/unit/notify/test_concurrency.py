"""Deliveries at once per destination: a window of quick successes adds one, up to the
most; a failure to retry halves it, once per burst; a refusal or a slow answer changes
nothing."""
from services.notify.concurrency import QUICK_SECONDS, AdaptiveLimit


def test_a_window_of_quick_deliveries_adds_one_up_to_the_most():
    limit = AdaptiveLimit(4, most=6)
    for _ in range(3):
        limit.delivered(0.01)
    assert limit.limit == 4
    limit.delivered(0.01)
    assert limit.limit == 5
    for _ in range(100):
        limit.delivered(0.01)
    assert limit.limit == 6


def test_a_slow_answer_starts_the_window_again():
    limit = AdaptiveLimit(2, most=8)
    limit.delivered(0.01)
    limit.delivered(QUICK_SECONDS)
    limit.delivered(0.01)
    assert limit.limit == 2


def test_a_failure_to_retry_halves_the_limit_once_per_burst():
    limit = AdaptiveLimit(16, most=32)
    started = limit.generation
    for _ in range(8):  # eight deliveries under way when the destination failed
        limit.overloaded(started)
    assert limit.limit == 8
    limit.overloaded(limit.generation)  # one started after the halving
    assert limit.limit == 4


def test_the_limit_never_falls_below_one():
    limit = AdaptiveLimit(1, most=4)
    limit.overloaded(limit.generation)
    assert limit.limit == 1


def test_a_refusal_changes_nothing():
    limit = AdaptiveLimit(4, most=8)
    limit.refused()
    assert limit.limit == 4


def test_the_start_is_bounded_by_the_most():
    assert AdaptiveLimit(10, most=3).limit == 3
