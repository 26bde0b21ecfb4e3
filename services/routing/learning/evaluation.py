"""How well categories are chosen: the keywords alone, a model of the text alone, and both
together (a model that reads the keywords found, chosen as routing's ``choice`` does), on
labelled texts the models did not learn from.

``held_out`` trains on three quarters of the examples (split per category, the same
split every run) and decides the other quarter; ``cross_validated`` does it five times
over, so that every example is decided once by a model that did not see it. Each
method's ``Outcome`` counts the texts decided right, decided wrong and left undecided
(the office decides), with precision and recall per category and the confusions.
``lines`` prints them; ``python -m services.routing.learning evaluate`` (``make
evaluate-categories``) runs it on the project's corpus (``corpus``) with the demo
directory's keywords; ``make bench-categories`` times the choice too.
"""
from collections import Counter
from dataclasses import dataclass, field

from services.routing.categories import DEFAULT_CONFIDENCE
from services.routing.learning import corpus
from services.routing.learning.choice import choose
from services.routing.learning.model import CategoryModel
from services.routing.learning.training import train

KEYWORDS, MODEL, BOTH = "keywords alone", "model alone", "both"
METHODS = (KEYWORDS, MODEL, BOTH)
TEST_SHARE = 0.25
FOLDS = 5
SEED = 20261206  # the split is the same every run: figures can be compared


@dataclass
class Outcome:
    """What one method decided of labelled texts."""
    pairs: list = field(default_factory=list)  # (label, decided: a category, or None: undecided)

    def add(self, label, decided):
        self.pairs.append((label, decided))

    @property
    def total(self):
        return len(self.pairs)

    def share(self, kind):
        """The share of texts decided ``right``, ``wrong`` or left ``undecided``."""
        counts = Counter("undecided" if decided is None else "right" if decided == label else "wrong"
                         for label, decided in self.pairs)
        return counts[kind] / self.total if self.total else 0.0

    def per_category(self):
        """``{category: (precision, recall, texts)}``: of the texts given the category, the
        share right; of the texts labelled with it, the share given it."""
        figures = {}
        for code in sorted({label for label, _ in self.pairs}):
            given = [label for label, decided in self.pairs if decided == code]
            labelled = [decided for label, decided in self.pairs if label == code]
            precision = given.count(code) / len(given) if given else 0.0
            figures[code] = (precision, labelled.count(code) / len(labelled), len(labelled))
        return figures

    def confusions(self):
        """``Counter({(label, wrongly decided): texts})``."""
        return Counter((label, decided) for label, decided in self.pairs
                       if decided is not None and decided != label)


def decide(train_examples, test_examples, categoriser, threshold, methods=METHODS):
    """Each method's ``Outcome`` on ``test_examples``, and the model that reads the keywords,
    trained on ``train_examples``: the keywords alone; a model of the text alone at the
    threshold (only when ``methods`` ask for it: a second training); the keywords and a
    model that reads them, chosen as routing chooses."""
    texts, labels = [e.text for e in train_examples], [e.category for e in train_examples]
    model = CategoryModel(train(texts, labels, categoriser), version=0)
    text_only = (CategoryModel(train(texts, labels, categoriser, reads_keywords=False), version=0)
                 if MODEL in methods else None)
    outcomes = {method: Outcome() for method in methods}
    for example in test_examples:
        chosen = choose(example.text, categoriser, model, threshold)
        outcomes[KEYWORDS].add(example.category, chosen.keywords.category)
        outcomes[BOTH].add(example.category, chosen.category)
        if text_only is not None:
            alone = text_only.score(example.text)
            outcomes[MODEL].add(example.category, alone.category if alone.probability >= threshold else None)
    return outcomes, model


def split(examples, test_share=TEST_SHARE):
    """``(training, held out)``, per category, the same every run."""
    from sklearn.model_selection import train_test_split

    training, held_out = train_test_split(examples, test_size=test_share, random_state=SEED,
                                          stratify=[e.category for e in examples])
    return training, held_out


def held_out(examples, categoriser, threshold):
    """``({method: Outcome}, model)`` on the held-out quarter."""
    training, testing = split(examples)
    return decide(training, testing, categoriser, threshold)


def cross_validated(examples, categoriser, threshold, folds=FOLDS, methods=METHODS):
    """``{method: Outcome}`` pooled over ``folds`` folds: every example decided once."""
    from sklearn.model_selection import StratifiedKFold

    pooled = {method: Outcome() for method in methods}
    labels = [e.category for e in examples]
    for training, testing in StratifiedKFold(folds, shuffle=True, random_state=SEED).split(examples, labels):
        outcomes, _ = decide([examples[i] for i in training], [examples[i] for i in testing],
                             categoriser, threshold, methods)
        for method, outcome in outcomes.items():
            pooled[method].pairs += outcome.pairs
    return pooled


def lines(title, outcomes):
    """The table of ``outcomes`` (``{method: Outcome}``), as printed."""
    out = [title, f"{'':<24}" + "".join(f"{method:>22}" for method in outcomes)]
    for kind in ("right", "wrong", "undecided"):
        out.append(f"{kind:<24}" + "".join(f"{outcome.share(kind):>22.1%}" for outcome in outcomes.values()))
    out.append(f"{'precision / recall':<24}" + "".join(f"{'':>22}" for _ in outcomes))
    figures = {method: outcome.per_category() for method, outcome in outcomes.items()}
    for code in next(iter(figures.values())):
        cells = "".join(f"{f'{figures[m][code][0]:.0%} / {figures[m][code][1]:.0%}':>22}" for m in outcomes)
        out.append(f"  {code:<22}" + cells)
    texts = next(iter(outcomes.values())).total
    out.append(f"({texts} texts)")
    for method, outcome in outcomes.items():
        worst = ", ".join(f"{label} → {decided} {n}"
                          for (label, decided), n in outcome.confusions().most_common(5))
        out.append(f"wrong, {method}: {worst or 'none'}")
    return out


def corpus_lines(categoriser, folder=corpus.CORPUS, threshold=DEFAULT_CONFIDENCE):
    """The evaluation of the corpus in ``folder`` with ``categoriser``'s keywords, as
    printed: held out, and cross-validated."""
    examples = corpus.examples(folder)
    held, _ = held_out(examples, categoriser, threshold)
    tested = held[BOTH].total
    out = lines(f"held out: {tested} of {len(examples)} texts, models of the other {len(examples) - tested},"
                f" at confidence {threshold}", held)
    out.append("")
    return out + lines(f"{FOLDS}-fold cross-validation: every text decided once",
                       cross_validated(examples, categoriser, threshold))
