"""The learned category model on the real stack: the admin asks routing to train one on
its labelled tickets and the project's corpus, routing chooses with it (and the
keywords) from its next concern on, records what decided, counts the model's confusions
in the category report, and falls back to the keywords alone once the models are
retired; the tickets a model learns from are those the office confirmed or corrected;
the admin's CLI trains, lists and switches them off.

One routing runs for the module, on a system whose directory is the demo's but for
baiyun dispatching by hand (no ``auto_dispatch``), so that its office can change the
category of a ticket the model chose; conghua still forwards and dispatches at once.
Concerns arrive as intake announces them, on the real broker; the office acts over
routing's API. Routing trains twice in the module (some ten seconds each). The tests run
in file order: those about a model retire every model first.
"""
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import requests
from psycopg.rows import dict_row

from services.admin.cli import main
from services.common.config import settings
from services.common.directory import load_directory
from services.routing import store
from services.routing.categories import Categoriser
from services.routing.learning import choice, corpus
from services.routing.learning.model import CategoryModel
from services.routing.use_cases import category_model
from tests.support import events as made
from tests.support.office_changes import LEAKS, SEWER, bearer, category_report, dispatch, receive
from tests.support.services import running, wait_until
from tests.support.system import DEMO_DIRECTORY, fresh_system

THRESHOLD = 0.6  # the demo policy's category_confidence
#: a concern no keyword of the demo directory matches, which a model of the corpus
#: places in drainage
FLOODED_TUNNEL = "同和隧道一下大雨就淹，上周有辆车熄火在里面。"
#: what the training's cross-validation kept with a model compares (no model of the text alone)
METHODS = ("keywords alone", "both")


@pytest.fixture(scope="module")
def directory_file(tmp_path_factory):
    """The demo directory, but baiyun's office dispatches by hand."""
    text = DEMO_DIRECTORY.read_text(encoding="utf-8")
    staff = "        - {id: office-baiyun-zheng,"
    start = text.index(staff)
    end = text.index("\n", start) + 1
    path = tmp_path_factory.mktemp("directory") / "directory.yaml"
    path.write_text(text[:end] + "    policy:\n      auto_dispatch: false\n" + text[end:], encoding="utf-8")
    assert load_directory(path)["districts"]["baiyun"]["policy"]["auto_dispatch"] is False
    return path


@pytest.fixture(scope="module")
def routing(directory_file):
    system = fresh_system(directory_file)
    with running("routing") as base:
        yield Routing(base, system.keys, system.directory)


@pytest.fixture(scope="module")
def categoriser(routing):
    return Categoriser(routing.directory["categories"])


class Routing:
    """The running routing, asked over HTTP."""

    def __init__(self, base, keys, directory):
        self.base, self.keys, self.directory = base, keys, directory
        self.admin = keys["admin"]

    def get(self, path, key=None, **params):
        return requests.get(f"{self.base}{path}", params=params, headers=bearer(key or self.admin),
                            timeout=10)

    def post(self, path, key=None, headers=None, **kwargs):
        return requests.post(f"{self.base}{path}", headers={**bearer(key or self.admin), **(headers or {})},
                             timeout=120, **kwargs)

    def train(self, key=None, **asked):
        return self.post("/api/v1/category-models", key, json=asked)

    def models(self):
        answer = self.get("/api/v1/category-models")
        assert answer.status_code == 200, answer.text
        return answer.json()["models"]

    def retire(self):
        answer = self.post("/api/v1/category-models/retire")
        assert answer.status_code == 200, answer.text
        return answer.json()["retired"]

    def receive(self, n, text, **fields):
        """A concern without a category, as intake announces it (received in March unless
        ``received_at`` says when), routed: the ticket as routing shows it."""
        if not fields:
            return receive(self.base, self.keys, n, text)
        ticket_id = f"ZD20260302-{n:08d}"
        made.publish(*made.concern_events(ticket_id, category=None, title=None, description=text, **fields))
        return wait_until(lambda: self.ticket(ticket_id), what=f"{ticket_id} routed")

    def ticket(self, ticket_id):
        answer = self.get(f"/api/v1/tickets/{ticket_id}")
        return answer.json() if answer.status_code == 200 else None

    def act(self, ticket_id, key, **command):
        answer = self.post(f"/api/v1/tickets/{ticket_id}/actions", key, json=command)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def forward_by_representative(self, ticket):
        representative = ticket["representative"]["id"]
        return self.act(ticket["ticket_id"], self.keys[f"representative:{representative}"],
                        action="forward")


