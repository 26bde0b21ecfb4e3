"""Front-end keys rotate without a gap: the admin CLI issues a second key, both work
until the old one is revoked or its grace period ends, and a front-end never holds
more than two. Real database and broker; intake answers for every service."""
import psycopg
import pytest
import requests

from services.admin.cli import main
from services.common.config import settings
from tests.support.services import running_on_a_fresh_system, wait_until


@pytest.fixture
def intake():
    with running_on_a_fresh_system("intake") as intake:
        yield intake


def lookup(base, key):
    """404 for a valid key (the concern does not exist), 401 for a refused one."""
    return requests.get(f"{base}/api/v1/concerns/ZD20260101-00000000", timeout=5,
                        headers={"Authorization": f"Bearer {key}"}).status_code


def cli(capsys, *argv):
    main(list(argv))
    return capsys.readouterr().out.strip()


def key_id(key):
    return key[3:].partition(".")[0]


def test_rotation_keeps_both_keys_working_until_the_old_one_is_revoked(intake, capsys):
    base, keys = intake.base, intake.keys
    old = keys["frontend:baiyun"]
    new = cli(capsys, "keys", "rotate", "frontend:baiyun")
    assert new.startswith("zd_") and new != old
    wait_until(lambda: lookup(base, new) == 404, what="the new key known to intake")
    assert lookup(base, old) == 404, "the old key works through its grace period"
    listed = cli(capsys, "keys", "list")
    (old_line,) = [line for line in listed.splitlines() if line.startswith(key_id(old))]
    assert "active, expires" in old_line
    assert new.partition(".")[2] not in listed and old.partition(".")[2] not in listed
    cli(capsys, "keys", "revoke", key_id(old))
    wait_until(lambda: lookup(base, old) == 401, what="the old key refused")
    assert lookup(base, new) == 404


def test_a_rotation_without_grace_ends_the_old_key_at_once(intake, capsys):
    base, keys = intake.base, intake.keys
    old = keys["frontend:conghua"]
    new = cli(capsys, "keys", "rotate", "frontend:conghua", "--grace-days", "0")
    wait_until(lambda: lookup(base, new) == 404, what="the new key known to intake")
    wait_until(lambda: lookup(base, old) == 401, what="the old key expired")
    assert "expired" in [line for line in cli(capsys, "keys", "list").splitlines()
                         if line.startswith(key_id(old))][0]


def test_a_front_end_holds_two_active_keys_at_most(intake, capsys):
    base, keys = intake.base, intake.keys
    second = cli(capsys, "keys", "issue", "frontend:baiyun")
    with pytest.raises(SystemExit, match="already has 2 active keys"):
        main(["keys", "issue", "frontend:baiyun"])
    third = cli(capsys, "keys", "rotate", "frontend:baiyun")  # the oldest ends, the second stays
    wait_until(lambda: lookup(base, third) == 404, what="the rotated key known to intake")
    wait_until(lambda: lookup(base, keys["frontend:baiyun"]) == 401, what="the oldest key ended")
    assert lookup(base, second) == 404
    assert active_keys("frontend:baiyun") == 2


def test_a_key_with_a_lifetime_ends_the_same_moment_in_every_service(intake, capsys):
    cli(capsys, "keys", "issue", "representative:rep-zhao-min", "--expires-in-days", "30")
    days = wait_until(lifetime_in_intake, what="the lifetime announced to intake")
    assert days == 30
    with pytest.raises(SystemExit, match="1 or more"):
        main(["keys", "issue", "frontend:baiyun", "--expires-in-days", "0"])


def lifetime_in_intake():
    """Days until the representative's key ends, as intake has it (when it matches the admin's)."""
    with psycopg.connect(settings().database_url) as conn:
        row = conn.execute(
            "SELECT round(extract(epoch FROM c.expires_at - now()) / 86400) FROM intake.credentials c"
            " JOIN admin.api_keys a USING (key_id) WHERE a.party = 'representative:rep-zhao-min'"
            " AND c.expires_at = a.expires_at").fetchone()
    return row and row[0]


def active_keys(party):
    with psycopg.connect(settings().database_url) as conn:
        return conn.execute("SELECT count(*) FROM admin.api_keys WHERE party = %s AND revoked_at"
                            " IS NULL AND (expires_at IS NULL OR expires_at > now())",
                            (party,)).fetchone()[0]


def test_demo_credentials_written_anew_three_times_keep_two_keys_at_most(intake):
    from services.admin.use_cases import operations as ops
    admin = ops.Admin.open()
    try:
        for _ in range(3):  # var/demo-keys.json lost each time
            keys = ops.demo_credentials(admin, {}, {})[0]
    finally:
        admin.close()
    assert active_keys("frontend:baiyun") == 1
    base = intake.base
    wait_until(lambda: lookup(base, keys["frontend:baiyun"]) == 404, what="the newest demo key works")
