"""A client's error is not the service's: a 4xx is one INFO line without traceback, a
5xx keeps its ERROR and traceback. Requests without a valid key are limited per client
address, in the process and before the database is asked, so that they can flood
neither the log nor the database. Intake on the real database and broker."""
import logging
from urllib.parse import urlsplit

import pytest
import requests

from services.common.config import settings
from tests.support.proxy import CuttableProxy
from tests.support.services import running, wait_until
from tests.support.system import fresh_system

CONTAINERS = "nameko.containers"


@pytest.fixture(scope="module")
def keys():
    keys, _, _ = fresh_system()
    return keys


def concern(base, key, ticket_id="ZD20260101-00000000"):
    return requests.get(f"{base}/api/v1/concerns/{ticket_id}", timeout=10,
                        headers={"Authorization": f"Bearer {key}"} if key else {})


def test_a_client_error_is_one_info_line_without_traceback(keys, caplog):
    caplog.set_level(logging.INFO)
    with running("intake") as base:
        caplog.clear()
        answers = [concern(base, None), concern(base, "zd_0123456789ab.wrong"),
                   concern(base, keys["frontend:baiyun"]),  # 404
                   requests.post(f"{base}/api/v1/concerns", data="{", timeout=10, headers={
                       "Authorization": f"Bearer {keys['frontend:baiyun']}",
                       "Content-Type": "application/json"})]  # 400
        logged = list(caplog.records)  # not what stopping the service logs
    assert [answer.status_code for answer in answers] == [401, 401, 404, 400]
    service = [record for record in logged if record.name.startswith(("nameko", "services"))]
    assert [record for record in service if record.levelno >= logging.WARNING] == []
    assert all(record.exc_info is None for record in service)
    assert "Traceback" not in "".join(record.getMessage() for record in service)
    answered = [record.getMessage() for record in service if record.name == CONTAINERS
                and "answered" in record.getMessage()]
    assert answered == ["intake.get_concern answered 401 Missing or invalid API key",
                        "intake.get_concern answered 401 Missing or invalid API key",
                        "intake.get_concern answered 404 Not found",
                        "intake.post_concern answered 400 Invalid request"], answered


def test_failed_keys_from_one_address_are_refused_with_429_without_asking_the_database(
        keys, caplog):
    database = settings().database_url
    with CuttableProxy(urlsplit(database).port or 5432) as proxy:
        with running("intake", ZD_DATABASE_URL=proxy.url_for(database),
                     ZD_AUTH_FAILURES_PER_MINUTE=20) as base:
            good = keys["frontend:baiyun"]
            assert concern(base, good).status_code == 404  # a key that works, known before
            failed = [concern(base, f"zd_0123456789ab.wrong{n}").status_code for n in range(20)]
            assert failed == [401] * 20
            proxy.cut()  # from now on a request that asks the database gets 503
            caplog.clear()
            guess = good.partition(".")[0] + ".guess"  # the id that worked, another secret
            refused = [concern(base, "zd_0123456789ab.wrong"), concern(base, None),
                       concern(base, "not-even-a-key"), concern(base, guess)]
            assert [answer.status_code for answer in refused] == [429] * 4
            problem = refused[0].json()
            assert refused[0].headers["Content-Type"] == "application/problem+json"
            assert 1 <= int(refused[0].headers["Retry-After"]) <= 3  # a token in 60/20 s
            assert problem["retry_after"] == int(refused[0].headers["Retry-After"])
            assert not [record for record in caplog.records if record.levelno >= logging.WARNING
                        and record.name in (CONTAINERS, "services.common.http")]
            # the key that worked is not locked out with the address: it reaches the database
            assert concern(base, good).status_code == 503
            proxy.restore()
            wait_until(lambda: concern(base, good).status_code == 404, timeout=30,
                       what="the database back")
            # the refill the answer told: the next wrong key is looked up, and refused
            wait_until(lambda: concern(base, "zd_0123456789ab.wrong").status_code == 401,
                       timeout=int(refused[0].headers["Retry-After"]) + 5, what="a failure back")
