"""Training the category model from labelled texts, with scikit-learn: in a process of
its own (``python -m services.routing.learning train``, which routing starts when the
admin asks), so that routing's workers go on meanwhile; routing scores the result
without scikit-learn.

``train`` fits a multinomial logistic regression on the TF-IDF of each text's
``features`` (routing's own function, so training and scoring read texts alike) and
returns the model's ``body`` (``services.routing.learning.model``): every feature kept
with its idf and its weight for each category. Features found in fewer than
``MIN_TEXTS`` texts are left out (a typo, a street name: they would only learn the
training set by heart), and at most ``MAX_FEATURES`` are kept, the most widespread, so
that a model of a large history stays a few MB.
"""
from collections import Counter
from datetime import UTC, datetime

from services.routing.categories import DEFAULT_CONFIDENCE, Categoriser
from services.routing.learning import corpus
from services.routing.learning.features import features
from services.routing.learning.model import FORMAT

MIN_TEXTS = 2
#: fewer labelled texts than this teach a model little but its training set by heart
MIN_EXAMPLES = 100
#: the folds of the cross-validation kept with a model: three trainings on two thirds
#: each, where five would take two more for a record a few points more exact
RECORD_FOLDS = 3
MAX_FEATURES = 60000
#: the inverse of the regularisation's strength, chosen on the corpus (1,841 texts) at the
#: default threshold (0.6), keywords and model, held out and by five-fold cross-validation:
#: 30 gave 61 % and 65 % right, 1.7 % and 2.0 % wrong; 60 gave 66 % and 70 %, 2.6 % and
#: 2.9 %; 100 gave 68 % and 74 %, 3.5 % and 3.4 %: 60 is the most right within 3 % wrong.
#: Stronger weights make surer probabilities, more of them past the threshold, the wrong
#: ones too.
REGULARISATION_C = 60.0
DECIMALS = 5  # weights are rounded: a model file a third of the size, the same decisions


class TooFewExamples(Exception):
    """There is not enough to learn from; the text says what is missing."""


def counted_features(texts, categoriser):
    """Each text's counted ``features``, its keywords found by ``categoriser`` (None: a
    model that reads the text only)."""
    return [features(text, categoriser.categorise(text).hits if categoriser else ()) for text in texts]


def train(texts, labels, categoriser, trained_at=None, regularisation=REGULARISATION_C,
          reads_keywords=True):
    """The body of a model trained on ``texts`` and their category ``labels``, reading the
    keywords ``categoriser`` finds unless ``reads_keywords`` is false."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression

    by_category = Counter(labels)
    if len(by_category) < 2:
        raise TooFewExamples(f"{len(texts)} labelled texts of {len(by_category)} category: a model"
                             " needs texts of at least two categories")
    counted = counted_features(texts, categoriser if reads_keywords else None)
    kept = _kept_features(counted)
    vectoriser = DictVectorizer(sort=True)
    matrix = vectoriser.fit_transform([{f: n for f, n in text.items() if f in kept} for text in counted])
    tfidf = TfidfTransformer(sublinear_tf=True)
    weighted = tfidf.fit_transform(matrix)
    classifier = LogisticRegression(C=regularisation, max_iter=5000)
    classifier.fit(weighted, labels)
    categories = [str(code) for code in classifier.classes_]
    coefficients, intercepts = classifier.coef_, classifier.intercept_
    if len(categories) == 2:  # one row of weights: the second category's against the first
        coefficients = [[0.0] * coefficients.shape[1], coefficients[0]]
        intercepts = [0.0, intercepts[0]]
    names = vectoriser.get_feature_names_out()
    return {
        "format": FORMAT,
        "categories": categories,
        "intercepts": [round(float(value), DECIMALS) for value in intercepts],
        "features": {str(name): [round(float(tfidf.idf_[column]), DECIMALS),
                                 *(round(float(row[column]), DECIMALS) for row in coefficients)]
                     for column, name in enumerate(names)},
        "reads_keywords": reads_keywords,
        "trained_at": (trained_at or datetime.now(UTC)).isoformat(),
        "examples": {"total": len(texts), "by_category": dict(sorted(by_category.items()))},
    }


def _kept_features(counted):
    """The features of at least ``MIN_TEXTS`` texts, at most ``MAX_FEATURES`` of them,
    the most widespread (ties by name, so that training is repeatable)."""
    spread = Counter(feature for text in counted for feature in text)
    widespread = sorted((feature for feature, texts in spread.items() if texts >= MIN_TEXTS),
                        key=lambda feature: (-spread[feature], feature))
    return set(widespread[:MAX_FEATURES])


def trained_body(labelled, categories, with_corpus=False, corpus_folder=corpus.CORPUS):
    """The body of a model of routing's ``labelled`` tickets (``[{text, category,
    corrected}]``) and, ``with_corpus``, the project's corpus, reading the keywords of the
    directory's ``categories``; with its cross-validated ``evaluation``."""
    labelled = [row for row in labelled if row["category"] in categories]  # not one dropped since
    texts = [row["text"] for row in labelled]
    labels = [row["category"] for row in labelled]
    if with_corpus:
        extra = [example for example in corpus.examples(corpus_folder) if example.category in categories]
        texts += [example.text for example in extra]
        labels += [example.category for example in extra]
    if len(texts) < MIN_EXAMPLES:
        raise TooFewExamples(
            f"{len(texts)} labelled texts, at least {MIN_EXAMPLES} are needed: the keywords alone"
            " keep deciding (with_corpus adds the project's corpus to the history)")
    categoriser = Categoriser(categories)
    body = train(texts, labels, categoriser)
    body["examples"].update(tickets=len(labelled), corrected=sum(bool(row["corrected"]) for row in labelled))
    body["evaluation"] = cross_validated_record(texts, labels, categoriser)
    return body


def cross_validated_record(texts, labels, categoriser, threshold=DEFAULT_CONFIDENCE):
    """How the keywords alone and the keywords with a model of these texts did by
    cross-validation (as many folds as the rarest category allows, up to
    ``RECORD_FOLDS``), at ``threshold``: kept with the model. A model of the text alone is
    left out: it would double the training's time, and routing never uses one."""
    from services.routing.learning import evaluation

    smallest = min(labels.count(label) for label in set(labels))
    if smallest < 2:
        return {"method": "none: a category has a single example"}
    folds = min(RECORD_FOLDS, smallest)
    examples = [corpus.Example(text, label, "", None) for text, label in zip(texts, labels, strict=True)]
    outcomes = evaluation.cross_validated(examples, categoriser, threshold, folds=folds,
                                          methods=(evaluation.KEYWORDS, evaluation.BOTH))
    return {"method": f"{folds}-fold cross-validation at confidence {threshold}",
            **{method: {kind: round(outcome.share(kind), 4) for kind in ("right", "wrong", "undecided")}
               for method, outcome in outcomes.items()}}
