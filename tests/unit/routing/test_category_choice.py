"""Unit tests of ``services.routing.learning.choice``: a concern's category from the
keywords and the learned model together, with the reason the timeline keeps; and
routing's workflow choosing with the model in use (on the fake store)."""
import pytest

from services.common import events
from services.common.directory import load_directory
from services.routing.categories import Categoriser
from services.routing.learning.choice import BOTH, KEYWORDS, MODEL, CategoryChoice, choose
from services.routing.learning.model import Scored
from services.routing.use_cases import inbound, workflow
from services.routing.use_cases.step import Step
from tests.support import events as made
from tests.support.system import DEMO_DIRECTORY
from tests.unit.routing.fake_store import FakeStore

THRESHOLD = 0.6
CATEGORISER = Categoriser({
    "drainage": {"keywords": ["下水道", "污水"]},
    "parking": {"keywords": ["乱停", "停车"]},
    "elderly-care": {"keywords": ["老人"]},
    "sanitation": {"keywords": ["垃圾"]},
})
SEWER = "元岗路下水道堵塞"
NOTHING = "想了解一下政策"
TIE = "老人门口乱停"  # parking and elderly-care, one keyword each


def scored(category, probability, *others, top_words=(("乱停", 0.41),)):
    """A ``Scored`` best ``category`` at ``probability``, the rest shared by ``others``."""
    rest = [(code, (1 - probability) / len(others)) for code in others] if others else []
    return Scored(category, probability, ((category, probability), *rest), top_words)


class StubModel:
    """A model that scores every text alike, and keeps the keywords' hits it was given."""

    def __init__(self, answer, version=2, categories=tuple(CATEGORISER.order)):
        self.answer, self.version, self.given = answer, version, []
        self.categories = categories  # those it was trained on

    def score(self, text, keyword_hits=()):
        self.given.append((text, tuple(keyword_hits)))
        return self.answer


def test_without_a_model_the_keywords_alone_decide_with_their_reason_as_it_was():
    chosen = choose(SEWER, CATEGORISER, None, THRESHOLD)
    found = CATEGORISER.categorise(SEWER, THRESHOLD)
    assert chosen == CategoryChoice("drainage", 1.0, KEYWORDS, found)
    assert (chosen.model_category, chosen.model_version, chosen.scored) == (None, None, None)
    assert chosen.reason() == found.reason() == "drainage (confidence 1.00): 下水道"


def test_without_a_model_a_text_no_keyword_matches_is_undecided():
    chosen = choose(NOTHING, CATEGORISER, None, THRESHOLD)
    assert (chosen.category, chosen.decided, chosen.confidence) == (None, None, 0.0)
    assert chosen.reason() == "no category: no keyword found"
    tie = choose(TIE, CATEGORISER, None, THRESHOLD)
    assert (tie.category, tie.decided, tie.confidence) == (None, None, 0.5)
    assert tie.reason() == CATEGORISER.categorise(TIE, THRESHOLD).reason()


def test_the_model_is_given_the_text_and_the_keywords_found():
    model = StubModel(scored("parking", 0.9, "elderly-care"))
    choose(TIE, CATEGORISER, model, THRESHOLD)
    assert model.given == [(TIE, CATEGORISER.categorise(TIE).hits)]


def test_a_sure_model_of_the_keywords_category_decides_with_them_at_its_probability():
    sure = choose(SEWER, CATEGORISER, StubModel(scored("drainage", 0.7, "parking")), THRESHOLD)
    assert (sure.category, sure.confidence, sure.decided) == ("drainage", 0.7, BOTH)
    assert (sure.model_category, sure.model_version) == ("drainage", 2)
    assert sure.reason() == ("drainage by the keywords and model (confidence 0.70); model v2: drainage"
                             " p 0.70 (乱停 0.41); keywords: drainage (confidence 1.00): 下水道")
    text = "下水道堵了，污水和垃圾"  # drainage 2 of 3: confidence 0.67
    surer = choose(text, CATEGORISER, StubModel(scored("drainage", 0.93, "sanitation")), THRESHOLD)
    assert (surer.category, surer.confidence, surer.decided) == ("drainage", 0.93, BOTH)


