"""Unit tests of the pure parts of a reporter's data lifetime: what is anonymised in a
message, the event that says so, and how long a parked message may live."""
import re

from services.common import events, topology
from services.common.directory import parse_directory, shortest_personal_data_days
from services.common.personal_data import ANONYMISED, anonymised, details_in

DISPATCH = {"dispatch_id": "D1", "ticket_id": "T1", "title": "下水道堵塞",
            "reporter": {"name": "王女士", "phone": "+8613900000000"},
            "department": {"code": "conghua-water", "contact": {"email": "duty@water.example"}}}


def test_only_the_reporters_details_are_anonymised_in_a_dispatch():
    assert anonymised(DISPATCH) == {**DISPATCH, "reporter": {"name": ANONYMISED, "phone": ANONYMISED},
                                    "department": {"code": "conghua-water",
                                                   "contact": {"email": ANONYMISED}}}
    assert DISPATCH["reporter"]["name"] == "王女士"  # a new value: the message is not changed


def test_a_reporter_contact_keeps_its_language_and_absent_details_stay_absent():
    contact = {"ticket_id": "T1", "contact": {"name": "李", "phone": None, "email": "li@example.org",
                                              "wechat_openid": None, "locale": "en"}}
    assert anonymised(contact) == {"ticket_id": "T1", "contact": {
        "name": ANONYMISED, "phone": None, "email": ANONYMISED, "wechat_openid": None,
        "locale": "en"}}


def test_a_ticket_event_without_a_reporter_is_left_as_it_is():
    event = {"ticket": {"ticket_id": "T1", "representative": {"id": "rep-1", "name": "陈建国"},
                        "departments": [{"name": "从化区水务局"}]}}
    assert anonymised(event) == event


def test_the_details_to_scrub_elsewhere_are_the_reporters_only_once_anonymised_none():
    assert details_in({"params": [DISPATCH]}) == {"王女士", "+8613900000000", "duty@water.example"}
    assert details_in(anonymised(DISPATCH)) == set()


def test_expiry_is_announced_once_per_ticket_and_each_erasure_request_once():
    expired = events.personal_data_expired("T1")
    assert (expired.type, expired.body) == ("personal_data.expired",
                                            {"ticket_id": "T1", "reason": "expired"})
    assert expired.message_id == events.personal_data_expired("T1").message_id
    first, second = (events.personal_data_expired("T1", events.ERASURE, n) for n in (1, 2))
    assert first.body["reason"] == "erasure" and first.message_id != second.message_id


def test_the_services_that_keep_a_reporter_hear_of_the_expiry():
    bound = {name for name, queue in topology.SERVICE_QUEUES.items()
             if any(b.routing_key == events.PERSONAL_DATA_EXPIRED for b in queue.bindings)}
    assert bound == {"intake", "routing", "notify"}


SMALL = """\
districts:
  - code: baiyun
    name: 白云区
    communities: [{code: yuangang, name: 元岗社区}]
    office: {name: 白云区人大常委会代表联络室}
    policy: {personal_data_days: 45}
  - code: conghua
    name: 从化区
    communities: [{code: jiekou, name: 街口社区}]
    office: {name: 从化区人大常委会代表联络室}
"""


def test_parked_messages_live_the_shortest_personal_data_days_of_any_district():
    assert shortest_personal_data_days(parse_directory(SMALL)) == 45
    assert shortest_personal_data_days(parse_directory(SMALL.replace("45", "400"))) == 180
    chosen = dict(topology.policies("3.10.8", 45))
    parked = chosen[topology.PARKED_QUEUE_POLICY]
    assert parked["definition"] == {"message-ttl": 45 * 86_400_000}
    names = [queue.name for queue in topology.parked_queues()]
    assert [name for name in names if re.match(parked["pattern"], name)] == [
        name for name in names if name != topology.FEEDBACK_REJECTED]
    assert not any(re.match(parked["pattern"], queue.name)
                   for queue in topology.SERVICE_QUEUES.values())
