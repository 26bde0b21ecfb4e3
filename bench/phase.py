"""One phase of the throughput benchmark: the load generator's process posting for a
phase's seconds at a fixed rate or as a closed loop, the wait until what it sent has
arrived (or stopped moving), and what the phase observed meanwhile: arrivals, CPU
time, published messages and the service queues' depths."""
import time

from bench import load
from bench.cpu import children_cpu, cpu_seconds, machine_cpu, sink_ports
from bench.figures import Observed, accepted, phase_figures
from bench.queues import SAMPLE_SECONDS, SERVICE_QUEUES, STATS_SECONDS, QueueDepths, published
from bench.stack import DISTRICTS

DRAIN_SECONDS = 300  # how long a phase waits, at most, for what is still on its way
QUIET_SECONDS = 15  # ... or until nothing moved for this long


def run_phase(name, stack, keys_file, departments, pids, seconds, rate=0.0, clients=64, districts=None):
    """One load phase: the generator's process for ``seconds``, then up to DRAIN_SECONDS
    for the concerns and messages still on their way; returns the phase's figures."""
    depths = QueueDepths().start()
    published_before, duplicates_before = published(), departments.duplicates
    ports = sink_ports(stack.env)
    cpu_before, generator_before, machine_before = cpu_seconds(pids, ports), children_cpu(), machine_cpu()
    began = time.time()
    sent = load.run_in_process(stack.url("intake"), keys_file, seconds, clients, rate, districts)
    machine_loaded, generator_cpu = machine_cpu(), children_cpu() - generator_before
    taken = accepted(sent)
    settle(departments, taken, depths)
    cpu_after = cpu_seconds(pids, ports)
    depths.stop()
    time.sleep(STATS_SECONDS)  # the management API has counted every message of the phase
    published_after = published()
    arrivals = {e["ticket_id"]: departments.arrivals[e["ticket_id"]] for e in taken
                if e["ticket_id"] in departments.arrivals}
    used = {part: cpu_after[part] - cpu_before.get(part, 0) for part in cpu_after}
    used["load"] = generator_cpu
    seen = Observed(
        began=began, sent=sent, arrivals=arrivals,
        duplicates=departments.duplicates - duplicates_before, cpu=used,
        machine_busy=machine_loaded[0] - machine_before[0],
        machine_total=machine_loaded[1] - machine_before[1],
        published={queue: published_after.get(queue, 0) - published_before.get(queue, 0)
                   for queue in SERVICE_QUEUES},
        depths=depths.samples)
    return phase_figures(name, seen, rate, clients, districts or DISTRICTS)


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
