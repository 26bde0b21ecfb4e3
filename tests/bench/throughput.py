"""``make bench``: how many concerns a second the chain carries from the public API to
the departments' queues, and how fast, measured from outside.

Starts the four services as separate processes on a database and vhost of their own
(``zd_bench``), loads a directory of six districts with auto-forward and
auto-dispatch (one water department each), and drives intake from a load generator
in another process (``tests.bench.load``): fixed rates for ``ZD_BENCH_SECONDS`` each
(open loop), then a closed loop. Every department queue is consumed with the
department's own RabbitMQ user and each arrival timed. Per phase it prints, and writes
to ``bench/results/<date>-<host>.json``: accepted/s, delivered/s, intake's answer
latency, POST→department queue latency, each service queue's depth over time, CPU
seconds per concern of each service, and lost and duplicated concerns. Then the same
with a second routing and notify instance, and the floor: the same durable work done
by plain kombu and psycopg (``tests.bench.floor``). Figures only: nothing here passes
or fails on time.
"""
import os

os.environ.setdefault("ZD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/zd_bench")
os.environ.setdefault("ZD_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/zd_bench")

import json  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402
import yaml  # noqa: E402
from kombu import Connection, Queue  # noqa: E402

from services.admin.rabbit_management import vhost_of  # noqa: E402
from services.common.config import settings  # noqa: E402
from services.devstack import Stack  # noqa: E402
from tests.bench import floor  # noqa: E402
from tests.support.system import department_uri, free_port, fresh_system  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RATES = [float(rate) for rate in os.environ.get("ZD_BENCH_RATES", "50,100,200,400").split(",")]
SECONDS = float(os.environ.get("ZD_BENCH_SECONDS", "30"))
CLOSED_LOOP_CLIENTS = int(os.environ.get("ZD_BENCH_CLIENTS", "32"))
#: what to run: the stack as it is, scaled out, the floor (for a quick look: base)
PARTS = os.environ.get("ZD_BENCH_PARTS", "base,scaled,floor").split(",")
DRAIN_SECONDS = 300  # how long a phase waits, at most, for what is still on its way
QUIET_SECONDS = 15  # ... or until nothing arrived for this long
DISTRICTS = [f"d{n}" for n in range(1, 7)]
SERVICE_QUEUES = ["zd.intake.events", "zd.routing.events", "zd.notify.events", "zd.reporting.events"]


def bench_directory():
    """Six districts of three communities, two representatives each (who never fill up),
    every concern a drainage one, auto-forwarded and auto-dispatched to the district's
    water department at once."""
    districts, representatives, departments = [], [], []
    for district in DISTRICTS:
        communities = []
        for n in range(1, 4):
            reps = [f"{district}-rep{n}a", f"{district}-rep{n}b"]
            communities.append({"code": f"{district}-c{n}", "name": f"{district} 社区{n}",
                                "representatives": reps})
            representatives += [{"id": rep, "name": rep, "district": district, "max_open": 1_000_000,
                                 "contact": {"email": f"{rep}@bench.example"}} for rep in reps]
        districts.append({"code": district, "name": f"区{district}", "communities": communities,
                          "office": {"name": f"{district} 联络室",
                                     "contact": {"email": f"office@{district}.bench.example"}}})
        departments.append({"code": f"{district}-water", "name": f"{district} 水务局",
                            "districts": [district], "categories": ["drainage"], "due_hours": 72,
                            "delivery": "amqp", "contact": {"email": f"water@{district}.bench.example"}})
    return {"districts": districts, "representatives": representatives,
            "categories": [{"code": "drainage", "name": "排水", "keywords": ["下水道", "污水", "堵塞"]}],
            "departments": departments,
            "policy": {"representative_hours": 24, "congress_hours": 8, "auto_forward": True,
                       "auto_dispatch": True, "reopen_limit": 2, "timezone": "Asia/Shanghai",
                       "calendar": None}}


