"""A consumer whose handler fails logs where it failed, never what the error says: on
the real broker and PostgreSQL, a handler's insert breaks a unique key on a reporter's
phone, and psycopg's error quotes the phone in its DETAIL (docs/reference.md#promises: a contact never
appears in a log). The log names the message, the error's kind and every frame of the
traceback; the message goes back to its queue, as before.
"""
import logging

import pytest
from kombu import Exchange, Producer, Queue
from nameko.containers import ServiceContainer

from services.common.config import nameko_config
from services.common.db import Database
from services.common.messaging import consume_messages, handle_batch
from tests.support.queues import confirmed_connection
from tests.support.services import wait_until

PHONE = "+8613912345678"
REPORTERS = "public.zd_test_failing_reporters"
EXCHANGE = Exchange("zd.test.failing", type="direct", durable=True)
PARKED = Queue("zd.test.failing.parked", EXCHANGE, routing_key="parked", durable=True)
QUEUE = Queue("zd.test.failing", EXCHANGE, routing_key="work", durable=True,
              queue_arguments={"x-queue-type": "quorum", "x-delivery-limit": 1,
                               "x-dead-letter-exchange": EXCHANGE.name,
                               "x-dead-letter-routing-key": "parked"})


class FailingService:
    name = "failing"
    db = Database("notify")

    @consume_messages(QUEUE)
    def on_message(self, batch):
        return handle_batch(self.db, batch, remember_reporter)


def remember_reporter(conn, envelope):
    conn.execute(f"INSERT INTO {REPORTERS} (phone) VALUES (%s)", (envelope.body["phone"],))


@pytest.fixture
def reporters(pool):
    with pool.connection() as conn:
        conn.execute(f"DROP TABLE IF EXISTS {REPORTERS}")
        conn.execute(f"CREATE TABLE {REPORTERS} (phone text UNIQUE)")
        conn.execute(f"INSERT INTO {REPORTERS} (phone) VALUES (%s)", (PHONE,))
    yield
    with pool.connection() as conn:
        conn.execute(f"DROP TABLE IF EXISTS {REPORTERS}")
    with confirmed_connection() as connection:
        for queue in (QUEUE, PARKED):
            queue(connection.channel()).delete()


def publish(body):
    with confirmed_connection() as connection:
        PARKED(connection.channel()).declare()
        QUEUE(connection.channel()).declare()
        Producer(connection.channel()).publish(
            body, exchange=EXCHANGE, routing_key="work", message_id="reporter-1",
            type="test.reporter", delivery_mode=2, serializer="json")


def test_a_failing_handler_is_logged_by_kind_and_frames_never_by_its_text(reporters, caplog):
    caplog.set_level(logging.DEBUG)
    publish({"phone": PHONE})
    container = ServiceContainer(FailingService, nameko_config("notify", {
        "WEB_SERVER_ADDRESS": "127.0.0.1:0", "ZD_CONSUMER_WORKERS": 1}))
    container.start()
    try:
        wait_until(lambda: "goes back to its queue" in caplog.text, timeout=60,
                   what="the failure logged")
    finally:
        container.stop()
    failure = next(record for record in caplog.records if "goes back to its queue" in record.message)
    logged = caplog.text + "".join(record.exc_text or "" for record in caplog.records)
    assert PHONE not in logged and PHONE[3:] not in logged
    assert failure.levelno == logging.ERROR and failure.exc_info is None
    assert "reporter-1 (test.reporter) from zd.test.failing" in failure.message
    assert "psycopg.errors.UniqueViolation (its text withheld)" in failure.message
    assert f"test_failures_logged_without_text.py:{remember_reporter.__code__.co_firstlineno + 1}" \
           " in remember_reporter" in failure.message
    assert "messaging.py" in failure.message and "in handle_once" in failure.message
