"""What ``log_redaction`` hides in a log line, and what it leaves for the reader."""
import io
import logging

import pytest

from services.common.log_redaction import REDACTED, RedactingFilter, redact, redact_every_handler

KEY = "zd_0123456789ab.Xy_z-SECRET0123456789abcdefghijklmnop"


@pytest.mark.parametrize("line, hidden, kept", [
    (f'"GET /open311/v2/requests.json?api_key={KEY}&status=open HTTP/1.1" 200',
     "SECRET", "/open311/v2/requests.json?api_key=[redacted]&status=open HTTP/1.1"),
    ('"GET /x?status=open&API_KEY=abc123 HTTP/1.1"', "abc123", "?status=open&API_KEY=[redacted]"),
    ('"GET /x?api%5Fkey=abc123&a=1 HTTP/1.1"', "abc123", "?api%5Fkey=[redacted]&a=1"),
    ("GET /x?password=hunter2", "hunter2", "?password=[redacted]"),
    ("GET /x?session=s3ss10n&sign_in_code=123456", "s3ss10n", "?session=[redacted]&sign_in_code=[redacted]"),
    ("connecting to amqp://zd_intake:pa55word@rabbit:5672/zd", "pa55word",
     "amqp://zd_intake:[redacted]@rabbit:5672/zd"),
    ("postgresql://intake:p%40ss@db/zerodistance?sslmode=require", "p%40ss",
     "postgresql://intake:[redacted]@db/zerodistance?sslmode=require"),
    ("headers {'Authorization': 'Bearer abc.def', 'Accept': '*/*'}", "abc.def",
     "'Authorization': '[redacted]', 'Accept': '*/*'"),
    ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz", "Authorization: [redacted]"),
    ("sent with bearer abc.def-ghi", "abc.def-ghi", "bearer [redacted]"),
    ("Cookie: session=abcdef", "abcdef", "Cookie: [redacted]"),
    (f"the key {KEY} was refused", "SECRET", "the key zd_0123456789ab.[redacted] was refused"),
    ('127.0.0.1 - - [05/Dec/2026 21:00:00] "GET /c/Qm9vX2Jhel9xdXV4LTEy?lang=en HTTP/1.1" 200 9',
     "Qm9vX2Jhel9xdXV4LTEy", '"GET /c/\u2026?lang=en HTTP/1.1" 200 9'),
    ('"POST /c/Qm9vX2Jhel9xdXV4LTEy/rating HTTP/1.1" 303', "Qm9vX2Jhel9xdXV4LTEy",
     '"POST /c/\u2026/rating HTTP/1.1" 303'),
    ("your page: https://zd.example.org/c/Qm9vX2Jhel9xdXV4LTEy.", "Qm9vX2Jhel9xdXV4LTEy",
     "your page: https://zd.example.org/c/\u2026"),
])
def test_a_secret_is_hidden_and_the_rest_of_the_line_kept(line, hidden, kept):
    cleaned = redact(line)
    assert hidden not in cleaned
    assert kept in cleaned


@pytest.mark.parametrize("line", [
    '"GET /open311/v2/requests.json?service_code=drainage&status=open HTTP/1.1" 200 148',
    "ticket ZD-20261205-ab12cd34 dispatched to baiyun-water",
    "What now? Nothing.",
    "amqp://guest@127.0.0.1:5672/zd_test",
    '"GET /api/v1/concerns/ZD20261205-0000ABCD HTTP/1.1" 200 512',
    '"GET /page/static/reporter.css HTTP/1.1" 200 2048',
])
def test_a_line_without_secrets_is_left_as_it_is(line):
    assert redact(line) == line


def test_the_filter_redacts_a_records_arguments_and_traceback():
    stream = io.StringIO()
    logger = logging.getLogger("tests.redaction")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    redact_every_handler(logger)
    try:
        try:
            raise ConnectionError("could not reach amqp://user:topsecret@broker:5672/")
        except ConnectionError:
            logger.exception("calling %s failed", f"/requests.json?api_key={KEY}")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "topsecret" not in written and "SECRET" not in written
    assert f"calling /requests.json?api_key={REDACTED} failed" in written
    assert f"amqp://user:{REDACTED}@broker:5672/" in written
    assert "Traceback (most recent call last)" in written


def test_the_filter_is_added_once():
    logger = logging.getLogger("tests.redaction.once")
    handler = logging.NullHandler()
    logger.addHandler(handler)
    redact_every_handler(logger)
    redact_every_handler(logger)
    assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    logger.removeHandler(handler)
