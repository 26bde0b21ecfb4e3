"""``make bench``: how fast a concern travels from POST to its department's queue.

Starts the four services as separate processes on their own database and vhost
(``zd_bench``), posts concerns of a district with auto-forward (conghua) from
several client threads, consumes the dispatches from the department queues as the
departments would, and prints throughput and latency percentiles. Figures only:
nothing here passes or fails on time.
"""
import os

os.environ.setdefault("ZD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/zd_bench")
os.environ.setdefault("ZD_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/zd_bench")

import json  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import requests  # noqa: E402
from kombu import Connection, Queue  # noqa: E402

from services.common.config import settings  # noqa: E402
from services.devstack import Stack  # noqa: E402
from tests.support.system import free_port, fresh_system  # noqa: E402

CONCERNS = int(os.environ.get("ZD_BENCH_CONCERNS", "300"))
CLIENTS = int(os.environ.get("ZD_BENCH_CLIENTS", "8"))
KINDS = {  # description → the department its category leads to in conghua
    "街口路下水道堵塞，污水外溢": "conghua-water",
    "江埔街垃圾堆积没人清运，卫生很差": "conghua-urban-management",
    "温泉镇路口车辆乱停车，违停严重": "gz-traffic-police",
}


def consume(department, arrivals, done):
    with Connection(settings().amqp_uri) as connection:
        with connection.SimpleQueue(Queue(f"zd.dept.{department}", no_declare=True)) as queue:
            while not done.is_set():
                try:
                    message = queue.get(block=True, timeout=0.5)
                except queue.Empty:
                    continue
                arrivals[json.loads(message.body)["ticket_id"]] = time.monotonic()
                message.ack()


def post(intake, key, description):
    started = time.monotonic()
    answer = requests.post(f"{intake}/api/v1/concerns", headers={"Authorization": f"Bearer {key}"},
                           json={"external_id": str(uuid.uuid4()), "district": "conghua",
                                 "community": "jiekou", "channel": "hotline",
                                 "description": description}, timeout=30)
    answer.raise_for_status()
    return answer.json()["ticket_id"], started, time.monotonic() - started


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main():
    keys, _, _ = fresh_system()
    ports = {f"ZD_{name.upper()}_PORT": str(free_port())
             for name in ("intake", "routing", "notify", "reporting")}
    arrivals, done = {}, threading.Event()
    with Stack(env={**ports, "ZD_RATE_LIMIT": "100000", "ZD_LOG_LEVEL": "WARNING"}) as stack:
        consumers = [threading.Thread(target=consume, args=(department, arrivals, done))
                     for department in set(KINDS.values())]
        for consumer in consumers:
            consumer.start()
        descriptions = list(KINDS) * (CONCERNS // len(KINDS) + 1)
        began = time.monotonic()
        with ThreadPoolExecutor(CLIENTS) as clients:
            posted = list(clients.map(lambda d: post(stack.url("intake"), keys["frontend:conghua"], d),
                                      descriptions[:CONCERNS]))
        post_seconds = time.monotonic() - began
        deadline = time.monotonic() + 120
        while len(arrivals) < len(posted) and time.monotonic() < deadline:
            time.sleep(0.05)
        total_seconds = time.monotonic() - began
        done.set()
        for consumer in consumers:
            consumer.join()
    latencies = [(arrivals[ticket] - started) * 1000 for ticket, started, _ in posted
                 if ticket in arrivals]
    answers = [seconds * 1000 for _, _, seconds in posted]
    print(f"\nZero Distance chain benchmark: {len(posted)} concerns, {CLIENTS} clients")
    print(f"  POST 202 answers      {len(posted) / post_seconds:7.1f} /s   p50 "
          f"{statistics.median(answers):6.1f} ms   p95 {percentile(answers, 0.95):6.1f} ms")
    print(f"  reached dept queues   {len(latencies)} of {len(posted)} in {total_seconds:.1f} s"
          f"  ({len(latencies) / total_seconds:.1f} /s end to end)")
    if latencies:
        print(f"  POST → dept queue     p50 {statistics.median(latencies):6.1f} ms   p95 "
              f"{percentile(latencies, 0.95):6.1f} ms   max {max(latencies):6.1f} ms")


if __name__ == "__main__":
    main()
