"""Test-wide setup: eventlet patching, and the test system's own database and vhost.

Every test run uses the database ``zd_test`` and the RabbitMQ vhost ``zd_test``
(override with ZD_TEST_DATABASE_URL / ZD_TEST_AMQP_URI), never the ``make run`` stack's.
A shard of tests/shards.py (``ZD_TEST_SHARD``, ``s0``, ``s1``...) has its own: ``zd_test_s0``.
nameko 2.14's pytest plugin does not patch for eventlet, so we do it here first.
"""
import os
from urllib.parse import urlsplit, urlunsplit

# isort: off
import services  # noqa: F401  (PSYCOPG_WAIT_FUNC before psycopg is imported)
import eventlet

eventlet.monkey_patch()
# isort: on


def of_this_shard(url):
    """``url`` with its database or vhost name suffixed by the shard's (``_s0``)."""
    shard = os.environ.get("ZD_TEST_SHARD")
    if not shard:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_{shard}"))


os.environ["ZD_DATABASE_URL"] = of_this_shard(os.environ.get(
    "ZD_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/zd_test"))
os.environ["ZD_AMQP_URI"] = of_this_shard(os.environ.get(
    "ZD_TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/zd_test"))
# the tests send many requests without a valid key from one address; the limit on them
# has its own tests
os.environ.setdefault("ZD_AUTH_FAILURES_PER_MINUTE", "1000000")


def pytest_terminal_summary(terminalreporter):
    """How many cases schemathesis sent per operation, when it ran."""
    from tests.support.fuzzing import summary

    for line in summary():
        terminalreporter.write_line(line)
