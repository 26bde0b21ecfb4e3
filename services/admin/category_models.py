"""``python -m services.admin category-model``: routing's category model, asked over its API
(``service_api``), laid out for the operator.

    category-model train [--days N] [--with-corpus]
        routing trains a model on the tickets whose category the liaison office confirmed
        or corrected in the last N days (365), ``--with-corpus`` adding the project's
        corpus (a deployment with little history yet), and uses it at once; printed: what
        it learned from and how it did by cross-validation
    category-model list | category-model off

The corpus's own evaluation, which needs no running service, is routing's:
``python -m services.routing.learning evaluate`` (``make evaluate-categories``).
"""
METHODS = ("keywords alone", "both")  # what routing's cross-validation compares, in this order


def trained_lines(model):
    """What training printed of routing's answer (the model's row)."""
    out = [f"v{model['version']} trained on {model['examples']} texts and in use"]
    found = model.get("evaluation") or {}
    out.append(f"  {found.get('method', 'not evaluated')}")
    for method in METHODS:
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
            f" texts by {row['uploaded_by']}" for row in models]


def _state(row):
    return "in use " if row["in_use"] else "retired" if row["retired_at"] else "       "
