"""The category report: where the keywords chose wrong, and the words to add. Pure.

Over the tickets of the last days: for each category the keywords chose (``none`` when
they chose none), how many tickets, and how many of them the liaison office then
changed (when it dispatched with another category) and to what. Then, for each
category the office changed tickets to, the significant words those tickets share most
that are not yet among its keywords: the list of keywords to add to the directory.
With a learned model, the model's confusions too: for each category the model found
best, how many tickets, how many of them now have another category (the office changed
it, or the keywords decided otherwise and were kept) and which. What it counts is
recorded as data (``store.category_changes``, ``store.model_choices``), never read back
from the timeline's notes.
"""
from collections import Counter, defaultdict
from dataclasses import dataclass

NONE = "none"  # the keywords chose no category, or the ticket had none
SUGGESTED_WORDS = 5


@dataclass(frozen=True)
class Counted:
    """A category the office changed tickets to, or a word they share; and how many tickets."""
    name: str
    tickets: int


@dataclass(frozen=True)
class CategoryChanges:
    chosen: str  # what the keywords chose, or NONE
    tickets: int
    changed_to: tuple  # (Counted category, ...), most tickets first

    @property
    def changed(self):
        return sum(target.tickets for target in self.changed_to)


@dataclass(frozen=True)
class KeywordsToAdd:
    category: str
    words: tuple  # (Counted word, ...), shared by the most tickets first


def report(chosen, changes, categories):
    """``([CategoryChanges], [KeywordsToAdd])``, the most changed category first and the
    suggestions by category, of ``chosen`` (``{ticket_id: category or None}``) and
    ``changes`` (``[(words, from category or None, to category)]``, in the order made),
    against the directory's ``categories``."""
    counted = Counter(NONE if category is None else category for category in chosen.values())
    changed = defaultdict(Counter)
    words_of = defaultdict(Counter)
    for words, before, after in changes:
        changed[NONE if before is None else before][after] += 1
        words_of[after].update(set(words))
    rows = sorted((CategoryChanges(code, counted[code], tuple(
                       Counted(target, n) for target, n in changed[code].most_common()))
                   for code in set(counted) | set(changed)),
                  key=lambda row: (-row.changed, row.chosen))
    suggestions = []
    for category, counter in sorted(words_of.items()):
        known = {keyword.lower() for keyword in categories.get(category, {}).get("keywords", [])}
        suggestions.append(KeywordsToAdd(category, tuple(
            Counted(word, n) for word, n in counter.most_common()
            if word.lower() not in known and n >= 2)[:SUGGESTED_WORDS]))
    return rows, suggestions


@dataclass(frozen=True)
class ModelConfusions:
    model: str  # the category the model found best
    tickets: int
    confused_with: tuple  # (Counted category the ticket has now, or NONE; ...), most first

    @property
    def agreed(self):
        return self.tickets - sum(other.tickets for other in self.confused_with)


def model_confusions(choices):
    """``[ModelConfusions]``, the most confused first, of ``choices``: ``[(the model's best
    category, the ticket's category now or None)]``."""
    scored = Counter(model for model, _ in choices)
    confused = defaultdict(Counter)
    for model, now in choices:
        if now != model:
            confused[model][NONE if now is None else now] += 1
    return sorted((ModelConfusions(model, n, tuple(Counted(other, k)
                                                   for other, k in confused[model].most_common()))
                   for model, n in scored.items()),
                  key=lambda row: (-(row.tickets - row.agreed), row.model))
