"""The project's labelled corpus: residents' texts, each with the category the liaison
office would give it, written for this project over the demo directory's categories.

``corpus/*.jsonl`` holds one text a line: ``{"text", "category", "lang" (zh or en),
"confounder"}``, where ``confounder`` says what in the text belongs to another category's
words without deciding the department: ``who`` is affected (老人 in a parking
complaint), ``where`` it is (学校门口), what it ``cause``-s (堵塞交通), an
``other-topic`` mentioned in passing, or null. It serves the evaluation of the keywords
and the model (``evaluation``) and can start a new deployment's
model before it has a history of its own.
"""
import json
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"


@dataclass(frozen=True)
class Example:
    text: str
    category: str
    lang: str
    confounder: str | None


def examples(folder=CORPUS):
    """Every example of the corpus in ``folder``, in file and line order."""
    found = []
    for path in sorted(Path(folder).glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                found.append(Example(row["text"], row["category"], row["lang"], row.get("confounder")))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path.name}:{number}: not an example ({exc})") from exc
    return found
