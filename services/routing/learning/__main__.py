"""``python -m services.routing.learning``: the category model's training and evaluation.

    train     read ``{"labelled": [...], "categories": {...}, "with_corpus": bool}`` as JSON
              on stdin, write the trained model's body as JSON on stdout; exit 3 with the
              reason on stderr when there is too little to learn from, 1 with the
              traceback without the errors' texts (they may quote a resident's) when the
              training fails. Routing runs it as a process of its own when the admin asks
              for a model, and logs that traceback.
    evaluate [--corpus DIR] [--directory FILE[,FILE]]
              the keywords alone, a model alone and both on the corpus (the project's),
              with the keywords of the directory the admin CLI loads (ZD_DIRECTORY; in a
              checkout, the demo one), as printed
"""
import argparse
import json
import os
import sys
from pathlib import Path

from services.common.directory import load_directory
from services.common.tracebacks import traceback_without_text
from services.routing.categories import DEFAULT_CONFIDENCE, Categoriser
from services.routing.learning import corpus, evaluation, training

#: in a checkout; the image has none (a deployment mounts its own and names it in ZD_DIRECTORY)
DEMO_DIRECTORY = Path(__file__).resolve().parents[3] / "deploy" / "directory.yaml"
TOO_FEW = 3  # the exit status routing reads as: too little to learn from
FAILED = 1
TRAINING_NICENESS = 10  # the routing process it serves goes first


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m services.routing.learning", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["train", "evaluate"])
    parser.add_argument("--corpus", default=str(corpus.CORPUS), help="evaluate: a folder of *.jsonl")
    parser.add_argument("--directory", default=os.environ.get("ZD_DIRECTORY", str(DEMO_DIRECTORY)),
                        help="evaluate: its keywords (default ZD_DIRECTORY, comma-separated)")
    args = parser.parse_args(argv)
    if args.action == "evaluate":
        try:
            directory = load_directory(args.directory.split(","))
        except OSError as exc:
            sys.exit(f"directory not read: {exc}")
        categoriser = Categoriser(directory["categories"])
        print("\n".join(evaluation.corpus_lines(categoriser, args.corpus, DEFAULT_CONFIDENCE)))
        return
    os.nice(TRAINING_NICENESS)
    asked = json.load(sys.stdin)
    try:
        body = training.trained_body(asked["labelled"], asked["categories"], asked.get("with_corpus", False))
    except training.TooFewExamples as exc:
        print(exc, file=sys.stderr)
        sys.exit(TOO_FEW)
    except Exception as exc:  # routing logs what this prints: never the residents' texts
        print(traceback_without_text(exc), file=sys.stderr)
        sys.exit(FAILED)
    json.dump(body, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
