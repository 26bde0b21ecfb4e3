"""Parked messages are shown with their reasons and, once the cause is fixed, replayed."""
import uuid
from datetime import datetime, timezone

import psycopg
import requests
from kombu import Producer

from services.admin import parked
from services.admin.cli import main
from services.admin.use_cases import operations as ops
from services.common import events, topology
from services.common.config import settings
from services.common.db import Transactions, make_pool
from services.common.messaging import Envelope, ParkMessage, handle_once
from services.common.outbox import emit_events
from services.common.outbox_relay import Publisher, relay_pending
from tests.support import events as made
from tests.support.queues import confirmed_connection, drain, purge
from tests.support.services import running, wait_until
from tests.support.system import DEMO_DIRECTORY, fresh_system

NANSHA = """
districts:
  - code: nansha
    name: 南沙区
    communities:
      - {code: jiaomen, name: 蕉门社区, representatives: []}
    office: {name: 南沙区人大代表联络室}
departments:
  - {code: nansha-water, name: 南沙区水务局, districts: [nansha], categories: [drainage]}
"""


def concern_for_nansha(ticket_id):
    """``concern.received`` as intake emits it, for a district routing does not know yet."""
    return events.concern_received(made.concern_row(
        ticket_id, datetime.now(timezone.utc), district="nansha", community="jiaomen",
        channel="hotline", category=None, title=None, description="蕉门路下水道堵塞")).body


def routing_ticket(ticket_id):
    with psycopg.connect(settings().database_url) as conn:
        row = conn.execute("SELECT status FROM routing.tickets WHERE ticket_id = %s",
                           (ticket_id,)).fetchone()
    return row and row[0]


def test_concern_parked_for_an_unknown_district_is_routed_once_replayed(tmp_path):
    fresh_system()
    ticket_id = f"ZD20261122-{uuid.uuid4().hex[:8].upper()}"
    with running("routing") as routing:
        with confirmed_connection() as connection:
            Producer(connection.channel()).publish(
                concern_for_nansha(ticket_id), exchange=topology.EVENTS.name,
                routing_key="concern.received", serializer="json", delivery_mode=2,
                message_id=f"concern-{ticket_id}", type="concern.received")

        def shown():
            return parked.peek(settings().amqp_uri, "zd.routing.events.parked")

        (waiting,) = wait_until(shown, what="the concern parked")
        assert waiting.message_id == f"concern-{ticket_id}"
        assert waiting.reason == "unknown district 'nansha'"
        assert waiting.origin == "zd.routing.events"
        assert len(shown()) == 1, "peeking leaves the message parked"

        extra = tmp_path / "nansha.yaml"
        extra.write_text(NANSHA)
        admin = ops.Admin.open()
        try:
            version, _ = ops.load_directory_files(admin, [DEMO_DIRECTORY, extra])
        finally:
            admin.close()
        wait_until(lambda: requests.get(f"{routing}/health").json()["directory_version"] == version,
                   what="routing has the new directory")
        assert parked.replay(settings().amqp_uri, "zd.routing.events.parked").sent == 1
        assert wait_until(lambda: routing_ticket(ticket_id), what="the ticket") == "dispatched"
        assert shown() == []


def test_a_parked_copy_withholds_the_reporter_and_replay_sends_the_original(capsys):
    """Notify parks a reporter's contact: its parking queue never holds the phone, and a
    replay sends the original, which intake's outbox still keeps; a copy whose original
    is gone stays parked."""
    fresh_system()
    ticket_id = f"ZD20261122-{uuid.uuid4().hex[:8].upper()}"
    contact = events.reporter_contact(ticket_id, {"name": "王小明", "phone": "+8613912345678",
                                                  "wants_feedback": True})
    intake, notify = pools("intake", "notify")
    try:
        with intake.connection() as conn:
            emit_events(conn, contact)
        relay_pending(intake, Publisher(settings().amqp_uri), "intake")
        purge("zd.notify.events")

        def refuse(conn, envelope):
            raise ParkMessage("cannot apply now")

        for message_id, body in ((contact.message_id, contact.body),
                                 ("gone-1", {**contact.body, "ticket_id": "ZD20200101-GONE"})):
            envelope = Envelope(message_id, contact.type, body, queue="zd.notify.events")
            assert handle_once(Transactions(notify), envelope, refuse) == "parked"
        relay_pending(notify, Publisher(settings().amqp_uri), "notify")
    finally:
        intake.close()
        notify.close()
    shown = parked.peek(settings().amqp_uri, "zd.notify.events.parked")
    assert len(shown) == 2 and "13912345678" not in repr([p.body for p in shown])
    assert "王小明" not in repr([p.body for p in shown])

    main(["parked", "replay", "zd.notify.events.parked"])
    printed = capsys.readouterr()
    assert "1 messages replayed" in printed.out and "1 left parked" in printed.err
    (replayed,) = drain("zd.notify.events")
    assert replayed.payload == contact.body  # the original, phone and name included
    assert replayed.properties["message_id"].startswith(f"{contact.message_id}:replay:")
    (left,) = parked.peek(settings().amqp_uri, "zd.notify.events.parked")
    assert left.message_id == "gone-1"


def pools(*schemas):
    opened = [make_pool(settings().database_url, schema, size=2) for schema in schemas]
    for pool in opened:
        pool.open(wait=True)
    return opened
