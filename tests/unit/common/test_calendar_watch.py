"""Unit tests of services.common.observability's calendar watch: what it says of the
years nobody gives the official days of, and that only services counting deadlines look."""
from types import SimpleNamespace

from services.common import observability


def test_the_note_names_each_year_and_its_districts():
    note = observability.unknown_years_note({"baiyun": [2027], "tianhe": [2027], "conghua": [2027, 2028]})
    assert "2027 for baiyun, tianhe; 2027 and 2028 for conghua." in note
    assert "extra_workdays" in note and "deploy/README.md" in note
    assert observability.unknown_years_note({}) is None


def test_only_the_services_that_count_deadlines_look():
    for name, watching in (("routing", True), ("reporting", True), ("intake", False), ("notify", False)):
        watch = observability.CalendarWatch()
        watch.container = SimpleNamespace(service_name=name)
        watch.setup()
        assert watch.watching is watching
    assert watch.look(db=None) is None  # notify never opens a transaction for it
