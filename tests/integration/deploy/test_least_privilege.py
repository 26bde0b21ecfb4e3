"""A deployment's own users and roles: the RabbitMQ definitions and the service roles.

The definitions of the demo directory are imported into a throwaway vhost of the local
RabbitMQ (users named ``<vhost>.zd-...``), and the migration job (``admin deploy``)
builds a throwaway database with one role per service. Then:
- queues come out quorum, with their dead-letter settings, delivery limits and policies;
- a department's user reads only its queue and publishes only its own feedback;
- a service's user declares its own queue but nothing it does not own;
- a service's role reads and writes its own schema and nothing else;
- KEDA's role runs the query of notify's postgresql trigger (read from the manifest) and
  can read nothing else and write nothing;
- the four services, each with only its own user and role and ``ZD_DECLARE_TOPOLOGY=own``,
  carry a concern from the front-end to the department's queue. The owner's URL and the
  admin's URI given to them point nowhere, so nothing can lean on them.
"""
import json
import os
import re
import subprocess
import sys
import time
import uuid
from urllib.parse import quote, urlsplit

import amqp
import psycopg
import pytest
import requests
import yaml
from kombu import Connection, Exchange, Producer, Queue

from services.admin.definitions import definitions
from services.admin.rabbit_management import RabbitManagement
from services.common import topology
from services.common.config import SERVICES, settings
from services.common.directory import load_directory
from services.devstack import Stack
from tests.support.services import wait_until
from tests.support.system import DEMO_DIRECTORY, ROOT, free_port

pytestmark = pytest.mark.e2e

#: named after the test database (zd_test_deploy by default), so runs with their own do not meet
VHOST = DATABASE = urlsplit(settings().database_url).path.lstrip("/") + "_deploy"
SERVER = "127.0.0.1"
OWNER_URL = f"postgresql://postgres@{SERVER}:5432/{DATABASE}"
ADMIN = (f"{VHOST}.zd-admin", "admin-secret")
NOWHERE = {"ZD_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nowhere",
           "ZD_AMQP_URI": "amqp://nobody:nobody@127.0.0.1:1/nowhere"}


def role(service):
    return f"{DATABASE}_{service}"


KEDA_ROLE = role("keda")
AUTOSCALING = ROOT / "deploy" / "kubernetes" / "base" / "autoscaling.yaml"


def amqp_uri(user, password):
    return f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@{SERVER}:5672/{VHOST}"


def service_user(service):
    return f"{VHOST}.zd-{service}", f"{service}-secret"


def deployment_environment():
    environ = {"ZD_DATABASE_URL": OWNER_URL, "ZD_AMQP_URI": amqp_uri(*ADMIN),
               "ZD_RABBIT_MANAGEMENT_URL": f"http://{quote(ADMIN[0], safe='')}:{ADMIN[1]}"
                                           f"@{SERVER}:15672",
               "ZD_DIRECTORY": str(DEMO_DIRECTORY)}
    for service in SERVICES:
        environ[f"ZD_{service.upper()}_DATABASE_URL"] = (
            f"postgresql://{role(service)}:{service}-db-secret@{SERVER}:5432/{DATABASE}")
        environ[f"ZD_{service.upper()}_AMQP_URI"] = amqp_uri(*service_user(service))
    environ["ZD_KEDA_DATABASE_URL"] = (
        f"postgresql://{KEDA_ROLE}:keda-db-secret@{SERVER}:5432/{DATABASE}")
    return environ


def guest():
    return RabbitManagement(settings().management_url)


def clear_broker(rabbit):
    rabbit.delete_vhost(VHOST)
    users = requests.get(f"{rabbit.base}/users", auth=rabbit.auth, timeout=10).json()
    for user in users:
        if user["name"].startswith(f"{VHOST}."):
            rabbit.delete_user(user["name"])


