"""CPU time, as the throughput benchmark counts it: of each service process, of
PostgreSQL, RabbitMQ and the development sink (found in ``/proc``; counted apart, as a
remote server's would not be ours), of this process (the departments' consumers, the
queue and backlog samplers), of the load generator (an ended child) and of the whole
machine."""
import os
import resource
from pathlib import Path
from urllib.parse import urlsplit

from services.devstack import CHANNEL_SETTINGS

TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid):
    """CPU seconds (user + system) a process used so far, with those of its children that
    ended (how PostgreSQL's postmaster keeps its ended backends' time); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(ticks) for ticks in fields[11:15]) / TICKS


def other_processes(sink_ports):
    """``{name: pids}`` of PostgreSQL (every process whose command name starts with
    postgres), RabbitMQ (beam.smp) and the development sink listening on one of
    ``sink_ports``, where notify's channels point."""
    found = {"postgres": [], "rabbitmq": [], "devsink": []}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "comm").read_text().strip()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if command.startswith("postgres"):
            found["postgres"].append(entry.name)
        elif command == "beam.smp":
            found["rabbitmq"].append(entry.name)
        elif b"services.devsink" in argv and sink_ports & set(argv):
            found["devsink"].append(entry.name)
    return found


def sink_ports(env):
    """The ports of notify's channels (``ZD_SMTP_URL``...) in ``env``: where the development
    sink listens (``bench.stack`` starts one and points the channels at it)."""
    return {str(urlsplit(env[name]).port).encode() for name in CHANNEL_SETTINGS if env.get(name)}


def machine_cpu():
    """The machine's busy and total CPU seconds so far, over all its cores (``/proc/stat``:
    everything but idle and iowait is busy)."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / TICKS, sum(ticks) / TICKS


def children_cpu():
    """CPU seconds of this process's children that ended and were waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(pids, ports):
    """CPU seconds used so far by each service process (``pids``), PostgreSQL, RabbitMQ,
    the development sink (if one runs on ``ports``), this process (the departments'
    consumers and the samplers) and the whole machine."""
    used = {name: process_cpu(pid) for name, pid in pids.items()}
    used.update({name: sum(process_cpu(pid) for pid in group)
                 for name, group in other_processes(ports).items() if group})
    own = os.times()
    used["departments"] = own.user + own.system
    used["machine"] = machine_cpu()[0]
    return used
