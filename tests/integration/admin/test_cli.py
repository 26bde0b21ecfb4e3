"""The admin CLI against the real database and broker: keys, department users,
directory loads (docs/reference.md#parties-and-keys, the directory and department queues)."""
import json
import socket
import subprocess
import sys

import amqp
import psycopg
import pytest
from kombu import Connection, Exchange, Producer, Queue

from services.admin.cli import main
from services.admin.rabbit_management import vhost_of
from services.common.config import settings
from tests.support.system import DEMO_DIRECTORY, department_uri


def admin_rows(sql):
    with psycopg.connect(settings().database_url) as conn:
        return conn.execute(sql).fetchall()


def test_issued_key_is_stored_hashed_and_announced(clean_system, capsys):
    main(["keys", "issue", "frontend:baiyun"])
    key = capsys.readouterr().out.strip()
    key_id, _, secret = key[3:].partition(".")
    (stored,), = admin_rows(f"SELECT key_hash FROM admin.api_keys WHERE key_id = '{key_id}'")
    assert secret not in stored and len(stored) == 64
    (announced,), = admin_rows("SELECT count(*) FROM admin.outbox WHERE type = 'credential.issued'"
                               f" AND body->>'key_id' = '{key_id}' AND published_at IS NOT NULL")
    assert announced == 1


def test_revoked_key_is_listed_as_revoked(clean_system, capsys):
    keys = clean_system.keys
    key_id = keys["frontend:tianhe"][3:].partition(".")[0]
    main(["keys", "revoke", key_id])
    main(["keys", "list"])
    line = next(row for row in capsys.readouterr().out.splitlines() if row.startswith(key_id))
    assert "revoked" in line


def test_unknown_party_is_refused(clean_system):
    with pytest.raises(ValueError):
        main(["keys", "issue", "mayor:baiyun"])


def test_demo_credentials_keep_the_keys_already_issued(clean_system, tmp_path, capsys):
    keys_file, users_file = tmp_path / "keys.json", tmp_path / "users.json"
    arguments = ["demo-credentials", "--keys", str(keys_file), "--amqp-users", str(users_file)]
    main(arguments)
    first = json.loads(keys_file.read_text())
    main(arguments)
    assert json.loads(keys_file.read_text()) == first
    assert {"admin", "frontend:baiyun", "congress:conghua", "representative:rep-liu-hanli",
            "department:baiyun-water"} <= set(first)
    assert oct(keys_file.stat().st_mode & 0o777) == "0o600"


def test_department_user_reads_only_its_queue_and_answers_only_for_itself(clean_system):
    users = clean_system.amqp_users
    with Connection(department_uri(users["baiyun-water"])) as connection:
        with connection.SimpleQueue(Queue("zd.dept.baiyun-water", no_declare=True)) as own:
            assert own.qsize() == 0
        with pytest.raises(amqp.exceptions.AccessRefused):
            with connection.SimpleQueue(Queue("zd.dept.tianhe-water", no_declare=True)) as other:
                other.get(block=True, timeout=2)
    with Connection(department_uri(users["baiyun-water"]),
                    transport_options={"confirm_publish": True}) as connection:
        producer = Producer(connection.channel())
        feedback = Exchange("zd.feedback", type="topic", passive=True)
        producer.publish({"dispatch_id": "x", "status": "acknowledged"}, exchange=feedback,
                         routing_key="dept.baiyun-water", declare=[])
        with pytest.raises(amqp.exceptions.AccessRefused):
            producer.publish({"dispatch_id": "x", "status": "acknowledged"}, exchange=feedback,
                             routing_key="dept.tianhe-water", declare=[])


def test_directory_with_errors_is_rejected_with_lines_and_nothing_published(clean_system, tmp_path,
                                                                           capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text(DEMO_DIRECTORY.read_text().replace("max_open:", "max_opn:", 1))
    before = admin_rows("SELECT count(*) FROM admin.directory_loads")[0][0]
    with pytest.raises(SystemExit) as exit_:
        main(["directory", "load", str(broken)])
    assert "unknown key 'max_opn'" in str(exit_.value) and "broken.yaml:" in str(exit_.value)
    assert admin_rows("SELECT count(*) FROM admin.directory_loads")[0][0] == before


def test_a_broker_not_reached_is_not_blamed_on_the_directory(clean_system, monkeypatch):
    """The management API refuses (nothing listens): the directory was read all right."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    monkeypatch.setenv("ZD_RABBIT_MANAGEMENT_URL", f"http://guest:guest@127.0.0.1:{port}")
    before = admin_rows("SELECT count(*) FROM admin.directory_loads")[0][0]
    with pytest.raises(SystemExit) as exit_:
        main(["directory", "load", str(DEMO_DIRECTORY)])
    assert str(exit_.value).startswith(
        "directory read but not published, the broker was not reached: "), exit_.value
    assert f"port={port}" in str(exit_.value)
    assert admin_rows("SELECT count(*) FROM admin.directory_loads")[0][0] == before


def test_make_run_setup_steps_work_as_commands(clean_system, tmp_path):
    """The steps `make run` takes before it starts the services, as separate commands."""
    keys_file, users_file = tmp_path / "keys.json", tmp_path / "users.json"
    for arguments in (["migrate"], ["directory", "load", str(DEMO_DIRECTORY)],
                      ["demo-credentials", "--keys", str(keys_file),
                       "--amqp-users", str(users_file)]):
        done = subprocess.run([sys.executable, "-m", "services.admin", *arguments],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    users = json.loads(users_file.read_text())
    assert users["baiyun-water"]["vhost"] == vhost_of(settings().amqp_uri)
    assert "gz-power-supply" not in users  # delivered by webhook, no queue user
    assert json.loads(keys_file.read_text())["admin"].startswith("zd_")
