"""The category report, served by routing to the admin key: the categories the keywords
chose and the office's changes of them, counted from what routing records as it works
(never from the timeline's notes), with the words to add as keywords; and the migration
that read the changes made before it from those notes, once.

Concerns arrive as intake announces them, on the real broker; the office acts over
routing's API; the report is asked over HTTP.
"""
import psycopg
import pytest
from psycopg import sql
from yoyo import get_backend, read_migrations

from services.common.config import settings
from services.common.migrate import SERVICES_DIR
from services.routing import category_changes, store
from tests.support.office_changes import LEAKS, SEWER, category_report, dispatch, receive
from tests.support.services import running_on_a_fresh_system

CATEGORY_MIGRATION = "0012-category-choices"


@pytest.fixture
def routing():
    with running_on_a_fresh_system("routing") as routing:
        yield routing


def office_changes(base, keys):
    """Three leaks the keywords place nowhere, which the office dispatches as water-supply,
    and a blocked sewer they place in drainage; returns (the leaks' ids, the sewer's)."""
    leaks = [receive(base, keys, n, text)["ticket_id"] for n, text in enumerate(LEAKS)]
    sewer = receive(base, keys, 9, SEWER)
    assert sewer["category"] == "drainage"
    for ticket_id in leaks:
        dispatched = dispatch(base, keys, ticket_id, "water-supply")
        assert dispatched.status_code == 200, dispatched.text
        assert (dispatched.json()["status"], dispatched.json()["category"]) == ("dispatched", "water-supply")
    return leaks, sewer["ticket_id"]


def test_the_office_changes_are_counted_with_the_words_to_add(routing):
    base, keys = routing.base, routing.keys
    leaks, _ = office_changes(base, keys)
    answer = category_report(base, keys["admin"], days=90)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["days"] == 90
    assert report["categories"] == [
        {"chosen": "none", "tickets": 3, "changed": 3,
         "changed_to": [{"category": "water-supply", "tickets": 3}]},
        {"chosen": "drainage", "tickets": 1, "changed": 0, "changed_to": []}]
    (water,) = report["keywords_to_add"]
    assert water["category"] == "water-supply"
    assert water["words"][0] == {"word": "漏水", "tickets": 3}
    assert category_report(base, keys["admin"]).json() == report, "90 days unless asked"


def test_rewording_the_notes_of_the_timeline_changes_no_figure(routing):
    base, keys = routing.base, routing.keys
    office_changes(base, keys)
    before = category_report(base, keys["admin"]).json()
    with psycopg.connect(settings().database_url) as conn:
        notes = conn.execute("SELECT action, note FROM routing.timeline"
                             " WHERE action IN ('categorise', 'recategorise') ORDER BY id").fetchall()
        assert ("recategorise", "none → water-supply") in notes
        conn.execute("UPDATE routing.timeline SET note = 'the office chose otherwise: ' || id"
                     " WHERE action IN ('categorise', 'recategorise')")
    assert category_report(base, keys["admin"]).json() == before


def test_only_the_admin_key_is_answered_and_a_window_out_of_range_is_refused(routing):
    base, keys = routing.base, routing.keys
    assert category_report(base, "zd_nosuchkey.secret").status_code == 401
    assert category_report(base, keys["congress:baiyun"]).status_code == 403
    refused = category_report(base, keys["admin"], days=0)
    assert refused.status_code == 400 and "days" in refused.json()["errors"]


def test_an_unknown_category_is_refused_and_changes_nothing(routing):
    base, keys = routing.base, routing.keys
    ticket_id = receive(base, keys, 1, LEAKS[0])["ticket_id"]
    refused = dispatch(base, keys, ticket_id, "plumbing")
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"category": ["Unknown category plumbing."]}
    with psycopg.connect(settings().database_url) as conn:
        ticket = conn.execute("SELECT status, category FROM routing.tickets WHERE ticket_id = %s",
                              (ticket_id,)).fetchone()
        changes = conn.execute("SELECT count(*) FROM routing.recategorisations").fetchone()[0]
    assert ticket == ("forwarded", None) and changes == 0


@pytest.fixture
def scratch_database():
    """A database of this test's own, dropped after."""
    url = settings().database_url
    base, _, name = url.rpartition("/")
    scratch = f"{name.split('?')[0]}_categories"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(scratch)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
    yield f"{base}/{scratch}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))


#: tickets and the notes routing wrote of them before the categories were recorded as data
OLD_TIMELINE = [
    ("ZD20250101-00000001", "categorise", "no category: no keyword found"),
    ("ZD20250101-00000001", "recategorise", "none → water-supply"),
    ("ZD20250101-00000002", "categorise", "drainage (confidence 0.83): 下水道, 污水"),
    ("ZD20250101-00000002", "recategorise", "drainage → water-supply"),
    ("ZD20250101-00000002", "recategorise", "water-supply → sanitation"),
    ("ZD20250101-00000003", "categorise", "drainage (confidence 1.00): 下水道"),
    ("ZD20250101-00000004", "assign", "陈建国 (rep-chen-jianguo): the station's representative"),
]


def test_the_migration_reads_the_categories_of_before_from_the_notes_once(scratch_database):
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA routing")
    backend = get_backend(f"postgresql+psycopg{scratch_database[len('postgresql'):]}?schema=routing")
    migrations = read_migrations(str(SERVICES_DIR / "common" / "migrations"),
                                 str(SERVICES_DIR / "routing" / "migrations"))
    with backend.lock():
        backend.apply_migrations(backend.to_apply(
            migrations.filter(lambda migration: migration.id < CATEGORY_MIGRATION)))
    with psycopg.connect(scratch_database, options="-c search_path=routing") as conn:
        for ticket_id in sorted({ticket_id for ticket_id, _, _ in OLD_TIMELINE}):
            conn.execute("INSERT INTO tickets (ticket_id, status, district, channel, description,"
                         " submitted_at, received_at, words) VALUES (%s, 'dispatched', 'baiyun',"
                         " 'wechat', '漏水', now(), now(), %s)", (ticket_id, ["漏水", ticket_id[-1]]))
        for ticket_id, action, note in OLD_TIMELINE:
            conn.execute("INSERT INTO timeline (ticket_id, actor, action, note)"
                         " VALUES (%s, 'system', %s, %s)", (ticket_id, action, note))
    with backend.lock():
        backend.apply_migrations(backend.to_apply(migrations))
    with psycopg.connect(scratch_database, options="-c search_path=routing",
                         row_factory=psycopg.rows.dict_row) as conn:
        chosen, changes = store.category_changes(conn, 90)
    assert chosen == {"ZD20250101-00000001": None, "ZD20250101-00000002": "drainage",
                      "ZD20250101-00000003": "drainage"}
    assert changes == [(["漏水", "1"], None, "water-supply"), (["漏水", "2"], "drainage", "water-supply"),
                       (["漏水", "2"], "water-supply", "sanitation")]
    rows, _ = category_changes.report(chosen, changes, {})
    assert [(row.chosen, row.tickets, row.changed) for row in rows] == [
        ("drainage", 2, 1), ("none", 1, 1), ("water-supply", 0, 1)]
