"""``python -m bench.courier``: how many messages a second notify's courier sends to the
development sink, and what each costs.

On a database and vhost of its own (``zd_bench_courier``), with the demo directory (its
webhook department aimed at the sink), it starts the development sinks
(``bench.sinks``: SMTP in one process, the gateways and webhooks in another) and one
notify process (``python -m bench.counted_notify``: the
service unchanged, its PostgreSQL round trips counted), every channel pointed at the
sink. Then it records ``ZD_BENCH_MESSAGES`` (default 3000) pending notifications in
notify's outbox in one transaction, with notify's own code: events built by the
producers' builders (``tests/support/events.py``: a concern received from a reporter
who asks for feedback by email and SMS, assigned, dispatched, sent to the webhook
department, resolved), read by ``domain.read_events``, told by
``domain.party_notifications``/``reporter_notifications`` to the reporter, the
representative (email, SMS, WeChat) and the department, recorded by
``store.record_notification`` under ``use_cases.notifications.idempotency_key``. Notify is
woken by that commit's ``NOTIFY``; the clock runs from the commit until none is pending.
(Recording them straight into the outbox keeps the consumer's work out of the courier's
figures.)

It prints, and writes to ``bench/results/courier-<date>-<host>.json``: messages/s per
channel (from the commit to that channel's last one sent) and in all, how soon after the
commit the first one was sent (the courier woken by ``NOTIFY``, not a timer), the CPU
milliseconds per message of notify and, apart, of the sink (and what each would send
with a core of its own, 1000 / that: a figure other work on the machine does not bend),
notify's round trips to PostgreSQL per message, each destination's concurrency at the
end (its adaptive limit), and what the sink holds: one message per idempotency key, no
duplicates, none lost. ``ZD_BENCH_SETTINGS`` adds notify settings (``NAME=value,...``);
``ZD_BENCH_LABEL`` names the run in the results file (a list: each run is added).
Figures only: nothing here passes or fails on time.
"""
import os

os.environ.setdefault("ZD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/zd_bench_courier")
os.environ.setdefault("ZD_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/zd_bench_courier")

import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

import psycopg  # noqa: E402
import requests  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from psycopg.rows import dict_row  # noqa: E402

from bench.cpu import process_cpu  # noqa: E402
from bench.sinks import SplitSinks  # noqa: E402
from services.common.config import settings  # noqa: E402
from services.notify import domain, store  # noqa: E402
from services.notify.use_cases.notifications import idempotency_key  # noqa: E402
from tests.support import events as made  # noqa: E402
from tests.support.notify import WEBHOOK_DEPARTMENT, directory_aimed_at  # noqa: E402
from tests.support.system import free_port, fresh_system  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MESSAGES = int(os.environ.get("ZD_BENCH_MESSAGES", "3000"))
TIMEOUT_SECONDS = float(os.environ.get("ZD_BENCH_TIMEOUT", "600"))
REPORTER = {"name": "Bench Reporter", "phone": "+8613912340001", "email": "reporter@bench.example",
            "locale": "en", "wants_feedback": True}
REPRESENTATIVE = "rep-chen-jianguo"  # email, phone and WeChat in the demo directory
KINDS = ("email", "sms", "wechat", "webhook")


def ticket_events(ticket_id, directory):
    """What a ticket's life makes notify hear, as the producers build it."""
    received = made.concern_events(ticket_id, reporter=REPORTER)
    assigned = made.ticket_row(ticket_id, "assigned", 2, representative=REPRESENTATIVE,
                               feedback_requested=True)
    dispatched = made.ticket_row(ticket_id, "dispatched", 4, representative=REPRESENTATIVE,
                                 category="power-supply", feedback_requested=True)
    dispatch = made.dispatch_row(ticket_id, WEBHOOK_DEPARTMENT, made.T0, dispatch_id=str(uuid.uuid4()))
    resolved = made.ticket_row(ticket_id, "resolved", 6, representative=REPRESENTATIVE,
                               result="The drain was cleared", feedback_requested=True,
                               resolved_at=made.T0 + timedelta(hours=3))
    return [*received,
            made.ticket_event("assigned", assigned, directory),
            made.ticket_event("dispatched", dispatched, directory, dispatches=[dispatch]),
            made.department_dispatched(dispatched, dispatch, directory,
                                       reporter={"name": REPORTER["name"], "phone": REPORTER["phone"]}),
            made.ticket_event("resolved", resolved, directory, timeline=[made.entry(
                made.T0, "department:gz-power-supply", "resolve", "in_progress", "resolved",
                "The drain was cleared")])]


