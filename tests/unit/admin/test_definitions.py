"""The RabbitMQ definitions and the service roles a deployment is built from."""
import base64
import hashlib
import json

import pytest

from services.admin.database_roles import backlog_reader, service_roles
from services.admin.definitions import definitions, password_hash
from services.common import topology
from services.common.directory import load_directory
from tests.support.system import DEMO_DIRECTORY, ROOT

COMMITTED = ROOT / "deploy" / "rabbitmq" / "definitions.json"


@pytest.fixture(scope="module")
def directory():
    return load_directory(DEMO_DIRECTORY)


def test_the_committed_definitions_are_the_generated_ones(directory):
    """Regenerate with `python -m services.admin rabbitmq-definitions --out
    deploy/rabbitmq/definitions.json` (no ZD_*_AMQP_URI set) after changing the
    topology or the directory."""
    assert json.loads(COMMITTED.read_text()) == definitions(directory, "/", environ={})


def test_without_passwords_no_user_can_log_in(directory):
    document = definitions(directory, "/", environ={})
    assert {user["password_hash"] for user in document["users"]} == {""}
    assert "guest" not in {user["name"] for user in document["users"]}


def test_a_password_is_stored_as_rabbitmq_hashes_it():
    stored = base64.b64decode(password_hash("s3cret", salt=b"\x01\x02\x03\x04"))
    assert stored[:4] == b"\x01\x02\x03\x04"
    assert stored[4:] == hashlib.sha256(b"\x01\x02\x03\x04s3cret").digest()
    assert password_hash("s3cret") != password_hash("s3cret")  # a new salt each time


def test_users_come_from_the_services_uris(directory):
    environ = {"ZD_AMQP_URI": "amqps://ops-admin:a%40b@mq.example:5671/zd",
               "ZD_ROUTING_AMQP_URI": "amqp://routing-prod:pw@mq-1:5672/zd;amqp://routing-prod:pw@mq-2/zd"}
    users = {user["name"]: user for user in definitions(directory, "zd", environ=environ)["users"]}
    assert users["ops-admin"]["tags"] == ["administrator"]
    salt_and_digest = base64.b64decode(users["ops-admin"]["password_hash"])
    assert salt_and_digest[4:] == hashlib.sha256(salt_and_digest[:4] + b"a@b").digest()
    assert users["routing-prod"]["password_hash"]
    assert users["zd.zd-intake"]["password_hash"] == ""  # not given: prefixed by the vhost


def test_guest_is_refused(directory):
    with pytest.raises(ValueError, match="ZD_NOTIFY_AMQP_URI"):
        definitions(directory, "/", environ={"ZD_NOTIFY_AMQP_URI": "amqp://guest:guest@mq/"})


def test_every_department_has_its_queue_and_only_amqp_departments_a_user(directory):
    document = definitions(directory, "/", environ={})
    queues = {queue["name"] for queue in document["queues"]}
    users = {user["name"] for user in document["users"]}
    for code, department in directory["departments"].items():
        assert f"zd.dept.{code}" in queues
        assert (f"zd-dept-{code}" in users) == (department["delivery"] == "amqp")
    assert any(d["delivery"] == "webhook" for d in directory["departments"].values())
    topic = {(p["user"], p["exchange"]): p["write"] for p in document["topic_permissions"]}
    assert topic[("zd-dept-baiyun-water", "zd.feedback")] == r"^(dept\.baiyun\-water)$"


def test_queues_and_bindings_are_the_topology(directory):
    document = definitions(directory, "/", environ={})
    queues = {queue["name"]: queue for queue in document["queues"]}
    routing = queues["zd.routing.events"]
    assert routing["arguments"] == topology.SERVICE_QUEUES["routing"].queue_arguments
    bound = {(b["source"], b["routing_key"]) for b in document["bindings"]
             if b["destination"] == "zd.routing.events"}
    assert bound == {("zd.events", b.routing_key) for b in topology.SERVICE_QUEUES["routing"].bindings}


def test_a_service_gets_a_role_only_when_its_url_names_another_role():
    owner = "postgresql://zd_owner:x@db/zerodistance"
    environ = {"ZD_INTAKE_DATABASE_URL": "postgresql://zd_intake:p%2Fw@db/zerodistance",
               "ZD_ROUTING_DATABASE_URL": "postgresql://zd_owner:x@db/zerodistance"}
    assert service_roles(owner, environ) == {"intake": ("zd_intake", "p/w")}
    assert service_roles(owner, {}) == {}


def test_kedas_role_is_given_only_when_named_and_must_be_its_own():
    owner = "postgresql://zd_owner:x@db/zerodistance"
    notify = {"ZD_NOTIFY_DATABASE_URL": "postgresql://zd_notify:n@db/zerodistance"}
    keda = "postgresql://zd_keda:k%40@db/zerodistance?sslmode=require"
    assert backlog_reader(owner, {**notify, "ZD_KEDA_DATABASE_URL": keda}) == ("zd_keda", "k@")
    assert backlog_reader(owner, notify) is None
    for taken in (owner, notify["ZD_NOTIFY_DATABASE_URL"]):
        with pytest.raises(ValueError, match="a role of its own"):
            backlog_reader(owner, {**notify, "ZD_KEDA_DATABASE_URL": taken})
