"""``make bench``: how many concerns a second the chain carries from the public API to
the departments' queues, and how fast, measured from outside.

Starts the four services as separate processes on a database and vhost of their own
(``zd_bench``), loads a directory of six districts with auto-forward and
auto-dispatch (one water department each), and drives intake from a load generator
in another process (``bench.load``): fixed rates for ``ZD_BENCH_SECONDS`` each
(open loop), then a closed loop. Every department queue is consumed with the
department's own RabbitMQ user and each arrival timed. The parts (``ZD_BENCH_PARTS``):

- base: the stack as it is, at each of ``ZD_BENCH_RATES``;
- district: every concern to one district (d1), at ``ZD_BENCH_DISTRICT_RATE``, with
  the first representative of its first station (d1-rep1a) full at
  ``ZD_BENCH_MAX_OPEN`` open tickets, so the station overflows to the next one; after
  each phase the database must hold exactly that many open tickets of hers, and
  routing's load table every representative's count of open tickets;
- scaled: a second routing and notify instance, at the highest rate, and its
  delivered/s over the base part's at that rate (``scale_out_ratio``);
- floor: the same durable work done by plain kombu and psycopg (``bench.floor``).

Per phase it prints, and writes to ``bench/results/<date>-<host>.json``: accepted/s,
delivered/s, intake's answer latency, POST→department queue latency, each service
queue's depth over time (ready messages, sampled over AMQP every half second), its
deepest and how many seconds of its inflow that was, CPU milliseconds per concern of
each service, PostgreSQL, RabbitMQ, the load generator, the departments' consumers
(this process), the development sink (if notify's channels point at one) and the
whole machine, how busy the machine was while loading, and lost and duplicated
concerns; at the end, a summary table. Figures only: nothing here passes or fails on
time.
"""
import os

os.environ.setdefault("ZD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/zd_bench")
os.environ.setdefault("ZD_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/zd_bench")

import json  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import psycopg  # noqa: E402
import requests  # noqa: E402
import yaml  # noqa: E402
from kombu import Connection, Queue  # noqa: E402

from bench import floor  # noqa: E402
from services.admin.rabbit_management import vhost_of  # noqa: E402
from services.common.config import settings  # noqa: E402
from services.devstack import CHANNEL_SETTINGS, Stack  # noqa: E402
from services.routing.store import OPEN_STATUSES  # noqa: E402
from tests.support.system import department_uri, free_port, fresh_system  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RATES = [float(rate) for rate in os.environ.get("ZD_BENCH_RATES", "50,100,200,400").split(",")]
SECONDS = float(os.environ.get("ZD_BENCH_SECONDS", "30"))
CLOSED_LOOP_CLIENTS = int(os.environ.get("ZD_BENCH_CLIENTS", "32"))
#: what to run (see the module's docstring; for a quick look: base)
PARTS = os.environ.get("ZD_BENCH_PARTS", "base,district,scaled,floor").split(",")
DISTRICT_RATE = float(os.environ.get("ZD_BENCH_DISTRICT_RATE", "200"))
MAX_OPEN = int(os.environ.get("ZD_BENCH_MAX_OPEN", "50"))
CAPPED = "d1-rep1a"  # the district part's representative who fills up: first of d1-c1's station
DRAIN_SECONDS = 300  # how long a phase waits, at most, for what is still on its way
QUIET_SECONDS = 15  # ... or until nothing moved for this long
SAMPLE_SECONDS = 0.5  # how often the service queues' depths are sampled
STATS_SECONDS = 6  # how old the management API's figures may be (collect_statistics_interval 5 s)
TICKS = os.sysconf("SC_CLK_TCK")
DISTRICTS = [f"d{n}" for n in range(1, 7)]
SERVICE_QUEUES = ["zd.intake.events", "zd.routing.events", "zd.notify.events", "zd.reporting.events"]


