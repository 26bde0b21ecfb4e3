"""The service queues under load, as the throughput benchmark watches them: their ready
messages sampled over AMQP while a phase runs (``QueueDepths``), and how many messages
were published into each (``published``, from the management API)."""
import threading
import time

import requests
from kombu import Connection

from services.admin.rabbit_management import vhost_of
from services.common.config import settings

SERVICE_QUEUES = ["zd.intake.events", "zd.routing.events", "zd.notify.events", "zd.reporting.events",
                  "zd.routing.feedback"]  # ... and the departments' feedback, on its way to routing
SAMPLE_SECONDS = 0.5  # how often the service queues' depths are sampled
STATS_SECONDS = 6  # how old the management API's figures may be (collect_statistics_interval 5 s)


class Sampler:
    """Something sampled every ``SAMPLE_SECONDS`` by a thread of its own into ``samples``,
    from ``start()`` to ``stop()``; a subclass's ``_sample`` loops until ``done`` is set."""

    def __init__(self):
        self.samples = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.done.set()
        self.thread.join()

    def _sample(self):
        raise NotImplementedError


class QueueDepths(Sampler):
    """The service queues' ready messages, sampled every ``SAMPLE_SECONDS`` with a
    passive declare over AMQP: as they are, where the management API's figures are up
    to its statistics interval (5 s) old."""

    def latest(self):
        return {queue: depth for queue, depth in (self.samples or [{}])[-1].items() if queue != "t"}

    def _sample(self):
        while not self.done.is_set():
            try:
                with Connection(settings().amqp_uri) as connection:
                    channel = connection.channel()
                    while not self.done.wait(SAMPLE_SECONDS):
                        depth = {queue: channel.queue_declare(queue=queue, passive=True).message_count
                                 for queue in SERVICE_QUEUES}
                        self.samples.append({"t": time.time(), **depth})
            except Exception:  # the broker away for a moment: sample again
                self.done.wait(SAMPLE_SECONDS)


def published():
    """How many messages were published into each service queue so far: the management
    API's cumulative ``message_stats.publish``, up to ``STATS_SECONDS`` old."""
    vhost = requests.utils.quote(vhost_of(settings().amqp_uri), safe="")
    url = f"{settings().management_url.rstrip('/')}/api/queues/{vhost}"
    queues = requests.get(url, timeout=10, params={"columns": "name,message_stats.publish"}).json()
    return {queue["name"]: queue.get("message_stats", {}).get("publish", 0) for queue in queues
            if queue["name"] in SERVICE_QUEUES}
