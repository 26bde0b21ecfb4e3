"""Routing's timers: the deadline check waits out an outage instead of failing every
minute and logs a ticket it could not act on without the error's text; the personal data
expiry check says when it last finished (the alert on a stopped check reads it)."""
import contextlib
import logging
import time

from nameko.testing.services import worker_factory
from prometheus_client import REGISTRY

from services.common import metrics
from services.common.errors import Unavailable
from services.routing.service import RoutingService
from services.routing.use_cases import deadlines, retention


def test_deadline_check_without_database_or_directory_is_a_warning_not_an_error(caplog):
    service = worker_factory(RoutingService)
    service.db.transaction.side_effect = Unavailable("No directory has been loaded yet.")
    with caplog.at_level(logging.WARNING):
        assert service.enforce_deadlines() is None
    assert "deadlines not checked: No directory has been loaded yet." in caplog.text


class Transactions:
    """A connection whose transactions do nothing: the deadline loop's own bookkeeping."""

    def transaction(self):
        return contextlib.nullcontext()


def test_a_deadline_that_fails_is_logged_by_kind_and_place_never_by_its_text(caplog):
    def act(row):
        raise ValueError(f"Key (phone)=({row['phone']}) already exists")

    rows = [{"ticket_id": "ZD20260302-AAAA0001", "phone": "+8613912345678"}]
    with caplog.at_level(logging.ERROR):
        assert deadlines._each(Transactions(), rows, act) == 0
    assert "could not act on the deadline of ticket ZD20260302-AAAA0001" in caplog.text
    assert "ValueError (its text withheld)" in caplog.text
    assert "+8613912345678" not in caplog.text


def expiry_checked():
    return REGISTRY.get_sample_value("zd_personal_data_expiry_last_success_timestamp_seconds")


def test_a_finished_personal_data_expiry_check_says_when_and_an_unfinished_one_does_not(
        monkeypatch):
    service = worker_factory(RoutingService)
    metrics.PERSONAL_DATA_EXPIRY_CHECKED.set(0)
    monkeypatch.setattr(retention, "expire_all", lambda db, now, directory_of: None)
    before = time.time()
    service.expire_personal_data()
    assert before <= expiry_checked() <= time.time()

    metrics.PERSONAL_DATA_EXPIRY_CHECKED.set(0)

    def without_directory(db, now, directory_of):
        raise Unavailable("No directory has been loaded yet.")
    monkeypatch.setattr(retention, "expire_all", without_directory)
    service.expire_personal_data()
    assert expiry_checked() == 0  # the alert counts from the last check that finished
