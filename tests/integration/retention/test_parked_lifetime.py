"""Copies RabbitMQ dead-letters keep the message as it was, reporter details included: a
parking queue keeps a message no longer than the shortest ``personal_data_days`` of the
directory, on the real broker, and the department feedback the office reads is not cut."""
from urllib.parse import quote

import pytest
import requests
import yaml

from services.admin.rabbit_management import RabbitManagement, vhost_of
from services.admin.use_cases import operations as ops
from services.common import topology
from services.common.config import settings
from services.common.directory import shortest_personal_data_days
from tests.support.services import wait_until
from tests.support.system import DEMO_DIRECTORY, fresh_system

DAY_MS = 86_400_000
PARKING_QUEUES = [queue.name for queue in topology.parked_queues()
                  if queue.name != topology.FEEDBACK_REJECTED]


@pytest.fixture(scope="module")
def broker():
    fresh_system()
    return RabbitManagement(settings().management_url), vhost_of(settings().amqp_uri)


def message_ttl(broker, name, expected):
    """The queue's effective ``message-ttl`` once the broker shows it (statistics lag)."""
    rabbit, vhost = broker

    def shown():
        info = requests.get(f"{rabbit.base}/queues/{quote(vhost, safe='')}/{quote(name, safe='')}",
                            auth=rabbit.auth, timeout=10).json()
        ttl = (info.get("effective_policy_definition") or {}).get("message-ttl")
        return ttl == expected and info
    return wait_until(shown, timeout=30, what=f"{name}'s message-ttl {expected}")


@pytest.mark.parametrize("name", PARKING_QUEUES)
def test_a_parked_message_lives_no_longer_than_the_directorys_personal_data_days(broker, name):
    info = message_ttl(broker, name, 180 * DAY_MS)
    assert info["policy"] == topology.PARKED_QUEUE_POLICY


def parked_policy_ttl(broker):
    """The message-ttl the parking queues' policy sets, as the broker holds it now (a
    policy shows at once; which queues it applies to, the test above shows)."""
    rabbit, vhost = broker
    policy = requests.get(f"{rabbit.base}/policies/{quote(vhost, safe='')}/"
                          f"{quote(topology.PARKED_QUEUE_POLICY, safe='')}", auth=rabbit.auth,
                          timeout=10).json()
    return policy["definition"]["message-ttl"]


def test_a_district_keeping_data_30_days_shortens_every_parked_messages_life(broker, tmp_path):
    directory = yaml.safe_load(DEMO_DIRECTORY.read_text(encoding="utf-8"))
    directory["districts"][1].setdefault("policy", {})["personal_data_days"] = 30
    shorter = tmp_path / "directory.yaml"
    shorter.write_text(yaml.safe_dump(directory, allow_unicode=True), encoding="utf-8")
    admin = ops.Admin.open()
    try:
        _, loaded = ops.load_directory_files(admin, [shorter])
        assert shortest_personal_data_days(loaded) == 30
        assert parked_policy_ttl(broker) == 30 * DAY_MS
        message_ttl(broker, "zd.notify.events.parked", 30 * DAY_MS)  # and the queues take it
        ops.declare_topology(admin)  # declared again later: the directory loaded last says
        assert parked_policy_ttl(broker) == 30 * DAY_MS
        ops.load_directory_files(admin, [DEMO_DIRECTORY])
        assert parked_policy_ttl(broker) == 180 * DAY_MS
    finally:
        admin.close()


def test_the_rejected_feedback_the_office_reads_does_not_expire(broker):
    rabbit, vhost = broker
    info = requests.get(f"{rabbit.base}/queues/{quote(vhost, safe='')}/"
                        f"{quote(topology.FEEDBACK_REJECTED, safe='')}", auth=rabbit.auth,
                        timeout=10).json()
    assert "message-ttl" not in (info.get("effective_policy_definition") or {})
    assert info.get("policy") != topology.PARKED_QUEUE_POLICY
