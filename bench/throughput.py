"""``make bench``: the whole loop under load, measured from outside: concerns from the
public API to the departments' queues, the departments' results back, and every
message notify sends for them delivered to the development sink.

Starts the development sinks (``bench.sinks``: SMTP in one process, the SMS and WeChat
gateways in another, as remote servers of their own), and the four services as
separate processes sending to them, on a database and vhost of their own
(``zd_bench``); loads a directory of six districts with auto-forward and auto-dispatch
(one water department each), and drives intake from a
load generator in another process (``bench.load``): fixed rates for
``ZD_BENCH_SECONDS`` each (open loop), then a closed loop. The reporters ask for
feedback with a phone and an email (``ZD_BENCH_FEEDBACK``: the share who do, default
all). Every department's queue is consumed with the department's own RabbitMQ user,
each arrival timed, and each dispatch answered on ``zd.feedback`` with that user:
acknowledged, then resolved with a result, its sending timed. After its load, a phase
waits until every concern is at its department and resolved (where they resolve),
every queue is empty and notify has nothing pending (or nothing moved for 15 s, or 10
minutes passed). The parts (``ZD_BENCH_PARTS``):

- base: the stack as it is, at each of ``ZD_BENCH_RATES``;
- district: every concern to one district (d1), at ``ZD_BENCH_DISTRICT_RATE``, its
  reporters asking for no feedback and its department resolving nothing (the tickets
  stay open), with the first representative of its first station (d1-rep1a) full at
  ``ZD_BENCH_MAX_OPEN`` open tickets, so the station overflows to the next one; after
  each phase the database must hold exactly that many open tickets of hers, and
  routing's load table every representative's count of open tickets;
- scaled: a second routing and notify instance, at the highest rate, and its
  delivered/s over the base part's at that rate (``scale_out_ratio``);
- floor: the same durable work done by plain kombu and psycopg, a message at a time
  (``bench.floor``) and in batches as the chain does it (``bench.floor_batched``), and
  the best delivered/s over each.

Per phase it prints, and writes to ``bench/results/<date>-<host>.json``: accepted/s,
delivered/s (to the departments' queues), intake's answer latency, POST→department
queue latency, each service queue's depth over time (ready messages, sampled over
AMQP every half second), its deepest and how many seconds of its inflow that was;
messages delivered/s per channel (from the sink), event → message delay (from the
event's outbox row to the notification's sending), department result → reporter's
resolved SMS delay, notify's backlog over time (pending notifications, sampled every
half second), its deepest and how long after the load it was empty; CPU
milliseconds per concern of each service, PostgreSQL, RabbitMQ, the load generator,
the departments' consumers (this process), the sink and the whole machine with and
without the sink, how busy the machine was while loading; lost and duplicated
concerns and messages. At the end, a summary table and the issue's targets with this
run's figure next to each (``bench.targets``). Figures only: nothing here passes or
fails on time.

This module runs the parts; the jobs are ``bench.stack`` (the directory, the sink and
the processes), ``bench.load`` (the load generator), ``bench.departments`` (the
departments), ``bench.phase`` (one phase and what it observes, with ``bench.queues``,
``bench.notifications`` and ``bench.cpu``), ``bench.figures`` and
``bench.loop_figures`` (the figures from it), ``bench.targets`` and ``bench.report``
(printing and the results file).
"""
import os

os.environ.setdefault("ZD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/zd_bench")
os.environ.setdefault("ZD_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/zd_bench")

import logging  # noqa: E402
import platform  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

from bench import floor, floor_batched, report, stack  # noqa: E402
from bench.departments import Departments  # noqa: E402
from bench.figures import scale_out  # noqa: E402
from bench.notifications import SinkReader  # noqa: E402
from bench.phase import run_phase  # noqa: E402
from bench.targets import targets  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RATES = [float(rate) for rate in os.environ.get("ZD_BENCH_RATES", "25,50,100").split(",")]
SECONDS = float(os.environ.get("ZD_BENCH_SECONDS", "30"))
CLOSED_LOOP_CLIENTS = int(os.environ.get("ZD_BENCH_CLIENTS", "32"))
#: what to run (see the module's docstring; for a quick look: base)
PARTS = os.environ.get("ZD_BENCH_PARTS", "base,district,scaled,floor").split(",")
DISTRICT_RATE = float(os.environ.get("ZD_BENCH_DISTRICT_RATE", "200"))
FEEDBACK = float(os.environ.get("ZD_BENCH_FEEDBACK", "1"))  # the share of reporters asking for it
MAX_OPEN = int(os.environ.get("ZD_BENCH_MAX_OPEN", "50"))
CAPPED = "d1-rep1a"  # the district part's representative who fills up: first of d1-c1's station


