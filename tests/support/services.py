"""Running services in the test process, as nameko containers on free ports."""
import time
from contextlib import contextmanager
from typing import NamedTuple

import psycopg
import requests
from nameko.containers import ServiceContainer
from prometheus_client.parser import text_string_to_metric_families

from services.common import metrics
from services.common.config import nameko_config, settings
from services.common.runner import service_class
from tests.support.system import free_port, fresh_system


class RunningService(NamedTuple):
    """A service running on a fresh system, and what its tests call it with."""
    base: str         #: its base URL
    keys: dict        #: every party's API key, by party
    directory: dict   #: the directory snapshot it runs with


@contextmanager
def running_on_a_fresh_system(service):
    """``service`` running in this process on a fresh system, as a ``RunningService``."""
    keys, _, directory = fresh_system()
    with running(service) as base:
        yield RunningService(base, keys, directory)


class RunningServices(NamedTuple):
    """Services running on a fresh system: their base URLs (None when not started), and
    every party's API key."""
    keys: dict
    intake: str = None
    routing: str = None
    notify: str = None
    reporting: str = None

    def base(self, service):
        """The base URL of ``service`` (``intake``, ``routing``, ``notify``, ``reporting``)."""
        return getattr(self, service)


@contextmanager
def running(name, **overrides):
    """Start service ``name``; yields its base URL once /health answers 200."""
    port = free_port()
    config = nameko_config(name, {"WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", **overrides})
    container = ServiceContainer(service_class(name), config)
    container.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{base}/health", timeout=2).status_code == 200,
                   what=f"{name} healthy")
        wait_until(lambda: caught_up(name), what=f"{name} has the directory and every key")
        yield base
    finally:
        container.stop()


def caught_up(schema):
    """The service's copies of the directory and of the keys match the admin's."""
    with psycopg.connect(settings().database_url) as conn:
        return conn.execute(
            f"SELECT (SELECT count(*) FROM {schema}.directory_snapshot) = 1"
            f" AND (SELECT count(*) FROM {schema}.credentials)"
            "   = (SELECT count(*) FROM admin.api_keys)").fetchone()[0]


def messages_consumed(base, **labels):
    """The sum of a service's ``zd_messages_consumed_total`` samples matching ``labels``
    (``queue``, ``type``, ``outcome``), read from its /metrics."""
    text = requests.get(f"{base}/metrics", timeout=5).text
    return int(sum(sample.value for family in text_string_to_metric_families(text)
                   for sample in family.samples
                   if sample.name == "zd_messages_consumed_total"
                   and all(sample.labels.get(key) == value for key, value in labels.items())))


def scraped(name, **labels):
    """The value of sample ``name`` with exactly ``labels`` in what ``/metrics`` answers in
    this process (the services running in it share one registry); None when absent."""
    text = metrics.exposition()[0].decode()
    found = [sample.value for family in text_string_to_metric_families(text)
             for sample in family.samples if sample.name == name and sample.labels == labels]
    return found[0] if found else None


def wait_until(predicate, timeout=15, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except Exception as exc:  # keep polling; report the last error on timeout
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last error: {last_error!r}")
