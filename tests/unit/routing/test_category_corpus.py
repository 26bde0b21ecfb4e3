"""The project's labelled corpus, and what the keywords and the model make of it.

The corpus is data the evaluation and a new deployment's first model rest on: every line
an example of a category of the demo directory, in both languages, with the confounders
it was written for. The evaluation on its held-out quarter (the same split every run,
scikit-learn pinned) keeps the promise the choice makes: the keywords and the model
together are wrong at most 3 % of the time, and right more often than the keywords
alone, which are wrong far more often.
"""
import json
from collections import Counter

import pytest

from services.common.directory import load_directory
from services.routing.categories import DEFAULT_CONFIDENCE, Categoriser
from services.routing.learning import corpus, evaluation
from tests.support.system import DEMO_DIRECTORY


@pytest.fixture(scope="module")
def examples():
    return corpus.examples()


@pytest.fixture(scope="module")
def categoriser():
    return Categoriser(load_directory(DEMO_DIRECTORY)["categories"])


def test_the_corpus_covers_every_category_of_the_demo_directory_in_both_languages(examples, categoriser):
    assert len(examples) >= 400
    by_category = Counter(example.category for example in examples)
    assert set(by_category) == set(categoriser.order)
    assert min(by_category.values()) >= 30
    for code in categoriser.order:
        languages = Counter(example.lang for example in examples if example.category == code)
        assert languages["zh"] >= 10 and languages["en"] >= 10, (code, languages)


def test_every_example_is_a_distinct_text_with_a_known_confounder(examples):
    texts = [example.text for example in examples]
    assert len(set(texts)) == len(texts)
    assert all(text.strip() and "\x00" not in text for text in texts)
    assert {example.confounder for example in examples} == {None, "who", "where", "cause", "other-topic"}
    with_confounder = sum(example.confounder is not None for example in examples)
    assert with_confounder / len(examples) >= 1 / 3


def test_a_line_that_is_not_an_example_is_named_with_its_place(tmp_path):
    (tmp_path / "part.jsonl").write_text('{"text": "下水道堵了", "category": "drainage", "lang": "zh"}\n'
                                         '{"text": "no category"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="^part.jsonl:2: not an example"):
        corpus.examples(tmp_path)


def test_on_the_held_out_quarter_both_together_are_rarely_wrong_and_beat_the_keywords(examples, categoriser):
    outcomes, model = evaluation.held_out(examples, categoriser, DEFAULT_CONFIDENCE)
    keywords, both = outcomes[evaluation.KEYWORDS], outcomes[evaluation.BOTH]
    assert both.total == keywords.total >= len(examples) // 5
    assert both.share("wrong") <= 0.03
    assert both.share("right") > keywords.share("right")
    assert keywords.share("wrong") > both.share("wrong")
    assert set(model.categories) == set(categoriser.order)


def test_the_evaluate_command_prints_each_method_held_out_and_cross_validated(examples, tmp_path, capsys):
    from services.routing.learning.__main__ import main

    kept = [e for code in sorted({e.category for e in examples})
            for e in [x for x in examples if x.category == code][:8]]
    (tmp_path / "part.jsonl").write_text("".join(json.dumps(
        {"text": e.text, "category": e.category, "lang": e.lang, "confounder": e.confounder},
        ensure_ascii=False) + "\n" for e in kept), encoding="utf-8")
    main(["evaluate", "--corpus", str(tmp_path)])
    printed = capsys.readouterr().out.splitlines()
    held = len(evaluation.split(corpus.examples(tmp_path))[1])
    assert printed[0] == (f"held out: {held} of {len(kept)} texts, models of the other {len(kept) - held},"
                          f" at confidence {DEFAULT_CONFIDENCE}")
    assert printed[1].split() == ["keywords", "alone", "model", "alone", "both"]
    assert [line.split()[0] for line in printed[2:5]] == ["right", "wrong", "undecided"]
    for line in printed[2:5]:  # each method's three shares add up to all the texts
        assert len(line.split()) == 4
    shares = [[float(cell.rstrip("%")) for cell in line.split()[1:]] for line in printed[2:5]]
    assert all(abs(sum(column) - 100) < 0.2 for column in zip(*shares, strict=True))
    assert f"({len(kept)} texts)" in printed
    assert f"{evaluation.FOLDS}-fold cross-validation: every text decided once" in printed


def test_the_evaluate_command_reads_the_directory_the_admin_cli_loads(tmp_path, monkeypatch):
    """ZD_DIRECTORY, as the admin CLI: the image has no deploy/directory.yaml."""
    from services.routing.learning.__main__ import main

    missing = tmp_path / "mounted" / "directory.yaml"
    monkeypatch.setenv("ZD_DIRECTORY", str(missing))
    with pytest.raises(SystemExit) as stopped:
        main(["evaluate", "--corpus", str(tmp_path)])
    assert str(stopped.value).startswith("directory not read: ")
    assert str(missing) in str(stopped.value)
