"""nameko's container logs what an entrypoint raises: a client's error (4xx) becomes one
INFO line without traceback, anything answered 5xx keeps its ERROR, told by its kind and
frames without its text."""
import logging
import sys

import pytest
from marshmallow import ValidationError

from services.common.errors import BadRequest, Problem, Unauthorized, Unavailable
from services.common.http import ClientErrorsAsInfo


class Worker:
    service_name = "intake"

    class entrypoint:  # noqa: N801  (shaped like nameko's WorkerContext)
        method_name = "get_concern"


def logged(exc, level=logging.INFO):
    logger = logging.getLogger("tests.containers")
    logger.setLevel(level)
    try:
        raise exc
    except Exception:
        record = logger.makeRecord(logger.name, logging.ERROR, __file__, 1,
                                   "error handling worker %s: %s", (Worker(), exc), sys.exc_info())
    kept = ClientErrorsAsInfo().filter(record)
    return kept, record


@pytest.mark.parametrize("exc, line", [
    (Unauthorized("The API key is unknown."), "intake.get_concern answered 401 Missing or invalid API key"),
    (BadRequest("x\ny"), "intake.get_concern answered 400 Invalid request"),
    (ValidationError({"to": ["Bad."]}), "intake.get_concern answered 400 Invalid request"),
])
def test_a_client_error_is_one_info_line(exc, line):
    kept, record = logged(exc)
    assert kept and record.levelno == logging.INFO and record.levelname == "INFO"
    assert record.getMessage() == line and record.exc_info is None


@pytest.mark.parametrize("exc", [RuntimeError("boom +8613912345678"), Problem("broken"),
                                 Unavailable("down")])
def test_a_server_error_keeps_its_error_told_by_kind_and_frames_without_its_text(exc):
    kept, record = logged(exc)
    assert kept and record.levelno == logging.ERROR and record.exc_info is None
    message = record.getMessage()
    assert message.startswith("intake.get_concern failed:")
    assert f"{type(exc).__name__} (its text withheld)" in message
    assert "in logged" in message  # the frame that raised it
    assert str(exc) not in message


def test_a_client_error_is_not_logged_when_info_is_not():
    kept, _ = logged(Unauthorized(), level=logging.WARNING)
    assert not kept
