"""An event holding a secret (a sign-in code) is published like any other, but its
outbox row is deleted once published: the code is kept nowhere for days."""
from datetime import datetime, timezone

from services.common import events
from services.common.config import settings
from services.common.outbox import emit_event, emit_events
from services.common.outbox_relay import Publisher, relay_pending
from tests.support.queues import queued


def test_a_sign_in_codes_outbox_row_is_gone_once_published_and_the_others_kept(pool):
    code = events.sign_in_code("office-baiyun-wu", "482913",
                               datetime(2026, 11, 22, 2, 10, tzinfo=timezone.utc), "en")
    with pool.connection() as conn:
        emit_events(conn, code)
        emit_event(conn, "concern.received", {"ticket_id": "T-7"})
    assert relay_pending(pool, Publisher(settings().amqp_uri), "notify") == 2
    with pool.connection() as conn:
        kept = conn.execute("SELECT type, published_at FROM outbox").fetchall()
    assert [row["type"] for row in kept] == ["concern.received"] and kept[0]["published_at"]
    assert queued("zd.notify.events") == 2 and queued("zd.routing.events") == 1
