"""The benchmark's return-path figures and targets, from observations made up here."""
import pytest

from bench.cpu import serves_another_database
from bench.figures import Observed, cpu_per_concern
from bench.loop_figures import RESOLVED_SMS, delivery_check, drained_after, loop_figures, messages_delivered
from bench.notifications import key_of, light
from bench.report import every
from bench.targets import targets


def message(kind, received, key, template=None, ticket_id=None):
    return {"kind": kind, "received": received, "key": key, "template": template, "ticket_id": ticket_id}


def notification(key, status="sent", event_to_sent_s=0.2):
    return {"key": key, "ticket_id": "T1", "channel": "sms", "template": "t", "status": status,
            "event_to_sent_s": event_to_sent_s}


def test_messages_delivered_count_a_second_from_the_phase_start_to_the_last_one():
    messages = [message("sms", 101.0, "a"), message("email", 102.0, "b"), message("sms", 104.0, "c")]

    delivered = messages_delivered(messages, began=100.0)

    assert delivered["sms"] == {"count": 2, "per_s": 0.5}
    assert delivered["email"] == {"count": 1, "per_s": 0.5}
    assert delivered["all"] == {"count": 3, "per_s": 0.8}
    assert messages_delivered([], began=100.0) == {"all": {"count": 0, "per_s": 0.0}}


def test_the_backlog_is_empty_from_the_first_sample_after_the_last_busy_one():
    backlog = [{"t": 9.0, "pending": 50}, {"t": 10.5, "pending": 7}, {"t": 11.0, "pending": 0},
               {"t": 11.5, "pending": 0}]
    depths = [{"t": 10.5, "zd.notify.events": 0}, {"t": 11.0, "zd.notify.events": 3},
              {"t": 11.5, "zd.notify.events": 0}]

    assert drained_after(backlog, depths, load_end=10.0) == 1.5
    assert drained_after(backlog, [], load_end=10.0) == 1.0
    assert drained_after([{"t": 11.0, "pending": 0}], [], load_end=10.0) == 0.0


def test_a_backlog_still_there_at_the_last_sample_never_emptied():
    assert drained_after([{"t": 11.0, "pending": 0}, {"t": 11.5, "pending": 3}], [], load_end=10.0) is None
    assert drained_after([], [], load_end=10.0) is None


def test_a_notification_sent_but_never_at_the_sink_is_lost_and_the_others_are_counted_by_status():
    notifications = [notification("a"), notification("b"), notification("c", "pending", None),
                     notification("d", "failed", None), notification("e", "skipped", None)]
    messages = [message("sms", 1.0, "a"), message("sms", 1.0, "z")]

    assert delivery_check(notifications, messages) == {
        "notifications": 5, "received": 1, "lost": 1, "pending": 1, "failed": 1, "skipped": 1,
        "unrecorded": 1}


def test_result_to_sms_counts_only_the_resolved_reporter_sms_of_a_resolved_ticket():
    seen = Observed(began=100.0, sent=[], arrivals={"T1": 100.5, "T2": 100.6}, duplicates=0, cpu={},
                    machine_busy=0, machine_total=1, published={}, depths=[],
                    results={"T1": 101.0, "T2": 101.0},
                    messages=[message("sms", 101.25, "a", RESOLVED_SMS, "T1"),
                              message("email", 101.5, "b", None, "T2"),
                              message("sms", 101.5, "c", "ticket.dispatched.reporter", "T2")],
                    message_duplicates=2, notifications=[notification("a", event_to_sent_s=0.1)],
                    backlog=[{"t": 101.0, "pending": 4}, {"t": 102.0, "pending": 0}])

    figures = loop_figures(seen, load_end=100.8)

    assert figures["result_to_sms_ms"] == {"p50": 250.0, "p99": 250.0, "count": 1}
    assert figures["event_to_message_ms"] == {"p50": 100.0, "p99": 100.0}
    assert figures["messages_per_concern"] == 1.5
    assert (figures["backlog_max"], figures["backlog_empty_after_s"]) == (4, 1.2)
    assert figures["message_duplicates"] == 2


def test_the_machine_cpu_per_concern_leaves_the_sink_out():
    per_concern = cpu_per_concern({"machine": 3.0, "devsink": 1.0, "notify": 0.5}, concerns=100)

    assert per_concern == {"machine": 30.0, "devsink": 10.0, "notify": 5.0, "machine_without_sinks": 20.0,
                           "processes_without_sinks": 5.0}


