"""A concern's category chosen from the keywords and the learned model together. Pure.

The keywords are read first (``categories``); they are the rule an operator can read and
change, and with no model (a new deployment, or one whose model was switched off) they
alone decide, as they always have: the best category's share of the keywords' weight
against the threshold. With a model:

- the model scores the text, the keywords found among its features (``k:`` features:
  the history teaches it how far each category's keywords can be trusted; 老人 in a
  parking complaint is outweighed where the history shows it is);
- its best category is chosen when its probability reaches the threshold: decided by
  ``keywords and model`` when it is the category the keywords alone would have chosen,
  by the ``model`` otherwise (the keywords found nothing, tied, or were misled);
- below the threshold no category: the liaison office decides;
- the keywords alone decide where the model cannot weigh the question: its best category
  was dropped from the directory since the training, or the keywords chose a category
  added since (train again after changing the categories). A wrong department
  costs a hand-back and days; an undecided concern, a glance at the office. On the
  project's corpus the keywords' own choice, kept wherever the model agreed whatever
  its probability, added right answers only at the price of more wrong ones
  (``evaluation``; docs/architecture.md#categories-and-likely-duplicates).

The threshold is the district policy's ``category_confidence``: the least share of the
keywords' weight (no model), or the least probability of the model, that gives a category.
"""
from dataclasses import dataclass

from services.routing.categories import Categorisation

KEYWORDS = "keywords"
MODEL = "model"
BOTH = "keywords and model"


@dataclass(frozen=True)
class CategoryChoice:
    """The ``category`` chosen (None: the office decides), its ``confidence``, which
    ``decided`` (``KEYWORDS``, ``MODEL``, ``BOTH``; None when none did), what the keywords
    found and what the model scored (None without a model), and the model's version."""
    category: str | None
    confidence: float
    decided: str | None
    keywords: Categorisation
    scored: object = None  # the model's Scored
    model_version: int | None = None

    @property
    def model_category(self):
        """The model's best category, chosen or not (None without a model)."""
        return self.scored.category if self.scored is not None else None

    def reason(self):
        """One line for the timeline: which decided and why, e.g. ``parking by the model
        (confidence 0.91); model v3: parking p 0.91 (乱停 0.40, 车 0.21); keywords: no
        category: parking (confidence 0.50): 乱停; also elderly-care: 老人``."""
        if self.scored is None:
            return self.keywords.reason()
        model = f"model v{self.model_version}: {self.scored.describe()}"
        if self.category is None:
            return f"no category: {model}; keywords: {self.keywords.reason()}"
        return (f"{self.category} by the {self.decided} (confidence {self.confidence:.2f});"
                f" {model}; keywords: {self.keywords.reason()}")


def choose(text, categoriser, model, threshold):
    """The ``CategoryChoice`` of ``text`` by ``categoriser``'s keywords and ``model``
    (None: the keywords alone), at the district's ``threshold``."""
    found = categoriser.categorise(text, threshold)
    if model is None:
        return CategoryChoice(found.category, found.confidence, KEYWORDS if found.category else None, found)
    scored = model.score(text, found.hits)
    chosen = dict(keywords=found, scored=scored, model_version=model.version)
    if scored.category not in categoriser.order or (
            found.category is not None and found.category not in model.categories):
        # the directory dropped the model's best since the training, or the keywords chose a
        # category added since: the model cannot weigh it, the keywords decide
        return CategoryChoice(found.category, found.confidence, KEYWORDS if found.category else None,
                              **chosen)
    if scored.probability < threshold:
        return CategoryChoice(None, scored.probability, None, **chosen)
    return CategoryChoice(scored.category, scored.probability,
                          BOTH if scored.category == found.category else MODEL, **chosen)
