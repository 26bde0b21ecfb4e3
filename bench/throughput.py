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

This module runs the parts; the jobs are ``bench.stack`` (the directory and the
processes), ``bench.load`` (the load generator), ``bench.departments`` (the departments'
consumers), ``bench.phase`` (one phase and what it observes, with ``bench.queues`` and
``bench.cpu``), ``bench.figures`` (the figures from it) and ``bench.report`` (printing
and the results file).
"""
import os

os.environ.setdefault("ZD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/zd_bench")
os.environ.setdefault("ZD_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/zd_bench")

import logging  # noqa: E402
import platform  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

from bench import floor, report, stack  # noqa: E402
from bench.departments import Departments  # noqa: E402
from bench.figures import scale_out  # noqa: E402
from bench.phase import run_phase  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RATES = [float(rate) for rate in os.environ.get("ZD_BENCH_RATES", "50,100,200,400").split(",")]
SECONDS = float(os.environ.get("ZD_BENCH_SECONDS", "30"))
CLOSED_LOOP_CLIENTS = int(os.environ.get("ZD_BENCH_CLIENTS", "32"))
#: what to run (see the module's docstring; for a quick look: base)
PARTS = os.environ.get("ZD_BENCH_PARTS", "base,district,scaled,floor").split(",")
DISTRICT_RATE = float(os.environ.get("ZD_BENCH_DISTRICT_RATE", "200"))
MAX_OPEN = int(os.environ.get("ZD_BENCH_MAX_OPEN", "50"))
CAPPED = "d1-rep1a"  # the district part's representative who fills up: first of d1-c1's station


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
        keys_file, users = stack.fresh(work, directory)
        services, extras = stack.start_stack(work, extra_instances)
        departments = Departments(users).start()
        pids = {name: process.pid for name, process in services.processes.items()}
        pids.update({f"{name}#2": process.pid for name, process in extras})
        loads = [(f"{label} {rate:g}/s", {"rate": rate}) for rate in rates]
        loads.append((f"{label} closed loop", {"clients": CLOSED_LOOP_CLIENTS}))
        try:
            for name, load in loads:
                figures = {"part": part, **run_phase(name, services, str(keys_file), departments, pids,
                                                     SECONDS, districts=districts, **load)}
                figures.update(check() if check else {})
                report.show(figures)
                results["phases"].append(figures)
        finally:
            departments.stop()
            for _, process in extras:
                process.terminate()
                process.wait()
            services.stop()

    print(f"Zero Distance throughput benchmark: {platform.node()}, {os.cpu_count()} CPUs,"
          f" {SECONDS:g} s per phase", flush=True)
    if "base" in PARTS:
        bench("one of each", "base", stack.bench_directory())
    if "district" in PARTS:
        bench("district d1", "district", stack.bench_directory({CAPPED: MAX_OPEN}), rates=[DISTRICT_RATE],
              districts=["d1"], check=lambda: {"max_open": stack.check_max_open(CAPPED, MAX_OPEN)})
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
        floor_figures = floor.measure_best(SECONDS)
        results["floor"] = floor_figures
        print(f"floor (kombu + psycopg, the same durable work): {floor_figures['delivered_per_s']}/s")
        best = max((phase["delivered_per_s"] for phase in results["phases"]), default=None)
        if best is not None:
            results["ratio_to_floor"] = round(best / floor_figures["delivered_per_s"], 3)
            print(f"best delivered/s over the floor: {results['ratio_to_floor']}")
    report.summary(results["phases"])
    report.write(results)


if __name__ == "__main__":
    main()
