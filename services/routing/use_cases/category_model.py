"""The category model, for the admin: trained from routing's own history, kept by
version, and switched off.

Training reads the tickets whose category the liaison office confirmed or corrected
(``store.labelled_tickets``) and the directory's categories in one transaction, then
runs ``python -m services.routing.learning train`` as a process of its own, the tickets
on its stdin and the model's body on its stdout: scikit-learn's minutes of CPU for a
large history never hold this service's workers (the child process is waited for
cooperatively) nor a transaction. The model is stored in a second transaction and is in
use from the next concern on, in every routing instance (``store.current_category_model``).
"""
import json
import logging
import subprocess
import sys

from services.common.errors import Conflict, Problem
from services.common.local_directory import current_directory
from services.routing import store

log = logging.getLogger(__name__)

TRAINING_SECONDS = 1800
TOO_FEW = 3  # the training's exit status when there is too little to learn from


class TrainingFailed(Problem):
    status, title = 500, "The category model could not be trained"


def train(db, days, with_corpus, trained_by):
    """Train a model of the last ``days`` days' labelled tickets (and the corpus) and
    keep it in use: its row, without the body."""
    with db.transaction() as conn:
        labelled = store.labelled_tickets(conn, days)
        categories = current_directory(conn)["categories"]
    body = _trained_apart({"labelled": labelled, "categories": categories, "with_corpus": with_corpus})
    with db.transaction() as conn:
        return store.save_category_model(conn, body, trained_by)


def _trained_apart(asked):
    try:
        done = subprocess.run([sys.executable, "-m", "services.routing.learning", "train"],
                              input=json.dumps(asked, ensure_ascii=False).encode(), capture_output=True,
                              timeout=TRAINING_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        raise TrainingFailed(f"Training took more than {TRAINING_SECONDS} s: train on fewer days.") from exc
    if done.returncode == TOO_FEW:
        raise Conflict(done.stderr.decode(errors="replace").strip())
    if done.returncode != 0:
        log.error("training the category model failed (exit %s): %s", done.returncode,
                  done.stderr.decode(errors="replace")[-2000:])
        raise TrainingFailed("Training failed; routing's log says why.")
    return json.loads(done.stdout)
