"""The throughput benchmark's figures, computed from what a phase observed
(``Observed``): accepted/s and delivered/s, intake's answer time and POST→department
queue latency as percentiles, lost and duplicated concerns, CPU milliseconds per
concern (the machine's with and without the development sink), how far behind each
service queue fell; and the scaled part's ratio over the base part. The return path's
figures are ``bench.loop_figures``'s. Arithmetic only: nothing here touches a process,
the broker or a database."""
import os
from dataclasses import dataclass

from bench.queues import SERVICE_QUEUES


@dataclass
class Observed:
    """What one phase saw, as counted while it ran."""
    began: float  # when the load generator started (wall-clock seconds)
    sent: list  # the generator's lines, one per concern posted
    arrivals: dict  # accepted ticket id → when it reached its department's queue
    duplicates: int  # tickets that reached a department's queue once more
    cpu: dict  # part (a service, postgres, rabbitmq, load...) → CPU seconds it used
    machine_busy: float  # the machine's busy CPU seconds while loading
    machine_total: float  # ... and its CPU seconds in all, over all its cores
    published: dict  # service queue → messages published into it
    depths: list  # the service queues' depths as sampled: {"t": when, queue: ready}
    results: dict  # ticket id → when its department sent its result
    messages: list  # what the development sink received (``bench.notifications.light``)
    message_duplicates: int  # messages the sink refused as sent once already
    notifications: list  # notify's notifications of the accepted tickets
    backlog: list  # notify's pending notifications as sampled: {"t": when, "pending": n}


def accepted(sent):
    """The concerns intake accepted (202, with a ticket id)."""
    return [entry for entry in sent if entry["status"] == 202 and entry["ticket_id"]]


def percentile(values, share):
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)


def deepest(samples):
    """Each service queue's deepest sampled depth."""
    return {queue: max((sample[queue] for sample in samples), default=0) for queue in SERVICE_QUEUES}


def phase_figures(name, seen, rate, clients, districts):
    """The figures of phase ``name``, loaded at ``rate`` (0: the closed loop) by
    ``clients`` clients posting to ``districts``, from what it saw (``Observed``)."""
    sent, began, arrivals = seen.sent, seen.began, seen.arrivals
    taken = accepted(sent)
    load_end = max((e["answered"] for e in sent), default=began)
    last_arrival = max(arrivals.values(), default=began)
    to_queue = [(arrivals[e["ticket_id"]] - e["scheduled"]) * 1000 for e in taken
                if e["ticket_id"] in arrivals]
    answers = [(e["answered"] - e["scheduled"]) * 1000 for e in taken]
    concerns = max(len(taken), 1)
    accepted_per_s = len(taken) / max(load_end - began, 1e-9)
    # How far behind each consumer was at worst: its queue's deepest over the rate
    # messages entered it, i.e. the messages published into it per accepted concern
    # (the management API's cumulative count, read at the phase's start and, once the
    # queues were empty and its figures caught up, at its end) times accepted/s.
    per_concern = {queue: seen.published[queue] / concerns for queue in SERVICE_QUEUES}
    deepest_depth = deepest(seen.depths)
    return {
        "phase": name, "offered_per_s": rate or None, "clients": clients, "sent": len(sent),
        "districts": districts,
        "accepted": len(taken), "refused": sum(1 for e in sent if e["status"] != 202),
        "accepted_per_s": round(accepted_per_s, 1),
        "delivered": len(arrivals),
        "delivered_per_s": round(len(arrivals) / max(last_arrival - began, 1e-9), 1),
        "not_delivered": len(taken) - len(arrivals),
        "duplicates": seen.duplicates,
        "intake_ms": {"p50": percentile(answers, 0.5), "p99": percentile(answers, 0.99)},
        "post_to_queue_ms": {"p50": percentile(to_queue, 0.5), "p95": percentile(to_queue, 0.95),
                             "p99": percentile(to_queue, 0.99),
                             "max": round(max(to_queue), 1) if to_queue else None},
        "cpu_ms_per_concern": cpu_per_concern(seen.cpu, concerns),
        "machine_busy_while_loading": {
            "cores": os.cpu_count(),
            "percent": round(100 * seen.machine_busy / max(seen.machine_total, 1e-9), 1)},
        "queue_depth_max": deepest_depth,
        "queue_messages_per_concern": {queue: round(n, 2) for queue, n in per_concern.items()},
        "queue_behind_s": {queue: round(deepest_depth[queue] / (per_concern[queue] * accepted_per_s), 1)
                           if per_concern[queue] and accepted_per_s else None for queue in SERVICE_QUEUES},
        "queue_depths": seen.depths,
    }


def cpu_per_concern(cpu, concerns):
    """CPU milliseconds per concern of each part; of the machine without the development
    sink (a remote server's CPU would not be ours); and of the parts counted one by one
    without it, PostgreSQL only for the benchmark's database (``processes_without_sinks``:
    on a shared machine, the machine's figure counts others' work too)."""
    per_concern = {part: round(seconds * 1000 / concerns, 2) for part, seconds in cpu.items()}
    if "machine" in cpu:
        per_concern["machine_without_sinks"] = round(
            (cpu["machine"] - cpu.get("devsink", 0)) * 1000 / concerns, 2)
        per_concern["processes_without_sinks"] = round(
            sum(seconds for part, seconds in cpu.items()
                if part not in ("machine", "devsink", "postgres" if "postgres_ours" in cpu else ""))
            * 1000 / concerns, 2)
    return per_concern


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
