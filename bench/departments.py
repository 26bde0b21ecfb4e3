"""The departments' side of the throughput benchmark: every department's queue consumed
with the department's own RabbitMQ user, as a department would, and each ticket's
arrival timed; a ticket that arrives twice is counted as a duplicate."""
import json
import threading
import time

from kombu import Connection, Queue

from bench.stack import DISTRICTS
from tests.support.system import department_uri


class Departments:
    """Every department's queue consumed with its own user; each arrival timed."""

    def __init__(self, users):
        self.users = users
        self.arrivals = {}
        self.duplicates = 0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._consume, args=(district,), daemon=True)
                        for district in DISTRICTS]

    def start(self):
        for thread in self.threads:
            thread.start()
        return self

    def stop(self):
        self.done.set()
        for thread in self.threads:
            thread.join()

    def _consume(self, district):
        department = f"{district}-water"
        with Connection(department_uri(self.users[department])) as connection:
            channel = connection.channel()
            channel.basic_qos(0, 200, False)
            queue = Queue(f"zd.dept.{department}", no_declare=True, channel=channel)

            def arrived(body, message):
                ticket_id = json.loads(message.body)["ticket_id"]
                now = time.time()
                with self.lock:
                    if ticket_id in self.arrivals:
                        self.duplicates += 1
                    else:
                        self.arrivals[ticket_id] = now
                message.ack()

            with connection.Consumer(queue, callbacks=[arrived], accept=["json"]):
                while not self.done.is_set():
                    try:
                        connection.drain_events(timeout=0.5)
                    except TimeoutError:
                        pass
                    except OSError:
                        continue