def bench_directory(max_open=None):
    """Six districts of three communities, two representatives each, every concern a
    drainage one, auto-forwarded and auto-dispatched to the district's water department
    at once. ``max_open``: ``{representative: max_open}`` of those who fill up; the
    others never do."""
    max_open = max_open or {}
    districts, representatives, departments = [], [], []
    for district in DISTRICTS:
        communities = []
        for n in range(1, 4):
            reps = [f"{district}-rep{n}a", f"{district}-rep{n}b"]
            communities.append({"code": f"{district}-c{n}", "name": f"{district} 社区{n}",
                                "representatives": reps})
            representatives += [{"id": rep, "name": rep, "district": district,
                                 "max_open": max_open.get(rep, 1_000_000),
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


def check_max_open(representative, max_open):
    """Whether ``representative`` holds exactly ``max_open`` open tickets in routing's
    database, and whether its load table (kept by a trigger) holds every
    representative's count of open tickets."""
    with psycopg.connect(settings().database_url) as db:
        counted = dict(db.execute(
            "SELECT representative_id, count(*) FROM routing.tickets WHERE representative_id"
            " IS NOT NULL AND status = ANY(%s) GROUP BY representative_id",
            (list(OPEN_STATUSES),)).fetchall())
        kept = dict(db.execute("SELECT representative_id, open FROM routing.representative_load")
                    .fetchall())
    is_open = counted.get(representative, 0)
    return {"representative": representative, "max_open": max_open, "open": is_open,
            "exact": is_open == max_open,
            "load_table_matches": all(kept.get(rep, 0) == counted.get(rep, 0)
                                      for rep in {*counted, *kept})}


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
    """The service queues' ready messages, sampled every ``SAMPLE_SECONDS`` with a
    passive declare over AMQP: as they are, where the management API's figures are up
    to its statistics interval (5 s) old."""

    def __init__(self):
        self.samples = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.done.set()
        self.thread.join()

    def latest(self):
        return {queue: depth for queue, depth in (self.samples or [{}])[-1].items() if queue != "t"}

    def deepest(self):
        return {queue: max((sample[queue] for sample in self.samples), default=0)
                for queue in SERVICE_QUEUES}

    def _sample(self):
        while not self.done.is_set():
            try:
                with Connection(settings().amqp_uri) as connection:
                    channel = connection.channel()
                    while not self.done.wait(SAMPLE_SECONDS):
                        depth = {queue: channel.queue_declare(queue=queue, passive=True).message_count
                                 for queue in SERVICE_QUEUES}
                        self.samples.append({"t": time.time(), **depth})
            except Exception:  # the broker away for a moment: sample again
                self.done.wait(SAMPLE_SECONDS)


def published():
    """How many messages were published into each service queue so far: the management
    API's cumulative ``message_stats.publish``, up to ``STATS_SECONDS`` old."""
    vhost = requests.utils.quote(vhost_of(settings().amqp_uri), safe="")
    url = f"{settings().management_url.rstrip('/')}/api/queues/{vhost}"
    queues = requests.get(url, timeout=10, params={"columns": "name,message_stats.publish"}).json()
    return {queue["name"]: queue.get("message_stats", {}).get("publish", 0) for queue in queues
            if queue["name"] in SERVICE_QUEUES}


def process_cpu(pid):
    """CPU seconds (user + system) a process used so far, with those of its children that
    ended (how PostgreSQL's postmaster keeps its ended backends' time); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(ticks) for ticks in fields[11:15]) / TICKS


def other_processes(sink_ports):
    """``{name: pids}`` of PostgreSQL (every process whose command name starts with
    postgres), RabbitMQ (beam.smp) and the development sink listening on one of
    ``sink_ports``, where notify's channels point."""
    found = {"postgres": [], "rabbitmq": [], "devsink": []}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "comm").read_text().strip()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if command.startswith("postgres"):
            found["postgres"].append(entry.name)
        elif command == "beam.smp":
            found["rabbitmq"].append(entry.name)
        elif b"services.devsink" in argv and sink_ports & set(argv):
            found["devsink"].append(entry.name)
    return found


def sink_ports(env):
    """The ports of notify's channels (``ZD_SMTP_URL``...) in ``env``: where a development
    sink would listen. None are set unless the environment sets them: ``Stack`` starts no sink."""
    return {str(urlsplit(env[name]).port).encode() for name in CHANNEL_SETTINGS if env.get(name)}


def machine_cpu():
    """The machine's busy and total CPU seconds so far, over all its cores (``/proc/stat``:
    everything but idle and iowait is busy)."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / TICKS, sum(ticks) / TICKS


def children_cpu():
    """CPU seconds of this process's children that ended and were waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(pids, ports):
    """CPU seconds used so far by each service process (``pids``), PostgreSQL, RabbitMQ,
    the development sink (if one runs on ``ports``), this process (the departments'
    consumers and the queue sampler) and the whole machine."""
    used = {name: process_cpu(pid) for name, pid in pids.items()}
    used.update({name: sum(process_cpu(pid) for pid in group)
                 for name, group in other_processes(ports).items() if group})
    own = os.times()
    used["departments"] = own.user + own.system
    used["machine"] = machine_cpu()[0]
    return used


def percentile(values, share):
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)


