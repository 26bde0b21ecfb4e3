"""``python -m services.admin category-model``: train routing's category model, list the
models, switch them off, and evaluate the keywords and the model on the project's corpus.

    category-model train [--days N] [--with-corpus] [--dry-run]
        the tickets whose category the liaison office confirmed or corrected in the last N
        days (365), as routing lists them with its directory's categories, are the labels;
        ``--with-corpus`` adds the project's corpus (a deployment with little history yet).
        The model is cross-validated on them (``evaluation``), then uploaded: routing uses
        it from its next concern on.
    category-model list | category-model off
    category-model evaluate [--corpus DIR]
        the keywords alone, the model alone and both, on the corpus's held-out quarter and
        by five-fold cross-validation, with the demo directory's keywords (ZD_DIRECTORY)

Training needs scikit-learn (``pip install -e '.[learning]'``, in the image); routing
does not.
"""
from services.admin import category_evaluation, service_api
from services.admin.category_training import TooFewExamples, train
from services.routing.categories import DEFAULT_CONFIDENCE, Categoriser
from services.routing.learning import corpus

#: fewer labelled texts than this teach a model little but the training set by heart
MIN_EXAMPLES = 100


def trained(days, with_corpus=False, corpus_folder=corpus.CORPUS):
    """``(body, labelled tickets)``: a model of routing's labelled tickets (and the corpus),
    with its cross-validated ``evaluation``; not uploaded yet."""
    answer = service_api.labelled_tickets(days)
    categories = answer["categories"]
    texts = [row["text"] for row in answer["examples"]]
    labels = [row["category"] for row in answer["examples"]]
    if with_corpus:
        extra = [example for example in corpus.examples(corpus_folder) if example.category in categories]
        texts += [example.text for example in extra]
        labels += [example.category for example in extra]
    if len(texts) < MIN_EXAMPLES:
        raise TooFewExamples(
            f"{len(texts)} labelled texts, at least {MIN_EXAMPLES} are needed: the keywords alone"
            " keep deciding (--with-corpus adds the project's corpus to the history)")
    categoriser = Categoriser(categories)
    body = train(texts, labels, categoriser)
    body["examples"]["corrected"] = sum(row["corrected"] for row in answer["examples"])
    body["examples"]["tickets"] = len(answer["examples"])
    body["evaluation"] = evaluation(texts, labels, categoriser)
    return body


def evaluation(texts, labels, categoriser, threshold=DEFAULT_CONFIDENCE):
    """How the keywords and a model of these texts did by cross-validation (as few folds
    as the rarest category allows, up to five), at ``threshold``: for the model's record."""
    examples = [corpus.Example(text, label, "", None) for text, label in zip(texts, labels, strict=True)]
    smallest = min(labels.count(label) for label in set(labels))
    if smallest < 2:
        return {"method": "none: a category has a single example"}
    folds = min(category_evaluation.FOLDS, smallest)
    outcomes = category_evaluation.cross_validated(examples, categoriser, threshold, folds=folds)
    return {"method": f"{folds}-fold cross-validation at confidence {threshold}",
            **{method: {kind: round(outcome.share(kind), 4) for kind in ("right", "wrong", "undecided")}
               for method, outcome in outcomes.items()}}


def upload(body):
    """Routing stores ``body`` and uses it at once: its row."""
    return service_api.upload_category_model(body)


def trained_lines(body):
    """What training printed of its model."""
    examples = body["examples"]
    out = [f"trained on {examples['total']} texts ({examples.get('tickets', 0)} tickets,"
           f" {examples.get('corrected', 0)} corrected by the office), {len(body['features'])} features,"
           f" {len(body['categories'])} categories"]
    found = body.get("evaluation") or {}
    out.append(f"  {found.get('method', 'not evaluated')}")
    for method in category_evaluation.METHODS:
        if method in found:
            shares = found[method]
            out.append(f"  {method:<16} right {shares['right']:.1%}, wrong {shares['wrong']:.1%},"
                       f" undecided {shares['undecided']:.1%}")
    return out


def model_lines(models):
    """The models routing holds, as listed."""
    if not models:
        return ["no category model: the keywords alone decide"]
    return [f"v{row['version']:<4} {_state(row)} trained {row['trained_at'][:16]} on {row['examples']}"
            f" texts, uploaded {row['uploaded_at'][:16]} by {row['uploaded_by']}" for row in models]


def _state(row):
    return "in use " if row["in_use"] else "retired" if row["retired_at"] else "       "


def corpus_lines(categories, folder=corpus.CORPUS, threshold=DEFAULT_CONFIDENCE):
    """The evaluation of the corpus in ``folder`` with the directory's ``categories``, as
    printed: held out, and cross-validated."""
    examples = corpus.examples(folder)
    categoriser = Categoriser(categories)
    held, model = category_evaluation.held_out(examples, categoriser, threshold)
    out = category_evaluation.lines(
        f"held out: {held[category_evaluation.BOTH].total} of {len(examples)} texts, a model of the"
        f" other {len(examples) - held[category_evaluation.BOTH].total}, at confidence {threshold}", held)
    out.append("")
    out += category_evaluation.lines(
        f"{category_evaluation.FOLDS}-fold cross-validation: every text decided once", category_evaluation
        .cross_validated(examples, categoriser, threshold))
    return out
