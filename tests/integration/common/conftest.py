"""Fixtures of the plumbing tests."""
import pytest

from services.common.config import settings
from services.common.db import make_pool
from tests.support.system import reset_database, reset_vhost


@pytest.fixture
def pool():
    """A clean system, and a connection pool on the notify schema (any service's would do)."""
    reset_database()
    reset_vhost()
    pool = make_pool(settings().database_url, "notify", size=2)
    pool.open(wait=True)
    yield pool
    pool.close()
