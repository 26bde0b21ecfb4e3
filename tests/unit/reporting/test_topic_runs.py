"""Unit tests of services.reporting.topic_runs: hot topics computed in an OS thread,
one run at a time, a question asked meanwhile answered by the run under way, answers
kept a few seconds, and no more questions in hand than the service can spare."""
import eventlet
import pytest
from eventlet.event import Event

from services.common.errors import Unavailable
from services.reporting.topic_runs import KEPT_SECONDS, WAITING, TopicRuns

threading = eventlet.patcher.original("threading")  # OS threads and their events, not green ones


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def runs():
    runs = TopicRuns()
    runs.setup()
    return runs


def test_the_grouping_runs_in_another_thread_while_the_loop_goes_on(runs):
    started, release, ticks = threading.Event(), threading.Event(), []

    def group(rows):
        started.set()
        release.wait(10)  # holds its OS thread as a long grouping would
        return {"groups": rows, "thread": threading.get_ident()}

    asked = eventlet.spawn(runs.answer, "baiyun", lambda: ["ZD1"], group)
    while not started.is_set():
        eventlet.sleep(0.01)
    for _ in range(3):
        ticks.append(1)
        eventlet.sleep(0)
    release.set()
    answer = asked.wait()
    assert answer["groups"] == ["ZD1"] and answer["thread"] != threading.get_ident()
    assert ticks == [1, 1, 1]


def test_the_same_question_asked_meanwhile_gets_the_same_run(runs):
    reads = []

    def read():
        reads.append(1)
        eventlet.sleep(0.05)
        return len(reads)

    asked = [eventlet.spawn(runs.answer, "baiyun", read, lambda rows: {"run": rows}) for _ in range(3)]
    assert [each.wait() for each in asked] == [{"run": 1}] * 3 and reads == [1]


def test_an_answer_is_kept_a_few_seconds_and_only_for_its_question(runs):
    clock, reads = Clock(), []

    def read():
        reads.append(1)
        return len(reads)

    assert runs.answer("baiyun", read, str, clock) == "1"
    clock.now += KEPT_SECONDS - 1
    assert runs.answer("baiyun", read, str, clock) == "1"
    assert runs.answer("tianhe", read, str, clock) == "2"
    clock.now += 1
    assert runs.answer("baiyun", read, str, clock) == "3"


def test_beyond_the_questions_it_can_spare_the_answer_is_come_back_later(runs):
    release = Event()

    def read():
        release.wait()
        return []

    asked = [eventlet.spawn(runs.answer, f"district {n}", read, list) for n in range(WAITING)]
    eventlet.sleep(0.01)
    with pytest.raises(Unavailable) as refused:
        runs.answer("one more", read, list)
    assert refused.value.extra["retry_after"] > 0
    release.send()
    assert [each.wait() for each in asked] == [[]] * WAITING
    assert runs.answer("one more", lambda: [], list) == []


def test_a_failed_run_keeps_nothing_and_frees_its_place(runs):
    def broken(rows):
        raise RuntimeError("the grouping failed")

    for _ in range(WAITING + 1):
        with pytest.raises(RuntimeError):
            runs.answer("baiyun", lambda: [], broken)
    assert runs.answer("baiyun", lambda: [], list) == []
