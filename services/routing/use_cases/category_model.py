"""The category model, for the admin: trained from routing's own history, kept by
version, and switched off.

Training reads the tickets whose category the liaison office confirmed or corrected
(``store.labelled_tickets``) and the directory's categories, then runs ``python -m
services.routing.learning train`` as a process of its own, the tickets on its stdin and
the model's body on its stdout: scikit-learn's CPU for a large history never holds this
process's hub (the child is waited for cooperatively), runs at a lower priority, on one
thread (BLAS would take every core), and leaves no memory behind. One training at a time
in the whole deployment: the transaction that reads the history takes an advisory lock
and keeps it until the model is stored; a second request meanwhile is refused (409).
The model is in use at once in this instance, and in the others within
``store.MODEL_CHECK_SECONDS``.
"""
import json
import logging
import os
import subprocess
import sys

from eventlet.green import subprocess as green_subprocess

from services.common.errors import Conflict, Problem
from services.common.local_directory import current_directory
from services.routing import store

log = logging.getLogger(__name__)

TRAINING_SECONDS = 1800
TRAINING = [sys.executable, "-m", "services.routing.learning", "train"]
TOO_FEW = 3  # the training's exit status when there is too little to learn from
#: the child's BLAS and OpenMP on one thread each: routing keeps the other cores
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
TRAINING_LOCK = 0x7A64_6361  # the advisory lock that lets one training run at a time
#: under eventlet's monkey patching, a green subprocess raises the TimeoutExpired of
#: eventlet's own copy of the module, another class than the standard library's
TIMED_OUT = (subprocess.TimeoutExpired, green_subprocess.subprocess_orig.TimeoutExpired)


class TrainingFailed(Problem):
    status, title = 500, "The category model could not be trained"


def train(db, days, with_corpus, trained_by, command=TRAINING, seconds=TRAINING_SECONDS):
    """Train a model of the last ``days`` days' labelled tickets (and the corpus) and
    keep it in use: its row, without the body."""
    with db.transaction() as conn:
        free = conn.execute("SELECT pg_try_advisory_xact_lock(%s) AS free", (TRAINING_LOCK,)).fetchone()
        if not free["free"]:
            raise Conflict("A category model is being trained already: ask again when it is done.")
        labelled = store.labelled_tickets(conn, days)
        categories = current_directory(conn)["categories"]
        body = trained_apart({"labelled": labelled, "categories": categories, "with_corpus": with_corpus},
                             command, seconds)
        saved = store.save_category_model(conn, body, trained_by)
    store.forget_category_model()
    return saved


def retire(db):
    """No model is used any more, from the next concern on: how many were retired."""
    with db.transaction() as conn:
        retired = store.retire_category_models(conn)
    store.forget_category_model()
    return retired


def trained_apart(asked, command=TRAINING, seconds=TRAINING_SECONDS):
    """The body ``command`` trains from ``asked``, in a process of its own."""
    try:
        done = subprocess.run(command, input=json.dumps(asked, ensure_ascii=False).encode(),
                              capture_output=True, timeout=seconds, check=False,
                              env={**os.environ, **ONE_THREAD})
    except TIMED_OUT as exc:
        raise TrainingFailed(f"Training took more than {seconds} s: train on fewer days.") from exc
    if done.returncode == TOO_FEW:
        raise Conflict(done.stderr.decode(errors="replace").strip().splitlines()[-1])
    if done.returncode != 0:
        log.error("training the category model failed (exit %s): %s", done.returncode,
                  done.stderr.decode(errors="replace")[-2000:])
        raise TrainingFailed("Training failed; routing's log says why.")
    return json.loads(done.stdout)