def categorise_note(ticket):
    (note,) = [entry["note"] for entry in ticket["timeline"] if entry["action"] == "categorise"]
    return note


def database():
    return psycopg.connect(settings().database_url, options="-c search_path=routing", row_factory=dict_row)


def recorded_choice(ticket_id):
    """What routing recorded of the ticket's first category: ``(category, decided_by,
    model_version, model_category)``."""
    with database() as conn:
        row = conn.execute("SELECT category, decided_by, model_version, model_category"
                           " FROM keyword_categories WHERE ticket_id = %s", (ticket_id,)).fetchone()
    return tuple(row.values())


def stored_body(version):
    with database() as conn:
        return conn.execute("SELECT body FROM category_models WHERE version = %s",
                            (version,)).fetchone()["body"]


def stored_models():
    with database() as conn:
        return conn.execute("SELECT count(*) AS n FROM category_models").fetchone()["n"]


def labelled_tickets(days=365):
    """What the training learns from: ``{ticket_id: row}``."""
    with database() as conn:
        return {row["ticket_id"]: row for row in store.labelled_tickets(conn, days)}


def test_before_any_model_the_keywords_alone_decide_as_before(routing, categoriser):
    assert routing.models() == []
    sewer = routing.receive(1, SEWER)
    assert (sewer["status"], sewer["category"]) == ("assigned", "drainage")
    assert categorise_note(sewer) == categoriser.categorise(SEWER, THRESHOLD).reason()
    assert recorded_choice(sewer["ticket_id"]) == ("drainage", "keywords", None, None)
    tunnel = routing.receive(2, FLOODED_TUNNEL)
    assert (tunnel["status"], tunnel["category"]) == ("forwarded", None)
    assert categorise_note(tunnel) == "no category: no keyword found"
    assert recorded_choice(tunnel["ticket_id"]) == (None, None, None, None)


def test_training_is_refused_to_another_key_out_of_range_or_on_too_little(routing, monkeypatch):
    office = routing.keys["congress:baiyun"]
    assert routing.train(office, with_corpus=True).status_code == 403
    assert routing.train("zd_nosuchkey.secret").status_code == 401
    assert routing.get("/api/v1/category-models", office).status_code == 403
    assert routing.post("/api/v1/category-models/retire", office).status_code == 403
    refused = routing.train(days=0, with_corpus="perhaps")
    assert refused.status_code == 400 and refused.headers["Content-Type"] == "application/problem+json"
    assert set(refused.json()["errors"]) == {"days", "with_corpus"}
    refused = routing.post("/api/v1/category-models", data=b"not json",
                           headers={"Content-Type": "application/json"})
    assert refused.status_code == 400

    too_few = routing.train()
    assert too_few.status_code == 409, too_few.text
    assert too_few.json()["detail"].startswith(
        f"{len(labelled_tickets())} labelled texts, at least 100 are needed")

    monkeypatch.setenv("ZD_ROUTING_URL", routing.base)
    monkeypatch.setenv("ZD_ADMIN_API_KEY", routing.admin)
    with pytest.raises(SystemExit) as ended:
        main(["category-model", "train"])
    assert ended.value.code.startswith("category-model: routing answered 409: ")
    assert "at least 100 are needed" in ended.value.code
    assert stored_models() == 0 and routing.models() == []


def test_one_training_at_a_time_another_asked_meanwhile_is_refused(routing):
    with database() as training_elsewhere:  # holds the lock a training holds until it stored its model
        training_elsewhere.execute("SELECT pg_advisory_xact_lock(%s)", (category_model.TRAINING_LOCK,))
        refused = routing.train(with_corpus=True)
        assert refused.status_code == 409, refused.text
        assert refused.json()["detail"] == ("A category model is being trained already: ask again when it"
                                            " is done.")
    assert stored_models() == 0


