"""The admin's changes reach every service even when its command could not publish
them: a key revoked while the broker is out of the CLI's reach is refused by the
services, relayed from the admin outbox by a running service."""
import requests

from services.admin.cli import main
from tests.support.services import running, wait_until
from tests.support.system import fresh_system


def lookup(base, key):
    return requests.get(f"{base}/api/v1/concerns/ZD20260101-00000000", timeout=5,
                        headers={"Authorization": f"Bearer {key}"}).status_code


def test_a_key_revoked_while_the_broker_is_out_of_reach_is_refused_everywhere(monkeypatch, capsys):
    keys, _, _ = fresh_system()
    key = keys["frontend:conghua"]
    key_id = key[3:].partition(".")[0]
    with running("intake") as base:
        assert lookup(base, key) == 404  # a valid key, an unknown concern
        monkeypatch.setenv("ZD_AMQP_URI", "amqp://guest:guest@127.0.0.1:1/zd_test")  # the CLI's view
        main(["keys", "revoke", key_id])
        assert "waits in the admin outbox" in capsys.readouterr().err
        wait_until(lambda: lookup(base, key) == 401, what="the revocation relayed by a service")
