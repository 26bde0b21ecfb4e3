"""A transaction the database breaks off to resolve a deadlock is done again, not
answered as "database unavailable": in consumers (``retry_contention``) and over HTTP."""
import eventlet
import psycopg
import requests
from nameko.containers import ServiceContainer

from services.common.config import nameko_config, settings
from services.common.db import Transactions, make_pool
from services.common.errors import Contention
from services.common.http import api, json_response
from services.common.messaging import retry_contention
from tests.support.system import free_port


def test_a_deadlock_is_contention_and_done_again_until_both_succeed():
    url = settings().database_url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS public.zd_contention")
        conn.execute("CREATE TABLE public.zd_contention (id int PRIMARY KEY, n int NOT NULL)")
        conn.execute("INSERT INTO public.zd_contention VALUES (1, 0), (2, 0)")
    pool = make_pool(url, "public", size=4)
    pool.open(wait=True)
    db, first_locks, broken_off = Transactions(pool), [], []

    def cross(first, second):
        def work():
            try:
                with db.transaction() as conn:
                    conn.execute("UPDATE zd_contention SET n = n + 1 WHERE id = %s", (first,))
                    first_locks.append(first)
                    while len(first_locks) < 2:  # both hold their first row: now cross
                        eventlet.sleep(0.01)
                    conn.execute("UPDATE zd_contention SET n = n + 1 WHERE id = %s", (second,))
            except Contention:
                broken_off.append(first)
                raise
        return retry_contention(work)

    try:
        crossing = [eventlet.spawn(cross, 1, 2), eventlet.spawn(cross, 2, 1)]
        for thread in crossing:
            thread.wait()
    finally:
        pool.close()
    with psycopg.connect(url) as conn:
        counts = conn.execute("SELECT n FROM public.zd_contention ORDER BY id").fetchall()
        conn.execute("DROP TABLE public.zd_contention")
    assert len(broken_off) == 1, "PostgreSQL broke one of the two off"
    assert counts == [(2,), (2,)], "and both transactions were done in the end"


class ContendedService:
    name = "contended"
    calls = []

    @api("POST", "/work")
    def work(self, request):
        self.calls.append(1)
        if len(self.calls) == 1:
            raise Contention("deadlock detected")
        return json_response(200, {"calls": len(self.calls)})


def test_an_http_request_broken_off_by_the_database_is_run_again():
    port = free_port()
    container = ServiceContainer(ContendedService, nameko_config(
        "intake", {"WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"}))
    container.start()
    try:
        answer = requests.post(f"http://127.0.0.1:{port}/work", timeout=10)
    finally:
        container.stop()
    assert answer.status_code == 200 and answer.json() == {"calls": 2}
