"""Unit tests of how routing lists its category models (``category_models.listed``),
what the admin may ask to train (``TrainModelSchema``) and what the training is given
(``training.trained_body``), the model's confusions in the category report
(``category_changes.model_confusions``) and the evaluation's figures
(``services.routing.learning.evaluation.Outcome``)."""
from collections import Counter

import pytest
from marshmallow import ValidationError

from services.common.directory import load_directory
from services.routing.category_changes import NONE, Counted, ModelConfusions, model_confusions
from services.routing.category_models import listed
from services.routing.learning import corpus, training
from services.routing.learning.evaluation import Outcome
from services.routing.schemas import TrainModelSchema
from tests.support.system import DEMO_DIRECTORY


@pytest.fixture(scope="module")
def directory_categories():
    return load_directory(DEMO_DIRECTORY)["categories"]


def row(version, retired=False):
    return {"version": version, "retired_at": "2026-12-02T00:00:00+00:00" if retired else None}


def test_the_newest_model_not_retired_is_in_use():
    assert [(r["version"], r["in_use"]) for r in listed([row(4), row(3), row(2, True)])] == [
        (4, True), (3, False), (2, False)]
    assert [(r["version"], r["in_use"]) for r in listed([row(3, True), row(2), row(1, True)])] == [
        (3, False), (2, True), (1, False)]


def test_with_every_model_retired_none_is_in_use():
    assert [r["in_use"] for r in listed([row(2, True), row(1, True)])] == [False, False]
    assert listed([]) == []


def test_a_training_is_asked_for_a_year_of_tickets_without_the_corpus_unless_said():
    assert TrainModelSchema().load({}) == {"days": 365, "with_corpus": False}
    assert TrainModelSchema().load({"days": 30, "with_corpus": True}) == {"days": 30, "with_corpus": True}


@pytest.mark.parametrize("asked", [{"days": 0}, {"days": 3661}, {"days": "many"}, {"with_corpus": "perhaps"},
                                   {"model": {}}])
def test_a_training_asked_out_of_range_is_refused(asked):
    with pytest.raises(ValidationError) as raised:
        TrainModelSchema().load(asked)
    assert set(raised.value.messages) == set(asked)


def labelled(n, category="drainage", corrected=False):
    return [{"text": f"下水道堵塞 {i}", "category": category, "corrected": corrected} for i in range(n)]


def test_fewer_than_a_hundred_texts_are_too_few_to_train_on(directory_categories):
    with pytest.raises(training.TooFewExamples, match="^99 labelled texts, at least 100 are needed"):
        training.trained_body(labelled(60) + labelled(39, "parking"), directory_categories)


def test_the_training_learns_from_the_tickets_and_the_corpus_of_the_directory_s_categories(
        directory_categories, monkeypatch):
    given = {}

    def train(texts, labels, categoriser):
        given.update(texts=texts, labels=labels, categories=categoriser.order)
        return {"examples": {"total": len(texts)}}

    monkeypatch.setattr(training, "train", train)
    monkeypatch.setattr(training, "cross_validated_record",
                        lambda texts, labels, categoriser: {"method": "x"})
    tickets = labelled(3, corrected=True) + labelled(2, "parking")
    kept = {code: category for code, category in directory_categories.items() if code != "parking"}
    body = training.trained_body(tickets, kept, with_corpus=True)
    from_corpus = [e for e in corpus.examples() if e.category != "parking"]
    kept_tickets = tickets[:3]  # parking's are left out: the directory dropped it since
    assert given["texts"] == [t["text"] for t in kept_tickets] + [e.text for e in from_corpus]
    assert given["labels"] == [t["category"] for t in kept_tickets] + [e.category for e in from_corpus]
    assert set(given["categories"]) == set(kept)
    assert body == {"examples": {"total": 3 + len(from_corpus), "tickets": 3, "corrected": 3},
                    "evaluation": {"method": "x"}}


def test_the_evaluation_kept_with_a_model_says_it_could_not_cross_validate_a_single_example():
    record = training.cross_validated_record(["下水道堵塞", "乱停车", "车乱停"],
                                             ["drainage", "parking", "parking"], None)
    assert record == {"method": "none: a category has a single example"}


# --- the model's confusions in the category report

def test_the_model_s_confusions_are_counted_against_the_tickets_categories_now():
    choices = [("parking", "parking"), ("parking", "elderly-care"), ("parking", None),
               ("parking", "elderly-care"), ("drainage", "drainage"), ("drainage", "drainage"),
               ("greening", "parking")]
    assert model_confusions(choices) == [
        ModelConfusions("parking", 4, (Counted("elderly-care", 2), Counted(NONE, 1))),
        ModelConfusions("greening", 1, (Counted("parking", 1),)),
        ModelConfusions("drainage", 2, ())]
    rows = model_confusions(choices)
    assert [row.agreed for row in rows] == [1, 0, 2]


def test_no_model_choice_no_confusion():
    assert model_confusions([]) == []


# --- the admin's evaluation figures

def test_an_outcome_counts_the_shares_right_wrong_and_undecided():
    outcome = Outcome()
    for label, decided in [("drainage", "drainage"), ("drainage", None), ("parking", "drainage"),
                           ("parking", "parking")]:
        outcome.add(label, decided)
    assert outcome.total == 4
    assert (outcome.share("right"), outcome.share("wrong"), outcome.share("undecided")) == (0.5, 0.25, 0.25)
    assert Outcome().share("right") == 0.0


def test_an_outcome_has_precision_and_recall_per_category_and_the_confusions():
    outcome = Outcome([("drainage", "drainage"), ("drainage", "drainage"), ("drainage", None),
                       ("parking", "drainage"), ("parking", "parking"), ("greening", "parking"),
                       ("greening", "drainage")])
    assert outcome.per_category() == {
        "drainage": (pytest.approx(2 / 4), pytest.approx(2 / 3), 3),
        "greening": (0.0, 0.0, 2),
        "parking": (0.5, 0.5, 2)}
    assert outcome.confusions() == Counter({("parking", "drainage"): 1, ("greening", "parking"): 1,
                                            ("greening", "drainage"): 1})