def clear_database():
    with psycopg.connect(settings().database_url.rsplit("/", 1)[0] + "/postgres",
                         autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        for name in [*map(role, SERVICES), KEDA_ROLE]:
            conn.execute(f"DROP ROLE IF EXISTS {name}")


def admin_cli(environ, *args):
    done = subprocess.run([sys.executable, "-m", "services.admin", *args], cwd=ROOT,
                          env={**os.environ, **environ}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def broker_version():
    """This machine's RabbitMQ: definitions are generated for it (a deployment's are for
    DEPLOYED_RABBITMQ_VERSION, whose policies a 3.x broker may refuse)."""
    rabbit = guest()
    return requests.get(f"{rabbit.base}/overview", auth=rabbit.auth,
                        timeout=10).json()["rabbitmq_version"]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    rabbit = guest()
    clear_broker(rabbit)
    clear_database()
    environ = deployment_environment()
    document = definitions(load_directory(DEMO_DIRECTORY), VHOST, environ=environ,
                           rabbitmq_version=broker_version())
    answer = requests.post(f"{rabbit.base}/definitions", json=document, auth=rabbit.auth,
                           timeout=30)
    assert answer.status_code in (200, 201, 204), answer.text
    deployed = admin_cli(environ, "deploy")
    files = tmp_path_factory.mktemp("credentials")
    admin_cli(environ, "demo-credentials", "--keys", str(files / "keys.json"),
              "--amqp-users", str(files / "users.json"))
    yield {"environ": environ, "document": document, "deployed": deployed,
           "keys": json.loads((files / "keys.json").read_text()),
           "users": json.loads((files / "users.json").read_text())}
    clear_broker(rabbit)
    clear_database()


def management(path):
    rabbit = guest()
    answer = requests.get(f"{rabbit.base}/{path}", auth=rabbit.auth, timeout=10)
    answer.raise_for_status()
    return answer.json()


def refused(work):
    """The broker's answer to ``work``: its reply code when it refused (403), else None."""
    try:
        work()
    except (amqp.exceptions.AccessRefused, amqp.exceptions.NotAllowed) as exc:
        return exc.reply_code
    return None


def test_every_queue_comes_out_quorum_with_its_dead_letter_settings(deployment):
    queues = {q["name"]: q for q in management(f"queues/{VHOST}")}
    policies = {p["name"]: p for p in management(f"policies/{VHOST}")}
    service_policy = policies[topology.SERVICE_QUEUE_POLICY]
    assert set(queues) == {q["name"] for q in deployment["document"]["queues"]}
    for name, queue in queues.items():
        assert queue["type"] == "quorum", name
        if name in {q.name for q in topology.SERVICE_QUEUES.values()} | {"zd.routing.feedback"}:
            assert queue["arguments"]["x-delivery-limit"] == topology.DELIVERY_LIMIT
            assert queue["arguments"]["x-dead-letter-exchange"] == "zd.parked"
            assert queue["arguments"]["x-dead-letter-routing-key"] == name
            assert re.match(service_policy["pattern"], name), name
        else:
            assert not re.match(service_policy["pattern"], name), name
    assert service_policy["definition"] == topology.AT_LEAST_ONCE
    assert "zd.dept.conghua-water" in queues
    assert "x-dead-letter-exchange" not in queues["zd.dept.conghua-water"]["arguments"]


def test_there_is_no_guest_and_each_user_has_only_its_own_permissions(deployment):
    users = {u["name"] for u in deployment["document"]["users"]}
    assert "guest" not in users
    permissions = {p["user"]: p for p in management(f"vhosts/{VHOST}/permissions")}
    assert set(permissions) - {"guest"} == users
    assert permissions[f"{VHOST}.zd-routing"]["configure"] == (
        r"^(zd\.routing\.events|zd\.routing\.feedback)$")
    assert permissions[f"{VHOST}.zd-dept-conghua-water"]["configure"] == "^$"


def department_connection(deployment, code):
    user = deployment["users"][code]
    return Connection(amqp_uri(user["user"], user["password"]),
                      transport_options={"confirm_publish": True})


def test_a_department_reads_only_its_queue_and_publishes_only_its_feedback(deployment):
    def read(code):
        with department_connection(deployment, "conghua-water") as connection:
            connection.default_channel.basic_get(f"zd.dept.{code}")

    def publish(exchange, routing_key):
        with department_connection(deployment, "conghua-water") as connection:
            Producer(connection.default_channel).publish(
                {"dispatch_id": "none"}, exchange=Exchange(exchange, passive=True),
                routing_key=routing_key, declare=[])

    assert refused(lambda: read("conghua-water")) is None
    assert refused(lambda: read("baiyun-water")) == 403
    assert refused(lambda: publish("zd.feedback", "dept.conghua-water")) is None
    assert refused(lambda: publish("zd.feedback", "dept.baiyun-water")) == 403
    assert refused(lambda: publish("zd.events", "concern.received")) == 403
    assert refused(lambda: publish("zd.dispatch", "dept.conghua-water")) == 403


def test_a_service_declares_its_own_queue_and_nothing_it_does_not_own(deployment):
    def declare(queue=None, exchange=None):
        with Connection(deployment["environ"]["ZD_ROUTING_AMQP_URI"]) as connection:
            channel = connection.default_channel
            if queue is not None:
                queue(channel).declare()
            else:
                exchange(channel).declare()

    topology.declare_only_own_queues()
    try:
        assert refused(lambda: declare(queue=topology.SERVICE_QUEUES["routing"])) is None
        assert refused(lambda: declare(queue=topology.ROUTING_FEEDBACK)) is None
        assert refused(lambda: declare(queue=topology.SERVICE_QUEUES["intake"])) == 403
        assert refused(lambda: declare(queue=topology.department_queue("conghua-water"))) == 403
        assert refused(lambda: declare(queue=Queue("zd.routing.scratch"))) == 403
    finally:
        for exchange in topology.EXCHANGES:
            exchange.passive = False
    assert refused(lambda: declare(exchange=topology.EVENTS)) == 403
    assert refused(lambda: declare(exchange=Exchange("zd.events", type="topic", durable=True,
                                                     passive=True))) is None


def test_a_service_role_touches_only_its_own_schema(deployment):
    assert all(f"role {role(service)}: the {service} schema" in deployment["deployed"]
               for service in SERVICES)
    url = deployment["environ"]["ZD_INTAKE_DATABASE_URL"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT count(*) FROM intake.outbox")
        conn.execute("SELECT count(*) FROM admin.outbox")
        for statement in ("SELECT count(*) FROM routing.tickets",
                          "SELECT count(*) FROM admin.api_keys",
                          "SELECT count(*) FROM intake._yoyo_migration",
                          "CREATE TABLE intake.scratch (id int)",
                          "DROP TABLE intake.outbox",
                          "CREATE SCHEMA scratch"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def notify_trigger_query():
    """The query KEDA's postgresql trigger for notify runs, as the manifest gives it."""
    (query,) = [trigger["metadata"]["query"] for document in yaml.safe_load_all(
        AUTOSCALING.read_text()) if document["kind"] == "ScaledObject"
        for trigger in document["spec"]["triggers"] if trigger["type"] == "postgresql"]
    return query


def add_notification(conn, status, due_in):
    """A notification in notify's table, with its status and when it is due (from now)."""
    conn.execute(
        "INSERT INTO notify.notifications (event_id, ticket_id, event_type, recipient, channel,"
        " address, template, idempotency_key, status, next_attempt_at) VALUES (%s, NULL,"
        " 'ticket.dispatched', 'reporter', 'sms', '+8613800000000', 'reporter.dispatched', %s,"
        " %s, now() + %s::interval)", (f"keda-{uuid.uuid4()}", f"zd-keda-{uuid.uuid4()}",
                                       status, due_in))


def test_kedas_role_counts_the_notifications_due_and_reads_nothing_else(deployment):
    assert f"role {KEDA_ROLE}: reads notify's notifications due" in deployment["deployed"]
    query = notify_trigger_query()
    with psycopg.connect(OWNER_URL) as conn:
        before = conn.execute(query).fetchone()[0]
        for status, due_in in [("pending", "-1 minute"), ("pending", "0"),
                               ("pending", "1 minute"), ("sent", "-1 minute")]:
            add_notification(conn, status, due_in)  # two due; one in back-off, one sent
    try:
        counts_and_refuses(deployment["environ"]["ZD_KEDA_DATABASE_URL"], query, before + 2)
    finally:  # notify's courier in the test below would take them
        with psycopg.connect(OWNER_URL) as conn:
            conn.execute("DELETE FROM notify.notifications WHERE event_id LIKE 'keda-%'")


def role_state(name):
    """``(attributes, the roles it is a member of)`` of a role, as pg_roles has them."""
    with psycopg.connect(OWNER_URL) as conn:
        attributes = conn.execute(
            "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication,"
            " rolbypassrls, rolinherit FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        member_of = conn.execute(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
            " JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = %s ORDER BY 1",
            (name,)).fetchall()
    return attributes, [other for (other,) in member_of]


#: LOGIN and nothing more: no superuser, createdb, createrole, replication, bypassrls, inherit
LOGIN_ONLY = (True, False, False, False, False, False, False)


def test_a_deploy_takes_back_what_was_given_kedas_and_a_services_role_by_hand(deployment):
    """Attributes and memberships granted by hand do not outlive the next deploy: KEDA's role
    made a member of notify's (every column of every notify table) reads two columns again."""
    notify = role("notify")
    with psycopg.connect(OWNER_URL, autocommit=True) as conn:
        conn.execute(f"ALTER ROLE {KEDA_ROLE} REPLICATION BYPASSRLS INHERIT")
        conn.execute(f"GRANT {notify} TO {KEDA_ROLE}")
        conn.execute(f"ALTER ROLE {role('routing')} BYPASSRLS CREATEDB")
        conn.execute(f"GRANT {notify} TO {role('routing')}")
    assert role_state(KEDA_ROLE) == ((True, False, False, False, True, True, True), [notify])
    admin_cli(deployment["environ"], "migrate")
    assert role_state(KEDA_ROLE) == (LOGIN_ONLY, [])
    assert role_state(role("routing")) == (LOGIN_ONLY, [])
    with psycopg.connect(deployment["environ"]["ZD_KEDA_DATABASE_URL"], autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT address FROM notify.notifications")


def test_a_keda_url_naming_a_role_not_its_own_stops_the_job_in_one_line(deployment):
    owner = {**deployment["environ"], "ZD_KEDA_DATABASE_URL": OWNER_URL}
    done = subprocess.run([sys.executable, "-m", "services.admin", "migrate"], cwd=ROOT,
                          env={**os.environ, **owner}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "migrated, but no role for KEDA: ZD_KEDA_DATABASE_URL must name a role of its own,"
        " not 'postgres'")
    assert "Traceback" not in done.stderr


def counts_and_refuses(url, query, due):
    # the role's grants alone, without the read-only session KEDA's URL asks for as well
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute(query).fetchone() == (due,)
        for statement in ("SELECT address FROM notify.notifications",
                          "SELECT * FROM notify.notifications",
                          "SELECT contact FROM notify.ticket_reporters",
                          "SELECT count(*) FROM notify.ticket_reporters",
                          "SELECT count(*) FROM notify.notification_attempts",
                          "SELECT count(*) FROM notify._yoyo_migration",
                          "SELECT count(*) FROM routing.tickets",
                          "SELECT count(*) FROM admin.outbox",
                          "SELECT nextval('notify.notifications_id_seq')",
                          "UPDATE notify.notifications SET status = 'sent'",
                          "DELETE FROM notify.notifications",
                          "INSERT INTO notify.notifications (status) VALUES ('pending')",
                          "CREATE TABLE notify.scratch (id int)",
                          "CREATE TABLE public.scratch (id int)",
                          "CREATE SCHEMA scratch"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def deployed_state():
    """What a deploy leaves, as the owner sees it: each service role's and KEDA's
    privileges on schemas, tables and columns, and each schema's applied migrations."""
    roles = [role(service) for service in SERVICES] + [KEDA_ROLE]
    with psycopg.connect(OWNER_URL) as conn:
        schemas = conn.execute(
            "SELECT r.rolname, n.nspname, has_schema_privilege(r.rolname, n.nspname, 'USAGE'),"
            " has_schema_privilege(r.rolname, n.nspname, 'CREATE') FROM pg_roles r, pg_namespace n"
            " WHERE r.rolname = ANY(%s) AND n.nspname NOT LIKE 'pg\\_%%'"
            " AND n.nspname <> 'information_schema' ORDER BY 1, 2", (roles,)).fetchall()
        tables = conn.execute(
            "SELECT grantee, table_schema, table_name, privilege_type"
            " FROM information_schema.role_table_grants WHERE grantee = ANY(%s)"
            " ORDER BY 1, 2, 3, 4", (roles,)).fetchall()
        columns = conn.execute(
            "SELECT grantee, table_schema, table_name, column_name, privilege_type"
            " FROM information_schema.column_privileges WHERE grantee = %s"
            " ORDER BY 1, 2, 3, 4, 5", (KEDA_ROLE,)).fetchall()
        migrations = {schema: conn.execute(f"SELECT migration_id FROM {schema}._yoyo_migration"
                                           " ORDER BY 1").fetchall()
                      for (schema,) in conn.execute("SELECT schemaname FROM pg_tables"
                                                    " WHERE tablename = '_yoyo_migration'")}
    return {"schemas": schemas, "tables": tables, "columns": columns, "migrations": migrations}


def test_a_second_deploy_changes_nothing_and_keeps_the_grants(deployment):
    before = deployed_state()
    with psycopg.connect(OWNER_URL) as conn:
        tickets = conn.execute("SELECT ticket_id FROM routing.tickets ORDER BY 1").fetchall()
    assert {schema for schema, applied in before["migrations"].items() if applied} >= set(SERVICES)
    assert (role("routing"), "routing", "tickets", "DELETE") in before["tables"]
    assert (KEDA_ROLE, "notify", "notifications", "status", "SELECT") in before["columns"]
    admin_cli(deployment["environ"], "deploy")
    assert deployed_state() == before
    with psycopg.connect(deployment["environ"]["ZD_ROUTING_DATABASE_URL"], autocommit=True) as conn:
        # the role still reads its own tables, and their rows are still there
        assert conn.execute("SELECT ticket_id FROM routing.tickets ORDER BY 1").fetchall() == tickets
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM admin.api_keys")


def test_the_services_carry_a_concern_with_only_their_own_users_and_roles(deployment, tmp_path):
    environ = {name: value for name, value in deployment["environ"].items()
               if name.startswith(tuple(f"ZD_{s.upper()}_" for s in SERVICES))}
    ports = {f"ZD_{service.upper()}_PORT": str(free_port()) for service in SERVICES}
    with Stack(env={**environ, **NOWHERE, **ports, "ZD_DECLARE_TOPOLOGY": "own"},
               log_dir=str(tmp_path)) as stack:
        answer = requests.post(
            f"{stack.url('intake')}/api/v1/concerns",
            headers={"Authorization": f"Bearer {deployment['keys']['frontend:conghua']}"},
            json={"external_id": str(uuid.uuid4()), "district": "conghua", "community": "jiekou",
                  "channel": "hotline", "description": "街口路下水道堵塞，污水外溢"}, timeout=15)
        assert answer.status_code == 202, answer.text
        ticket_id = answer.json()["ticket_id"]
        with department_connection(deployment, "conghua-water") as connection:
            with connection.SimpleQueue(Queue("zd.dept.conghua-water", no_declare=True)) as queue:
                message = queue.get(block=True, timeout=30)
                message.ack()
        assert json.loads(message.body)["ticket_id"] == ticket_id

        def seen_dispatched():
            status = requests.get(
                f"{stack.url('intake')}/api/v1/concerns/{ticket_id}", timeout=5,
                headers={"Authorization": f"Bearer {deployment['keys']['frontend:conghua']}"})
            return status.json().get("status") == "dispatched"

        wait_until(seen_dispatched, timeout=20, what="intake sees the ticket dispatched")
        time.sleep(0.5)
        for service in SERVICES:
            health = requests.get(f"{stack.url(service)}/health", timeout=5)
            assert health.status_code == 200, (service, health.text)
    # zd.feedback.rejected is left out: it holds the department test's made-up feedback
    with Connection(amqp_uri(*ADMIN)) as connection:
        parked = {queue.name: connection.default_channel.queue_declare(
            queue.name, passive=True).message_count for queue in topology.parked_queues()
            if queue.name != topology.FEEDBACK_REJECTED}
    assert set(parked.values()) == {0}, parked


def test_definitions_generated_again_keep_the_department_passwords(deployment):
    """A department's password issued by amqp-users survives the broker importing the
    definitions again: they carry the hash the admin schema keeps."""
    user = deployment["users"]["conghua-water"]
    again = admin_cli(deployment["environ"], "rabbitmq-definitions", "--keep-department-passwords",
                      "--rabbitmq-version", broker_version())
    document = json.loads(again)
    (kept,) = [u for u in document["users"] if u["name"] == user["user"]]
    assert kept["password_hash"]
    answer = requests.post(f"{guest().base}/definitions", json=document, auth=guest().auth,
                           timeout=30)
    assert answer.status_code in (200, 201, 204), answer.text
    assert refused(lambda: department_connection(deployment, "conghua-water").connect()) is None
    blank = admin_cli(deployment["environ"], "rabbitmq-definitions")
    (forgotten,) = [u for u in json.loads(blank)["users"] if u["name"] == user["user"]]
    assert forgotten["password_hash"] == ""  # without the flag: what the old files did
