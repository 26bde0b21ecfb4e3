"""The return path's figures of one phase, from what it observed (``bench.figures.Observed``):
messages delivered a second per channel to the development sink, event → message
delay, the department's result → reporter's SMS delay, the courier's backlog (its
deepest, and how long after the load ended nothing was left), lost and duplicated
messages. Arithmetic only: nothing here touches a process, the broker or a database."""
from bench.figures import percentile

RESOLVED_SMS = "ticket.resolved.reporter"  # the reporter's SMS naming the department's result
NOTIFY_QUEUE = "zd.notify.events"


def messages_delivered(messages, began):
    """``{channel: {"count", "per_s"}}`` and ``"all"``: messages the sink received, a
    second from the phase's start to the last one received."""
    by_channel = {}
    for message in messages:
        by_channel.setdefault(message["kind"], []).append(message["received"])
    by_channel["all"] = [message["received"] for message in messages]
    return {channel: {"count": len(times),
                      "per_s": round(len(times) / max(max(times) - began, 1e-9), 1) if times else 0.0}
            for channel, times in by_channel.items()}


def result_to_sms_ms(messages, results):
    """Milliseconds from each department's result (``results``: ticket id → when it was
    sent) to the reporter's resolved SMS naming that ticket reaching the sink."""
    return [(message["received"] - results[message["ticket_id"]]) * 1000 for message in messages
            if message["kind"] == "sms" and message["template"] == RESOLVED_SMS
            and message["ticket_id"] in results]


def drained_after(backlog, depths, load_end):
    """Seconds after ``load_end`` from which notify had nothing left: no pending
    notification and no event waiting in its queue, to the end of the samples; None
    when it still had some at the last sample."""
    busy = [(sample["t"], sample["pending"] > 0) for sample in backlog if sample["t"] >= load_end]
    busy += [(sample["t"], sample.get(NOTIFY_QUEUE, 0) > 0) for sample in depths if sample["t"] >= load_end]
    busy.sort()
    if not busy or busy[-1][1]:
        return None
    last_busy = max((t for t, is_busy in busy if is_busy), default=None)
    if last_busy is None:
        return 0.0
    return round(next(t for t, is_busy in busy if t > last_busy and not is_busy) - load_end, 1)


def delivery_check(notifications, messages):
    """Of notify's notifications: sent and received by the sink, sent but never received
    (lost), still pending, failed (retried to the end and parked), skipped; and
    messages the sink received that notify never recorded for the phase's tickets."""
    received = {message["key"] for message in messages}
    recorded = {row["key"] for row in notifications}
    counts = {"notifications": len(notifications), "received": 0, "lost": 0, "pending": 0,
              "failed": 0, "skipped": 0}
    for row in notifications:
        if row["key"] in received:
            counts["received"] += 1
        elif row["status"] == "sent":
            counts["lost"] += 1
        elif row["status"] in counts:
            counts[row["status"]] += 1
    counts["unrecorded"] = len(received - recorded)
    return counts


def loop_figures(seen, load_end):
    """The return path's figures of a phase (``seen``: ``bench.figures.Observed``)."""
    event_to_sent = [row["event_to_sent_s"] * 1000 for row in seen.notifications
                     if row["event_to_sent_s"] is not None]
    to_sms = result_to_sms_ms(seen.messages, seen.results)
    return {
        "resolved": len(seen.results),
        "messages_delivered": messages_delivered(seen.messages, seen.began),
        "messages_per_concern": round(len(seen.messages) / max(len(seen.arrivals), 1), 2),
        "event_to_message_ms": {"p50": percentile(event_to_sent, 0.5),
                                "p99": percentile(event_to_sent, 0.99)},
        "result_to_sms_ms": {"p50": percentile(to_sms, 0.5), "p99": percentile(to_sms, 0.99),
                             "count": len(to_sms)},
        "backlog_max": max((sample["pending"] for sample in seen.backlog), default=0),
        "backlog_empty_after_s": drained_after(seen.backlog, seen.depths, load_end),
        "messages": delivery_check(seen.notifications, seen.messages),
        "message_duplicates": seen.message_duplicates,
        "backlog": seen.backlog,
    }