def test_the_processes_count_only_the_postgres_of_the_benchmarks_database_when_known():
    cpu = {"machine": 3.0, "devsink": 1.0, "notify": 0.5, "postgres": 1.2, "postgres_ours": 0.3}

    assert cpu_per_concern(cpu, concerns=100)["processes_without_sinks"] == 8.0
    assert cpu_per_concern({"machine": 3.0, "postgres": 1.2}, concerns=100)["processes_without_sinks"] == 12.0


@pytest.mark.parametrize("title, another", [
    ("postgres: 15/main: postgres zd_bench_growth 127.0.0.1(45526) idle in transaction", True),
    ("postgres: 15/main: postgres zd_bench 127.0.0.1(45536) idle", False),
    ("postgres: 15/main: postgres zd_other [local] SELECT", True),
    ("postgres: 15/main: checkpointer", False),
    ("postgres: 15/main: autovacuum worker zd_other", False),
    ("/usr/lib/postgresql/15/bin/postgres", False),
])
def test_only_backends_of_other_databases_are_left_out(title, another):
    assert serves_another_database(title, "zd_bench") is another


def test_a_sink_message_carries_its_notifications_key_by_channel():
    email = {"kind": "email", "message_id": "<zd-notification-7@zero-distance>", "id": 3,
             "received_at": "2026-12-06T00:00:01.500Z"}
    sms = {"kind": "sms", "idempotency_key": "zd-notification-8", "template": RESOLVED_SMS,
           "params": {"ticket_id": "T1"}, "id": 4, "received_at": "2026-12-06T00:00:02.000Z"}

    assert key_of(email) == "zd-notification-7" and key_of(sms) == "zd-notification-8"
    assert key_of({"kind": "email", "message_id": None}) is None
    assert light(sms)["ticket_id"] == "T1" and light(sms)["received"] - light(email)["received"] == 0.5


def phase(part, offered, **figures):
    return {"part": part, "phase": f"{part} {offered}", "offered_per_s": offered, "feedback_share": 1.0,
            "not_delivered": 0, "duplicates": 0, "message_duplicates": 0,
            "messages": {"lost": 0, "failed": 0, "pending": 0}, **figures}


def test_the_targets_take_their_figures_from_the_phase_at_50_and_the_closed_loop():
    results = {"ratio_to_floor": 0.3, "ratio_to_batched_floor": 0.1, "phases": [
        phase("base", 50.0, backlog_empty_after_s=4.5, cpu_ms_per_concern={"machine_without_sinks": 22.0},
              post_to_queue_ms={"p99": 180.0}, result_to_sms_ms={"p99": 700.0},
              messages_delivered={"all": {"per_s": 120.0}}),
        phase("base", None, delivered_per_s=90.0, messages_delivered={"all": {"per_s": 310.0}},
              messages={"lost": 1, "failed": 2, "pending": 3}, not_delivered=4, message_duplicates=5)]}

    figures = {row["target"]: (row["figure"], row["phase"]) for row in targets(results)}

    assert figures["messages delivered to the local sinks"] == (310.0, "base None")
    backlog_target = "backlog empty after the 50/s phase (every reporter asking for feedback)"
    assert figures[backlog_target] == (4.5, "base 50.0")
    assert figures["machine CPU per concern, sinks excluded, at 50/s"][0] == 22.0
    assert figures["concerns delivered to department queues, closed loop, six districts"][0] == 90.0
    assert figures["POST→department p99 at 50/s"][0] == 180.0
    assert figures["department result → reporter's SMS p99 at 50/s"][0] == 700.0
    assert figures["best delivered/s over the batched floor"][0] == 0.1
    assert figures["concerns lost (accepted, never at their department)"][0] == 4
    assert figures["messages lost (sent, never at the sink; or failed)"][0] == 3
    assert figures["messages left pending at the end of their phase"][0] == 3
    assert figures["messages duplicated (refused by the sink as sent already)"][0] == 5


def test_a_target_whose_phase_did_not_run_has_no_figure():
    rows = targets({"phases": []})

    assert all(row["figure"] in (None, 0) for row in rows)
    assert {row["target"]: row["figure"] for row in rows}["POST→department p99 at 50/s"] is None


def test_the_backlog_is_printed_once_per_step_of_time():
    samples = [{"t": 100.0 + n / 2, "pending": n} for n in range(25)]

    assert every(samples, 5) == [0, 10, 20]
    assert every([], 5) == []
