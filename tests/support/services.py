"""Running services in the test process, as nameko containers on free ports."""
import time
from contextlib import contextmanager

import requests
from nameko.containers import ServiceContainer

from services.common.config import nameko_config
from services.common.runner import service_class
from tests.support.system import free_port


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
        yield base
    finally:
        container.stop()


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
