"""Fixtures shared by the integration tests."""
import pytest

from tests.support.system import fresh_system


@pytest.fixture
def clean_system():
    """A system just reset for this test (``FreshSystem``): every party's keys, the
    departments' broker users and the directory."""
    return fresh_system()
