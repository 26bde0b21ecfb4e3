"""The connection pools' gauges (``zd_db_pool_*``): what ``/metrics`` answers is each
pool's own count, read from psycopg_pool when scraped, on the real PostgreSQL. No reset
of the system: a pool needs only the database."""
import eventlet
from nameko.containers import ServiceContainer

from services.common import metrics
from services.common.config import nameko_config, settings
from services.common.db import Database, make_pool
from tests.support.services import scraped, wait_until

GAUGES = ("max_connections", "connections", "idle_connections", "requests_waiting")


def gauges(service, pool):
    return {name: scraped(f"zd_db_pool_{name}", service=service, pool=pool) for name in GAUGES}


class PooledService:
    name = "pooled"
    db = Database("notify")


def test_a_services_pool_gauges_are_its_pools_own_counts():
    container = ServiceContainer(PooledService, nameko_config("notify", {
        "WEB_SERVER_ADDRESS": "127.0.0.1:0", "ZD_POOL_SIZE": 4}))
    container.start()
    try:
        (db,) = [dependency for dependency in container.dependencies if dependency.attr_name == "db"]
        wait_until(lambda: db.pool.get_stats()["pool_available"] >= 1,
                   what="the pool's first connection ready")
        stats = db.pool.get_stats()
        assert gauges("pooled", "db") == {
            "max_connections": 4, "connections": stats["pool_size"],
            "idle_connections": stats["pool_available"], "requests_waiting": 0}
        with db.pool.connection():
            assert gauges("pooled", "db")["idle_connections"] == stats["pool_available"] - 1
    finally:
        container.stop()
    assert gauges("pooled", "db")["max_connections"] == 0, "a closed pool counts for nothing"


def test_pool_gauges_show_a_full_pool_and_the_requests_waiting():
    """A pool of two: both connections taken and a third asked for."""
    pool = make_pool(settings().database_url, "notify", size=2, min_size=2)
    metrics.watch_pool("pooled", "full", pool)
    pool.open(wait=True)
    try:
        held = [pool.getconn(), pool.getconn()]
        waiter = eventlet.spawn(pool.getconn, timeout=10)
        wait_until(lambda: pool.get_stats()["requests_waiting"] == 1, what="a request waiting")
        assert gauges("pooled", "full") == {"max_connections": 2, "connections": 2,
                                            "idle_connections": 0, "requests_waiting": 1}
        for conn in held:
            pool.putconn(conn)
        pool.putconn(waiter.wait())
        wait_until(lambda: pool.get_stats()["pool_available"] == 2, what="both connections back")
        assert gauges("pooled", "full") == {"max_connections": 2, "connections": 2,
                                            "idle_connections": 2, "requests_waiting": 0}
    finally:
        pool.close()