def record(directory, wanted):
    """Record at least ``wanted`` pending notifications in one transaction (its commit wakes
    the courier); returns ``(count per channel, the commit's monotonic time)``."""
    recorded = Counter()
    with psycopg.connect(settings().database_url, options="-c search_path=notify",
                         row_factory=dict_row) as conn:
        while sum(recorded.values()) < wanted:
            ticket_id = f"ZD20260302-{uuid.uuid4().hex[:8].upper()}"
            for envelope in ticket_events(ticket_id, directory):
                if envelope.type == "reporter.contact":
                    contact = {**envelope.body["contact"], "page_token": uuid.uuid4().hex}
                    store.remember_contact(conn, ticket_id, contact)
                    continue
                if envelope.type == "reporter.dispatch_contact":
                    continue
                for event in domain.read_events(envelope.message_id, envelope.type, envelope.body):
                    told = domain.party_notifications(event, directory)
                    if domain.reporter_may_hear(event):
                        told += domain.reporter_notifications(event, contact)
                    for notification in told:
                        if store.record_notification(conn, event, notification,
                                                     idempotency_key(event, notification)):
                            recorded[notification.channel] += 1
        conn.commit()
        return recorded, time.monotonic()


def concurrency(base):
    """Deliveries at once each destination may have now (``zd_notify_concurrency``)."""
    text = requests.get(f"{base}/metrics", timeout=5).text
    return {f"{sample.labels['channel']}:{sample.labels['destination']}": int(sample.value)
            for family in text_string_to_metric_families(text) for sample in family.samples
            if sample.name == "zd_notify_concurrency"}


def round_trips(base):
    """Notify's round trips to PostgreSQL so far, from its ``/metrics``."""
    text = requests.get(f"{base}/metrics", timeout=5).text
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples if sample.name == "zd_bench_db_round_trips_total")


def sent_by_channel(conn):
    return Counter(dict(conn.execute("SELECT channel, count(*) FROM notify.notifications"
                                     " WHERE status = 'sent' GROUP BY channel").fetchall()))


def wait_until_sent(recorded, started):
    """Poll notify's outbox (not its metrics: that would cost notify's CPU) until every
    recorded notification is sent; returns each channel's seconds from ``started`` to its
    last one, and ``first`` to the first one sent (within the 50 ms it polls)."""
    finished = {}
    deadline = started + TIMEOUT_SECONDS
    with psycopg.connect(settings().database_url, autocommit=True) as conn:
        while not set(recorded) <= set(finished):
            sent = sent_by_channel(conn)
            now = time.monotonic()
            if sum(sent.values()) and "first" not in finished:
                finished["first"] = now - started
            for channel, count in recorded.items():
                if channel not in finished and sent[channel] >= count:
                    finished[channel] = now - started
            if now > deadline:
                raise RuntimeError(f"not all sent after {TIMEOUT_SECONDS:g}s: {dict(sent)} of"
                                   f" {dict(recorded)}")
            time.sleep(0.05)
    return finished


def start_notify(work, sinks, extra):
    port = free_port()  # the delivery policy as deployed
    env = {**os.environ, **sinks.channels, "ZD_NOTIFY_PORT": str(port), "ZD_LOG_LEVEL": "WARNING", **extra}
    output = open(work / "notify.log", "ab")
    process = subprocess.Popen([sys.executable, "-m", "bench.counted_notify"], env=env, cwd=ROOT,
                               stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"notify exited with {process.returncode}: see {work / 'notify.log'}")
        try:
            if requests.get(f"{base}/health", timeout=1).status_code == 200:
                return process, base
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("notify did not become healthy in 60 s")
        time.sleep(0.2)


