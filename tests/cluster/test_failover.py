"""A RabbitMQ node of a three-node cluster stopped under load: nothing accepted is lost.

Starts three local RabbitMQ nodes in one cluster (``tests.cluster.local_cluster``), a
database of its own (``zd_cluster``, set up with the admin CLI: ``migrate``, ``topology``,
``directory load``, ``demo-credentials``; six districts with auto-dispatch, as in the
benchmark) and the four services as OS processes whose ``ZD_AMQP_URI`` lists the three
nodes separated by ``;``, the node to be stopped first (so every service is connected
to it). Every quorum queue must have a member on each node.

Then concerns are posted to intake's public API at ``ZD_CLUSTER_RATE`` a second for
``ZD_CLUSTER_SECONDS`` (``bench.load``), the department queues are consumed
through a node that stays up and every ``/health`` is polled
(``tests.cluster.observer``). A fifth of the way in, the node that leads
``zd.routing.events`` is stopped (``rabbitmqctl stop_app``; ``ZD_CLUSTER_STOP=kill``
kills it instead, a crash); another fifth of the run after its AMQP port closed, it is
started again (``ZD_CLUSTER_RESTART=0`` leaves it stopped).

It checks: every concern answered 202 reaches its department queue as one dispatch
(copies of it, with its message id, are counted, not failed: delivery is at least once),
none is parked, no outbox row is left pending, the queues are empty, each service's
``/health`` is 200 again within ``HEALTH_WITHIN`` seconds, and while the node was down
every service was connected to the other nodes. It prints the figures: concerns accepted,
delivered, lost, copies, how long each ``/health`` was not 200, how long the backlog
took to drain, the delivered rate before, during and after the stop.

Run with ``make cluster-test`` only (tests/cluster/conftest.py keeps it out of ``make test``).
"""
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
import requests
import yaml
from psycopg import sql

from bench.stack import bench_directory
from services.common.migrate import SCHEMAS
from services.devstack import SERVICES, Stack
from tests.cluster.local_cluster import LocalCluster
from tests.support.services import wait_until
from tests.support.system import free_port

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "var" / "cluster-test"  # logs and figures of the last run; the nodes' data is removed
DATABASE_URL = os.environ.get("ZD_CLUSTER_DATABASE_URL",
                              "postgresql://postgres@127.0.0.1:5432/zd_cluster")
RATE = float(os.environ.get("ZD_CLUSTER_RATE", "20"))
SECONDS = float(os.environ.get("ZD_CLUSTER_SECONDS", "75"))
RESTART = os.environ.get("ZD_CLUSTER_RESTART", "1") != "0"
STOP = os.environ.get("ZD_CLUSTER_STOP", "stop_app")  # or "kill": SIGKILL, a crash
STOP_AT = SECONDS / 5  # when the stop is asked for (rabbitmqctl itself may take seconds)
OUTAGE_SECONDS = SECONDS / 5  # how long the node stays down before it is started again
DRAIN_SECONDS = 120  # how long, at most, for what is on its way after the load
HEALTH_WITHIN = 30  # seconds a service's /health may stay not 200 after the stop
DURING_SNAPSHOT = 8  # seconds after the node went down when the services' connections are read
LOAD_CLIENTS = 16
WATCHED = "zd.routing.events"  # the node leading this queue is the one stopped
SERVICE_QUEUES = ("zd.intake.events", "zd.routing.events", "zd.notify.events",
                  "zd.reporting.events", "zd.routing.feedback")

pytestmark = pytest.mark.skipif(not os.environ.get("ZD_CLUSTER_TEST"),
                                reason="the cluster test runs with make cluster-test")


def test_a_node_stopped_under_load_loses_no_concern(capsys):
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    began = time.time()
    with LocalCluster(root=WORK / "cluster") as cluster:
        run = Run(cluster, WORK)
        run.mark("cluster_up", began)
        try:
            run.set_up()
            run.start_services()
            run.load_and_stop_a_node()
            run.settle()
        finally:
            run.tear_down()
    figures = run.figures()
    with capsys.disabled():
        print("\n" + "\n".join(summary(figures)), flush=True)
    (WORK / "figures.json").write_text(json.dumps(figures, indent=1, default=str))
    failures = judge(figures)
    assert not failures, "\n".join(failures)


