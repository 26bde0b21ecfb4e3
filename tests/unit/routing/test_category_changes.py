"""The category report's counting, pure: the keywords' choices against the office's
changes, and the words to add as keywords."""
from services.routing.category_changes import (
    NONE,
    SUGGESTED_WORDS,
    CategoryChanges,
    Counted,
    KeywordsToAdd,
    report,
)


def test_a_category_chosen_wrong_is_counted_against_it():
    chosen = {"t1": "drainage", "t2": "drainage", "t3": "sanitation"}
    changes = [(["水管", "漏水"], "drainage", "water-supply"), (["水管"], "drainage", "water-supply")]
    rows, suggestions = report(chosen, changes, {"water-supply": {"keywords": ["水管"]}})
    assert [(row.chosen, row.tickets, row.changed_to) for row in rows] == [
        ("drainage", 2, (Counted("water-supply", 2),)), ("sanitation", 1, ())]
    assert suggestions == [KeywordsToAdd("water-supply", ())]  # 水管 is a keyword already; 漏水 came once


def test_no_category_is_counted_as_none_and_its_changes_suggest_the_words_they_share():
    chosen = {"t1": None, "t2": None, "t3": None, "t4": "drainage"}
    changes = [(["漏水", "天花板"], None, "water-supply"), (["漏水", "墙面", "漏水"], None, "water-supply"),
               (["漏水"], None, "sanitation")]
    rows, suggestions = report(chosen, changes, {})
    assert rows == [CategoryChanges(NONE, 3, (Counted("water-supply", 2), Counted("sanitation", 1))),
                    CategoryChanges("drainage", 1, ())]
    assert rows[0].changed == 3
    assert suggestions == [KeywordsToAdd("sanitation", ()),  # one ticket shares nothing twice
                           KeywordsToAdd("water-supply", (Counted("漏水", 2),))]


def test_at_most_five_words_are_suggested_the_most_shared_first_and_known_ones_in_any_case_left_out():
    words = ["Leak", "w1", "w2", "w3", "w4", "w5", "w6"]
    changes = [(words, "drainage", "water-supply"), (words, "drainage", "water-supply"),
               (["w6"], "drainage", "water-supply")]
    _, suggestions = report({}, changes, {"water-supply": {"keywords": ["leak"]}})
    (suggested,) = suggestions
    assert len(suggested.words) == SUGGESTED_WORDS
    assert suggested.words[0] == Counted("w6", 3)
    assert "Leak" not in {word.name for word in suggested.words}
