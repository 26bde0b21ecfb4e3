"""Several brokers in one ``AMQP_URI`` (``;``-separated, kombu's failover): the outbox
publisher tries the next broker at once when one refuses, and no log line shows a
broker's password. No broker is needed: every port here refuses connections (the cluster
test, ``make cluster-test``, runs the same against three real nodes)."""
import logging
import socket
import time
from types import SimpleNamespace

import kombu.exceptions
import pytest
from amqp.exceptions import AccessRefused, ConnectionForced, ConsumerCancelled

from services.common.messaging import BoundedQueueConsumer, masked_uri
from services.common.outbox_relay import Publisher


def closed_ports(count):
    """Loopback ports nothing listens on (bound, then released)."""
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def uri_of(ports, password="s3cret"):
    return ";".join(f"amqp://zd-routing:{password}@127.0.0.1:{port}/zd" for port in ports)


def test_every_brokers_password_is_masked():
    masked = masked_uri(uri_of([5701, 5702, 5703]))
    assert "s3cret" not in masked
    assert masked.count("@127.0.0.1:57") == 3 and masked.count(";") == 2


def test_the_consumers_connection_warning_shows_no_password(caplog):
    consumer = BoundedQueueConsumer()
    consumer.container = SimpleNamespace(config={"AMQP_URI": uri_of([5701, 5702])})
    with caplog.at_level(logging.WARNING, logger="services.common.messaging"):
        consumer.on_connection_error(ConnectionRefusedError(111, "refused"), 0)
    assert "127.0.0.1:5702" in caplog.text
    assert "s3cret" not in caplog.text


def test_the_publisher_tries_the_next_broker_at_once():
    first, second, third = closed_ports(3)
    publisher = Publisher(uri_of([first, second, third]), confirm_timeout=1)
    started = time.monotonic()
    tried = []
    for _ in range(3):  # each round tries the broker it was on, then the next one
        outcomes, failure = publisher.publish_batch([])
        assert outcomes == {} and isinstance(failure, kombu.exceptions.OperationalError)
        tried.append(publisher.connection.port)
    assert tried == [second, third, first], "round robin over every broker"
    assert time.monotonic() - started < 3, "no back-off between brokers"
    publisher.close()


class GoneMessage:
    """A delivered message whose connection the broker has closed: acknowledging or
    returning it meets a reset socket, as when a node stops under a busy consumer."""

    def __init__(self, channel):
        self.channel = channel

    def ack(self):
        raise BrokenPipeError(32, "Broken pipe")

    def requeue(self):
        raise ConnectionResetError(104, "Connection reset by peer")


def test_settling_a_message_of_a_lost_connection_does_not_end_the_worker(caplog):
    consumer = BoundedQueueConsumer()
    channel = SimpleNamespace(connection=object())  # not yet known to be closed
    with caplog.at_level(logging.WARNING, logger="services.common.messaging"):
        for message in [GoneMessage(channel) for _ in range(3)]:
            consumer.ack_message(message)
            consumer.requeue_message(message)
    assert caplog.text.count("will be delivered again") == 1, "one warning per lost connection"


class DroppedMessage:
    """A delivered message whose connection the consumer dropped (its broker gone silent):
    its channel has no connection left, and nothing may be sent on it."""

    channel = SimpleNamespace(connection=None)

    def ack(self):
        raise AssertionError("sent on a dropped connection")

    requeue = ack


def test_a_message_of_a_dropped_connection_is_left_to_the_broker_without_ending_the_worker():
    consumer = BoundedQueueConsumer()
    consumer.unsettled = 2
    consumer.ack_message(DroppedMessage())
    consumer.requeue_message(DroppedMessage())
    assert consumer.unsettled == 0  # the loop need not wait for them to stop

class HeldConnection:
    """What the consumer does with its connection, in order."""

    def __init__(self):
        self.done = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.done.append("released")  # kombu's close: a handshake that waits for the broker

    def ensure_connection(self, errback, max_retries):
        self.done.append("connected")

    def collect(self):
        self.done.append("dropped")


def test_a_connection_whose_heartbeats_are_missed_is_dropped_before_its_close_and_health_told():
    """A silent broker never answers a close: the socket is let go first, so the close has
    nothing left to wait for, and /health's broker is down from that moment."""
    consumer = BoundedQueueConsumer()
    connection = HeldConnection()
    consumer.create_connection = lambda: connection
    with pytest.raises(ConnectionForced):
        with consumer.establish_connection() as held:
            assert held is connection and consumer.broker_link.state()[0] == "down"
            consumer.broker_link.connected()  # as kombu's on_connection_revived says
            raise ConnectionForced("Too many heartbeats missed")
    assert connection.done == ["connected", "dropped", "released"]
    state, reason = consumer.broker_link.state()
    assert state == "down" and reason.endswith("(ConnectionForced)"), reason


@pytest.mark.parametrize("failure", [
    AccessRefused("ACCESS_REFUSED"),  # a queue refused: the broker answers
    # its queue deleted, the broker cancels the consumer (py-amqp counts it among the
    # connection's errors): the broker answered all along
    ConsumerCancelled("consumer cancelled by the broker"),
], ids=["channel error", "consumer cancelled"])
def test_an_answer_of_the_broker_leaves_the_connection_to_kombu_and_the_broker_up(failure):
    """Not the connection's failure: kombu closes the connection as it does, and /health's
    broker stays up."""
    consumer = BoundedQueueConsumer()
    connection = HeldConnection()
    consumer.create_connection = lambda: connection
    with pytest.raises(type(failure)):
        with consumer.establish_connection():
            consumer.broker_link.connected()
            raise failure
    assert connection.done == ["connected", "released"]
    assert consumer.broker_link.state() == ("ok", None)


def test_the_consumers_socket_gives_up_on_unacknowledged_data_after_one_heartbeat():
    consumer = BoundedQueueConsumer()
    consumer.container = SimpleNamespace(config={"HEARTBEAT": 10,
                                                 "AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/zd"})
    options = consumer.connection.transport_options
    assert options["socket_settings"] == {socket.TCP_USER_TIMEOUT: 10_000}
    assert options["max_retries"] == 3  # nameko's own options kept