def main():
    logging.getLogger("amqp").setLevel(logging.ERROR)  # deliveries racing a consumer's close
    work = ROOT / "var" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    results = {"machine": {"host": platform.node(), "cpus": os.cpu_count(),
                           "python": platform.python_version()},
               "when": datetime.now(timezone.utc).isoformat(), "seconds_per_phase": SECONDS,
               "feedback_share": FEEDBACK, "phases": []}

    def bench(label, part, directory, extra_instances=(), rates=RATES, districts=None, check=None,
              feedback=FEEDBACK, resolve=True):
        """``rates``, then the closed loop, on a fresh system with ``directory``; ``check()``
        adds its figures to each phase's; the departments resolve what they get if ``resolve``."""
        keys_file, users = stack.fresh(work, directory)
        services, extras, sink = stack.start_stack(work, extra_instances)
        departments, reader = Departments(users, resolve).start(), SinkReader(sink)
        pids = {name: process.pid for name, process in services.processes.items()}
        pids.update({f"{name}#2": process.pid for name, process in extras})
        loads = [(f"{label} {rate:g}/s", {"rate": rate}) for rate in rates]
        loads.append((f"{label} closed loop", {"clients": CLOSED_LOOP_CLIENTS}))
        try:
            for name, load in loads:
                figures = {"part": part, **run_phase(name, services, str(keys_file), departments, reader,
                                                     pids, SECONDS, districts=districts, feedback=feedback,
                                                     **load)}
                figures.update(check() if check else {})
                report.show(figures)
                results["phases"].append(figures)
        finally:
            departments.stop()
            for _, process in extras:
                process.terminate()
                process.wait()
            services.stop()
            sink.stop()

    print(f"Zero Distance throughput benchmark, the whole loop: {platform.node()}, {os.cpu_count()} CPUs,"
          f" {SECONDS:g} s per phase, {FEEDBACK:.0%} of reporters asking for feedback (SMS and email),"
          " messages to the development sink", flush=True)
    if "base" in PARTS:
        bench("one of each", "base", stack.bench_directory())
    if "district" in PARTS:
        bench("district d1", "district", stack.bench_directory({CAPPED: MAX_OPEN}), rates=[DISTRICT_RATE],
              districts=["d1"], check=lambda: {"max_open": stack.check_max_open(CAPPED, MAX_OPEN)},
              feedback=0, resolve=False)
    if "scaled" in PARTS:
        bench("routing, notify x2", "scaled", stack.bench_directory(), extra_instances=("routing", "notify"),
              rates=[max(RATES)])
        results.update(scale_out(results["phases"], max(RATES)))
        if results["scale_out_ratio"] is None:
            print(f"scale-out: the base part did not run at {max(RATES):g}/s, no ratio")
        else:
            print(f"scale-out, delivered/s x2 over x1: {results['scale_out_ratio']} at {max(RATES):g}/s,"
                  f" {results['scale_out_ratio_closed_loop']} in the closed loop")
    if "floor" in PARTS:
        best = max((phase["delivered_per_s"] for phase in results["phases"]), default=None)
        for key, what, measure in (
                ("floor", "a message at a time", floor.measure_best),
                ("batched_floor", "in batches, as the chain", floor_batched.measure_batched_best)):
            results[key] = measure(SECONDS)
            print(f"{key.replace('_', ' ')} (kombu + psycopg, the same durable work {what}):"
                  f" {results[key]['delivered_per_s']}/s", flush=True)
            if best is not None:
                results[f"ratio_to_{key}"] = round(best / results[key]["delivered_per_s"], 3)
                print(f"best delivered/s over the {key.replace('_', ' ')}: {results[f'ratio_to_{key}']}")
    report.summary(results["phases"])
    results["targets"] = targets(results)
    report.show_targets(results["targets"])
    report.write(results)


if __name__ == "__main__":
    main()
