"""CPU time, as the throughput benchmark counts it: of each service process, of
PostgreSQL, RabbitMQ and the development sink (found in ``/proc``; counted apart, as a
remote server's would not be ours), of this process (the departments' consumers, the
queue and backlog samplers), of the load generator (an ended child) and of the whole
machine. PostgreSQL is counted twice: all of it, its ended backends included
(``postgres``), and only what serves the benchmark's database (``postgres_ours``: its
live backends and the server's own processes, without other databases' backends, for
a machine shared with other work; the services keep their connections, so few of
theirs end)."""
import os
import resource
from pathlib import Path
from urllib.parse import urlsplit

from services.common.config import settings
from services.devstack import CHANNEL_SETTINGS

TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid, children=True):
    """CPU seconds (user + system) a process used so far, with those of its children that
    ended unless not ``children`` (how PostgreSQL's postmaster keeps its ended backends'
    time); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(ticks) for ticks in fields[11:15 if children else 13]) / TICKS


def serves_another_database(title, database):
    """Whether a PostgreSQL process titled ``title`` (``postgres: 15/main: <user> <database>
    <host>(<port>) <state>``) is a backend of a database other than ``database``."""
    words = title.split(": ")[-1].split()
    is_backend = len(words) >= 3 and ("(" in words[2] or words[2] == "[local]")
    return is_backend and words[1] != database


def other_processes(sink_ports, database=None):
    """``{name: pids}`` of PostgreSQL (every process whose command name starts with
    postgres; ``postgres_ours``: those not serving another database than ``database``),
    RabbitMQ (beam.smp) and the development sink listening on one of ``sink_ports``,
    where notify's channels point."""
    found = {"postgres": [], "postgres_ours": [], "rabbitmq": [], "devsink": []}
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
            if not serves_another_database(argv[0].decode(errors="replace"), database):
                found["postgres_ours"].append(entry.name)
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
    database = urlsplit(settings().database_url).path.lstrip("/")
    used.update({name: sum(process_cpu(pid, children=name != "postgres_ours") for pid in group)
                 for name, group in other_processes(ports, database).items() if group})
    own = os.times()
    used["departments"] = own.user + own.system
    used["machine"] = machine_cpu()[0]
    return used
