"""The in-process limit on requests without a valid key, per client address."""
import pytest

from services.common.credentials import FailedKeyGate
from services.common.errors import TooManyRequests


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_an_address_is_refused_once_its_failures_are_used_up_until_one_refills():
    clock = Clock()
    gate = FailedKeyGate(per_minute=6, clock=clock)  # one failure back every 10 s
    for _ in range(6):
        gate.check("198.51.100.7")
        gate.failed("198.51.100.7")
    with pytest.raises(TooManyRequests) as refused:
        gate.check("198.51.100.7")
    assert refused.value.extra["retry_after"] == pytest.approx(10)
    gate.check("203.0.113.9")  # another address is not concerned
    clock.now += 10
    gate.check("198.51.100.7")


def test_a_key_that_succeeded_here_passes_a_refused_address():
    clock = Clock()
    gate = FailedKeyGate(per_minute=1, clock=clock)
    gate.succeeded("zd_0123456789ab.right")
    gate.failed("192.0.2.1")
    with pytest.raises(TooManyRequests):
        gate.check("192.0.2.1", "zd_ffffffffffff.other")
    gate.check("192.0.2.1", "zd_0123456789ab.right")
    clock.now += FailedKeyGate.TRUST_SECONDS
    gate.failed("192.0.2.1")
    with pytest.raises(TooManyRequests):
        gate.check("192.0.2.1", "zd_0123456789ab.right")


def test_guessing_the_secret_of_a_key_id_that_succeeded_is_limited_like_any_failure():
    gate = FailedKeyGate(per_minute=1, clock=Clock())
    gate.succeeded("zd_0123456789ab.right")
    gate.failed("192.0.2.1")
    with pytest.raises(TooManyRequests):
        gate.check("192.0.2.1", "zd_0123456789ab.guess")


def test_the_gate_remembers_a_bounded_number_of_addresses(monkeypatch):
    monkeypatch.setattr(FailedKeyGate, "MAX_ENTRIES", 3)
    gate = FailedKeyGate(per_minute=1, clock=Clock())
    for n in range(5):
        gate.failed(f"192.0.2.{n}")
    assert list(gate.buckets) == ["192.0.2.2", "192.0.2.3", "192.0.2.4"]


@pytest.mark.parametrize("per_minute", [0, -1, float("nan")])
def test_a_limit_that_allows_no_failure_at_all_is_refused_at_start(per_minute):
    with pytest.raises(ValueError, match="ZD_AUTH_FAILURES_PER_MINUTE"):
        FailedKeyGate(per_minute)
