"""A real Alertmanager (Debian's prometheus-alertmanager) with deploy/alertmanager's config,
on a loopback port of its own: alerts posted to it reach the receiver of their severity, and
an alert that follows from another one firing is inhibited: a service instance down holds its
own dependency alert (not another instance's), a broker partitioned its namespace's queue
alerts (a single node down none), a broker alarm the relay's, connections near the limit
their instance's ticket.

The receivers are the config's placeholders: nothing is sent within the test (each group
waits 30 s before its first notification), and the process is stopped afterwards.
"""
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests.support.services import wait_until
from tests.support.system import ROOT, free_port

CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory):
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    assert binary, "Alertmanager is missing: `make tools` installs Debian's prometheus-alertmanager"
    port = free_port()
    process = subprocess.Popen(
        [binary, f"--config.file={CONFIG}", f"--web.listen-address=127.0.0.1:{port}",
         f"--storage.path={tmp_path_factory.mktemp('alertmanager')}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/api/v2"
    try:
        wait_until(lambda: requests.get(f"{base}/status", timeout=2).ok, timeout=30,
                   what="Alertmanager answering")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def post(base, *alerts):
    now = datetime.now(timezone.utc)
    answer = requests.post(f"{base}/alerts", timeout=5, json=[
        {"labels": labels, "startsAt": now.isoformat(),
         "endsAt": (now + timedelta(minutes=10)).isoformat()} for labels in alerts])
    answer.raise_for_status()


def states(base):
    """``{(alertname, distinguishing label): (state, receivers)}`` of the alerts held."""
    return {(alert["labels"]["alertname"], alert["labels"].get("instance")
             or alert["labels"].get("queue") or alert["labels"].get("schema")
             or alert["labels"].get("pod")):
            (alert["status"]["state"], sorted(r["name"] for r in alert["receivers"]))
            for alert in requests.get(f"{base}/alerts", timeout=5).json()}


def test_alerts_are_routed_by_severity_and_the_consequences_inhibited(alertmanager):
    post(alertmanager,
         {"alertname": "ZeroDistanceServiceDown", "severity": "page", "job": "zero-distance",
          "instance": "routing-1:8002"},
         {"alertname": "ZeroDistanceDependencyDown", "severity": "page", "service": "routing",
          "dependency": "broker", "instance": "routing-1:8002"},
         {"alertname": "ZeroDistanceDependencyDown", "severity": "page", "service": "routing",
          "dependency": "broker", "instance": "routing-2:8002"},
         {"alertname": "ZeroDistanceBrokerNodeDown", "severity": "page", "job": "rabbitmq",
          "instance": "rabbitmq-2:15692"},
         {"alertname": "ZeroDistanceQueueWithoutConsumer", "severity": "page", "vhost": "/",
          "queue": "zd.notify.events"},
         {"alertname": "ZeroDistanceBrokerPartitioned", "severity": "page",
          "rabbitmq_cluster": "zd", "namespace": "zero-distance"},
         {"alertname": "ZeroDistanceQueueBacklogGrowing", "severity": "ticket", "vhost": "/",
          "queue": "zd.routing.events", "namespace": "zero-distance"},
         {"alertname": "ZeroDistanceQueueBacklogGrowing", "severity": "ticket", "vhost": "/",
          "queue": "zd.intake.events", "namespace": "staging"},
         {"alertname": "ZeroDistanceDatabaseConnectionsNearLimit", "severity": "page",
          "namespace": "zero-distance", "pod": "zd-postgres-1"},
         {"alertname": "ZeroDistanceDatabaseConnectionsHigh", "severity": "ticket",
          "namespace": "zero-distance", "pod": "zd-postgres-1"},
         {"alertname": "ZeroDistanceDatabaseConnectionsHigh", "severity": "ticket",
          "namespace": "zero-distance", "pod": "zd-postgres-2"},
         {"alertname": "ZeroDistanceBrokerMemoryAlarm", "severity": "page",
          "instance": "rabbitmq-1:15692"},
         {"alertname": "ZeroDistanceOutboxBrokerBlocked", "severity": "page", "schema": "intake"},
         {"alertname": "ZeroDistanceMessagesParked", "severity": "ticket",
          "parked_in": "zd.routing.events.parked", "reason": "invalid concern"},
         {"alertname": "ZeroDistanceFeedbackRejected", "severity": "office",
          "reason": "unknown dispatch"},
         {"alertname": "ZeroDistanceWatchdog", "severity": "none"})
    expected = {
        ("ZeroDistanceServiceDown", "routing-1:8002"): ("active", ["on-call"]),
        ("ZeroDistanceDependencyDown", "routing-1:8002"): ("suppressed", ["on-call"]),
        ("ZeroDistanceDependencyDown", "routing-2:8002"): ("active", ["on-call"]),
        ("ZeroDistanceBrokerNodeDown", "rabbitmq-2:15692"): ("active", ["on-call"]),
        # one node of three down: the queue without consumer pages all the same
        ("ZeroDistanceQueueWithoutConsumer", "zd.notify.events"): ("active", ["on-call"]),
        ("ZeroDistanceBrokerPartitioned", None): ("active", ["on-call"]),
        ("ZeroDistanceQueueBacklogGrowing", "zd.routing.events"): ("suppressed", ["ticket"]),
        ("ZeroDistanceQueueBacklogGrowing", "zd.intake.events"): ("active", ["ticket"]),
        ("ZeroDistanceDatabaseConnectionsNearLimit", "zd-postgres-1"): ("active", ["on-call"]),
        ("ZeroDistanceDatabaseConnectionsHigh", "zd-postgres-1"): ("suppressed", ["ticket"]),
        ("ZeroDistanceDatabaseConnectionsHigh", "zd-postgres-2"): ("active", ["ticket"]),
        ("ZeroDistanceBrokerMemoryAlarm", "rabbitmq-1:15692"): ("active", ["on-call"]),
        ("ZeroDistanceOutboxBrokerBlocked", "intake"): ("suppressed", ["on-call"]),
        ("ZeroDistanceMessagesParked", None): ("active", ["ticket"]),
        ("ZeroDistanceFeedbackRejected", None): ("active", ["liaison-office"]),
        ("ZeroDistanceWatchdog", None): ("active", ["deadmans-switch"]),
    }
    wait_until(lambda: states(alertmanager) == expected, timeout=10,
               what="the alerts routed and inhibited")
