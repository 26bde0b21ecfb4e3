"""The system the throughput benchmark loads: its directory (six districts, every
concern auto-forwarded and auto-dispatched to the district's water department), a
fresh system with it loaded, the development sinks started in processes of their own
(``bench.sinks``) with notify's channels (SMTP, SMS and WeChat gateways) pointed at them, the four
services started as processes (and second instances of some), and what routing's
database must hold after a district phase."""
import json
import subprocess
import sys
import time

import psycopg
import yaml

from bench.queues import STATS_SECONDS
from bench.sinks import SplitSinks
from services.common.config import settings
from services.devstack import Stack
from services.routing.store import OPEN_STATUSES
from tests.support.system import free_port, fresh_system

DISTRICTS = [f"d{n}" for n in range(1, 7)]


def bench_directory(max_open=None):
    """Six districts of three communities, two representatives each, every concern a
    drainage one, auto-forwarded and auto-dispatched to the district's water department
    at once. ``max_open``: ``{representative: max_open}`` of those who fill up; the
    others never do."""
    max_open = max_open or {}
    districts, representatives, departments = [], [], []
    for district in DISTRICTS:
        communities = []
        for n in range(1, 4):
            reps = [f"{district}-rep{n}a", f"{district}-rep{n}b"]
            communities.append({"code": f"{district}-c{n}", "name": f"{district} 社区{n}",
                                "representatives": reps})
            representatives += [{"id": rep, "name": rep, "district": district,
                                 "max_open": max_open.get(rep, 1_000_000),
                                 "contact": {"email": f"{rep}@bench.example"}} for rep in reps]
        districts.append({"code": district, "name": f"区{district}", "communities": communities,
                          "office": {"name": f"{district} 联络室",
                                     "contact": {"email": f"office@{district}.bench.example"}}})
        departments.append({"code": f"{district}-water", "name": f"{district} 水务局",
                            "districts": [district], "categories": ["drainage"], "due_hours": 72,
                            "delivery": "amqp", "contact": {"email": f"water@{district}.bench.example"}})
    return {"districts": districts, "representatives": representatives,
            "categories": [{"code": "drainage", "name": "排水", "keywords": ["下水道", "污水", "堵塞"]}],
            "departments": departments,
            "policy": {"representative_hours": 24, "congress_hours": 8, "auto_forward": True,
                       "auto_dispatch": True, "reopen_limit": 2, "timezone": "Asia/Shanghai",
                       "calendar": None}}


def fresh(work, directory):
    """A fresh system (database, vhost, topology) with ``directory`` loaded, written to
    ``work``; returns the file of every party's keys, for the load generator, and the
    departments' RabbitMQ users."""
    directory_file = work / "directory.yaml"
    directory_file.write_text(yaml.safe_dump(directory, allow_unicode=True))
    keys, users, _ = fresh_system(str(directory_file))
    keys_file = work / "keys.json"
    keys_file.write_text(json.dumps(keys))
    return keys_file, users


def start_stack(keys_dir, extra_instances=()):
    """The development sinks (``bench.sinks``: mail and gateways in processes of their own,
    their output in ``keys_dir``), then the services sending to them; returns ``(stack,
    extra instances, sinks)``."""
    sink = SplitSinks(keys_dir)
    channels = sink.channels
    ports = {f"ZD_{name.upper()}_PORT": str(free_port()) for name in ("intake", "routing", "notify",
                                                                       "reporting")}
    env = {**ports, **channels, "ZD_RATE_LIMIT": "1000000", "ZD_LOG_LEVEL": "WARNING"}
    try:
        stack = Stack(env=env, log_dir=str(keys_dir)).start()
    except Exception:
        sink.stop()
        raise
    extras = []
    for name in extra_instances:
        extra_env = {**stack.env, f"ZD_{name.upper()}_PORT": str(free_port())}
        extras.append((name, subprocess.Popen([sys.executable, "-m", f"services.{name}"], env=extra_env)))
    time.sleep(STATS_SECONDS)  # the extra instances up; the management API's counts caught up
    return stack, extras, sink  # with the setup's messages (directory, credentials), not the first phase's


def check_max_open(representative, max_open):
    """Whether ``representative`` holds exactly ``max_open`` open tickets in routing's
    database, and whether its load table (kept by a trigger) holds every
    representative's count of open tickets."""
    with psycopg.connect(settings().database_url) as db:
        counted = dict(db.execute(
            "SELECT representative_id, count(*) FROM routing.tickets WHERE representative_id"
            " IS NOT NULL AND status = ANY(%s) GROUP BY representative_id",
            (list(OPEN_STATUSES),)).fetchall())
        kept = dict(db.execute("SELECT representative_id, open FROM routing.representative_load")
                    .fetchall())
    is_open = counted.get(representative, 0)
    return {"representative": representative, "max_open": max_open, "open": is_open,
            "exact": is_open == max_open,
            "load_table_matches": all(kept.get(rep, 0) == counted.get(rep, 0)
                                      for rep in {*counted, *kept})}
