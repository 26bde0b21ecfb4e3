"""Writing an outbox row is a database matter: a use case that emits events imports no
messaging library; only the relay that publishes the rows does."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
MESSAGING = ("kombu", "nameko", "eventlet")


def messaging_imported_by(module):
    """The messaging libraries a fresh interpreter holds once it has imported ``module``."""
    script = (f"import sys, {module}\n"
              f"print(' '.join(name for name in {MESSAGING!r} if name in sys.modules))")
    ran = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return ran.stdout.split()


@pytest.mark.parametrize("module", [
    "services.common.outbox",
    "services.intake.store",
    "services.intake.use_cases.acceptance",
    "services.intake.use_cases.rating",
    "services.intake.use_cases.retention",
    "services.intake.use_cases.ticket_updates",
    "services.reporting.store",
    "services.routing.use_cases.sign_in",
])
def test_emitting_events_imports_no_messaging_library(module):
    assert messaging_imported_by(module) == []


def test_the_relay_is_where_kombu_and_nameko_are_imported():
    assert messaging_imported_by("services.common.outbox_relay") == list(MESSAGING)
