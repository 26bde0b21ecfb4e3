"""The admin's changes reach every service even when its command could not publish
them: a key revoked while the broker is out of the CLI's reach is refused by the
services, relayed from the admin outbox by a running service."""
import psycopg
import requests

from services.admin.cli import main
from services.common.config import settings
from tests.support.services import running, wait_until
from tests.support.system import fresh_system


def lookup(base, key):
    return requests.get(f"{base}/api/v1/concerns/ZD20260101-00000000", timeout=5,
                        headers={"Authorization": f"Bearer {key}"}).status_code


def test_a_key_revoked_while_the_broker_is_out_of_reach_is_refused_everywhere(monkeypatch, caplog):
    keys, _, _ = fresh_system()
    key = keys["frontend:conghua"]
    key_id = key[3:].partition(".")[0]
    with monkeypatch.context() as cli_view:
        cli_view.setenv("ZD_AMQP_URI", "amqp://guest:guest@127.0.0.1:1/zd_test")
        main(["keys", "revoke", key_id])
    (warned,) = [record for record in caplog.records if "waits in the admin outbox" in record.getMessage()]
    assert warned.levelname == "WARNING"
    assert pending_admin_events() == 1
    with running("intake") as base:
        wait_until(lambda: lookup(base, key) == 401, what="the revocation relayed by a service")
    assert pending_admin_events() == 0


def test_the_services_relay_a_revocation_at_once(monkeypatch):
    keys, _, _ = fresh_system()
    key = keys["frontend:baiyun"]
    with running("intake") as base:
        assert lookup(base, key) == 404  # a valid key, an unknown concern
        monkeypatch.setenv("ZD_AMQP_URI", "amqp://guest:guest@127.0.0.1:1/zd_test")  # the CLI's view
        main(["keys", "revoke", key[3:].partition(".")[0]])
        wait_until(lambda: lookup(base, key) == 401, what="the revocation relayed by a service")


def pending_admin_events():
    with psycopg.connect(settings().database_url) as conn:
        return conn.execute("SELECT count(*) FROM admin.outbox WHERE published_at IS NULL"
                            ).fetchone()[0]
