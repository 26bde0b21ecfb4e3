"""What a log line is about: the ticket and the message a process is working on.

``log_context(ticket_id=..., message_id=...)`` binds them for the work done inside the
``with``, so that every line logged meanwhile names them without its call site passing
them; ``bind(...)`` adds to the innermost one, until it ends (an entrypoint that learns
its ticket id half way). They are bound at the few places where work about one ticket
starts: a consumed message (``messaging``), an HTTP request whose path names a ticket
(``LogContext``, a dependency of every service, and ``http``'s web server for the whole
request, its access line included), a message the outbox relay publishes, a notification
the courier delivers. Only ids are bound, never a detail of a person. A path's value is
the client's word: it is bound only when it has a ticket id's shape (``TICKET_ID_SHAPE``),
so a line never carries whatever a client put in a URL.

The values live in a ``contextvars`` variable. Under eventlet every green thread has a
context of its own, and a new one starts empty: what a worker binds is its own, and a
green thread it spawns binds again for the work it is handed. ``fields()`` is what the
line formatters (``log_format``) add to each line: the bound ids, then what each source
of ``add_source`` gives (the hook for a trace's ``trace_id`` and ``span_id``).
"""
import contextvars
import re
from contextlib import contextmanager
from weakref import WeakKeyDictionary

from nameko.extensions import DependencyProvider

#: the ids a line may name, in the order they are shown
FIELDS = ("ticket_id", "message_id", "notification_id")

#: a ticket id as intake draws it (``services.intake.domain.new_ticket_id``): ``ZD``, the
#: day, ``-`` and 8 upper-case hex digits
TICKET_ID_SHAPE = re.compile(r"ZD\d{8}-[0-9A-F]{8}")
#: the path values that name a ticket: ``<ticket_id>``, and Open311's ``<request_id>``
TICKET_PATH_VALUES = ("ticket_id", "request_id")

_bound = contextvars.ContextVar("zd_log_context", default=None)  # a dict, never changed in place
_sources = []


@contextmanager
def log_context(**ids):
    """Bind ``ids`` (``ticket_id``, ``message_id``, ``notification_id``; empty ones are
    left out) to the lines logged inside the ``with``, on top of what is bound already."""
    token = _bound.set(_merged(_bound.get() or {}, ids))
    try:
        yield
    finally:
        _bound.reset(token)


def bind(**ids):
    """Add ``ids`` to what is bound, until the enclosing ``log_context`` (or the worker's
    ``LogContext``) ends; outside of one, nothing: nothing would end it, and the ids would
    name every line the green thread logs afterwards."""
    current = _bound.get()
    if current is not None:
        _bound.set(_merged(current, ids))


def bound():
    """The ids bound now: ``{"ticket_id": ..., ...}``, only those known."""
    return dict(_bound.get() or {})


def add_source(source):
    """Every line will also carry what ``source()`` returns (a dict of text values, empty
    when it knows nothing): e.g. the current span's ``trace_id`` and ``span_id``."""
    if source not in _sources:
        _sources.append(source)


def remove_source(source):
    if source in _sources:
        _sources.remove(source)


def fields():
    """What a line logged now is about: the bound ids and the sources' fields."""
    found = bound()
    for source in _sources:
        try:
            found.update({key: value for key, value in (source() or {}).items() if value})
        except Exception:  # a line is never lost to its context
            pass
    return found


def ticket_id_of(body):
    """The ticket a message's body is about: its ``ticket_id``, or its ``ticket``'s; ""."""
    body = body if isinstance(body, dict) else {}
    ticket = body.get("ticket")
    named = ticket.get("ticket_id") if isinstance(ticket, dict) else body.get("ticket_id")
    return named if isinstance(named, str) else ""


def ticket_id_in_path(values):
    """The ticket id an HTTP path's ``values`` name (``<ticket_id>``, Open311's
    ``<request_id>``) when it has a ticket id's shape; else None."""
    for name in TICKET_PATH_VALUES:
        value = (values or {}).get(name)
        if isinstance(value, str) and TICKET_ID_SHAPE.fullmatch(value):
            return value
    return None


def _merged(current, ids):
    unknown = set(ids) - set(FIELDS)
    if unknown:
        raise TypeError(f"not a log context field: {', '.join(sorted(unknown))}")
    given = {name: str(value) for name, value in ids.items() if value not in (None, "")}
    return {**current, **given} if given else current


class LogContext(DependencyProvider):
    """Binds, for each worker of the service, the ticket its entrypoint's arguments name
    (an HTTP path's ``<ticket_id>`` or ``<request_id>``, in a ticket id's shape), in the
    worker's own green thread: from before the entrypoint runs until after the container
    has logged how it ended."""

    def __init__(self):
        self.tokens = WeakKeyDictionary()  # worker context → what to reset at its teardown

    def worker_setup(self, worker_ctx):
        ticket_id = ticket_id_in_path(worker_ctx.kwargs)
        self.tokens[worker_ctx] = _bound.set(_merged({}, {"ticket_id": ticket_id}))

    def worker_teardown(self, worker_ctx):
        token = self.tokens.pop(worker_ctx, None)
        if token is not None:
            try:
                _bound.reset(token)
            except ValueError:  # set in another context: nothing of it remains here
                pass
