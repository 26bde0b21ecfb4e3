"""Routing's deadline timer waits out an outage instead of failing every minute."""
import logging

from nameko.testing.services import worker_factory

from services.common.errors import Unavailable
from services.routing.service import RoutingService


def test_deadline_check_without_database_or_directory_is_a_warning_not_an_error(caplog):
    service = worker_factory(RoutingService)
    service.db.transaction.side_effect = Unavailable("No directory has been loaded yet.")
    with caplog.at_level(logging.WARNING):
        assert service.enforce_deadlines() is None
    assert "deadlines not checked: No directory has been loaded yet." in caplog.text
