"""Parked messages are shown with their reasons and, once the cause is fixed, replayed."""
import uuid
from datetime import datetime, timezone

import psycopg
import requests
from kombu import Connection, Producer

from services.admin import operations as ops
from services.admin import parked
from services.common import events, topology
from services.common.config import settings
from tests.support import events as made
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
        with Connection(settings().amqp_uri) as connection:
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
        assert parked.replay(settings().amqp_uri, "zd.routing.events.parked") == 1
        assert wait_until(lambda: routing_ticket(ticket_id), what="the ticket") == "dispatched"
        assert shown() == []
