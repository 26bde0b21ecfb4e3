"""Reporting rebuilds its read model inside the service, the CPU's part in an OS thread:
a long rebuild does not stop the service answering meanwhile (``/health``, reports,
the consumer), and only the admin key may ask for one."""
import time

import eventlet
import requests

from services.reporting.use_cases import rebuild
from tests.support.services import running
from tests.support.system import fresh_system

BUSY_SECONDS = 3  # the CPU's part of a large rebuild: cutting 100,000 tickets' words


def test_the_service_answers_while_it_rebuilds_and_only_for_the_admin_key(monkeypatch):
    keys, _, _ = fresh_system()
    cut = rebuild.read_model_rows
    calls = []

    def slow_rows(tickets):
        calls.append(time.monotonic())
        if len(calls) == 1:  # the first pass's words, before the lock
            busy_until = time.monotonic() + BUSY_SECONDS
            while time.monotonic() < busy_until:  # CPU alone, no I/O to yield at
                pass
        return cut(tickets)
    monkeypatch.setattr(rebuild, "read_model_rows", slow_rows)
    with running("reporting") as base:
        refused = requests.post(f"{base}/api/v1/read-model/rebuild", timeout=10,
                                headers={"Authorization": f"Bearer {keys['congress:baiyun']}"})
        assert refused.status_code == 403 and not calls
        started = time.monotonic()
        rebuilding = eventlet.spawn(requests.post, f"{base}/api/v1/read-model/rebuild", timeout=60,
                                    headers={"Authorization": f"Bearer {keys['admin']}"})
        eventlet.sleep(0.5)
        health = requests.get(f"{base}/health", timeout=10)
        answered = time.monotonic() - started
        done = rebuilding.wait()
    assert done.status_code == 200, done.text
    assert calls and calls[0] - started < 0.5, "the health check came while the rebuild was busy"
    assert health.status_code == 200
    assert answered < 0.5 + BUSY_SECONDS / 2, f"/health answered after {answered:.2f} s"
