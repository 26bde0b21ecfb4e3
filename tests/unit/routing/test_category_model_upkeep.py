"""Which category model routing chooses with, asked of the database at most every few
seconds (no round trip for a batch of concerns), and the training's process: its
deadline kept under eventlet as without it, its refusal passed on, its failure told."""
import io
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest

from services.common.errors import Conflict
from services.routing import store
from services.routing.use_cases import category_model

BODY = {"format": 1, "categories": ["drainage", "parking"], "intercepts": [0.0, 0.0],
        "features": {"w:下水道": [1.0, 1.0, -1.0]}, "trained_at": "2026-12-06T00:00:00+00:00",
        "examples": {"total": 100}}


class Answers:
    """A connection whose ``category_models`` holds the rows ``in_use`` says, counting its
    statements."""

    def __init__(self, in_use, dsn="dbname=zd_test options='-c search_path=routing'"):
        self.in_use, self.info, self.statements = in_use, SimpleNamespace(dsn=dsn), []

    def execute(self, sql, params=None):
        self.statements.append(sql)
        if sql.startswith("SELECT version, uploaded_at"):
            row = {"version": self.in_use[0], "uploaded_at": self.in_use[1]} if self.in_use else None
        else:
            row = {"body": BODY}
        return SimpleNamespace(fetchone=lambda: row)


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(store.time, "monotonic", lambda: now[0])
    store.forget_category_model()
    yield now
    store.forget_category_model()


def test_the_model_in_use_is_asked_for_once_every_few_seconds_and_its_body_read_once(clock):
    conn = Answers((1, "t1"))
    model = store.current_category_model(conn)
    assert model.version == 1 and len(conn.statements) == 2  # which one, then its body
    clock[0] += store.MODEL_CHECK_SECONDS - 0.1
    assert store.current_category_model(conn) is model and len(conn.statements) == 2
    clock[0] += 0.2
    assert store.current_category_model(conn) is model and len(conn.statements) == 3  # the same one


def test_a_new_model_or_none_is_taken_up_at_the_next_asking(clock):
    conn = Answers((1, "t1"))
    first = store.current_category_model(conn)
    conn.in_use = (2, "t2")
    clock[0] += store.MODEL_CHECK_SECONDS
    second = store.current_category_model(conn)
    assert (first.version, second.version) == (1, 2)
    conn.in_use = None
    clock[0] += store.MODEL_CHECK_SECONDS
    assert store.current_category_model(conn) is None


def test_once_forgotten_the_model_in_use_is_asked_for_at_once(clock):
    conn = Answers(None)
    assert store.current_category_model(conn) is None
    conn.in_use = (1, "t1")
    assert store.current_category_model(conn) is None  # within the few seconds
    store.forget_category_model()  # this process trained it
    assert store.current_category_model(conn).version == 1


def test_each_database_has_its_own_model_in_use(clock):
    assert store.current_category_model(Answers((1, "t1"), dsn="dbname=a")).version == 1
    assert store.current_category_model(Answers(None, dsn="dbname=b")) is None


def script(body):
    return [sys.executable, "-c", textwrap.dedent(body)]


def test_a_training_past_its_deadline_fails_with_a_reason():
    with pytest.raises(category_model.TrainingFailed, match="took more than 0.5 s"):
        category_model.trained_apart({}, script("import time; time.sleep(30)"), seconds=0.5)


def test_under_eventlet_a_training_past_its_deadline_fails_with_a_reason_too():
    """Routing runs monkey-patched: its green subprocess raises another TimeoutExpired."""
    done = subprocess.run(script("""
        import eventlet
        eventlet.monkey_patch()
        import sys
        from services.routing.use_cases import category_model
        try:
            category_model.trained_apart({}, [sys.executable, "-c", "import time; time.sleep(30)"], 0.5)
        except category_model.TrainingFailed as failed:
            print("failed:", failed)
    """), capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "failed: Training took more than 0.5 s: train on fewer days.", done.stderr


def test_too_little_to_learn_from_is_a_conflict_with_the_training_s_reason():
    refusing = script("import sys; print('30 labelled texts, at least 100 are needed', file=sys.stderr);"
                      " sys.exit(3)")
    with pytest.raises(Conflict, match="^30 labelled texts, at least 100 are needed$"):
        category_model.trained_apart({}, refusing)


def test_a_training_that_fails_is_told_without_its_traceback(caplog):
    with pytest.raises(category_model.TrainingFailed, match="routing's log says why"):
        category_model.trained_apart({}, script("raise SystemExit('no memory')"))
    assert "no memory" in caplog.text


def test_the_training_is_given_what_to_learn_from_on_one_thread():
    echo = script("""
        import json, os, sys
        asked = json.load(sys.stdin)
        json.dump({"asked": asked, "threads": os.environ["OPENBLAS_NUM_THREADS"]}, sys.stdout)
    """)
    assert category_model.trained_apart({"days": 3}, echo) == {"asked": {"days": 3}, "threads": "1"}


def test_a_training_that_fails_tells_where_without_the_error_s_text(monkeypatch, capsys):
    """Routing logs what the training's process prints: a resident's text quoted by an
    error must not reach the log."""
    from services.routing.learning import __main__ as learning_main
    from services.routing.learning import training

    def failing(labelled, categories, with_corpus):
        raise ValueError("cannot read 王小明 13912345678")

    monkeypatch.setattr(training, "trained_body", failing)
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"labelled": [], "categories": {}}'))
    monkeypatch.setattr(learning_main.os, "nice", lambda increment: 0)
    with pytest.raises(SystemExit) as ended:
        learning_main.main(["train"])
    told = capsys.readouterr().err
    assert ended.value.code == learning_main.FAILED
    assert "ValueError" in told and "in failing" in told
    assert "13912345678" not in told and "王小明" not in told