def run_phase(name, stack, keys_file, departments, pids, rate=0.0, clients=64, districts=None):
    """One load phase: the generator's process for SECONDS, then up to DRAIN_SECONDS for
    the concerns and messages still on their way; returns the phase's figures."""
    depths = QueueDepths().start()
    published_before, duplicates_before = published(), departments.duplicates
    ports = sink_ports(stack.env)
    cpu_before, generator_before, machine_before = cpu_seconds(pids, ports), children_cpu(), machine_cpu()
    command = [sys.executable, "-m", "bench.load", "--url", stack.url("intake"), "--keys",
               keys_file, "--seconds", str(SECONDS), "--clients", str(clients), "--rate", str(rate)]
    if districts:
        command += ["--districts", ",".join(districts)]
    began = time.time()
    generator = subprocess.run(command, capture_output=True, text=True, check=True)
    machine_loaded, generator_cpu = machine_cpu(), children_cpu() - generator_before
    sent = [json.loads(line) for line in generator.stdout.splitlines() if line.strip()]
    accepted = [entry for entry in sent if entry["status"] == 202 and entry["ticket_id"]]
    settle(departments, accepted, depths)
    cpu_after = cpu_seconds(pids, ports)
    depths.stop()
    time.sleep(STATS_SECONDS)  # the management API has counted every message of the phase
    published_after = published()
    arrivals = {e["ticket_id"]: departments.arrivals[e["ticket_id"]] for e in accepted
                if e["ticket_id"] in departments.arrivals}
    load_end = max((e["answered"] for e in sent), default=began)
    last_arrival = max(arrivals.values(), default=began)
    to_queue = [(arrivals[e["ticket_id"]] - e["scheduled"]) * 1000 for e in accepted
                if e["ticket_id"] in arrivals]
    answers = [(e["answered"] - e["scheduled"]) * 1000 for e in accepted]
    concerns = max(len(accepted), 1)
    accepted_per_s = len(accepted) / max(load_end - began, 1e-9)
    used = {part: cpu_after[part] - cpu_before.get(part, 0) for part in cpu_after}
    used["load"] = generator_cpu
    # How far behind each consumer was at worst: its queue's deepest over the rate
    # messages entered it, i.e. the messages published into it per accepted concern
    # (the management API's cumulative count, read at the phase's start and, once the
    # queues were empty and its figures caught up, at its end) times accepted/s.
    per_concern = {queue: (published_after.get(queue, 0) - published_before.get(queue, 0)) / concerns
                   for queue in SERVICE_QUEUES}
    deepest = depths.deepest()
    machine_busy = machine_loaded[0] - machine_before[0]
    figures = {
        "phase": name, "offered_per_s": rate or None, "clients": clients, "sent": len(sent),
        "districts": districts or DISTRICTS,
        "accepted": len(accepted), "refused": sum(1 for e in sent if e["status"] != 202),
        "accepted_per_s": round(accepted_per_s, 1),
        "delivered": len(arrivals),
        "delivered_per_s": round(len(arrivals) / max(last_arrival - began, 1e-9), 1),
        "not_delivered": len(accepted) - len(arrivals),
        "duplicates": departments.duplicates - duplicates_before,
        "intake_ms": {"p50": percentile(answers, 0.5), "p99": percentile(answers, 0.99)},
        "post_to_queue_ms": {"p50": percentile(to_queue, 0.5), "p95": percentile(to_queue, 0.95),
                             "p99": percentile(to_queue, 0.99),
                             "max": round(max(to_queue), 1) if to_queue else None},
        "cpu_ms_per_concern": {part: round(seconds * 1000 / concerns, 2) for part, seconds in used.items()},
        "machine_busy_while_loading": {
            "cores": os.cpu_count(),
            "percent": round(100 * machine_busy / max(machine_loaded[1] - machine_before[1], 1e-9), 1)},
        "queue_depth_max": deepest,
        "queue_messages_per_concern": {queue: round(n, 2) for queue, n in per_concern.items()},
        "queue_behind_s": {queue: round(deepest[queue] / (per_concern[queue] * accepted_per_s), 1)
                           if per_concern[queue] and accepted_per_s else None for queue in SERVICE_QUEUES},
        "queue_depths": depths.samples,
    }
    return figures


