"""A service's log lines (``log_format``) and what they are about (``log_context``): one
JSON object per line, the ticket and message bound where the work started, secrets
redacted, nothing but the known fields written."""
import io
import json
import logging
from types import SimpleNamespace

import eventlet
import pytest

from services.common import log_context as context
from services.common.log_context import LogContext, bind, log_context
from services.common.log_format import JsonLines, TextLines, configure, formatter, log_format
from services.common.log_redaction import REDACTED, RedactingFilter

KEY = "zd_0123456789ab.Xy_z-SECRET0123456789abcdefghijklmnop"
FIELDS = {"timestamp", "level", "service", "logger", "message"}


@pytest.fixture
def written():
    """A logger writing JSON lines of the service ``intake`` through the redacting filter,
    as ``configure`` sets a process up; ``lines()`` parses what it wrote."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines("intake"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.log_format")
    logger.propagate, logger.level = False, logging.DEBUG
    logger.addHandler(handler)

    def lines():
        text = stream.getvalue()
        assert text.endswith("\n")
        return [json.loads(line) for line in text.splitlines()]  # each line one object
    yield SimpleNamespace(log=logger, lines=lines, stream=stream)
    logger.removeHandler(handler)


def test_each_line_is_one_json_object_naming_the_service_level_logger_and_time(written):
    written.log.info("ticket %s dispatched\nto %s", "ZD-1", "baiyun-water")
    written.log.debug("second")
    first, second = written.lines()
    assert set(first) == FIELDS
    assert first["service"] == "intake"
    assert first["level"] == "INFO" and second["level"] == "DEBUG"
    assert first["logger"] == "tests.log_format"
    assert first["message"] == "ticket ZD-1 dispatched\nto baiyun-water"
    assert first["timestamp"].endswith("+00:00") and first["timestamp"][10] == "T"


def test_the_ticket_and_message_bound_name_every_line_inside_and_none_after(written):
    with log_context(ticket_id="ZD-20261206-0001", message_id="m-1"):
        written.log.info("applying")
        with log_context(message_id="m-2", notification_id=7):
            written.log.info("inner")
        bind(notification_id=9)
        written.log.warning("after inner")
    written.log.info("outside")
    applying, inner, after, outside = written.lines()
    assert (applying["ticket_id"], applying["message_id"]) == ("ZD-20261206-0001", "m-1")
    assert "notification_id" not in applying
    assert (inner["ticket_id"], inner["message_id"], inner["notification_id"]) == (
        "ZD-20261206-0001", "m-2", "7")
    assert (after["message_id"], after["notification_id"]) == ("m-1", "9")
    assert set(outside) == FIELDS
    assert context.bound() == {}


def test_a_ticket_bound_outside_of_any_context_names_no_later_line(written):
    """A use case called with no context open (a test's, a script's) binds nothing that
    would name every line its green thread logs afterwards."""
    bind(ticket_id="ZD20261206-0000AB01")
    written.log.info("afterwards")
    (afterwards,) = written.lines()
    assert "ticket_id" not in afterwards
    assert context.bound() == {}


def test_an_empty_id_is_left_out_and_an_unknown_field_refused(written):
    with log_context(ticket_id="", message_id=None):
        written.log.info("nothing known")
    assert set(written.lines()[0]) == FIELDS
    with pytest.raises(TypeError):
        with log_context(phone="+8613912345678"):
            pass


def test_an_exception_is_a_field_with_its_type_and_frames_and_no_local_values(written):
    def fail():
        held = "local-value-4411"  # noqa: F841  (a local variable's value: never in a line)
        raise KeyError("ZD-1")

    with log_context(ticket_id="ZD-1"):
        try:
            fail()
        except KeyError:
            written.log.exception("dispatching failed")
    [line] = written.lines()
    assert line["message"] == "dispatching failed" and line["ticket_id"] == "ZD-1"
    assert line["exception"]["type"] == "KeyError"
    assert "in fail" in line["exception"]["traceback"]
    assert "local-value-4411" not in written.stream.getvalue()


def test_a_secret_is_redacted_in_the_message_the_traceback_and_the_ids(written):
    try:
        raise ConnectionError("could not reach amqp://user:topsecret@broker:5672/")
    except ConnectionError:
        with log_context(message_id=f"sent with {KEY}"):
            written.log.exception('"GET /open311/v2/requests.json?api_key=%s HTTP/1.1" 200', KEY)
    [line] = written.lines()
    text = written.stream.getvalue()
    assert "SECRET" not in text and "topsecret" not in text
    assert line["message"] == f'"GET /open311/v2/requests.json?api_key={REDACTED} HTTP/1.1" 200'
    assert f"amqp://user:{REDACTED}@broker:5672/" in line["exception"]["traceback"]
    assert line["message_id"] == f"sent with zd_0123456789ab.{REDACTED}"


def test_the_formatter_redacts_without_the_filter_too():
    record = logging.LogRecord("nameko.web.server", logging.INFO, __file__, 1,
                               "GET /x?password=%s&a=1", ("hunter2",), None)
    line = json.loads(JsonLines("routing").format(record))
    assert line["message"] == f"GET /x?password={REDACTED}&a=1"
    assert "hunter2" not in TextLines("routing").format(record)


def test_a_records_own_attributes_are_never_written(written):
    written.log.info("contact recorded", extra={"phone": "+8613912345678", "reporter": "陈小明"})
    [line] = written.lines()
    assert set(line) == FIELDS
    assert "13912345678" not in written.stream.getvalue()


def test_text_in_chinese_is_written_as_it_is_so_a_search_finds_it(written):
    written.log.info("类别 排水")
    assert "类别 排水" in written.stream.getvalue()


def test_a_source_adds_its_fields_to_every_line_and_a_failing_one_loses_no_line(written):
    def trace():
        return {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": ""}

    def broken():
        raise RuntimeError("no span")

    context.add_source(trace)
    context.add_source(broken)
    try:
        with log_context(ticket_id="ZD-1"):
            written.log.info("traced")
    finally:
        context.remove_source(trace)
        context.remove_source(broken)
    written.log.info("untraced")
    traced, untraced = written.lines()
    assert traced["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736" and "span_id" not in traced
    assert traced["ticket_id"] == "ZD-1"
    assert "trace_id" not in untraced


def test_each_green_thread_names_its_own_ticket(written):
    def work(ticket_id):
        with log_context(ticket_id=ticket_id):
            for step in range(3):
                written.log.info("step %s", step)
                eventlet.sleep(0)  # the other thread logs in between

    threads = [eventlet.spawn(work, ticket_id) for ticket_id in ("ZD-A", "ZD-B")]
    for thread in threads:
        thread.wait()
    lines = written.lines()
    assert [line["ticket_id"] for line in lines] == ["ZD-A", "ZD-B"] * 3


class Worker:
    """What ``LogContext`` reads of a nameko worker context: the entrypoint's arguments."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs


