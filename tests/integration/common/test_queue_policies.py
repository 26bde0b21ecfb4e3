"""The queue policies the admin applies, read back from the real broker: service queues
dead-letter at least once, and a department that returns a dispatch again and again
never loses it."""
import json
from urllib.parse import quote

import pytest
import requests
from kombu import Connection, Exchange, Queue

from services.admin.rabbit_management import RabbitManagement, vhost_of
from services.common import topology
from services.common.config import settings
from tests.support.services import wait_until
from tests.support.system import fresh_system


@pytest.fixture(scope="module")
def broker():
    fresh_system()
    return RabbitManagement(settings().management_url), vhost_of(settings().amqp_uri)


def queue_info(broker, name):
    rabbit, vhost = broker
    answer = requests.get(f"{rabbit.base}/queues/{quote(vhost, safe='')}/{quote(name, safe='')}",
                          auth=rabbit.auth, timeout=10)
    answer.raise_for_status()
    return answer.json()


@pytest.mark.parametrize("name", [q.name for q in topology.SERVICE_QUEUES.values()]
                         + [topology.ROUTING_FEEDBACK.name])
def test_every_service_queue_dead_letters_at_least_once(broker, name):
    # the management API shows a queue's policy with its next statistics (every 5 s)
    info = wait_until(lambda: (lambda info: info.get("policy") and info)(queue_info(broker, name)),
                      what=f"{name}'s policy shown")
    effective = info.get("effective_policy_definition") or {}
    assert info["policy"] == topology.SERVICE_QUEUE_POLICY
    assert effective.get("dead-letter-strategy") == "at-least-once"
    assert effective.get("overflow") == "reject-publish"
    assert info["arguments"]["x-dead-letter-exchange"] == topology.PARKED.name


def test_parking_and_department_queues_keep_no_service_policy(broker):
    assert queue_info(broker, "zd.routing.events.parked").get("policy") != topology.SERVICE_QUEUE_POLICY
    department = queue_info(broker, "zd.dept.conghua-water")
    assert department.get("policy") != topology.SERVICE_QUEUE_POLICY
    assert "x-delivery-limit" not in department["arguments"]


def test_a_department_returning_a_dispatch_thirty_times_still_gets_it(broker):
    """RabbitMQ 4 would drop it after 20 deliveries without the department policy."""
    queue = Queue("zd.dept.conghua-water", exchange=Exchange("zd.dispatch", type="topic"),
                  routing_key="dept.conghua-water", queue_arguments={"x-queue-type": "quorum"})
    with Connection(settings().amqp_uri) as connection:
        with connection.Producer() as producer:
            producer.publish(json.dumps({"dispatch_id": "returned-30-times"}),
                             exchange=topology.DISPATCH.name, routing_key="dept.conghua-water",
                             content_type="application/json", delivery_mode=2,
                             message_id="returned-30-times")
        bodies = []
        with connection.SimpleQueue(queue) as simple:
            for _ in range(31):
                message = simple.get(block=True, timeout=10)
                bodies.append(message.payload["dispatch_id"])
                if len(bodies) <= 30:
                    message.requeue()
                else:
                    message.ack()
            delivery_count = message.headers.get("x-delivery-count")
    assert bodies == ["returned-30-times"] * 31
    assert delivery_count == 30