class Departments:
    """Every department's queue consumed with its own user; each arrival timed."""

    def __init__(self, users):
        self.users = users
        self.arrivals = {}
        self.duplicates = 0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._consume, args=(district,), daemon=True)
                        for district in DISTRICTS]

    def start(self):
        for thread in self.threads:
            thread.start()
        return self

    def stop(self):
        self.done.set()
        for thread in self.threads:
            thread.join()

    def _consume(self, district):
        department = f"{district}-water"
        with Connection(department_uri(self.users[department])) as connection:
            channel = connection.channel()
            channel.basic_qos(0, 200, False)
            queue = Queue(f"zd.dept.{department}", no_declare=True, channel=channel)

            def arrived(body, message):
                ticket_id = json.loads(message.body)["ticket_id"]
                now = time.time()
                with self.lock:
                    if ticket_id in self.arrivals:
                        self.duplicates += 1
                    else:
                        self.arrivals[ticket_id] = now
                message.ack()

            with connection.Consumer(queue, callbacks=[arrived], accept=["json"]):
                while not self.done.is_set():
                    try:
                        connection.drain_events(timeout=0.5)
                    except TimeoutError:
                        pass
                    except OSError:
                        continue


class QueueDepths:
    """The service queues' depths, sampled every second from the management API."""

    def __init__(self):
        self.samples = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.vhost = vhost_of(settings().amqp_uri)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.done.set()
        self.thread.join()

    def _sample(self):
        vhost = requests.utils.quote(self.vhost, safe="")
        url = f"{settings().management_url.rstrip('/')}/api/queues/{vhost}"
        while not self.done.wait(1):
            try:
                queues = requests.get(url, timeout=2, params={"columns": "name,messages"}).json()
            except (requests.RequestException, ValueError):
                continue
            depth = {queue["name"]: queue.get("messages", 0) for queue in queues
                     if queue["name"] in SERVICE_QUEUES}
            self.samples.append({"t": time.time(), **depth})


def cpu_seconds(pids):
    """CPU seconds (user + system) each process has used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for name, pid in pids.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[name] = (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError):
            used[name] = 0.0
    return used


def percentile(values, share):
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)


def run_phase(name, stack, keys_file, departments, pids, rate=0.0, clients=64):
    """One load phase: the generator's process for SECONDS, then up to DRAIN_SECONDS for
    the concerns still on their way; returns the phase's figures."""
    depths = QueueDepths().start()
    cpu_before = cpu_seconds(pids)
    command = [sys.executable, "-m", "tests.bench.load", "--url", stack.url("intake"), "--keys",
               keys_file, "--seconds", str(SECONDS), "--clients", str(clients), "--rate", str(rate)]
    began = time.time()
    generator = subprocess.run(command, capture_output=True, text=True, check=True)
    sent = [json.loads(line) for line in generator.stdout.splitlines() if line.strip()]
    accepted = [entry for entry in sent if entry["status"] == 202 and entry["ticket_id"]]
    settle(departments, accepted)
    cpu_after = cpu_seconds(pids)
    depths.stop()
    arrivals = {e["ticket_id"]: departments.arrivals[e["ticket_id"]] for e in accepted
                if e["ticket_id"] in departments.arrivals}
    load_end = max((e["answered"] for e in sent), default=began)
    last_arrival = max(arrivals.values(), default=began)
    to_queue = [(arrivals[e["ticket_id"]] - e["scheduled"]) * 1000 for e in accepted
                if e["ticket_id"] in arrivals]
    answers = [(e["answered"] - e["scheduled"]) * 1000 for e in accepted]
    figures = {
        "phase": name, "offered_per_s": rate or None, "clients": clients, "sent": len(sent),
        "accepted": len(accepted), "refused": sum(1 for e in sent if e["status"] != 202),
        "accepted_per_s": round(len(accepted) / max(load_end - began, 1e-9), 1),
        "delivered": len(arrivals),
        "delivered_per_s": round(len(arrivals) / max(last_arrival - began, 1e-9), 1),
        "not_delivered": len(accepted) - len(arrivals),
        "intake_ms": {"p50": percentile(answers, 0.5), "p99": percentile(answers, 0.99)},
        "post_to_queue_ms": {"p50": percentile(to_queue, 0.5), "p95": percentile(to_queue, 0.95),
                             "p99": percentile(to_queue, 0.99),
                             "max": round(max(to_queue), 1) if to_queue else None},
        "cpu_ms_per_concern": {service: round((cpu_after[service] - cpu_before[service]) * 1000
                                              / max(len(accepted), 1), 2) for service in pids},
        "queue_depth_max": {queue: max((s.get(queue, 0) for s in depths.samples), default=0)
                            for queue in SERVICE_QUEUES},
        "queue_depths": depths.samples,
    }
    return figures