def test_a_model_below_the_threshold_leaves_even_the_keywords_choice_to_the_office():
    """With a model, its probability decides: the keywords' own choice is not kept where the
    model agrees below the threshold (on the corpus that added more wrong than right)."""
    chosen = choose(SEWER, CATEGORISER, StubModel(scored("drainage", 0.3, "parking")), THRESHOLD)
    assert (chosen.category, chosen.confidence, chosen.decided) == (None, 0.3, None)
    assert chosen.keywords.category == "drainage" and chosen.model_category == "drainage"
    assert chosen.reason() == ("no category: model v2: drainage p 0.30 (乱停 0.41); keywords:"
                               " drainage (confidence 1.00): 下水道")


def test_a_sure_model_of_the_category_the_keywords_lean_to_below_their_threshold_decides_alone():
    text = "老人门口乱停，乱停"  # parking 2, elderly-care 1: 0.67 at a threshold of 0.7
    found = CATEGORISER.categorise(text, 0.7)
    assert (found.category, found.hits[0].category) == (None, "parking")
    chosen = choose(text, CATEGORISER, StubModel(scored("parking", 0.8, "elderly-care")), 0.7)
    assert (chosen.category, chosen.decided) == ("parking", MODEL)


@pytest.mark.parametrize("text", [TIE, NOTHING], ids=["keywords tie", "no keyword"])
def test_where_the_keywords_do_not_decide_a_sure_model_does(text):
    chosen = choose(text, CATEGORISER, StubModel(scored("parking", 0.91, "elderly-care"), version=3),
                    THRESHOLD)
    assert (chosen.category, chosen.confidence, chosen.decided) == ("parking", 0.91, MODEL)
    assert (chosen.model_category, chosen.model_version) == ("parking", 3)
    assert chosen.reason() == ("parking by the model (confidence 0.91); model v3: parking p 0.91"
                               f" (乱停 0.41); keywords: {CATEGORISER.categorise(text, THRESHOLD).reason()}")


def test_a_model_exactly_at_the_threshold_decides():
    chosen = choose(NOTHING, CATEGORISER, StubModel(scored("parking", THRESHOLD, "drainage")), THRESHOLD)
    assert (chosen.category, chosen.decided) == ("parking", MODEL)


@pytest.mark.parametrize("text", [TIE, NOTHING], ids=["keywords tie", "no keyword"])
def test_where_neither_is_sure_the_office_decides_and_the_reason_names_the_model_s_best(text):
    chosen = choose(text, CATEGORISER, StubModel(scored("parking", 0.55, "elderly-care")), THRESHOLD)
    assert (chosen.category, chosen.confidence, chosen.decided) == (None, 0.55, None)
    assert chosen.model_category == "parking", "recorded for the model's confusions"
    assert chosen.reason() == ("no category: model v2: parking p 0.55 (乱停 0.41); keywords:"
                               f" {CATEGORISER.categorise(text, THRESHOLD).reason()}")


def test_a_model_sure_of_another_category_overrules_the_keywords():
    chosen = choose(SEWER, CATEGORISER, StubModel(scored("sanitation", 0.88, "drainage")), THRESHOLD)
    assert (chosen.category, chosen.confidence, chosen.decided) == ("sanitation", 0.88, MODEL)
    assert chosen.keywords.category == "drainage"
    assert chosen.reason().startswith("sanitation by the model (confidence 0.88); model v2: sanitation"
                                      " p 0.88 (乱停 0.41); keywords: drainage (confidence 1.00)")


def test_a_model_unsure_of_another_category_leaves_the_keywords_choice_to_the_office():
    """The keywords decided alone, but a model that found another category best, however
    weakly, leaves the concern undecided: the office glances at it."""
    chosen = choose(SEWER, CATEGORISER, StubModel(scored("sanitation", 0.4, "drainage")), THRESHOLD)
    assert (chosen.category, chosen.confidence, chosen.decided) == (None, 0.4, None)
    assert chosen.keywords.category == "drainage"
    assert chosen.reason() == ("no category: model v2: sanitation p 0.40 (乱停 0.41); keywords:"
                               " drainage (confidence 1.00): 下水道")


