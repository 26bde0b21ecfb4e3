"""A trained category model as data, and its scoring. Pure: no scikit-learn, no I/O.

The model is a multinomial logistic regression over the TF-IDF of a text's ``features``
(sublinear counts, each times its idf, the vector scaled to length one), as ``training``
fits it with scikit-learn and writes it out (``body``, JSON):

    {"format": 1, "categories": [code, ...], "intercepts": [b, ...],
     "features": {feature: [idf, weight of each category, ...]},
     "reads_keywords": true, "trained_at": ISO time,
     "examples": {"total": n, "corrected": n, "by_category": {...}}, "evaluation": {...}}

A model that ``reads_keywords`` (the one routing uses) has the keywords found among its
features; one that does not (the evaluation's "model alone") reads the text only.

Scoring a text is a sum over its features found in the model (some 100 for a sentence),
some 0.15 ms for a sentence over 13 categories (``make bench-categories``); a feature the
model never saw is left out, as scikit-learn's vectoriser leaves it out. Routing keeps
the ``version`` it gave the model when it stored it, so the timeline says which model
decided.
"""
import math
from dataclasses import dataclass

from services.routing.learning.features import features

FORMAT = 1
TOP_WORDS = 3


@dataclass(frozen=True)
class Scored:
    """The model's best ``category`` and its ``probability``, the ``ranking`` of every
    category ``((code, probability), ...)``, best first, and the ``top_words`` that weighed
    most for the best: ``((what was read, weight), ...)``."""
    category: str
    probability: float
    ranking: tuple
    top_words: tuple

    def describe(self):
        """``parking p 0.87 (乱停 0.41, 路口 0.12)``."""
        found = ", ".join(f"{word} {weight:.2f}" for word, weight in self.top_words)
        return f"{self.category} p {self.probability:.2f}" + (f" ({found})" if found else "")


class CategoryModel:
    """A trained model (its ``body``, as the training wrote it), ready to score texts;
    ``version`` is the number routing gave it (None before it was stored)."""

    def __init__(self, body, version=None):
        self.body = body
        self.version = version
        self.categories = tuple(body["categories"])
        self.intercepts = tuple(body["intercepts"])
        self.weights = {feature: (values[0], tuple(values[1:]))
                        for feature, values in body["features"].items()}
        self.trained_at = body.get("trained_at")
        self.reads_keywords = body.get("reads_keywords", True)

    def __repr__(self):
        return f"CategoryModel(version={self.version}, {len(self.weights)} features)"

    def score(self, text, keyword_hits=()):
        """The ``Scored`` of ``text``, whose keywords found are ``keyword_hits``."""
        return self.score_features(features(text, keyword_hits if self.reads_keywords else ()))

    def score_features(self, counted):
        """The ``Scored`` of a text's counted ``features``."""
        scaled = {}
        for feature, count in counted.items():
            known = self.weights.get(feature)
            if known is not None and count > 0:
                scaled[feature] = (1.0 + math.log(count)) * known[0]
        length = math.sqrt(sum(value * value for value in scaled.values())) or 1.0
        logits = list(self.intercepts)
        for feature, value in scaled.items():
            share = value / length
            for index, weight in enumerate(self.weights[feature][1]):
                logits[index] += share * weight
        top = max(logits)
        exponentials = [math.exp(logit - top) for logit in logits]
        total = sum(exponentials)
        ranking = sorted(((code, exponential / total) for code, exponential
                          in zip(self.categories, exponentials, strict=True)), key=lambda pair: -pair[1])
        best = ranking[0][0]
        index = self.categories.index(best)
        weighed = {}  # what was read → its weight: 大雨 as characters and as a word, summed
        for feature, value in scaled.items():
            read = _readable(feature)
            weighed[read] = weighed.get(read, 0.0) + value / length * self.weights[feature][1][index]
        top_words = tuple((read, round(weight, 4)) for read, weight
                          in sorted(weighed.items(), key=lambda pair: -pair[1])[:TOP_WORDS] if weight > 0)
        return Scored(best, ranking[0][1], tuple(ranking), top_words)


def _readable(feature):
    """What a feature read, for people: 乱停, park car, keywords of parking."""
    kind, _, read = feature.partition(":")
    return f"keywords of {read}" if kind == "k" else read
