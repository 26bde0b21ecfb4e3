"""The promises (docs/reference.md#promises) with the services as separate OS processes: a concern
answered 202 is never lost, not by a service started late, nor by one killed."""
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from typing import NamedTuple

import pytest
import requests
from kombu import Connection, Queue

from services.common.config import settings
from services.devstack import SERVICES, Stack
from tests.support.services import messages_consumed, wait_until
from tests.support.system import free_port, fresh_system

pytestmark = pytest.mark.e2e


class StackSettings(NamedTuple):
    """What a test starts the stack with, on a fresh system."""
    keys: dict    #: every party's API key, by party
    ports: dict   #: a free port for each service, as ``ZD_<SERVICE>_PORT`` settings
    logs: str     #: the folder of the services' logs


@pytest.fixture
def stack_settings(tmp_path):
    keys, _, _ = fresh_system()
    ports = {f"ZD_{name.upper()}_PORT": str(free_port()) for name in SERVICES}
    return StackSettings(keys, ports, str(tmp_path))


def post(stack, keys, description="街口路下水道堵塞，污水外溢"):
    answer = requests.post(f"{stack.url('intake')}/api/v1/concerns",
                           headers={"Authorization": f"Bearer {keys['frontend:conghua']}"},
                           json={"external_id": str(uuid.uuid4()), "district": "conghua",
                                 "community": "jiekou", "channel": "hotline",
                                 "description": description}, timeout=15)
    assert answer.status_code == 202, answer.text
    return answer.json()["ticket_id"]


def drain_dispatches(department, expected, timeout=60):
    """Ticket id → message ids of the dispatches seen, until every expected ticket came."""
    seen = {}
    deadline = time.monotonic() + timeout
    with Connection(settings().amqp_uri) as connection:
        with connection.SimpleQueue(Queue(f"zd.dept.{department}", no_declare=True)) as queue:
            while not expected <= set(seen) and time.monotonic() < deadline:
                try:
                    message = queue.get(block=True, timeout=1)
                except queue.Empty:
                    continue
                message.ack()
                seen.setdefault(json.loads(message.body)["ticket_id"], set()).add(
                    message.properties["message_id"])
    return seen


def test_concern_posted_while_routing_is_down_is_dispatched_when_it_starts(stack_settings):
    keys, ports, logs = stack_settings.keys, stack_settings.ports, stack_settings.logs
    with Stack(env=ports, log_dir=logs, names=("intake",)) as stack:
        ticket_id = post(stack, keys)
        time.sleep(1)  # routing is not running: the concern waits in zd.routing.events
        late = Stack(env=ports, log_dir=logs, names=("routing",))
        with late:
            seen = drain_dispatches("conghua-water", {ticket_id})
    assert set(seen) == {ticket_id}


def test_concerns_survive_routing_being_killed(stack_settings):
    keys, ports, logs = stack_settings.keys, stack_settings.ports, stack_settings.logs
    with Stack(env=ports, log_dir=logs, names=("intake", "routing")) as stack:
        posted = set()
        for n in range(30):
            posted.add(post(stack, keys))
            if n == 10:
                stack.crash("routing")
        stack.start(names=("routing",))
        seen = drain_dispatches("conghua-water", posted)
    assert set(seen) == posted
    assert all(len(message_ids) == 1 for message_ids in seen.values()), \
        "a redelivered dispatch keeps its message_id"


def test_devstack_stops_every_service_on_sigterm(stack_settings, tmp_path):
    ports = stack_settings.ports
    log = open(tmp_path / "devstack.log", "wb")
    devstack = subprocess.Popen([sys.executable, "-m", "services.devstack"],
                                env={**os.environ, **ports},
                                stdout=log, stderr=subprocess.STDOUT)
    urls = [f"http://127.0.0.1:{port}/health" for port in ports.values()]
    try:
        wait_until(lambda: "Zero Distance is running" in (tmp_path / "devstack.log").read_text(),
                   timeout=60, what="the stack announced")
        assert all(requests.get(url, timeout=1).status_code == 200 for url in urls)
        devstack.send_signal(signal.SIGTERM)
        assert devstack.wait(timeout=30) == 0
    finally:
        devstack.kill()
    for url in urls:
        with pytest.raises(requests.ConnectionError):
            requests.get(url, timeout=1)


def test_services_stop_when_the_stack_process_is_killed(stack_settings, tmp_path):
    ports = stack_settings.ports
    log = tmp_path / "devstack.log"
    devstack = subprocess.Popen([sys.executable, "-m", "services.devstack"],
                                env={**os.environ, **ports}, stdout=open(log, "wb"),
                                stderr=subprocess.STDOUT)
    urls = [f"http://127.0.0.1:{port}/health" for port in ports.values()]
    wait_until(lambda: "Zero Distance is running" in log.read_text(), timeout=60,
               what="the stack announced")
    devstack.kill()
    devstack.wait()

    def all_down():
        for url in urls:
            try:
                requests.get(url, timeout=1)
                return False
            except requests.ConnectionError:
                pass
        return True

    wait_until(all_down, timeout=30, what="every service stopped")


def test_a_second_routing_instance_shares_the_work(stack_settings):
    keys, ports, logs = stack_settings.keys, stack_settings.ports, stack_settings.logs
    with Stack(env=ports, log_dir=logs, names=("intake", "routing")) as stack:
        second = Stack(env={**ports, "ZD_ROUTING_PORT": str(free_port())}, log_dir=logs,
                       names=("routing",))
        with second:
            posted = {post(stack, keys) for _ in range(20)}
            seen = drain_dispatches("conghua-water", posted)
            shares = [messages_consumed(instance.url("routing"), queue="zd.routing.events",
                                        type="concern.received", outcome="applied")
                      for instance in (stack, second)]
    assert set(seen) == posted
    assert all(len(message_ids) == 1 for message_ids in seen.values())
    assert sum(shares) == 20 and min(shares) > 0, shares



@pytest.mark.parametrize("signals", [("SIGINT", "SIGTERM"), ("SIGTERM", "SIGINT", "SIGTERM")])
def test_a_service_stops_once_whatever_signals_come(stack_settings, tmp_path, signals):
    """Ctrl-C reaches a whole process group and a supervisor may add SIGTERM."""
    ports = stack_settings.ports
    service = subprocess.Popen([sys.executable, "-m", "services.intake"],
                               env={**os.environ, **ports}, stdout=open(tmp_path / "log", "wb"),
                               stderr=subprocess.STDOUT,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    health = f"http://127.0.0.1:{ports['ZD_INTAKE_PORT']}/health"
    try:
        wait_until(lambda: requests.get(health, timeout=1).status_code == 200, timeout=30,
                   what="intake up")
        for name in signals:
            service.send_signal(getattr(signal, name))
            time.sleep(0.05)
        assert service.wait(timeout=20) == 0
    finally:
        service.kill()


def test_a_service_signalled_while_it_starts_still_stops(stack_settings, tmp_path):
    ports = stack_settings.ports
    service = subprocess.Popen([sys.executable, "-m", "services.routing"],
                               env={**os.environ, **ports}, stdout=open(tmp_path / "log", "wb"),
                               stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: "starting services" in (tmp_path / "log").read_text(), timeout=30,
                   interval=0.01, what="routing starting")
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=20) == 0
    finally:
        service.kill()