def settle(departments, accepted, depths):
    """Wait until every accepted concern reached its department and the service queues
    are empty, or nothing moved for ``QUIET_SECONDS``, or ``DRAIN_SECONDS`` passed: the
    next phase starts unloaded."""
    deadline = time.monotonic() + DRAIN_SECONDS
    last_state, last_change = None, time.monotonic()
    while time.monotonic() < deadline:
        arrived = sum(1 for entry in accepted if entry["ticket_id"] in departments.arrivals)
        waiting = depths.latest()
        if arrived == len(accepted) and not any(waiting.values()):
            return
        if (arrived, waiting) != last_state:
            last_state, last_change = (arrived, waiting), time.monotonic()
        elif time.monotonic() - last_change > QUIET_SECONDS:
            return
        time.sleep(SAMPLE_SECONDS)


def short(per_queue):
    """``{"zd.routing.events": x}`` → ``{"routing": x}``, for printing."""
    return {queue.split(".")[1]: value for queue, value in per_queue.items()}


def show(figures):
    latency = figures["post_to_queue_ms"]
    print(f"{figures['phase']:<22} accepted {figures['accepted_per_s']:7.1f}/s  delivered "
          f"{figures['delivered_per_s']:7.1f}/s  POST→queue p50 {latency['p50']} p95 {latency['p95']}"
          f" p99 {latency['p99']} max {latency['max']} ms  intake p50 {figures['intake_ms']['p50']}"
          f" ms  not delivered {figures['not_delivered']}  duplicates {figures['duplicates']}")
    print(f"{'':<22} deepest queues {short(figures['queue_depth_max'])}  behind"
          f" {short(figures['queue_behind_s'])} s")
    cpu = figures["cpu_ms_per_concern"]
    order = [*(name for name in cpu if name not in ("machine", "devsink")), "devsink", "machine"]
    busy = figures["machine_busy_while_loading"]
    print(f"{'':<22} CPU ms/concern " + " ".join(f"{name} {cpu.get(name, '-')}" for name in order)
          + f"; machine busy {busy['percent']}% of {busy['cores']} cores while loading")
    if "max_open" in figures:
        check = figures["max_open"]
        print(f"{'':<22} {check['representative']}: {check['open']} open of max_open {check['max_open']}"
              f" ({'exact' if check['exact'] else 'NOT EXACT'}); routing.representative_load"
              f" {'matches' if check['load_table_matches'] else 'DOES NOT MATCH'} the tickets' counts")
    sys.stdout.flush()


def scale_out(phases, rate):
    """The scaled part's delivered/s over the base part's, at ``rate`` and in the closed
    loop; None where the base part did not run it."""
    def delivered(part, offered):
        return next((phase["delivered_per_s"] for phase in phases
                     if phase["part"] == part and phase["offered_per_s"] == offered), None)

    ratios = {}
    for key, offered in (("scale_out_ratio", rate), ("scale_out_ratio_closed_loop", None)):
        base, scaled = delivered("base", offered), delivered("scaled", offered)
        ratios[key] = round(scaled / base, 2) if base and scaled else None
    return ratios


def summary(phases):
    print(f"\n{'phase':<32}{'offered/s':>10}{'accepted/s':>11}{'delivered/s':>12}"
          f"{'POST→queue p50':>16}{'p99 ms':>10}{'lost':>7}{'duplicates':>11}")
    for phase in phases:
        latency = phase["post_to_queue_ms"]
        print(f"{phase['phase']:<32}{phase['offered_per_s'] or 'closed':>10}{phase['accepted_per_s']:>11}"
              f"{phase['delivered_per_s']:>12}{latency['p50'] or '-':>16}{latency['p99'] or '-':>10}"
              f"{phase['not_delivered']:>7}{phase['duplicates']:>11}")


