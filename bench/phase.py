"""One phase of the throughput benchmark: the load generator's process posting for a
phase's seconds at a fixed rate or as a closed loop, the wait until the whole loop is
done with what it sent (or stopped moving): every concern at its department, every
result back, every queue empty, no notification pending at notify; and what the phase
observed meanwhile: arrivals and results, CPU time, published messages, the service
queues' depths, notify's backlog, the messages the development sink received and
notify's notifications of the phase's tickets."""
import time

from bench import load
from bench.cpu import children_cpu, cpu_seconds, machine_cpu, sink_ports
from bench.figures import Observed, accepted, phase_figures
from bench.loop_figures import loop_figures
from bench.notifications import Backlog, notifications_of
from bench.queues import SAMPLE_SECONDS, SERVICE_QUEUES, STATS_SECONDS, QueueDepths, published
from bench.stack import DISTRICTS

DRAIN_SECONDS = 600  # how long a phase waits, at most, for what is still on its way
QUIET_SECONDS = 15  # ... or until nothing moved for this long
SETTLED_SECONDS = 2  # done only when nothing was left for this long: a result may be on its way


def run_phase(name, stack, keys_file, departments, sink, pids, seconds, rate=0.0, clients=64,
              districts=None, feedback=1.0):
    """One load phase: the generator's process for ``seconds``, then up to DRAIN_SECONDS
    for the concerns, results and messages still on their way; returns the phase's
    figures. ``sink``: the development sink's ``bench.notifications.SinkReader``."""
    depths, backlog = QueueDepths().start(), Backlog().start()
    published_before, duplicates_before = published(), departments.duplicates
    ports = sink_ports(stack.env)
    cpu_before, generator_before, machine_before = cpu_seconds(pids, ports), children_cpu(), machine_cpu()
    began = time.time()
    sent = load.run_in_process(stack.url("intake"), keys_file, seconds, clients, rate, districts, feedback)
    machine_loaded, generator_cpu = machine_cpu(), children_cpu() - generator_before
    taken = accepted(sent)
    settle(departments, taken, depths, backlog)
    cpu_after = cpu_seconds(pids, ports)
    depths.stop()
    backlog.stop()
    messages, message_duplicates = sink.read()
    time.sleep(STATS_SECONDS)  # the management API has counted every message of the phase
    published_after = published()
    tickets = [e["ticket_id"] for e in taken]
    arrivals = {ticket: departments.arrivals[ticket] for ticket in tickets if ticket in departments.arrivals}
    used = {part: cpu_after[part] - cpu_before.get(part, 0) for part in cpu_after}
    used["load"] = generator_cpu
    seen = Observed(
        began=began, sent=sent, arrivals=arrivals,
        duplicates=departments.duplicates - duplicates_before, cpu=used,
        machine_busy=machine_loaded[0] - machine_before[0],
        machine_total=machine_loaded[1] - machine_before[1],
        published={queue: published_after.get(queue, 0) - published_before.get(queue, 0)
                   for queue in SERVICE_QUEUES},
        depths=depths.samples,
        results={ticket: departments.results[ticket] for ticket in tickets if ticket in departments.results},
        messages=messages, message_duplicates=message_duplicates,
        notifications=notifications_of(tickets), backlog=backlog.samples)
    figures = phase_figures(name, seen, rate, clients, districts or DISTRICTS)
    figures["feedback_share"] = feedback
    figures.update(loop_figures(seen, max((e["answered"] for e in sent), default=began)))
    return figures


def settle(departments, accepted, depths, backlog):
    """Wait until every accepted concern reached its department and got its result (if
    the departments resolve), the service queues are empty and notify has no
    notification pending, for
    ``SETTLED_SECONDS``; or until nothing moved for ``QUIET_SECONDS``, or
    ``DRAIN_SECONDS`` passed: the next phase starts unloaded."""
    deadline = time.monotonic() + DRAIN_SECONDS
    last_state, last_change, settled_since = None, time.monotonic(), None
    while time.monotonic() < deadline:
        arrived = sum(1 for entry in accepted if entry["ticket_id"] in departments.arrivals)
        resolved = sum(1 for entry in accepted if entry["ticket_id"] in departments.results) \
            if departments.resolve else len(accepted)
        waiting, pending = depths.latest(), backlog.latest()
        if arrived == resolved == len(accepted) and not any(waiting.values()) and pending == 0:
            settled_since = settled_since or time.monotonic()
            if time.monotonic() - settled_since >= SETTLED_SECONDS:
                return
        else:
            settled_since = None
        state = (arrived, resolved, waiting, pending)
        if state != last_state:
            last_state, last_change = state, time.monotonic()
        elif time.monotonic() - last_change > QUIET_SECONDS:
            return
        time.sleep(SAMPLE_SECONDS)
