"""Database calls of one service run concurrently: psycopg must not block eventlet's hub.

psycopg's C wait function would serialise them (8 x 0.5 s = 4 s); with
PSYCOPG_WAIT_FUNC=wait_select (set by ``services/__init__``) they overlap.
"""
import time

import eventlet
import psycopg.waiting
import requests
from nameko.containers import ServiceContainer

from services.common.config import nameko_config
from services.common.db import Database
from services.common.http import api, json_response
from tests.support.system import free_port, reset_database

SLEEP, CALLS = 0.5, 8


class SleepyService:
    name = "sleepy"
    db = Database("intake")

    @api("GET", "/sleep")
    def sleep(self, request):
        with self.db.transaction() as conn:
            conn.execute("SELECT pg_sleep(%s)", (SLEEP,))
        return json_response(200, {"slept": SLEEP})


def test_psycopg_uses_the_green_wait_function():
    assert psycopg.waiting.wait is psycopg.waiting.wait_select


def test_concurrent_database_calls_in_one_service_overlap():
    reset_database()
    port = free_port()
    container = ServiceContainer(SleepyService, nameko_config(
        "intake", {"WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", "ZD_POOL_SIZE": CALLS}))
    container.start()
    try:
        url = f"http://127.0.0.1:{port}/sleep"
        requests.get(url, timeout=10)  # warm the pool
        pool = eventlet.GreenPool(CALLS)
        started = time.monotonic()
        statuses = list(pool.imap(lambda _: requests.get(url, timeout=10).status_code, range(CALLS)))
        elapsed = time.monotonic() - started
    finally:
        container.stop()
    assert statuses == [200] * CALLS
    print(f"[figure] {CALLS} concurrent pg_sleep({SLEEP}) calls took {elapsed:.2f} s")
    assert elapsed < SLEEP * CALLS / 2, f"calls did not overlap: {elapsed:.2f} s"
