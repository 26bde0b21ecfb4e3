"""Where a parked message goes back to, and under which id (no broker)."""
from types import SimpleNamespace

from services.admin.parked import _identity, destination, origin_queue


def message(headers, message_id="m-1"):
    return SimpleNamespace(headers=headers, properties={"message_id": message_id,
                                                         "type": "concern.received"})


def test_an_event_goes_straight_back_to_its_queue():
    assert destination("zd.routing.events.parked", {}) == ("", "zd.routing.events")


def test_rejected_feedback_goes_back_through_the_feedback_exchange_with_its_department():
    headers = {"x-original-queue": "zd.routing.feedback",
               "x-original-routing-key": "dept.baiyun-water"}
    assert destination("zd.feedback.rejected", headers) == ("zd.feedback", "dept.baiyun-water")


def test_dead_lettered_feedback_keeps_the_key_rabbitmq_recorded():
    headers = {"x-death": [{"reason": "delivery_limit", "queue": "zd.routing.feedback",
                            "routing-keys": ["dept.tianhe-water"]}]}
    assert origin_queue("zd.routing.feedback.parked", headers) == "zd.routing.feedback"
    assert destination("zd.routing.feedback.parked", headers) == ("zd.feedback",
                                                                  "dept.tianhe-water")


def test_a_message_the_service_parked_itself_comes_back_under_a_new_id():
    replayed = _identity(message({"x-original-message-id": "concern-T1",
                                  "x-park-reason": "unknown district"}, message_id="p-9"))
    assert replayed["message_id"].startswith("concern-T1:replay:")
    assert "x-park-reason" not in replayed["headers"]


def test_a_dead_lettered_message_comes_back_under_its_own_id():
    replayed = _identity(message({"x-death": [{"reason": "delivery_limit"}]}))
    assert replayed["message_id"] == "m-1" and "x-death" not in replayed["headers"]
