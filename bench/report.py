"""What the throughput benchmark prints and keeps: each phase's figures as it ends, the
summary table at the end, and the results file ``bench/results/<date>-<host>.json``."""
import json
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


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


def summary(phases):
    print(f"\n{'phase':<32}{'offered/s':>10}{'accepted/s':>11}{'delivered/s':>12}"
          f"{'POST→queue p50':>16}{'p99 ms':>10}{'lost':>7}{'duplicates':>11}")
    for phase in phases:
        latency = phase["post_to_queue_ms"]
        print(f"{phase['phase']:<32}{phase['offered_per_s'] or 'closed':>10}{phase['accepted_per_s']:>11}"
              f"{phase['delivered_per_s']:>12}{latency['p50'] or '-':>16}{latency['p99'] or '-':>10}"
              f"{phase['not_delivered']:>7}{phase['duplicates']:>11}")


def write(results):
    """``results`` as ``bench/results/<date>-<host>.json``; says where."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{datetime.now(timezone.utc):%Y-%m-%d}-{platform.node()}.json"
    path.write_text(json.dumps(results, indent=1, default=str))
    print(f"written: {path.relative_to(ROOT)}")