def test_a_trained_model_decides_what_the_keywords_leave_and_its_confusions_are_counted(
        routing, categoriser, monkeypatch, capsys):
    routing.retire()
    labelled = len(labelled_tickets())
    trained = routing.train(with_corpus=True)
    assert trained.status_code == 201, trained.text
    saved = trained.json()
    assert (saved["version"], saved["in_use"], saved["uploaded_by"], saved["retired_at"]) == (
        1, True, "admin", None)
    assert saved["examples"] == labelled + len(corpus.examples())
    assert saved["evaluation"]["method"] == f"3-fold cross-validation at confidence {THRESHOLD}"
    assert set(saved["evaluation"]) == {"method", *METHODS}
    assert routing.models() == [saved]

    body = stored_body(1)
    assert body["examples"]["tickets"] == labelled and body["reads_keywords"] is True
    offline = choice.choose(FLOODED_TUNNEL, categoriser, CategoryModel(body, 1), THRESHOLD)
    assert (offline.keywords.category, offline.decided, offline.category) == (None, "model", "drainage")

    tunnel = routing.receive(11, FLOODED_TUNNEL)
    ticket_id = tunnel["ticket_id"]
    assert (tunnel["status"], tunnel["category"]) == ("assigned", "drainage")
    note = categorise_note(tunnel)
    assert note == offline.reason()
    assert note.startswith("drainage by the model (confidence ") and "; model v1: drainage p " in note
    assert note.endswith("keywords: no category: no keyword found")
    assert recorded_choice(ticket_id) == ("drainage", "model", 1, "drainage")

    sewer = routing.receive(12, SEWER)
    assert categorise_note(sewer).startswith("drainage by the keywords and model (confidence ")
    assert recorded_choice(sewer["ticket_id"]) == ("drainage", "keywords and model", 1, "drainage")
    report = category_report(routing.base, routing.admin).json()
    assert report["model_confusions"] == [
        {"model": "drainage", "tickets": 2, "agreed": 2, "confused_with": []}]

    routing.forward_by_representative(tunnel)
    assert routing.ticket(ticket_id)["status"] == "forwarded", "baiyun's office dispatches by hand"
    changed = dispatch(routing.base, routing.keys, ticket_id, "water-supply")
    assert changed.status_code == 200, changed.text
    assert changed.json()["category"] == "water-supply"
    report = category_report(routing.base, routing.admin).json()
    assert report["model_confusions"] == [
        {"model": "drainage", "tickets": 2, "agreed": 1,
         "confused_with": [{"category": "water-supply", "tickets": 1}]}]

    monkeypatch.setenv("ZD_ROUTING_URL", routing.base)
    monkeypatch.setenv("ZD_ADMIN_API_KEY", routing.admin)
    capsys.readouterr()
    main(["category-report"])
    assert capsys.readouterr().out.splitlines()[-3:] == [
        "the model's best category against the ticket's category now:",
        "model                     tickets   agreed  confused with",
        "drainage                        2        1  water-supply 1"]


def test_once_the_models_are_retired_the_keywords_alone_decide_again(routing):
    assert routing.models()[0]["in_use"], "the model of the test before"
    assert routing.retire() == 1
    assert not any(model["in_use"] for model in routing.models())
    assert all(model["retired_at"] is not None for model in routing.models())
    tunnel = routing.receive(21, FLOODED_TUNNEL)
    assert (tunnel["status"], tunnel["category"]) == ("forwarded", None)
    assert categorise_note(tunnel) == "no category: no keyword found"
    assert recorded_choice(tunnel["ticket_id"]) == (None, None, None, None)
    assert routing.retire() == 0


