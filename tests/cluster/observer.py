"""What the cluster test sees from outside, in a process of its own (no eventlet, so its
timings are the wall clock's): it consumes the department queues through one broker node,
and polls every service's ``/health``, writing one JSON line per event to ``--out``:

- ``{"kind": "ready"}`` once its consumers are attached;
- ``{"kind": "arrival", "t", "queue", "ticket_id", "message_id", "redelivered"}`` for each
  department message (acknowledged at once);
- ``{"kind": "health", "t", "service", "status", "ms", "why"}`` for each ``/health`` answer
  (``status`` 0 when none came);
- ``{"kind": "port", "t", "open"}`` when the AMQP port given by ``--watch-port`` starts or
  stops taking connections (polled every 0.2 s): when a stopped node really went down;
- ``{"kind": "consumer_error", "t", "error"}`` when its own connection failed (it reconnects).

It runs until SIGTERM.

    python -m tests.cluster.observer --amqp URI --queues zd.dept.a,zd.dept.b \
        --health intake=http://127.0.0.1:8001,routing=... --watch-port 5701 --out FILE
"""
import argparse
import json
import signal
import socket
import threading
import time

import requests
from kombu import Connection, Queue

HEALTH_EVERY = 0.5
HEALTH_TIMEOUT = 2
PORT_EVERY = 0.2


class Log:
    def __init__(self, path):
        self.file = open(path, "a", buffering=1)
        self.lock = threading.Lock()

    def write(self, **entry):
        with self.lock:
            self.file.write(json.dumps(entry) + "\n")


def consume(uri, queues, log, done):
    announced = False
    while not done.is_set():
        try:
            with Connection(uri, connect_timeout=5, heartbeat=10) as connection:
                channel = connection.channel()
                channel.basic_qos(0, 500, False)

                def arrived(body, message):
                    try:
                        ticket_id = json.loads(message.body).get("ticket_id")
                    except ValueError:
                        ticket_id = None
                    log.write(kind="arrival", t=time.time(), queue=message.delivery_info.get(
                        "routing_key"), ticket_id=ticket_id,
                        message_id=message.properties.get("message_id"),
                        redelivered=bool(message.delivery_info.get("redelivered")))
                    message.ack()

                bound = [Queue(name, no_declare=True, channel=channel) for name in queues]
                with connection.Consumer(bound, callbacks=[arrived], accept=["json"]):
                    if not announced:
                        log.write(kind="ready", t=time.time())
                        announced = True
                    while not done.is_set():
                        try:
                            connection.drain_events(timeout=0.5)
                        except TimeoutError:
                            connection.heartbeat_check()
        except Exception as exc:  # noqa: BLE001  (its own connection failed: say so, go on)
            log.write(kind="consumer_error", t=time.time(), error=repr(exc))
            time.sleep(0.5)


def poll_health(service, base, log, done):
    session = requests.Session()
    while not done.is_set():
        started = time.time()
        status, why = 0, None
        try:
            answer = session.get(f"{base}/health", timeout=HEALTH_TIMEOUT)
            status = answer.status_code
            if status != 200:
                why = answer.json().get("reasons")
        except Exception as exc:  # noqa: BLE001  (no answer is an answer here)
            why = type(exc).__name__
            session = requests.Session()
        log.write(kind="health", t=started, service=service, status=status,
                  ms=round((time.time() - started) * 1000, 1), why=why)
        done.wait(max(0.0, HEALTH_EVERY - (time.time() - started)))


def watch_port(port, log, done):
    last = None
    while not done.is_set():
        started = time.time()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                is_open = True
        except OSError:
            is_open = False
        if is_open != last:
            log.write(kind="port", t=started, port=port, open=is_open)
            last = is_open
        done.wait(PORT_EVERY)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--amqp", required=True)
    parser.add_argument("--queues", required=True, type=lambda text: text.split(","))
    parser.add_argument("--health", default="", type=lambda text: dict(
        item.split("=", 1) for item in text.split(",") if item))
    parser.add_argument("--watch-port", type=int)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    log = Log(args.out)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threads = [threading.Thread(target=consume, args=(args.amqp, args.queues, log, done))]
    threads += [threading.Thread(target=poll_health, args=(service, base, log, done))
                for service, base in args.health.items()]
    if args.watch_port:
        threads.append(threading.Thread(target=watch_port, args=(args.watch_port, log, done)))
    for thread in threads:
        thread.start()
    while not done.is_set():
        done.wait(0.5)
    for thread in threads:
        thread.join(timeout=10)


if __name__ == "__main__":
    main()
