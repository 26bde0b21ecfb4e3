"""A stopping service's queue consumer: once every consumer is cancelled, its loop (and
the connection the workers acknowledge on) ends only when the messages in workers are
settled, or after ``SETTLE_SECONDS`` at most."""
from services.common import messaging
from services.common.messaging import BoundedQueueConsumer


class Clock:
    def __init__(self):
        self.now = 100.0

    def monotonic(self):
        return self.now


def cancelled_consumer(unsettled):
    """A queue consumer whose consumers were all cancelled, ``unsettled`` messages in workers."""
    consumer = BoundedQueueConsumer.__new__(BoundedQueueConsumer)
    consumer._pending_remove_providers, consumer._consumers = {}, {}
    consumer.should_stop, consumer.unsettled = False, unsettled
    return consumer


def test_the_loop_ends_at_once_when_nothing_is_in_a_worker(monkeypatch):
    monkeypatch.setattr(messaging, "time", Clock())
    consumer = cancelled_consumer(unsettled=0)
    consumer.on_iteration()
    assert consumer.should_stop


def test_the_loop_stays_until_the_messages_in_workers_are_settled(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(messaging, "time", clock)
    consumer = cancelled_consumer(unsettled=2)
    consumer.on_iteration()
    assert not consumer.should_stop
    consumer._settle(lambda message: None, object())
    consumer._settle(lambda message: None, object())
    clock.now += 0.2
    consumer.on_iteration()
    assert consumer.unsettled == 0 and consumer.should_stop


def test_the_loop_ends_after_settle_seconds_whatever_a_worker_still_holds(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(messaging, "time", clock)
    consumer = cancelled_consumer(unsettled=1)
    consumer.on_iteration()
    clock.now += BoundedQueueConsumer.SETTLE_SECONDS - 0.1
    consumer.on_iteration()
    assert not consumer.should_stop
    clock.now += 0.1
    consumer.on_iteration()
    assert consumer.should_stop
