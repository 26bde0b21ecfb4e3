"""Failures told without their text, for the logs of paths that handle personal data.

The text of an error nobody planned for may quote what was being handled: a psycopg
error's DETAIL (``Key (phone)=(+86139...) already exists``), a marshmallow error, a
parser's message holding an address. So a consumer, the outbox relay and notify's
courier log an exception by its kind and where it was raised (file, line, function:
every frame, and those of the exceptions that caused it), never by ``str(exc)``. Pure:
no I/O.
"""
import os
import traceback

#: how many exceptions of a chain (``raise ... from``, or raised while handling) are told
CHAIN_LIMIT = 5
CAUSED = "which was the direct cause of:"
CONTEXT = "while handling which, another:"


def raised_where(exc):
    """An exception's kind and the line that raised it, on one line: ``KeyError at
    courier.py:118 in _deliver``."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return _kind(exc)
    return f"{_kind(exc)} at {_frame(frames[-1], os.path.basename)}"


def traceback_without_text(exc):
    """A traceback as Python prints it, but naming each exception by its kind alone: the
    frames (file, line, function) of ``exc`` and of what caused it, the innermost last;
    no source line and no message, which could quote the data being handled."""
    chain, seen, link = [], set(), None
    while exc is not None and id(exc) not in seen and len(chain) < CHAIN_LIMIT:
        seen.add(id(exc))
        chain.append((exc, link))
        link = CAUSED if exc.__cause__ is not None else CONTEXT
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    told = []
    for failure, link in reversed(chain):
        told += [f"  {_frame(frame)}" for frame in traceback.extract_tb(failure.__traceback__)]
        told.append(f"{_kind(failure)} (its text withheld)")
        if link:
            told.append(link)
    return "\n".join(told)


def _kind(exc):
    kind = type(exc)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _frame(frame, path=lambda name: name):
    return f"{path(frame.filename)}:{frame.lineno} in {frame.name}"
