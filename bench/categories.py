"""``make bench-categories``: how long choosing a concern's category takes, and how well it
is chosen, on the project's corpus with the demo directory's keywords.

A model is trained on three quarters of the corpus (the evaluation's split), then every
text of the corpus is categorised as routing does it: its words cut first (routing cuts
every concern before choosing: the choice finds them in the cache), then the keywords
and the model together (``services.routing.learning.choice.choose``). Each text is
timed ``ROUNDS`` times, the keywords alone and with the model, and again with the words'
cache emptied before each (a text never seen). It prints the median and 99th percentile
per concern, and the evaluation table of the held-out quarter. Figures only: nothing here
passes or fails on time.
"""
import json
import os
import statistics
import time
from datetime import date
from pathlib import Path

from services.common.directory import load_directory
from services.common.words import _cached_words, load, words
from services.routing.categories import DEFAULT_CONFIDENCE, Categoriser
from services.routing.learning.choice import choose
from services.routing.learning.corpus import examples
from services.routing.learning.evaluation import BOTH, held_out, lines

ROUNDS = int(os.environ.get("ZD_BENCH_ROUNDS", "5"))
DIRECTORY = Path(__file__).resolve().parents[1] / "deploy" / "directory.yaml"
RESULTS = Path(__file__).resolve().parent / "results"


def timed(texts, categoriser, model, cold):
    """Microseconds per choice of each text, ``ROUNDS`` times: ``(median, p99)``."""
    spent = []
    for _ in range(ROUNDS):
        for text in texts:
            if cold:
                _cached_words.cache_clear()
            else:
                words(text)
            started = time.perf_counter()
            choose(text, categoriser, model, DEFAULT_CONFIDENCE)
            spent.append((time.perf_counter() - started) * 1e6)
    return statistics.median(spent), statistics.quantiles(spent, n=100)[98]


def main():
    load()
    corpus = examples()
    categoriser = Categoriser(load_directory([str(DIRECTORY)])["categories"])
    trained_at = time.perf_counter()
    outcomes, model = held_out(corpus, categoriser, DEFAULT_CONFIDENCE)
    training_seconds = time.perf_counter() - trained_at
    texts = [example.text for example in corpus]
    figures = {
        "texts": len(texts), "features": len(model.weights), "training_seconds": round(training_seconds, 2),
        "keywords_alone_us": timed(texts, categoriser, None, cold=False),
        "with_the_model_us": timed(texts, categoriser, model, cold=False),
        "with_the_model_words_uncut_us": timed(texts, categoriser, model, cold=True),
        "held_out": {method: {kind: round(outcome.share(kind), 4) for kind in ("right", "wrong", "undecided")}
                     for method, outcome in outcomes.items()},
    }
    print(f"categorising {len(texts)} texts x {ROUNDS}, µs per concern (median, p99):")
    for name in ("keywords_alone_us", "with_the_model_us", "with_the_model_words_uncut_us"):
        median, p99 = figures[name]
        print(f"  {name[:-3].replace('_', ' '):<32} {median:8.0f} {p99:8.0f}")
    print(f"the model: {figures['features']} features, trained in {training_seconds:.1f} s on"
          f" {len(texts) - outcomes[BOTH].total} texts")
    print("\n".join(lines(f"held out: {outcomes[BOTH].total} texts", outcomes)))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"categories-{date.today().isoformat()}.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
