"""Errors every service shares, each with the HTTP status it is answered with.

Domain modules raise ``Problem`` subclasses (or their own exceptions mapped in the
service's table); the HTTP edge turns them into ``application/problem+json``. A
consumer's use case raises ``ParkMessage`` for a message it can never apply: the
consumer (``services.common.messaging``) parks it.
"""


class Problem(Exception):
    status = 500
    title = "Internal error"

    def __init__(self, detail=None, errors=None, **extra):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.extra = extra


class BadRequest(Problem):
    status, title = 400, "Invalid request"


class Unauthorized(Problem):
    status, title = 401, "Missing or invalid API key"


class Forbidden(Problem):
    status, title = 403, "Not allowed for this key"


class NotFound(Problem):
    status, title = 404, "Not found"


class MethodNotAllowed(Problem):
    status, title = 405, "Method not allowed"


class Conflict(Problem):
    status, title = 409, "Conflict"


class PayloadTooLarge(Problem):
    status, title = 413, "Request body too large"


class UnsupportedMediaType(Problem):
    status, title = 415, "Unsupported media type"


class TooManyRequests(Problem):
    status, title = 429, "Too many requests"


class Unavailable(Problem):
    status, title = 503, "Service unavailable"


class Contention(Exception):
    """The database gave up a transaction to break a deadlock or a serialization conflict:
    nothing was stored, and the same work done again will succeed. Retried, never shown."""


class ParkMessage(Exception):
    """The message can never be applied: park it with this reason, then acknowledge."""