def sink_check(sinks, recorded):
    view = sinks.view()
    held = Counter(message["kind"] for message in view["messages"])
    return {"held": dict(held), "repeats_refused_by_key": len(view["duplicates"]),
            "lost": {kind: recorded[kind] - held[kind] for kind in recorded}}


def extra_settings():
    given = os.environ.get("ZD_BENCH_SETTINGS", "")
    return dict(item.split("=", 1) for item in given.split(",") if item)


def run():
    work = ROOT / "var" / "bench-courier"
    work.mkdir(parents=True, exist_ok=True)
    extra = extra_settings()
    with SplitSinks(work) as sinks:
        _, _, directory = fresh_system(directory_aimed_at(sinks, work))
        notify, base = start_notify(work, sinks, extra)

        def cpu_now():
            return {"notify": process_cpu(notify.pid),
                    "devsink": sum(process_cpu(pid) for pid in sinks.pids)}
        try:
            trips_before = round_trips(base)
            cpu_before = cpu_now()
            recorded, started = record(directory, MESSAGES)
            finished = wait_until_sent(recorded, started)
            cpu = {name: used - cpu_before[name] for name, used in cpu_now().items()}
            trips_after = round_trips(base)
            check = sink_check(sinks, recorded)
            time.sleep(5)  # the gauge is set every five seconds
            limits = concurrency(base)
        finally:
            notify.terminate()
            notify.wait(20)
    total = sum(recorded.values())
    first = finished.pop("first")
    seconds = max(finished.values())
    return {"machine": {"host": platform.node(), "cpus": os.cpu_count(),
                        "python": platform.python_version()},
            "when": datetime.now(timezone.utc).isoformat(), "settings": extra,
            "label": os.environ.get("ZD_BENCH_LABEL", ""),
            "messages": dict(recorded), "seconds": round(seconds, 2),
            "commit_to_first_sent_ms": round(1000 * first),
            "per_s": {**{channel: round(recorded[channel] / finished[channel], 1) for channel in recorded},
                      "total": round(total / seconds, 1)},
            "cpu_ms_per_message": {name: round(1000 * used / total, 2) for name, used in cpu.items()},
            "per_s_with_a_core_each": {name: round(total / used) for name, used in cpu.items() if used},
            "db_round_trips_per_message": round((trips_after - trips_before) / total, 2),
            "concurrency_at_the_end": limits,
            "sink": check}


def show(figures):
    print(f"{'channel':<10}{'messages':>10}{'per s':>10}")
    for channel in [*(kind for kind in KINDS if kind in figures["messages"]), "total"]:
        count = figures["messages"].get(channel, sum(figures["messages"].values()))
        print(f"{channel:<10}{count:>10}{figures['per_s'][channel]:>10}")
    cpu = figures["cpu_ms_per_message"]
    capacity = figures["per_s_with_a_core_each"]
    print(f"in {figures['seconds']} s (the first sent {figures['commit_to_first_sent_ms']} ms after the"
          f" commit); CPU ms/message: notify {cpu['notify']}, sink {cpu['devsink']}"
          f" (apart); with a core each: notify {capacity.get('notify')}/s, sink {capacity.get('devsink')}/s;"
          f" notify's PostgreSQL round trips/message: {figures['db_round_trips_per_message']}")
    print(f"deliveries at once per destination at the end: {figures['concurrency_at_the_end']}")
    check = figures["sink"]
    print(f"sink holds {check['held']} (once per key), lost {check['lost']}; repeats it refused by"
          f" key (a call retried after its deadline): {check['repeats_refused_by_key']}")


def write(figures):
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"courier-{datetime.now(timezone.utc):%Y-%m-%d}-{platform.node()}.json"
    earlier = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps([*earlier, figures], indent=1, default=str))
    print(f"written: {path.relative_to(ROOT)}")


def main():
    print(f"Zero Distance courier benchmark: {platform.node()}, {os.cpu_count()} CPUs,"
          f" {MESSAGES} messages", flush=True)
    figures = run()
    show(figures)
    write(figures)


if __name__ == "__main__":
    main()
