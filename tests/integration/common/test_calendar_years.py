"""A service that counts deadlines says when China's official calendar of the current or
the coming year is known to nobody: on 5 December 2026 chinese-calendar knows up to
2026. Reporting on the real broker and database, with the demo directory (every district
follows the official calendar): a warning once at start, ``zd_calendar_year_unknown``
at 1 and a ``calendar`` note in a ``/health`` that stays 200; then a directory that gives
2027's and 2028's official days itself, and the gauge back at 0, the note gone."""
import logging
from datetime import date

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from services.admin.use_cases import operations as ops
from services.common import observability
from tests.support.services import running, wait_until
from tests.support.system import DEMO_DIRECTORY, fresh_system

TODAY = date(2026, 12, 5)
DISTRICTS = ("baiyun", "conghua", "tianhe")


@pytest.fixture
def on_5_december_2026(monkeypatch):
    monkeypatch.setattr(observability, "today", lambda: TODAY, raising=False)


def health(base):
    answer = requests.get(f"{base}/health", timeout=10)
    return answer.status_code, answer.json()


def unknown_years(base):
    """``{(district, year): value}`` of reporting's ``zd_calendar_year_unknown`` samples."""
    text = requests.get(f"{base}/metrics", timeout=10).text
    return {(sample.labels["district"], sample.labels["year"]): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples
            if sample.name == "zd_calendar_year_unknown" and sample.labels["service"] == "reporting"}


def directory_giving_official_days(tmp_path):
    """The demo directory, its calendar giving the official days of 2027 and 2028 (not the
    real ones: the test needs any day of each year)."""
    directory = yaml.safe_load(DEMO_DIRECTORY.read_text())
    directory["policy"]["calendar"].update(holidays=["2027-01-01", "2028-01-01"],
                                           extra_workdays=["2027-02-06"])
    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(directory, allow_unicode=True))
    return path


def test_a_year_nobody_knows_is_warned_of_once_measured_and_noted_until_the_directory_gives_it(
        on_5_december_2026, caplog, tmp_path):
    fresh_system()
    caplog.set_level(logging.INFO, logger=observability.__name__)
    with running("reporting") as base:
        status, body = wait_until(lambda: (lambda h: "calendar" in h[1].get("notes", {}) and h)(health(base)),
                                  what="the calendar noted in /health")
        assert status == 200 and body["status"] == "ok", body
        assert "2027 for baiyun, conghua, tianhe" in body["notes"]["calendar"]
        assert "2027" in body["notes"]["calendar"] and "deploy/README.md" in body["notes"]["calendar"]
        assert unknown_years(base) == {(district, "2027"): 1.0 for district in DISTRICTS}
        health(base)
        warnings = [record for record in caplog.records if record.levelno == logging.WARNING
                    and "2027" in record.getMessage()]
        assert len(warnings) == 1, [record.getMessage() for record in caplog.records]

        admin = ops.Admin.open()
        try:
            ops.load_directory_files(admin, [directory_giving_official_days(tmp_path)])
        finally:
            admin.close()
        status, body = wait_until(lambda: (lambda h: "calendar" not in h[1].get("notes", {}) and h)(
            health(base)), timeout=30, what="the directory's official days taken")
        assert status == 200
        assert unknown_years(base) == {(district, "2027"): 0.0 for district in DISTRICTS}
        assert any("known again" in record.getMessage() for record in caplog.records)
