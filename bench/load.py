"""The benchmark's load generator, run as a process of its own: posts concerns to intake
at a fixed rate (open loop) or as fast as a number of clients can (closed loop), and
prints one JSON line per concern: its ticket id, when it was due to be sent, when it
was sent and when it was answered (wall-clock seconds), and the status. The concerns go
to each of ``--districts`` (default: all six) in turn, and to each of a district's
three communities in turn. A share of them (``--feedback``, default all) come from a
reporter who asks for feedback, with a phone and an email of their own: each of those
concerns makes SMS and emails to its reporter as it is received, dispatched and
resolved.

An open loop sends each concern at its scheduled time whatever the answers before it
took, so a slow system cannot slow the load down and hide its latency (coordinated
omission): the latency counts from the scheduled time.

    python -m bench.load --url URL --keys KEYS.json --rate 100 --seconds 30
    python -m bench.load --url URL --keys KEYS.json --clients 32 --seconds 30
    python -m bench.load --url URL --keys KEYS.json --rate 200 --districts d1
    python -m bench.load --url URL --keys KEYS.json --rate 50 --feedback 0.5

``run_in_process`` runs it so from the throughput benchmark and reads its lines.
"""
import argparse
import http.client
import itertools
import json
import subprocess
import sys
import threading
import time
import uuid
from queue import Empty, Queue
from urllib.parse import urlsplit

DISTRICTS = [f"d{n}" for n in range(1, 7)]
TEXTS = ["下水道堵塞，污水外溢", "小区门口下水道又堵了，污水冒出来", "污水井盖冒水，排水堵塞"]  # drainage


class Client:
    """One keep-alive HTTP connection to intake."""

    def __init__(self, url, keys, districts, feedback=1.0):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.keys, self.districts, self.feedback = keys, districts, feedback
        self.connection = None

    def post(self, sequence):
        turn, district_index = divmod(sequence, len(self.districts))
        district = self.districts[district_index]
        concern = {"external_id": str(uuid.uuid4()), "district": district,
                   "community": f"{district}-c{turn % 3 + 1}", "channel": "app",
                   "description": TEXTS[sequence % len(TEXTS)]}
        if wants_feedback(sequence, self.feedback):
            concern["reporter"] = reporter(sequence)
        body = json.dumps(concern).encode()
        headers = {"Authorization": f"Bearer {self.keys[f'frontend:{district}']}",
                   "Content-Type": "application/json"}
        for attempt in (1, 2):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
                self.connection.request("POST", "/api/v1/concerns", body, headers)
                answer = self.connection.getresponse()
                payload = answer.read()
                return answer.status, json.loads(payload).get("ticket_id") if payload else None
            except (OSError, http.client.HTTPException):
                self.connection = None
                if attempt == 2:
                    return 0, None


def wants_feedback(sequence, share):
    """Whether concern ``sequence`` comes from a reporter asking for feedback: ``share``
    of them, spread evenly (0.5: every other one)."""
    return int((sequence + 1) * share) > int(sequence * share)


def reporter(sequence):
    """A reporter of their own for concern ``sequence``, asking for feedback by SMS and email."""
    return {"name": f"居民{sequence}", "phone": f"+86139{sequence % 10 ** 8:08d}",
            "email": f"reporter{sequence}@bench.example", "wants_feedback": True}


def run(url, keys, rate, clients, seconds, out, districts=DISTRICTS, feedback=1.0):
    lock = threading.Lock()
    counter = itertools.count()
    stop_at = time.time() + seconds
    due = Queue()

    def record(scheduled, sent, client):
        status, ticket_id = client.post(next(counter))
        line = json.dumps({"ticket_id": ticket_id, "scheduled": scheduled, "sent": sent,
                           "answered": time.time(), "status": status})
        with lock:
            out.write(line + "\n")

    def open_loop_worker():
        client = Client(url, keys, districts, feedback)
        while True:
            try:
                scheduled = due.get(timeout=1)
            except Empty:
                if time.time() > stop_at + 1:
                    return
                continue
            if scheduled is None:
                return
            record(scheduled, time.time(), client)

    def closed_loop_worker():
        client = Client(url, keys, districts, feedback)
        while time.time() < stop_at:
            now = time.time()
            record(now, now, client)

    if rate:
        workers = [threading.Thread(target=open_loop_worker) for _ in range(clients)]
        for worker in workers:
            worker.start()
        start = time.time()
        for n in range(int(rate * seconds)):
            scheduled = start + n / rate
            pause = scheduled - time.time()
            if pause > 0:
                time.sleep(pause)
            due.put(scheduled)
        for _ in workers:
            due.put(None)
    else:
        workers = [threading.Thread(target=closed_loop_worker) for _ in range(clients)]
        for worker in workers:
            worker.start()
    for worker in workers:
        worker.join()
    out.flush()


def run_in_process(url, keys_file, seconds, clients, rate, districts=None, feedback=1.0):
    """Run the generator in a process of its own for ``seconds`` (its CPU time counts as an
    ended child's of this process); returns its lines, one dict per concern."""
    command = [sys.executable, "-m", "bench.load", "--url", url, "--keys", keys_file,
               "--seconds", str(seconds), "--clients", str(clients), "--rate", str(rate),
               "--feedback", str(feedback)]
    if districts:
        command += ["--districts", ",".join(districts)]
    generator = subprocess.run(command, capture_output=True, text=True, check=True)
    return [json.loads(line) for line in generator.stdout.splitlines() if line.strip()]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--keys", required=True, help="JSON file: party → key")
    parser.add_argument("--rate", type=float, default=0, help="concerns per second (0: closed loop)")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--districts", type=lambda text: text.split(","), default=DISTRICTS,
                        help="comma list of the districts to post to (default: all six)")
    parser.add_argument("--feedback", type=float, default=1.0,
                        help="the share of reporters asking for feedback by SMS and email (default 1)")
    args = parser.parse_args(argv)
    with open(args.keys) as file:
        keys = json.load(file)
    run(args.url, keys, args.rate, args.clients, args.seconds, sys.stdout, args.districts, args.feedback)


if __name__ == "__main__":
    main()