def test_the_tickets_learned_from_are_those_whose_category_the_office_confirmed_or_corrected(routing):
    routing.retire()
    office = routing.keys["congress:baiyun"]
    received = {"received_at": datetime.now(UTC) - timedelta(days=10)}
    # the office gives a category the keywords found none for: decided, not corrected
    leak = routing.receive(31, LEAKS[0], **received)
    assert leak["category"] is None
    assert dispatch(routing.base, routing.keys, leak["ticket_id"], "water-supply").status_code == 200
    # the office dispatches by hand what the keywords chose: confirmed
    sewer = routing.receive(32, SEWER, **received)
    routing.forward_by_representative(sewer)
    routing.act(sewer["ticket_id"], office, action="dispatch",
                departments={"lead": "baiyun-water", "assist": []})
    # the office changes the category the keywords chose: corrected
    changed = routing.receive(37, "元岗路下水道冒水，污水外溢", **received)
    assert changed["category"] == "drainage"
    routing.forward_by_representative(changed)
    assert dispatch(routing.base, routing.keys, changed["ticket_id"], "water-supply").status_code == 200
    # conghua dispatches at once; a department resolved one of them
    conghua = {"district": "conghua", "community": "jiekou", **received}
    resolved = routing.receive(33, "街口路下水道堵塞", **conghua)
    unresolved = routing.receive(34, "街口路下水道又堵了，污水外溢", **conghua)
    assert resolved["status"] == unresolved["status"] == "dispatched"
    routing.act(resolved["ticket_id"], routing.keys["congress:conghua"], action="resolve",
                result="疏通了")
    # only received and assigned; only left to the office
    assert routing.receive(35, "元岗路下水道又堵塞了", **received)["status"] == "assigned"
    assert routing.receive(36, LEAKS[1], **received)["status"] == "forwarded"

    labelled = labelled_tickets()
    these = {ticket_id: dict(row) for ticket_id, row in labelled.items() if ticket_id > "ZD20260302-00000030"}
    assert these == {
        leak["ticket_id"]: {"ticket_id": leak["ticket_id"], "text": LEAKS[0], "category": "water-supply",
                            "corrected": False},
        changed["ticket_id"]: {"ticket_id": changed["ticket_id"], "text": "元岗路下水道冒水，污水外溢",
                               "category": "water-supply", "corrected": True},
        sewer["ticket_id"]: {"ticket_id": sewer["ticket_id"], "text": SEWER, "category": "drainage",
                             "corrected": False},
        resolved["ticket_id"]: {"ticket_id": resolved["ticket_id"], "text": "街口路下水道堵塞",
                                "category": "drainage", "corrected": False}}
    recent = set(labelled_tickets(days=9))
    learned = {leak["ticket_id"], sewer["ticket_id"], changed["ticket_id"], resolved["ticket_id"]}
    assert not recent & learned, \
        "received 10 days ago"


@pytest.fixture
def asking(routing, monkeypatch):
    """The environment an operator's shell gives the CLI."""
    monkeypatch.setenv("ZD_ROUTING_URL", routing.base)
    monkeypatch.setenv("ZD_ADMIN_API_KEY", routing.admin)
    return routing


def test_the_cli_has_routing_train_on_its_history_and_the_corpus_lists_and_switches_off(asking, capsys):
    routing = asking
    routing.retire()
    texts = len(labelled_tickets()) + len(corpus.examples())
    capsys.readouterr()
    main(["category-model", "train", "--with-corpus"])
    printed = capsys.readouterr().out.splitlines()
    version = routing.models()[0]["version"]
    assert printed[0] == f"v{version} trained on {texts} texts and in use"
    assert printed[1] == f"  3-fold cross-validation at confidence {THRESHOLD}"
    assert [line.split()[0] for line in printed[2:4]] == ["keywords", "both"]
    assert len(printed) == 4

    main(["category-model", "list"])
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].startswith(f"v{version:<4} in use  trained ")
    assert listed[0].endswith(f" on {texts} texts by admin")
    assert len(listed) == len(routing.models())

    tunnel = routing.receive(41, FLOODED_TUNNEL)
    assert f"model v{version}: " in categorise_note(tunnel)

    main(["category-model", "off"])
    assert capsys.readouterr().out.strip() == "1 model retired: the keywords alone decide"
    main(["category-model", "list"])
    assert all(" retired trained " in line for line in capsys.readouterr().out.splitlines())


def swapped(body, one, other):
    """``body`` with the weights of categories ``one`` and ``other`` swapped: what it
    chose for one, it chooses for the other."""
    i, j = body["categories"].index(one), body["categories"].index(other)

    def swap(values):
        values = list(values)
        values[i], values[j] = values[j], values[i]
        return values
    return {**body, "intercepts": swap(body["intercepts"]),
            "features": {feature: [values[0], *swap(values[1:])]
                         for feature, values in body["features"].items()}}


def test_a_model_stored_after_the_table_was_emptied_is_read_anew_under_the_same_version(routing):
    """A restored or reset database numbers its models from 1 again: the model routing
    kept of an earlier 1 is not the one it uses."""
    routing.retire()
    body = stored_body(1)
    bodies = [(body, "drainage"), (swapped(body, "drainage", "parking"), "parking")]
    for n, (kept, chosen) in enumerate(bodies):
        with database() as conn:
            conn.execute("TRUNCATE category_models RESTART IDENTITY")
            assert store.save_category_model(conn, kept, "admin")["version"] == 1
        store.forget_category_model()  # as routing does once it stored one: it asks again now
        tunnel = routing.receive(51 + n, FLOODED_TUNNEL)
        assert recorded_choice(tunnel["ticket_id"]) == (chosen, "model", 1, chosen)
    assert routing.retire() == 1
