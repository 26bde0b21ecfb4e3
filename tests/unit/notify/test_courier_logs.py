"""Unit tests of what the courier logs when a delivery or its record fails in a way
nobody planned for: which notification, and where it broke, never the error's text
(which may quote a contact). Fakes stand in for the channel and the database."""
import logging
import time
from datetime import datetime, timezone

from services.notify.concurrency import AdaptiveLimit
from services.notify.courier import Courier, Lane

ADDRESS = "chen@residents-5c2d.example"
ROW = {"id": 41, "channel": "email", "recipient": "reporter", "address": ADDRESS,
       "template": "concern.received.reporter", "locale": "zh-CN", "params": {"ticket_id": "T1"},
       "idempotency_key": "key-41", "attempts": 1, "ticket_id": "T1",
       "created_at": datetime.now(timezone.utc), "destination": "email"}


class BrokenChannel:
    name = "email"

    def send(self, outgoing):
        raise KeyError(f"no route for {outgoing.address}")


class BrokenPool:
    def connection(self):
        raise RuntimeError(f"could not store the attempt to {ADDRESS}")


def courier(settled=None):
    made = Courier()
    made.retry_seconds, made.max_attempts, made.ticket_link = 2.0, 10, None
    made.deadline_seconds, made.lease_seconds = 5.0, 20.0
    if settled is not None:
        made._settle = lambda row, outcome, **fields: settled.append((outcome, fields["detail"]))
    return made


def test_an_unexpected_error_parks_the_notification_and_logs_where_not_what(caplog):
    caplog.set_level(logging.DEBUG)
    settled = []
    courier(settled)._deliver(BrokenChannel(), {**ROW, "claimed_at": time.monotonic()}, None,
                              Lane(AdaptiveLimit(4, most=4)))
    assert settled == [("failed", "unexpected error: KeyError")]
    assert "notification 41 failed unexpectedly: KeyError at test_courier_logs.py" in caplog.text
    assert "residents-5c2d" not in caplog.text


def test_an_attempt_that_cannot_be_recorded_is_logged_without_the_errors_text(caplog):
    caplog.set_level(logging.DEBUG)
    stopped = courier()
    stopped.pool, stopped.running = BrokenPool(), False
    stopped._write_settlements([{"row": ROW, "id": 41, "attempt": 1, "outcome": "sent",
                                 "detail": None, "seconds": 0.1, "retry_in": None}])
    assert "could not record notification 41 (RuntimeError at test_courier_logs.py" in caplog.text
    assert "residents-5c2d" not in caplog.text