class Run:
    """One run of the scenario: what it started, and what it saw."""

    def __init__(self, cluster, work):
        self.cluster, self.work = cluster, work
        self.stack = self.observer = None
        self.marks = {}  # name → wall-clock time
        self.seen = {}

    # -- the system ---------------------------------------------------------------------

    def mark(self, name, since=None):
        """Note when a step ended (and, with ``since``, how long it took) in progress.log."""
        self.marks[name] = now = time.time()
        with open(self.work / "progress.log", "a") as log:
            log.write(f"{time.strftime('%H:%M:%S')} {name}"
                      + (f" ({now - since:.1f}s)" if since else "") + "\n")

    def base_env(self):
        return {key: value for key, value in os.environ.items() if not key.startswith("ZD_")}

    def admin(self, *args):
        """The admin CLI, on the test's database, through one node (exchanges, queues, users
        and policies are the cluster's, wherever they are declared)."""
        first = self.cluster.nodes[0]
        env = {**self.base_env(), "ZD_DATABASE_URL": DATABASE_URL, "ZD_AMQP_URI": first.amqp_uri(),
               "ZD_RABBIT_MANAGEMENT_URL": first.management_url,
               "ZD_DIRECTORY": str(self.directory_file)}
        done = subprocess.run([sys.executable, "-m", "services.admin", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"admin {' '.join(args)}: {done.stderr}{done.stdout}"
        return done.stdout

    def set_up(self):
        began = time.time()
        self.directory_file = self.work / "directory.yaml"
        self.directory = bench_directory()
        self.directory_file.write_text(yaml.safe_dump(self.directory, allow_unicode=True))
        self.departments = [f"zd.dept.{entry['code']}" for entry in self.directory["departments"]]
        drop_database(DATABASE_URL)
        self.admin("migrate")
        self.admin("topology")
        self.admin("directory", "load", str(self.directory_file))
        self.admin("demo-credentials", "--keys", str(self.work / "keys.json"),
                   "--amqp-users", str(self.work / "amqp-users.json"))
        self.seen["cluster_running_nodes"] = sorted(self.cluster.running_nodes())
        queues = self.quorum_queues(self.cluster.nodes[0])
        self.seen["queues_before"] = queues
        self.victim = self.cluster.node_by_name(queues[WATCHED]["leader"])
        self.order = [self.victim] + [node for node in self.cluster.nodes if node is not self.victim]
        self.watch = self.order[-1]  # stays up: the observer and the checks go through it
        self.seen["victim"] = self.victim.name
        self.seen["ports"] = {node.amqp_port: node.short for node in self.cluster.nodes}
        self.seen["quorum_status"] = self.cluster.quorum_status(self.watch, WATCHED)
        self.mark("set_up", began)

    def quorum_queues(self, node):
        """``{queue: {"members", "online", "leader", "messages", "unacked"}}`` for every queue."""
        answer = requests.get(f"http://127.0.0.1:{node.management_port}/api/queues/{quote('/', safe='')}",
                              auth=("guest", "guest"), timeout=10)
        answer.raise_for_status()
        return {queue["name"]: {"type": queue.get("type"), "members": sorted(queue.get("members", [])),
                                "online": sorted(queue.get("online", [])), "leader": queue.get("leader"),
                                "messages": queue.get("messages", 0),
                                "unacked": queue.get("messages_unacknowledged", 0)}
                for queue in answer.json()}

    def start_services(self):
        began = time.time()
        uri = ";".join(node.amqp_uri() for node in self.order)
        env = {"ZD_DATABASE_URL": DATABASE_URL, "ZD_AMQP_URI": uri,
               "ZD_RABBIT_MANAGEMENT_URL": self.watch.management_url,
               "ZD_RATE_LIMIT": "1000000", "ZD_LOG_LEVEL": "INFO",
               "ZD_LOG_FORMAT": "text",  # reconnections() reads the text lines
               **{f"ZD_{name.upper()}_PORT": str(free_port()) for name in SERVICES}}
        self.stack = Stack(log_dir=str(self.work))
        self.stack.env = {**self.base_env(), **env}  # nothing of the test run's own system
        self.stack.start(timeout=120)
        wait_until(self.caught_up, timeout=60, interval=0.5, what="every service has the directory and keys")
        self.seen["connections_before"] = self.connections()
        self.mark("services_up", began)

    def caught_up(self):
        with psycopg.connect(DATABASE_URL) as conn:
            return all(conn.execute(
                sql.SQL("SELECT (SELECT count(*) FROM {}.directory_snapshot) = 1 AND"
                        " (SELECT count(*) FROM {}.credentials) = (SELECT count(*) FROM admin.api_keys)")
                .format(sql.Identifier(schema), sql.Identifier(schema))).fetchone()[0]
                for schema in SERVICES)

    def connections(self):
        """``{service: {node: established AMQP connections}}``, read from /proc."""
        return {name: broker_connections(process.pid, self.cluster)
                for name, process in self.stack.processes.items()}

    def management_connections(self, node):
        answer = requests.get(f"http://127.0.0.1:{node.management_port}/api/connections",
                              auth=("guest", "guest"), timeout=10)
        answer.raise_for_status()
        return dict(Counter(connection["node"] for connection in answer.json()))

    # -- the load and the stop -------------------------------------------------------------

    def load_and_stop_a_node(self):
        observed = self.observed = self.work / "observed.jsonl"
        health = ",".join(f"{name}={self.stack.url(name)}" for name in SERVICES)
        self.observer = subprocess.Popen(
            [sys.executable, "-m", "tests.cluster.observer", "--amqp", self.watch.amqp_uri(),
             "--queues", ",".join(self.departments), "--health", health,
             "--watch-port", str(self.victim.amqp_port), "--out", str(observed)],
            cwd=ROOT, env=self.base_env())
        wait_until(lambda: any(entry["kind"] == "ready" for entry in read_lines(observed)),
                   timeout=30, interval=0.2, what="the observer consuming")
        keys = self.work / "keys.json"
        with open(self.work / "load.jsonl", "w") as out:
            load = subprocess.Popen(
                [sys.executable, "-m", "bench.load", "--url", self.stack.url("intake"),
                 "--keys", str(keys), "--rate", str(RATE), "--seconds", str(SECONDS),
                 "--clients", str(LOAD_CLIENTS)], cwd=ROOT, env=self.base_env(), stdout=out)
            self.mark("load_start")
            self.sleep_until(STOP_AT)
            self.mark("stop")
            if STOP == "kill":
                self.cluster.kill(self.victim)
            else:
                self.cluster.stop_app(self.victim)
            self.mark("stopped")
            self.marks["down"] = self.port_changed(to_open=False, after=self.marks["stop"])
            time.sleep(max(0.0, self.marks["down"] + DURING_SNAPSHOT - time.time()))
            self.seen["connections_during"] = self.connections()
            self.seen["management_connections_during"] = self.management_connections(self.watch)
            self.seen["queues_during"] = self.quorum_queues(self.watch)
            if RESTART:
                time.sleep(max(0.0, self.marks["down"] + OUTAGE_SECONDS - time.time()))
                self.mark("restart")
                if STOP == "kill":
                    self.cluster.restart(self.victim)
                else:
                    self.cluster.start_app(self.victim)
                self.mark("restarted")
                self.marks["up"] = self.port_changed(to_open=True, after=self.marks["restart"])
            assert load.wait(timeout=SECONDS + 120) == 0, "the load generator failed"
        self.mark("load_end")

    def port_changed(self, to_open, after):
        """When (wall clock) the observer saw the stopped node's AMQP port open or close."""
        def seen():
            return next((entry["t"] for entry in read_lines(self.observed) if entry["kind"] == "port"
                         and entry["open"] == to_open and entry["t"] >= after - 1), None)
        return wait_until(seen, timeout=30, interval=0.2,
                          what=f"{self.victim.name}'s AMQP port {'open' if to_open else 'closed'}")

    def sleep_until(self, offset):
        time.sleep(max(0.0, self.marks["load_start"] + offset - time.time()))

    def settle(self):
        """Wait until every accepted concern arrived and nothing is left anywhere (or
        ``DRAIN_SECONDS`` passed), then a little longer, for late copies."""
        accepted = {entry["ticket_id"] for entry in read_lines(self.work / "load.jsonl")
                    if entry["status"] == 202}
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            arrived = {entry["ticket_id"] for entry in read_lines(self.work / "observed.jsonl")
                       if entry["kind"] == "arrival"}
            if accepted <= arrived and not self.left_over() or self.exited():
                break
            time.sleep(1)
        self.mark("settled", self.marks["load_end"])
        time.sleep(3)
        self.seen["left_over"] = self.left_over()
        self.seen["connections_after"] = self.connections()
        self.seen["management_connections_after"] = self.management_connections(self.watch)
        self.seen["queues_after"] = self.quorum_queues(self.watch)
        self.seen["cluster_running_nodes_after"] = sorted(self.cluster.running_nodes(self.watch))
        self.seen["health_after"] = {name: health_status(self.stack.url(name)) for name in SERVICES}
        self.seen["exited"] = self.exited()

    def exited(self):
        """``{service: exit code}`` of the service processes that are no longer running."""
        return {name: process.poll() for name, process in self.stack.processes.items()
                if process.poll() is not None}

    def left_over(self):
        """What is still waiting: outbox rows per schema, messages per service queue."""
        with psycopg.connect(DATABASE_URL) as conn:
            pending = {schema: conn.execute(sql.SQL(
                "SELECT count(*) FROM {}.outbox WHERE published_at IS NULL").format(
                    sql.Identifier(schema))).fetchone()[0] for schema in SCHEMAS}
        queues = self.quorum_queues(self.watch)
        waiting = {name: queue["messages"] for name, queue in queues.items()
                   if name in SERVICE_QUEUES and queue["messages"]}
        return {**{f"outbox {schema}": n for schema, n in pending.items() if n}, **waiting}

    def tear_down(self):
        if self.observer is not None:
            self.observer.terminate()
            try:
                self.observer.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.observer.kill()
        if self.stack is not None:
            self.stack.stop()
        self.logs = {name: (self.work / f"{name}.log").read_text(errors="replace")
                     for name in SERVICES if (self.work / f"{name}.log").exists()}

    # -- the figures -------------------------------------------------------------------------

    def figures(self):
        posts = read_lines(self.work / "load.jsonl")
        observed = read_lines(self.work / "observed.jsonl")
        return analyse(posts, observed, self.marks, self.seen, self.logs)


def health_status(base):
    try:
        return requests.get(f"{base}/health", timeout=5).status_code
    except requests.RequestException:
        return 0


def drop_database(url):
    name = url.rsplit("/", 1)[1].split("?")[0]
    maintenance = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def read_lines(path):
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.endswith("}")]


def broker_connections(pid, cluster):
    """``{node: n}``: the established TCP connections of process ``pid`` to the cluster's
    AMQP ports, from its socket inodes and /proc/net/tcp."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    found = Counter()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote, state, inode = fields[2], fields[3], fields[9]
        if state == "01" and inode in inodes:  # ESTABLISHED
            node = cluster.node_by_port(int(remote.split(":")[1], 16))
            if node is not None:
                found[node.name] += 1
    return dict(found)


# -- analysis -------------------------------------------------------------------------------------


def analyse(posts, observed, marks, seen, logs):
    start, down, end = marks["load_start"], marks["down"], marks["load_end"]
    up = marks.get("up", end)
    accepted = {entry["ticket_id"]: entry for entry in posts if entry["status"] == 202}
    arrivals = defaultdict(list)
    for entry in observed:
        if entry["kind"] == "arrival":
            arrivals[entry["ticket_id"]].append(entry)
    first = {ticket: min(entry["t"] for entry in entries) for ticket, entries in arrivals.items()}
    copies = sum(len(entries) - 1 for ticket, entries in arrivals.items() if ticket in accepted)
    second_dispatches = sorted(ticket for ticket, entries in arrivals.items()
                               if len({entry["message_id"] for entry in entries}) > 1)
    windows = {"before": (start, down), "during": (down, up), "after": (up, end)}
    if up >= end:
        windows.pop("after")
    per_window = {}
    for label, (low, high) in windows.items():
        delivered = sum(1 for t in first.values() if low <= t < high)
        posted = [entry for entry in accepted.values() if low <= entry["scheduled"] < high]
        latency = sorted(first[entry["ticket_id"]] - entry["scheduled"] for entry in posted
                         if entry["ticket_id"] in first)
        per_window[label] = {
            "seconds": round(high - low, 1), "accepted": len(posted),
            "delivered_per_s": round(delivered / max(high - low, 1e-9), 1),
            "post_to_queue_p50_ms": percentile(latency, 0.5),
            "post_to_queue_max_ms": round(latency[-1] * 1000) if latency else None}
    last_arrival = max(first.values(), default=end)
    return {
        "rate": RATE, "seconds": SECONDS, "restart": RESTART, "stop": STOP, "victim": seen["victim"],
        "ports": seen["ports"], "quorum_status": seen.get("quorum_status"),
        "cluster_running_nodes": seen["cluster_running_nodes"],
        "cluster_running_nodes_after": seen.get("cluster_running_nodes_after"),
        "posted": len(posts), "accepted": len(accepted),
        "refused": dict(Counter(entry["status"] for entry in posts if entry["status"] != 202)),
        "delivered": sum(1 for ticket in accepted if ticket in first),
        "lost": sorted(ticket for ticket in accepted if ticket not in first),
        "copies": copies, "second_dispatches": second_dispatches,
        "unexpected": sorted(ticket for ticket in arrivals if ticket not in accepted),
        "stop_asked_at_s": round(marks["stop"] - start, 1),
        "down_after_asking_s": round(down - marks["stop"], 1),
        "stop_app_seconds": round(marks["stopped"] - marks["stop"], 1),
        "down_at_s": round(down - start, 1),
        "up_after_asking_s": round(up - marks["restart"], 1) if "up" in marks else None,
        "down_for_s": round(up - down, 1) if "up" in marks else None,
        "windows": per_window,
        "drain_after_load_s": round(max(0.0, last_arrival - end), 1),
        "backlog": backlog(accepted, first, start, down, up, last_arrival),
        "health": health_outages(observed, down),
        "health_after": seen.get("health_after"), "exited": seen.get("exited"),
        "left_over": seen.get("left_over"),
        "queues_before": seen["queues_before"], "queues_during": seen.get("queues_during"),
        "queues_after": seen.get("queues_after"),
        "connections_before": seen.get("connections_before"),
        "connections_during": seen.get("connections_during"),
        "connections_after": seen.get("connections_after"),
        "management_connections_during": seen.get("management_connections_during"),
        "management_connections_after": seen.get("management_connections_after"),
        "reconnections": reconnections(logs),
        "relay_failures": {service: text.count("OutboxRelay failed") for service, text in logs.items()},
        "consumer_errors": [entry for entry in observed if entry["kind"] == "consumer_error"],
    }


def percentile(values, fraction):
    if not values:
        return None
    return round(values[min(len(values) - 1, int(fraction * len(values)))] * 1000)


def backlog(accepted, first, start, down, up, last_arrival, step=0.5):
    """Concerns answered 202 and not yet in their department queue, over time: the most
    before the stop, while the node was down (and how long after it went down the backlog
    was back to what it was before), and after its restart."""
    answered = sorted(entry["answered"] for entry in accepted.values())
    arrived = sorted(first[ticket] for ticket in accepted if ticket in first)
    series, a, d, t = [], 0, 0, start
    while t <= last_arrival + step:
        while a < len(answered) and answered[a] <= t:
            a += 1
        while d < len(arrived) and arrived[d] <= t:
            d += 1
        series.append((t, a - d))
        t += step
    before = [depth for t, depth in series if t < down]
    usual = max(max(before, default=0), RATE)  # a second of inflow is not a backlog
    while_down = [(t, depth) for t, depth in series if down <= t < up]
    deepest_t, deepest = max(while_down, key=lambda point: point[1], default=(down, 0))
    cleared = next((t for t, depth in series if t >= deepest_t and depth <= usual), None)
    return {"most_before": max(before, default=0), "most_while_down": deepest,
            "most_at_s": round(deepest_t - down, 1),
            "usual_again_after_s": round(cleared - down, 1) if cleared is not None else None,
            "most_after_restart": max((depth for t, depth in series if t >= up), default=None)}


def health_outages(observed, stop):
    """Per service: the spans (seconds from the stop) when /health was not 200, from the
    stop on, and their total."""
    samples = defaultdict(list)
    for entry in observed:
        if entry["kind"] == "health":
            samples[entry["service"]].append(entry)
    found = {}
    for service in SERVICES:
        spans, opened, why = [], None, None
        for entry in sorted(samples.get(service, []), key=lambda entry: entry["t"]):
            if entry["t"] < stop:
                continue
            if entry["status"] != 200 and opened is None:
                opened, why = entry["t"], entry["why"]
            elif entry["status"] == 200 and opened is not None:
                spans.append((round(opened - stop, 1), round(entry["t"] - stop, 1), why))
                opened = None
        if opened is not None:
            spans.append((round(opened - stop, 1), None, why))
        slowest = max((entry["ms"] for entry in samples.get(service, []) if entry["t"] >= stop),
                      default=None)
        found[service] = {"spans": spans, "samples": len(samples.get(service, [])),
                          "not_ok_s": round(sum((end or 0) - begin for begin, end, _ in spans), 1),
                          "slowest_answer_ms": slowest}
    return found


def reconnections(logs):
    """Per service, each time its consumer lost the broker: ``(milliseconds until it was
    connected again, the port it connected to, connection attempts refused meanwhile)``,
    from the service's log (kombu's and the consumer's own lines)."""
    found = {}
    for service, text in logs.items():
        found[service], lost, refused = [], None, 0
        for line in text.splitlines():
            if "Connection to broker lost" in line:
                lost, refused = log_time(line), 0
            elif "error connecting to broker" in line.lower() and lost is not None:
                refused += 1
            elif "Connected to amqp" in line and lost is not None:
                port = line.rsplit(":", 1)[1].split("/")[0]
                found[service].append((round((log_time(line) - lost) * 1000), int(port), refused))
                lost = None
        if lost is not None:
            found[service].append((None, None, refused))
    return found


def log_time(line):
    """The time of a service log line (``2026-12-02 06:24:55,005 ...``), in seconds."""
    stamp, millis = line[:23].split(",")
    return time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S")) + int(millis) / 1000


def judge(figures):
    failures = []
    if len(figures["cluster_running_nodes"]) != 3:
        failures.append(f"the cluster runs {figures['cluster_running_nodes']}")
    for name, queue in figures["queues_before"].items():
        if name.startswith("zd.") and len(queue["members"]) != 3:
            failures.append(f"{name} has members {queue['members']}, not one on each node")
    if figures["exited"]:
        failures.append(f"services exited: {figures['exited']} (see var/cluster-test/<service>.log)")
    if figures["refused"]:
        failures.append(f"intake refused concerns: {figures['refused']}")
    if figures["lost"]:
        failures.append(f"{len(figures['lost'])} accepted concerns never reached their department"
                        f" queue, e.g. {figures['lost'][:5]}")
    if figures["second_dispatches"]:
        failures.append(f"{len(figures['second_dispatches'])} concerns dispatched twice under two"
                        f" message ids, e.g. {figures['second_dispatches'][:5]}")
    if figures["unexpected"]:
        failures.append(f"dispatches of concerns never accepted: {figures['unexpected'][:5]}")
    if figures["left_over"]:
        failures.append(f"left waiting after the drain: {figures['left_over']}")
    parked = {name: queue["messages"] for name, queue in (figures["queues_after"] or {}).items()
              if (name.endswith(".parked") or name == "zd.feedback.rejected") and queue["messages"]}
    if parked:
        failures.append(f"parked: {parked}")
    for service, outage in figures["health"].items():
        for begin, end, why in outage["spans"]:
            if end is None or end - begin > HEALTH_WITHIN:
                failures.append(f"{service} /health not 200 from {begin}s after the stop"
                                f" {'on' if end is None else f'to {end}s'} ({why})")
    if any(status != 200 for status in (figures["health_after"] or {}).values()):
        failures.append(f"/health at the end: {figures['health_after']}")
    for service, nodes in (figures["connections_during"] or {}).items():
        if figures["victim"] in nodes or not nodes:
            failures.append(f"{service} while {figures['victim']} was stopped: connected to {nodes}")
    if figures["restart"] and len(figures["cluster_running_nodes_after"] or []) != 3:
        failures.append(f"after the restart the cluster runs {figures['cluster_running_nodes_after']}")
    return failures


def summary(figures):
    short = {name: name.split("@")[0] for name in figures["cluster_running_nodes"]}
    by_port = {int(port): name for port, name in figures["ports"].items()}

    def nodes(per_service):
        return "; ".join(f"{service} " + (", ".join(f"{short.get(node, node)}×{count}"
                                                     for node, count in sorted(found.items())) or "none")
                         for service, found in (per_service or {}).items())

    def per_node(counts):
        return ", ".join(f"{short.get(node, node)}×{count}" for node, count in sorted((counts or {}).items()))

    victim = short[figures["victim"]]
    before = figures["connections_before"] or {}
    on_victim = sum(1 for found in before.values() if figures["victim"] in found)
    how = (("killed (SIGKILL)", "its restart") if figures["stop"] == "kill"
           else ("stopped with rabbitmqctl stop_app", "start_app"))
    lines = [
        f"cluster test: 3 nodes ({', '.join(sorted(short.values()))}), {figures['seconds']:.0f}s of"
        f" concerns at {figures['rate']:g}/s; {victim} (leader of {WATCHED}; {on_victim} of"
        f" {len(before)} services connected to it) {how[0]}, asked at {figures['stop_asked_at_s']}s:"
        f" its AMQP port closed {figures['down_after_asking_s']}s later (at {figures['down_at_s']}s;"
        f" the command took {figures['stop_app_seconds']}s)"
        + (f"; started again after {figures['down_for_s']}s down (port open"
           f" {figures['up_after_asking_s']}s after {how[1]} was asked)" if figures["down_for_s"] else ""),
        f"  concerns posted {figures['posted']}, accepted (202) {figures['accepted']}, delivered"
        f" {figures['delivered']}, lost {len(figures['lost'])}, copies of a delivered dispatch (same"
        f" message id) {figures['copies']}, dispatched twice {len(figures['second_dispatches'])},"
        f" refused {figures['refused'] or 0}",
    ]
    names = {"before": "before the stop", "during": f"{victim} down", "after": "after its restart"}
    for label, window in figures["windows"].items():
        lines.append(f"  {names[label]:<18} {window['seconds']:>5}s: accepted {window['accepted']:>5},"
                     f" delivered {window['delivered_per_s']:>5}/s, POST→queue p50"
                     f" {window['post_to_queue_p50_ms']} ms, max {window['post_to_queue_max_ms']} ms")
    backlog_figures = figures["backlog"]
    lines.append(f"  backlog (accepted, not yet in a department queue): at most"
                 f" {backlog_figures['most_before']} before the stop,"
                 f" {backlog_figures['most_while_down']} while {victim} was down"
                 f" ({backlog_figures['most_at_s']}s after its port closed; back to usual"
                 f" {backlog_figures['usual_again_after_s']}s after), {backlog_figures['most_after_restart']}"
                 f" after its restart; last delivery {figures['drain_after_load_s']}s after the load ended")
    for service, outage in figures["health"].items():
        spans = ", ".join(f"{begin}-{end if end is not None else '…'}s" for begin, end, _ in outage["spans"])
        again = figures["reconnections"].get(service, [])
        lines.append(f"  {service:<9} /health not 200 for {outage['not_ok_s']}s after the stop"
                     f" ({spans or 'never'}; slowest answer {outage['slowest_answer_ms']} ms);"
                     f" consumer reconnected " + (", ".join(
                         f"in {ms} ms to {by_port.get(port, port)} ({refused} refused first)"
                         for ms, port, refused in again) or "never needed")
                     + f"; outbox relay rounds failed {figures['relay_failures'].get(service, 0)}")
    lines.append(f"  /health at the end: {figures['health_after']}")
    lines.append(f"  AMQP connections (from /proc) before: {nodes(figures['connections_before'])}")
    lines.append(f"    with {victim} down: {nodes(figures['connections_during'])}"
                 f" (management API of a survivor: {per_node(figures['management_connections_during'])})")
    lines.append(f"    at the end: {nodes(figures['connections_after'])}"
                 f" (management API: {per_node(figures['management_connections_after'])})")
    leaders = {phase: short.get((figures[f"queues_{phase}"] or {}).get(WATCHED, {}).get("leader"))
               for phase in ("before", "during", "after")}
    members = {name: len(queue["members"]) for name, queue in figures["queues_before"].items()
               if name.startswith("zd.")}
    lines.append(f"  quorum queues: {len(members)}, members each {sorted(set(members.values()))};"
                 f" {WATCHED} leader {leaders['before']} → {leaders['during']} (node down) →"
                 f" {leaders['after']} (end)")
    lines.append("  left over after the drain (outbox rows, queued messages):"
                 f" {figures['left_over'] or 'nothing'}")
    return lines
