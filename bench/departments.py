"""The departments' side of the throughput benchmark: every department's queue consumed
with the department's own RabbitMQ user, as a department would, each ticket's arrival
timed, and (unless told not to resolve: the district part counts open tickets) each
dispatch answered at once on ``zd.feedback`` with the same user (``acknowledged``,
then ``resolved`` with a result, each publish confirmed), with the time the result
was sent; a ticket that arrives twice is counted as a duplicate and answered once."""
import json
import threading
import time
from datetime import datetime, timezone

from kombu import Connection, Exchange, Producer, Queue

from bench.stack import DISTRICTS
from tests.support.system import department_uri

FEEDBACK = Exchange("zd.feedback", type="topic", passive=True)
RESULT = "已疏通管道"


class Departments:
    """Every department's queue consumed with its own user; each arrival timed and,
    when ``resolve``, each dispatch resolved."""

    def __init__(self, users, resolve=True):
        self.users, self.resolve = users, resolve
        self.arrivals = {}  # ticket id → when its dispatch reached the department's queue
        self.results = {}  # ticket id → when the department sent its result
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
        uri = department_uri(self.users[department])
        with Connection(uri) as connection, \
                Connection(uri, transport_options={"confirm_publish": True}) as publishing:
            producer = Producer(publishing.channel())
            channel = connection.channel()
            channel.basic_qos(0, 200, False)
            queue = Queue(f"zd.dept.{department}", no_declare=True, channel=channel)

            def answer(dispatch, status, **fields):
                body = {"dispatch_id": dispatch["dispatch_id"], "status": status, "note": "水务局",
                        "occurred_at": datetime.now(timezone.utc).isoformat(), **fields}
                producer.publish(body, exchange=FEEDBACK, routing_key=f"dept.{department}",
                                 serializer="json", delivery_mode=2, declare=[],
                                 message_id=f"{dispatch['dispatch_id']}:{status}")

            def arrived(body, message):
                dispatch = json.loads(message.body)
                ticket_id = dispatch["ticket_id"]
                now = time.time()
                with self.lock:
                    first = ticket_id not in self.arrivals
                    if first:
                        self.arrivals[ticket_id] = now
                    else:
                        self.duplicates += 1
                if first and self.resolve:
                    answer(dispatch, "acknowledged")
                    self.results[ticket_id] = time.time()
                    answer(dispatch, "resolved", result=RESULT)
                message.ack()

            with connection.Consumer(queue, callbacks=[arrived], accept=["json"]):
                while not self.done.is_set():
                    try:
                        connection.drain_events(timeout=0.5)
                    except TimeoutError:
                        pass
                    except OSError:
                        continue
