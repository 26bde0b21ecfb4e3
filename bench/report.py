"""What the throughput benchmark prints and keeps: each phase's figures as it ends, the
summary table and the targets (``bench.targets``: each with this run's figure next to
it) at the end, and the results file ``bench/results/<date>-<host>.json``."""
import json
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
BACKLOG_EVERY_S = 5  # the backlog printed every so many seconds (sampled every half second)


def short(per_queue):
    """``{"zd.routing.events": x, "zd.routing.feedback": y}`` → ``{"routing": x,
    "routing.feedback": y}``, for printing."""
    return {queue.removeprefix("zd.").removesuffix(".events"): value for queue, value in per_queue.items()}


def show(figures):
    latency = figures["post_to_queue_ms"]
    print(f"{figures['phase']:<22} accepted {figures['accepted_per_s']:7.1f}/s  delivered "
          f"{figures['delivered_per_s']:7.1f}/s  POST→queue p50 {latency['p50']} p95 {latency['p95']}"
          f" p99 {latency['p99']} max {latency['max']} ms  intake p50 {figures['intake_ms']['p50']}"
          f" ms  not delivered {figures['not_delivered']}  duplicates {figures['duplicates']}")
    print(f"{'':<22} deepest queues {short(figures['queue_depth_max'])}  behind"
          f" {short(figures['queue_behind_s'])} s")
    cpu = figures["cpu_ms_per_concern"]
    last = ("processes_without_sinks", "machine_without_sinks", "devsink", "machine")
    order = [*(name for name in cpu if name not in last), *last]
    busy = figures["machine_busy_while_loading"]
    print(f"{'':<22} CPU ms/concern " + " ".join(f"{name} {cpu.get(name, '-')}" for name in order)
          + f"; machine busy {busy['percent']}% of {busy['cores']} cores while loading")
    delivered = figures["messages_delivered"]
    checked, to_sms = figures["messages"], figures["result_to_sms_ms"]
    to_message = figures["event_to_message_ms"]
    print(f"{'':<22} messages delivered/s " + " ".join(
        f"{channel} {counts['per_s']} ({counts['count']})" for channel, counts in delivered.items())
        + f"; {figures['messages_per_concern']} per concern; event→message p50 {to_message['p50']}"
          f" p99 {to_message['p99']} ms; result→reporter's SMS p50 {to_sms['p50']} p99 {to_sms['p99']} ms")
    print(f"{'':<22} notify's backlog deepest {figures['backlog_max']}, empty"
          f" {_after(figures['backlog_empty_after_s'])}; messages lost {checked['lost']} failed"
          f" {checked['failed']} pending {checked['pending']} duplicated {figures['message_duplicates']}")
    print(f"{'':<22} notify's backlog every {BACKLOG_EVERY_S:g} s: "
          + " ".join(str(pending) for pending in every(figures["backlog"], BACKLOG_EVERY_S)))
    if "max_open" in figures:
        check = figures["max_open"]
        print(f"{'':<22} {check['representative']}: {check['open']} open of max_open {check['max_open']}"
              f" ({'exact' if check['exact'] else 'NOT EXACT'}); routing.representative_load"
              f" {'matches' if check['load_table_matches'] else 'DOES NOT MATCH'} the tickets' counts")
    sys.stdout.flush()


def every(samples, seconds):
    """The pending counts of ``samples``, one per ``seconds`` (the first sample at or
    after each step), for printing the backlog over time on one line."""
    shown, next_at = [], None
    for sample in samples:
        if next_at is None or sample["t"] >= next_at:
            shown.append(sample["pending"])
            next_at = (next_at or sample["t"]) + seconds
    return shown


def _after(seconds):
    return "never, in the wait" if seconds is None else f"{seconds} s after the load"


def summary(phases):
    print(f"\n{'phase':<28}{'offered/s':>10}{'accepted/s':>11}{'delivered/s':>12}"
          f"{'POST→queue p50':>16}{'p99 ms':>8}{'messages/s':>11}{'result→SMS p99':>16}"
          f"{'backlog gone s':>15}{'CPU ms':>8}{'lost':>6}{'dup':>5}")
    for phase in phases:
        latency = phase["post_to_queue_ms"]
        gone, to_sms = phase["backlog_empty_after_s"], phase["result_to_sms_ms"]["p99"]
        cpu = phase["cpu_ms_per_concern"].get("machine_without_sinks", "-")
        print(f"{phase['phase']:<28}{phase['offered_per_s'] or 'closed':>10}{phase['accepted_per_s']:>11}"
              f"{phase['delivered_per_s']:>12}{latency['p50'] or '-':>16}{latency['p99'] or '-':>8}"
              f"{phase['messages_delivered']['all']['per_s']:>11}{to_sms or '-':>16}"
              f"{'-' if gone is None else gone:>15}{cpu:>8}"
              f"{phase['not_delivered'] + phase['messages']['lost']:>6}"
              f"{phase['duplicates'] + phase['message_duplicates']:>5}")


def show_targets(rows):
    """Each target, wanted, and this run's figure (no pass or fail: the machine is shared)."""
    print(f"\n{'target':<82}{'wanted':>10}{'this run':>12}  phase")
    for row in rows:
        figure = "-" if row["figure"] is None else f"{row['figure']}"
        unit = f" {row['unit']}" if row["unit"] else ""
        print(f"{row['target']:<82}{row['wanted'] + unit:>10}{figure + unit:>12}  {row['phase'] or ''}")
    sys.stdout.flush()


def write(results):
    """``results`` as ``bench/results/<date>-<host>.json``; says where."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{datetime.now(timezone.utc):%Y-%m-%d}-{platform.node()}.json"
    path.write_text(json.dumps(results, indent=1, default=str))
    print(f"written: {path.relative_to(ROOT)}")
