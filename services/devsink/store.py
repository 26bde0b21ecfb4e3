"""What the sink has seen, in memory: accepted messages, duplicates, the request log, the plans.

A message is accepted once per idempotency key and kind (the gateways' ``Idempotency-Key``,
a webhook's ``webhook-id``, an email's ``Message-ID``); a key seen again is counted as a
duplicate and not stored. Messages without a key are always stored. The SMTP thread and
the HTTP threads share one ``Store``; every method holds its lock.
"""
import threading
from collections import deque
from datetime import UTC, datetime

KINDS = ("email", "sms", "wechat", "webhook")


def now():
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Store:
    def __init__(self, on_accept=None):
        """``on_accept(message)`` runs for each stored message before others can see it."""
        self._lock = threading.Lock()
        self._on_accept = on_accept or (lambda message: None)
        self._next_id = 1
        self.reset()

    def reset(self):
        with self._lock:
            self._messages, self._keys, self._duplicates = [], set(), []
            self._requests, self._plans = [], {}

    def accept(self, message, key=None):
        """Store ``message`` and return it with its ``id`` and ``received_at``; None for a duplicate."""
        with self._lock:
            if key is not None and (message["kind"], key) in self._keys:
                self._duplicates.append(key)
                return None
            if key is not None:
                self._keys.add((message["kind"], key))
            stored = {"id": self._next_id, **message, "received_at": now()}
            self._next_id += 1
            self._messages.append(stored)
            self._on_accept(stored)
            return stored

    def log_request(self, kind, path, status, key=None):
        with self._lock:
            self._requests.append({"kind": kind, "path": path, "status": status, "key": key, "at": now()})

    def plan(self, path, replies):
        """The next deliveries to ``path`` get ``replies``, in order (replacing an earlier plan)."""
        with self._lock:
            self._plans[path] = deque(replies)

    def next_reply(self, path):
        """The planned ``Reply`` for this delivery to ``path``, used up; None when nothing is planned."""
        with self._lock:
            planned = self._plans.get(path)
            return planned.popleft() if planned else None

    def messages(self, kind=None):
        """Accepted messages of ``kind`` (all kinds when None), oldest first."""
        with self._lock:
            return self._matching(kind)

    def view(self, kind=None):
        """What ``GET /messages.json`` answers."""
        with self._lock:
            return {
                "messages": self._matching(kind),
                "duplicates": list(self._duplicates),
                "requests": [dict(request) for request in self._requests],
            }

    def view_after(self, after, kind=None):
        """What ``GET /messages.json?after=<id>`` answers: only the messages stored after
        message ``after``, and how many duplicates came so far; not the request log. Ids
        grow by one from 1, so the newest are found without reading the older ones."""
        with self._lock:
            first = self._position_after(after)
            return {"messages": [dict(message) for message in self._messages[first:]
                                 if kind in (None, message["kind"])],
                    "duplicates": len(self._duplicates)}

    def _position_after(self, after):
        """Where the messages with an id above ``after`` start in ``_messages`` (ids grow
        by one, but a reset keeps counting: the list may start at any id)."""
        if not self._messages:
            return 0
        return min(len(self._messages), max(0, after + 1 - self._messages[0]["id"]))

    def _matching(self, kind):
        return [dict(message) for message in self._messages if kind in (None, message["kind"])]
