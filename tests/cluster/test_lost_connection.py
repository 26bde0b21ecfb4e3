"""A broker node dies while a consumer's workers are busy: acknowledging their batches then
meets a reset socket, and that must not end the service.

nameko ends a whole container when a worker's result handling raises, and its own
acknowledgement lets socket errors through (it catches only amqp's ``ConnectionError``),
so before ``BoundedQueueConsumer`` settled messages itself, a service under load lost its
HTTP server and every consumer whenever its node died at such a moment. Here one node of
its own (``tests.cluster.local_cluster``) is killed while a worker is busy without
yielding, which makes the moment certain. Run with ``make cluster-test``.
"""
import logging
import os
import signal
import time

import eventlet
import pytest
from eventlet import patcher
from kombu import Connection, Producer, Queue
from nameko.containers import ServiceContainer

from services.common.messaging import consume_messages
from tests.cluster.local_cluster import LocalCluster

pytestmark = pytest.mark.skipif(not os.environ.get("ZD_CLUSTER_TEST"),
                                reason="the cluster test runs with make cluster-test")
QUEUE = Queue("zd.probe", durable=True, queue_arguments={"x-queue-type": "quorum"})
real_threading = patcher.original("threading")
busy = real_threading.Event()


class Probe:
    name = "probe"

    @consume_messages(QUEUE)
    def handle(self, batch):
        envelopes = batch.seal()
        busy.set()
        started = time.monotonic()
        while time.monotonic() - started < 0.5:  # busy: the consumer's green thread cannot run
            pass
        return [True] * len(envelopes)


def test_acknowledging_after_the_node_died_does_not_end_the_service(caplog):
    with LocalCluster(nodes=1, prefix="zd-probe") as cluster:
        node = cluster.nodes[0]
        with Connection(node.amqp_uri(), transport_options={"confirm_publish": True}) as connection:
            QUEUE(connection.channel()).declare()
            producer = Producer(connection.channel())
            for n in range(300):
                producer.publish({"n": n}, routing_key=QUEUE.name, delivery_mode=2,
                                 message_id=str(n), type="probe")
        container = ServiceContainer(Probe, {"AMQP_URI": node.amqp_uri(), "max_workers": 8,
                                             "ZD_CONSUMER_PREFETCH": 64, "ZD_CONSUMER_WORKERS": 2})

        def kill_when_busy():  # a real thread: it runs while the worker holds the hub
            busy.wait(30)
            os.killpg(cluster.processes[node.name].pid, signal.SIGKILL)

        killer = real_threading.Thread(target=kill_when_busy)
        with caplog.at_level(logging.WARNING):
            killer.start()
            container.start()
            killer.join(40)
            cluster.processes.pop(node.name).wait(timeout=30)
            eventlet.sleep(3)  # the workers finish and acknowledge; the consumer tries to reconnect
            died = container._died.ready()
            with eventlet.Timeout(5, False):  # its consumer retries the dead node for ever
                container.kill()
    assert not died, "the container ended"
    assert "thread exited with error" not in caplog.text
    assert "the broker connection is gone" in caplog.text
