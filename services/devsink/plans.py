"""Failure plans: how the sink answers the next deliveries to a path instead of accepting them.

A plan is posted as ``{"path": "/sms", "responses": [500, {"status": 429, "retry_after": 2},
{"delay": 5}]}``; the path ``"smtp"`` plans SMTP replies to DATA (e.g. ``[451]``). Each
response becomes a ``Reply``; one is used up per delivery, in order. A new plan for a path
replaces the rest of the old one; ``"responses": []`` clears it.
"""
from dataclasses import dataclass

SMTP = "smtp"


class PlanError(ValueError):
    """A control request whose plan cannot be understood."""


@dataclass(frozen=True)
class Reply:
    status: int | None = None        # None: accept as usual
    retry_after: int | None = None   # seconds, sent as Retry-After
    delay: float = 0                 # seconds to wait before answering

    @property
    def accepts(self):
        """Whether the delivery is accepted (and stored) after the delay."""
        return self.status is None or 200 <= self.status < 300

    def as_json(self):
        return {"status": self.status, "retry_after": self.retry_after, "delay": self.delay}


def read_plan(payload):
    """``(path, [Reply])`` from a control request's JSON, or ``PlanError``."""
    if not isinstance(payload, dict):
        raise PlanError("a plan is a JSON object {\"path\", \"responses\"}")
    path, responses = payload.get("path"), payload.get("responses")
    if not isinstance(path, str) or not (path == SMTP or path.startswith("/")):
        raise PlanError("path must be \"smtp\" or start with \"/\"")
    if not isinstance(responses, list):
        raise PlanError("responses must be a list")
    return path, [_read_reply(response) for response in responses]


def _read_reply(response):
    if _is_status(response):
        return Reply(status=response)
    if not isinstance(response, dict) or set(response) - {"status", "retry_after", "delay"}:
        raise PlanError(f"a response is a status or {{status, retry_after, delay}}: {response!r}")
    status, retry_after, delay = response.get("status"), response.get("retry_after"), response.get("delay", 0)
    if status is not None and not _is_status(status):
        raise PlanError(f"status must be an integer from 200 to 599: {status!r}")
    if retry_after is not None and not (_is_number(retry_after) and retry_after >= 0):
        raise PlanError(f"retry_after must be a number of seconds: {retry_after!r}")
    if not (_is_number(delay) and delay >= 0):
        raise PlanError(f"delay must be a number of seconds: {delay!r}")
    return Reply(status=status, retry_after=None if retry_after is None else int(retry_after), delay=delay)


def _is_status(value):
    return isinstance(value, int) and not isinstance(value, bool) and 200 <= value <= 599


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)