def test_a_worker_is_about_the_ticket_its_path_names_until_it_is_torn_down():
    provider = LogContext()
    worker = Worker(ticket_id="ZD20261206-0A1B2C3D")
    provider.worker_setup(worker)
    assert context.bound() == {"ticket_id": "ZD20261206-0A1B2C3D"}
    bind(message_id="m-9")
    provider.worker_teardown(worker)
    assert context.bound() == {}
    other = Worker()
    provider.worker_setup(other)
    assert context.bound() == {}
    provider.worker_teardown(other)


def test_open311s_request_id_names_its_ticket():
    provider = LogContext()
    worker = Worker(request_id="ZD20261206-F6132464", fmt="json")
    provider.worker_setup(worker)
    assert context.bound() == {"ticket_id": "ZD20261206-F6132464"}
    provider.worker_teardown(worker)
    assert context.bound() == {}


@pytest.mark.parametrize("value", [
    "ZD-20261206-0002", "zd20261206-0a1b2c3d", "ZD20261206-0A1B2C3D ", "ZD20261206-0A1B2C3D\n",
    "<script>alert(1)</script>", "13812345678", "x" * 300, "Xy_z-SECRET0123456789abcd", 7])
def test_a_path_value_without_a_ticket_ids_shape_is_not_bound(value):
    """A path's value is the client's: a 404 for a made-up id logs no ticket_id, so a line
    never carries what anyone put in a URL (a phone number, a page token, a script)."""
    assert context.ticket_id_in_path({"ticket_id": value}) is None
    assert context.ticket_id_in_path({"request_id": value}) is None
    provider = LogContext()
    worker = Worker(ticket_id=value)
    provider.worker_setup(worker)
    assert context.bound() == {}
    provider.worker_teardown(worker)


def test_the_ticket_ids_intake_draws_have_the_shape_bound():
    from datetime import datetime, timezone

    from services.intake.domain import new_ticket_id
    for _ in range(20):
        drawn = new_ticket_id(datetime(2026, 12, 6, tzinfo=timezone.utc))
        assert context.ticket_id_in_path({"ticket_id": drawn}) == drawn


def test_text_lines_name_what_they_are_about_after_the_message():
    record = logging.LogRecord("services.routing", logging.WARNING, __file__, 1, "parked", (), None)
    with log_context(ticket_id="ZD-1", message_id="m-1"):
        line = TextLines("routing").format(record)
    assert line.endswith(" routing WARNING services.routing: parked [ticket_id=ZD-1 message_id=m-1]")


def test_the_format_is_json_unless_text_is_asked_for(monkeypatch):
    monkeypatch.delenv("ZD_LOG_FORMAT", raising=False)
    assert log_format() == "json"
    monkeypatch.setenv("ZD_LOG_FORMAT", "text")
    assert log_format() == "text"
    assert isinstance(formatter("notify", log_format()), TextLines)
    monkeypatch.setenv("ZD_LOG_FORMAT", "yaml")
    with pytest.raises(ValueError, match="ZD_LOG_FORMAT"):
        log_format()


def test_configure_gives_the_process_one_redacting_json_handler(monkeypatch):
    monkeypatch.setenv("ZD_LOG_LEVEL", "WARNING")
    monkeypatch.delenv("ZD_LOG_FORMAT", raising=False)
    root = logging.getLogger()
    kept, level = list(root.handlers), root.level
    stream = io.StringIO()
    try:
        handler = configure("reporting", stream=stream)
        assert root.handlers == [handler]
        assert any(isinstance(found, RedactingFilter) for found in handler.filters)
        logging.getLogger("tests.configure").info("not written at WARNING")
        logging.getLogger("tests.configure").warning("key %s", KEY)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in kept:
            root.addHandler(handler)
        root.setLevel(level)
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert (line["service"], line["level"]) == ("reporting", "WARNING")
    assert line["message"] == f"key zd_0123456789ab.{REDACTED}"
