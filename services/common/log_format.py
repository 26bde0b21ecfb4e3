"""How a service process writes its log: one JSON object per line, or text for a terminal.

``configure(service)`` sets the root logger up once, at start (``runner``): level
``ZD_LOG_LEVEL``, format ``ZD_LOG_FORMAT`` (``json``, the default: what a deployment's
log collector reads; ``text``: what ``make run`` shows a person). Each JSON line
(``JsonLines``, python-json-logger's formatter) holds ``timestamp`` (UTC, ISO 8601),
``level``, ``service``, ``logger`` and ``message``, then what the line is about
(``ticket_id``, ``message_id``, ``notification_id``: ``log_context``, when bound, and
whatever a source added there, such as a trace id), then ``exception`` (its ``type``
and ``traceback``, which holds frames, never their local variables) or ``stack``.
Only these fields: a record's own extra attributes are never written, since no one
checked them for personal data.

Redaction stays on every line: ``RedactingFilter`` on the handler redacts the message and
the traceback, and the formatter redacts again every text it writes (the ids included),
so a formatter reached without the filter still writes no secret.
"""
import logging
import os
import sys
from datetime import datetime, timezone

from pythonjsonlogger.json import JsonFormatter

from services.common import log_context
from services.common.log_redaction import redact, redact_every_handler

JSON, TEXT = "json", "text"
FORMATS = (JSON, TEXT)


def log_format(value=None):
    """``json`` or ``text``: ``value``, else ``ZD_LOG_FORMAT`` (default ``json``)."""
    chosen = (os.environ.get("ZD_LOG_FORMAT", JSON) if value is None else value).strip().lower()
    if chosen not in FORMATS:
        raise ValueError(f"ZD_LOG_FORMAT must be {JSON!r} or {TEXT!r}, not {chosen!r}")
    return chosen


def configure(service, level=None, chosen=None, stream=None):
    """The root logger writes ``service``'s lines to ``stream`` (stderr), in the chosen
    format, each through ``RedactingFilter``; replaces any handler set up before."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(service, log_format(chosen)))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level or os.environ.get("ZD_LOG_LEVEL", "INFO"))
    redact_every_handler(root)
    return handler


def formatter(service, chosen=JSON):
    return JsonLines(service) if chosen == JSON else TextLines(service)


class JsonLines(JsonFormatter):
    """One JSON object per line; see the module's docstring for its fields."""

    def __init__(self, service):
        super().__init__(json_ensure_ascii=False)  # a name in Chinese stays findable as written
        self.service = service

    def format(self, record):
        line = {"timestamp": _timestamp(record), "level": record.levelname,
                "service": self.service, "logger": record.name,
                "message": redact(record.getMessage())}
        line.update({name: redact(str(value)) for name, value in log_context.fields().items()})
        if record.exc_info or record.exc_text:
            line["exception"] = self._exception(record)
        if record.stack_info:
            line["stack"] = redact(self.formatStack(record.stack_info))
        return self.serialize_log_record(line)

    def _exception(self, record):
        if not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        kind = record.exc_info[0] if record.exc_info else None
        return {"type": _kind(kind) if kind else None, "traceback": redact(record.exc_text)}


class TextLines(logging.Formatter):
    """``2026-12-06 06:30:00,123 intake INFO services.x: message [ticket_id=… message_id=…]``,
    and the traceback below, as a person reads it."""

    def __init__(self, service):
        super().__init__(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")

    def format(self, record):
        text = super().format(record)
        about = log_context.fields()
        if about:
            first, newline, rest = text.partition("\n")
            text = first + " [" + " ".join(f"{name}={value}" for name, value in about.items()) \
                + "]" + newline + rest
        return redact(text)


def _timestamp(record):
    return datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds")


def _kind(kind):
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