def test_a_category_the_directory_no_longer_has_is_never_chosen_the_keywords_decide():
    model = StubModel(scored("plumbing", 0.97, "drainage"), version=5)
    chosen = choose(SEWER, CATEGORISER, model, THRESHOLD)
    assert (chosen.category, chosen.confidence, chosen.decided) == ("drainage", 1.0, KEYWORDS)
    assert (chosen.model_category, chosen.model_version) == ("plumbing", 5)
    assert chosen.reason() == ("drainage by the keywords (confidence 1.00); model v5: plumbing p 0.97"
                               " (乱停 0.41); keywords: drainage (confidence 1.00): 下水道")
    undecided = choose(NOTHING, CATEGORISER, model, THRESHOLD)
    assert (undecided.category, undecided.decided, undecided.model_category) == (None, None, "plumbing")
    assert undecided.reason().startswith("no category: model v5: plumbing p 0.97")


def test_a_category_added_since_the_training_is_chosen_by_the_keywords_the_model_cannot_weigh_it():
    model = StubModel(scored("parking", 0.9, "drainage"), version=6, categories=("parking", "sanitation"))
    chosen = choose(SEWER, CATEGORISER, model, THRESHOLD)  # drainage: unknown to this model
    assert (chosen.category, chosen.confidence, chosen.decided) == ("drainage", 1.0, KEYWORDS)
    assert chosen.model_category == "parking"
    known = choose("门口乱停", CATEGORISER, model, THRESHOLD)  # parking: the model decides as ever
    assert (known.category, known.decided) == ("parking", BOTH)


# --- routing's workflow choosing with the model in use, on the fake store

@pytest.fixture(scope="module")
def directory():
    return load_directory(DEMO_DIRECTORY)


@pytest.fixture
def store():
    return FakeStore(lambda: made.T0)


def receive(store, directory, n, text):
    """A concern of yuangang without a category, as routing reads intake's event."""
    row = made.concern_row(f"ZD20260302-{n:08d}", category=None, title=None, description=text)
    with Step(store, directory, now=lambda: made.T0) as step:
        return workflow.receive_concern(step, inbound.checked_concern(events.concern_received(row).body,
                                                                      directory))


def categorise_note(store, ticket_id):
    (note,) = [entry["note"] for entry in store.timeline(ticket_id) if entry["action"] == "categorise"]
    return note


def test_without_a_model_routing_records_the_keywords_decision(store, directory):
    ticket = receive(store, directory, 1, "元岗路下水道堵塞，污水外溢")
    assert ticket["category"] == "drainage"
    assert categorise_note(store, ticket["ticket_id"]).startswith("drainage (confidence 1.00): ")
    assert store.category_choices[ticket["ticket_id"]] == ("drainage", KEYWORDS, None, None)


def test_with_a_model_routing_takes_its_category_says_so_and_records_it(store, directory):
    store.category_model = StubModel(scored("parking", 0.9, "drainage"), version=4)
    ticket = receive(store, directory, 1, "想了解一下政策")
    ticket_id = ticket["ticket_id"]
    assert (ticket["status"], ticket["category"]) == ("assigned", "parking")
    note = categorise_note(store, ticket_id)
    assert note.startswith("parking by the model (confidence 0.90); model v4: parking p 0.90")
    assert note.endswith("keywords: no category: no keyword found")
    assert store.category_choices[ticket_id] == ("parking", MODEL, 4, "parking")
    assert store.keyword_categories[ticket_id] == "parking"


def test_with_an_unsure_model_routing_leaves_the_concern_to_the_office_and_records_the_model_s_best(
        store, directory):
    store.category_model = StubModel(scored("parking", 0.5, "drainage"), version=4)
    ticket = receive(store, directory, 1, "想了解一下政策")
    assert (ticket["status"], ticket["category"]) == ("forwarded", None)
    assert categorise_note(store, ticket["ticket_id"]).startswith("no category: model v4: parking p 0.50")
    assert store.category_choices[ticket["ticket_id"]] == (None, None, 4, "parking")


def test_a_concern_that_came_with_a_category_is_not_scored(store, directory):
    store.category_model = model = StubModel(scored("parking", 0.99, "drainage"))
    row = made.concern_row("ZD20260302-00000001", category="drainage")
    with Step(store, directory, now=lambda: made.T0) as step:
        ticket = workflow.receive_concern(step, inbound.checked_concern(
            events.concern_received(row).body, directory))
    assert ticket["category"] == "drainage"
    assert model.given == [] and store.category_choices == {}