def start_stack(keys_dir, extra_instances=()):
    ports = {f"ZD_{name.upper()}_PORT": str(free_port()) for name in ("intake", "routing", "notify",
                                                                       "reporting")}
    env = {**ports, "ZD_RATE_LIMIT": "1000000", "ZD_LOG_LEVEL": "WARNING"}
    stack = Stack(env=env, log_dir=str(keys_dir)).start()
    extras = []
    for name in extra_instances:
        extra_env = {**stack.env, f"ZD_{name.upper()}_PORT": str(free_port())}
        extras.append((name, subprocess.Popen([sys.executable, "-m", f"services.{name}"], env=extra_env)))
    time.sleep(STATS_SECONDS)  # the extra instances up; the management API's counts caught up
    return stack, extras  # with the setup's messages (directory, credentials), not the first phase's


def main():
    logging.getLogger("amqp").setLevel(logging.ERROR)  # deliveries racing a consumer's close
    work = ROOT / "var" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    results = {"machine": {"host": platform.node(), "cpus": os.cpu_count(),
                           "python": platform.python_version()},
               "when": datetime.now(timezone.utc).isoformat(), "seconds_per_phase": SECONDS,
               "phases": []}

    def bench(label, part, directory, extra_instances=(), rates=RATES, districts=None, check=None):
        """``rates``, then the closed loop, on a fresh system with ``directory``; ``check()``
        adds its figures to each phase's."""
        directory_file = work / "directory.yaml"
        directory_file.write_text(yaml.safe_dump(directory, allow_unicode=True))
        keys, users, _ = fresh_system(str(directory_file))
        keys_file = work / "keys.json"
        keys_file.write_text(json.dumps(keys))
        stack, extras = start_stack(work, extra_instances)
        departments = Departments(users).start()
        pids = {name: process.pid for name, process in stack.processes.items()}
        pids.update({f"{name}#2": process.pid for name, process in extras})
        loads = [(f"{label} {rate:g}/s", {"rate": rate}) for rate in rates]
        loads.append((f"{label} closed loop", {"clients": CLOSED_LOOP_CLIENTS}))
        try:
            for name, load in loads:
                figures = {"part": part, **run_phase(name, stack, str(keys_file), departments, pids,
                                                     districts=districts, **load)}
                figures.update(check() if check else {})
                show(figures)
                results["phases"].append(figures)
        finally:
            departments.stop()
            for _, process in extras:
                process.terminate()
                process.wait()
            stack.stop()

    print(f"Zero Distance throughput benchmark: {platform.node()}, {os.cpu_count()} CPUs,"
          f" {SECONDS:g} s per phase", flush=True)
    if "base" in PARTS:
        bench("one of each", "base", bench_directory())
    if "district" in PARTS:
        bench("district d1", "district", bench_directory({CAPPED: MAX_OPEN}), rates=[DISTRICT_RATE],
              districts=["d1"], check=lambda: {"max_open": check_max_open(CAPPED, MAX_OPEN)})
    if "scaled" in PARTS:
        bench("routing, notify x2", "scaled", bench_directory(), extra_instances=("routing", "notify"),
              rates=[max(RATES)])
        results.update(scale_out(results["phases"], max(RATES)))
        if results["scale_out_ratio"] is None:
            print(f"scale-out: the base part did not run at {max(RATES):g}/s, no ratio")
        else:
            print(f"scale-out, delivered/s x2 over x1: {results['scale_out_ratio']} at {max(RATES):g}/s,"
                  f" {results['scale_out_ratio_closed_loop']} in the closed loop")
    if "floor" in PARTS:
        floor_figures = floor.measure_best(SECONDS)
        results["floor"] = floor_figures
        print(f"floor (kombu + psycopg, the same durable work): {floor_figures['delivered_per_s']}/s")
        best = max((phase["delivered_per_s"] for phase in results["phases"]), default=None)
        if best is not None:
            results["ratio_to_floor"] = round(best / floor_figures["delivered_per_s"], 3)
            print(f"best delivered/s over the floor: {results['ratio_to_floor']}")
    summary(results["phases"])
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{datetime.now(timezone.utc):%Y-%m-%d}-{platform.node()}.json"
    path.write_text(json.dumps(results, indent=1, default=str))
    print(f"written: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
