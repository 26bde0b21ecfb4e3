"""Unit tests of routing's retention rules: each district's cutoff, and a run that goes
on batch after batch until every expired ticket is done."""
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from services.common.directory import parse_directory
from services.routing.use_cases import retention

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
DIRECTORY = parse_directory("""\
districts:
  - code: baiyun
    name: 白云区
    communities: [{code: yuangang, name: 元岗社区}]
    office: {name: 白云区人大常委会代表联络室}
    policy: {personal_data_days: 30}
  - code: conghua
    name: 从化区
    communities: [{code: jiekou, name: 街口社区}]
    office: {name: 从化区人大常委会代表联络室}
""")


def test_each_district_keeps_personal_data_its_own_number_of_days():
    assert retention.expiry_cutoffs(DIRECTORY, NOW) == {
        "baiyun": NOW - timedelta(days=30), "conghua": NOW - timedelta(days=180)}


class FakeDatabase:
    def __init__(self):
        self.transactions = 0

    @contextmanager
    def transaction(self):
        self.transactions += 1
        yield "conn"


def test_a_run_goes_on_until_a_batch_is_not_full(monkeypatch):
    found = [retention.BATCH, retention.BATCH, 3, 0]
    monkeypatch.setattr(retention, "expire", lambda conn, directory, now: {"tickets": found.pop(0)})
    db = FakeDatabase()
    retention.expire_all(db, NOW, lambda conn: DIRECTORY)
    assert db.transactions == 3 and found == [0]