def settle(departments, accepted):
    """Wait until every accepted concern reached its department, or nothing arrived for
    ``QUIET_SECONDS``, or ``DRAIN_SECONDS`` passed: the next phase starts unloaded."""
    deadline = time.monotonic() + DRAIN_SECONDS
    last_count, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        arrived = sum(1 for entry in accepted if entry["ticket_id"] in departments.arrivals)
        if arrived == len(accepted):
            return
        if arrived != last_count:
            last_count, last_change = arrived, time.monotonic()
        elif time.monotonic() - last_change > QUIET_SECONDS:
            return
        time.sleep(0.5)


def show(figures):
    latency = figures["post_to_queue_ms"]
    print(f"{figures['phase']:<22} accepted {figures['accepted_per_s']:7.1f}/s  delivered "
          f"{figures['delivered_per_s']:7.1f}/s  POST→queue p50 {latency['p50']} p95 {latency['p95']}"
          f" p99 {latency['p99']} max {latency['max']} ms  intake p50 {figures['intake_ms']['p50']}"
          f" ms  not delivered {figures['not_delivered']}")
    print(f"{'':<22} CPU ms/concern {figures['cpu_ms_per_concern']}  deepest queues"
          f" {figures['queue_depth_max']}", flush=True)


def start_stack(keys_dir, extra_instances=()):
    ports = {f"ZD_{name.upper()}_PORT": str(free_port()) for name in ("intake", "routing", "notify",
                                                                       "reporting")}
    env = {**ports, "ZD_RATE_LIMIT": "1000000", "ZD_LOG_LEVEL": "WARNING"}
    stack = Stack(env=env, log_dir=str(keys_dir)).start()
    extras = []
    for name in extra_instances:
        extra_env = {**stack.env, f"ZD_{name.upper()}_PORT": str(free_port())}
        extras.append((name, subprocess.Popen([sys.executable, "-m", f"services.{name}"], env=extra_env)))
    time.sleep(3 if extras else 0)
    return stack, extras


def main():
    logging.getLogger("amqp").setLevel(logging.ERROR)  # deliveries racing a consumer's close
    work = ROOT / "var" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    directory_file = work / "directory.yaml"
    directory_file.write_text(yaml.safe_dump(bench_directory(), allow_unicode=True))
    results = {"machine": {"host": platform.node(), "cpus": os.cpu_count(),
                           "python": platform.python_version()},
               "when": datetime.now(timezone.utc).isoformat(), "seconds_per_phase": SECONDS,
               "phases": []}

    def bench(label, extra_instances=(), rates=RATES, closed_loop=True):
        keys, users, _ = fresh_system(str(directory_file))
        keys_file = work / "keys.json"
        keys_file.write_text(json.dumps(keys))
        stack, extras = start_stack(work, extra_instances)
        departments = Departments(users).start()
        pids = {name: process.pid for name, process in stack.processes.items()}
        pids.update({f"{name}#2": process.pid for name, process in extras})
        try:
            for rate in rates:
                figures = run_phase(f"{label} {rate:g}/s", stack, str(keys_file), departments, pids,
                                    rate=rate)
                show(figures)
                results["phases"].append(figures)
            if closed_loop:
                figures = run_phase(f"{label} closed loop", stack, str(keys_file), departments, pids,
                                    clients=CLOSED_LOOP_CLIENTS)
                show(figures)
                results["phases"].append(figures)
        finally:
            departments.stop()
            for _, process in extras:
                process.terminate()
                process.wait()
            stack.stop()
            results["phases"][-1]["duplicates_so_far"] = departments.duplicates

    print(f"Zero Distance throughput benchmark: {platform.node()}, {os.cpu_count()} CPUs,"
          f" {SECONDS:g} s per phase", flush=True)
    if "base" in PARTS:
        bench("one of each")
    if "scaled" in PARTS:
        bench("routing, notify x2", extra_instances=("routing", "notify"), rates=[max(RATES)])
    if "floor" in PARTS:
        floor_figures = floor.measure_best(SECONDS)
        results["floor"] = floor_figures
        print(f"floor (kombu + psycopg, the same durable work): {floor_figures['delivered_per_s']}/s")
        best = max(phase["delivered_per_s"] for phase in results["phases"])
        results["ratio_to_floor"] = round(best / floor_figures["delivered_per_s"], 3)
        print(f"best delivered/s over the floor: {results['ratio_to_floor']}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{datetime.now(timezone.utc):%Y-%m-%d}-{platform.node()}.json"
    path.write_text(json.dumps(results, indent=1, default=str))
    print(f"written: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
