"""The courier's lanes, with fakes for the channel and the database: a notification whose
lease would not outlast its call is given back unsent; a delivery to retry halves its
destination's concurrency, quick ones raise it; a refusal leaves it; a sign-in code goes
before what waits; a lane claimed for while every sender was busy gets its senders at the
next round."""
import time
from datetime import datetime, timezone

from eventlet.greenpool import GreenPool

from services.notify import channels as channel_kinds
from services.notify.concurrency import AdaptiveLimit
from services.notify.courier import Courier, Lane
from services.notify.domain import SIGN_IN_CODE_TEMPLATE


def row(claimed_ago=0.0):
    return {"id": 7, "channel": "sms", "recipient": "representative:rep-a", "address": "+8613800000001",
            "template": "ticket.assigned.representative", "locale": "zh-CN",
            "params": {"ticket_id": "T1"}, "idempotency_key": "key-7", "attempts": 1,
            "ticket_id": "T1", "created_at": datetime.now(timezone.utc), "destination": "sms",
            "claimed_at": time.monotonic() - claimed_ago}


class Channel:
    name = "sms"

    def __init__(self, failure=None):
        self.failure, self.sent = failure, []

    def send(self, outgoing):
        if self.failure:
            raise self.failure
        self.sent.append(outgoing.key)

    def close_idle(self):
        """No kept connections."""


def courier():
    made = Courier()
    made.retry_seconds, made.max_attempts, made.ticket_link = 2.0, 10, None
    made.deadline_seconds, made.lease_seconds = 10.0, 30.0
    made.settled = []
    made._settle = lambda row, outcome, **fields: made.settled.append(outcome)
    return made


def lane(limit=8):
    return Lane(AdaptiveLimit(limit, most=32))


def test_a_notification_whose_lease_would_not_outlast_its_call_is_given_back_unsent():
    made, channel = courier(), Channel()
    made._deliver(channel, row(claimed_ago=16), None, lane())
    assert made.settled == ["released"] and channel.sent == []


def test_a_notification_claimed_lately_is_sent():
    made, channel = courier(), Channel()
    made._deliver(channel, row(claimed_ago=1), None, lane())
    assert made.settled == ["sent"] and channel.sent == ["key-7"]


def test_a_delivery_to_retry_halves_its_destinations_concurrency():
    made, busy = courier(), lane(8)
    made._deliver(Channel(channel_kinds.Retry("HTTP 503")), row(), None, busy)
    assert made.settled == ["retry"] and busy.concurrency.limit == 4


def test_a_refusal_leaves_the_concurrency_and_quick_deliveries_raise_it():
    made, busy = courier(), lane(2)
    made._deliver(Channel(channel_kinds.Refused("HTTP 400")), row(), None, busy)
    assert made.settled == ["failed"] and busy.concurrency.limit == 2
    for _ in range(2):
        made._deliver(Channel(), row(), None, busy)
    assert busy.concurrency.limit == 3


def test_a_lane_holds_twice_its_senders_claimed():
    busy = lane(4)
    assert busy.room == 8
    busy.waiting.extend([(row(), None)] * 3)
    busy.senders = 4
    assert busy.room == 1


def test_a_sign_in_code_goes_before_what_waits_in_its_lane():
    busy = lane(4)
    for n in range(3):
        busy.add({**row(), "id": n}, None)
    busy.add({**row(), "id": 9, "template": SIGN_IN_CODE_TEMPLATE}, None)
    assert [waiting["id"] for waiting, _ in busy.waiting] == [9, 0, 1, 2]


def test_a_lane_claimed_for_while_every_sender_was_busy_gets_senders_at_the_next_round():
    made = courier()
    made.channels, made.senders, made.lanes = {"sms": Channel()}, {"sms": GreenPool(1)}, {}
    made.concurrency, made.most_concurrency = 4, 32
    made._claim, made._observe_backlog = lambda name: None, lambda: None
    made.running = True
    blocker = made.senders["sms"].spawn(lambda: time.sleep(0))  # the channel's only sender
    stranded = made._lane("sms", "sms")
    stranded.add(row(), None)
    made._start_senders("sms", stranded)
    assert stranded.senders == 0  # no free sender when it was claimed
    blocker.wait()
    made.run_round()
    made.senders["sms"].waitall()
    assert made.settled == ["sent"] and not stranded.waiting
