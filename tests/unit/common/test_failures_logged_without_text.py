"""Unit tests of how failures are told in the logs of paths that handle personal data:
the outbox relay's loop and the shared helper (``services.common.tracebacks``). The
error's kind and frames are logged, never its text, which may quote a contact. A fake
pool stands in for the database."""
import logging

from services.common.outbox_relay import OutboxRelay
from services.common.tracebacks import raised_where, traceback_without_text

PHONE = "+8613912345678"


class BrokenPool:
    def connection(self):
        raise RuntimeError(f'duplicate key: Key (phone)=({PHONE}) already exists')


class Publisher:
    def __init__(self, relay):
        self.relay = relay

    def close(self):
        self.relay.running = False  # one failed round is enough


def test_a_failed_relay_round_is_logged_by_kind_and_frames_never_by_its_text(caplog):
    caplog.set_level(logging.DEBUG)
    relay = OutboxRelay("notify")
    relay.pool, relay.publisher, relay.poll_seconds = BrokenPool(), Publisher(relay), 0.01
    relay.running = True
    relay._run()
    (failure,) = [record for record in caplog.records if "failed; retrying" in record.message]
    assert PHONE not in caplog.text and failure.exc_info is None
    assert failure.message.startswith("OutboxRelay failed; retrying\n")
    assert "loops.py" in failure.message and " in _listen\n" in failure.message
    assert f"test_failures_logged_without_text.py:{BrokenPool.connection.__code__.co_firstlineno + 1}" \
           " in connection\nRuntimeError (its text withheld)" in failure.message


def failing():
    try:
        raise KeyError(PHONE)
    except KeyError as lookup:
        raise ValueError(f"no reporter {PHONE}") from lookup


def test_a_chain_of_errors_is_told_by_kinds_and_frames_innermost_last():
    try:
        failing()
    except ValueError as error:
        told, where = traceback_without_text(error), raised_where(error)
    assert PHONE not in told and PHONE not in where
    line = failing.__code__.co_firstlineno
    assert where == f"ValueError at test_failures_logged_without_text.py:{line + 4} in failing"
    assert told.splitlines()[1:] == [
        "KeyError (its text withheld)", "which was the direct cause of:",
        told.splitlines()[3], f"  {__file__}:{line + 4} in failing", "ValueError (its text withheld)"]
    assert told.splitlines()[0] == f"  {__file__}:{line + 2} in failing"
