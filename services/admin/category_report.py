"""``python -m services.admin category-report [--days N]``: where the keywords chose
wrong, and the words to add.

Over routing's stored tickets of the last ``days``: for each category the keywords
chose (a ``categorise`` timeline entry; ``none`` when they chose none), how many
tickets, and how many of them the liaison office then changed (a ``recategorise``
entry, when it dispatched with another category) and to what. Then, for each category
the office changed tickets to, the significant words those tickets share most that are
not yet among its keywords: the list of keywords to add to the directory.
"""
from collections import Counter, defaultdict
from dataclasses import dataclass

NONE = "none"
SUGGESTED_WORDS = 5


@dataclass(frozen=True)
class CategoryChanges:
    chosen: str  # what the keywords chose, or NONE
    tickets: int
    changed_to: Counter  # category → tickets the office changed to it


def read(conn, days):
    """``(chosen category per ticket, [(ticket words, from, to)])`` of the last ``days``."""
    chosen = {row["ticket_id"]: _chosen(row["note"]) for row in conn.execute(
        "SELECT ticket_id, note FROM routing.timeline WHERE action = 'categorise'"
        " AND at >= now() - make_interval(days => %s)", (days,))}
    changes = [(row["words"], *_change(row["note"])) for row in conn.execute(
        "SELECT t.words, e.note FROM routing.timeline e JOIN routing.tickets t USING (ticket_id)"
        " WHERE e.action = 'recategorise' AND e.at >= now() - make_interval(days => %s)"
        " ORDER BY e.id", (days,))]
    return chosen, changes


def _chosen(note):
    return NONE if note.startswith("no category") else note.split(" ", 1)[0]


def _change(note):
    before, _, after = note.partition(" → ")
    return before, after


def report(chosen, changes, categories):
    """``([CategoryChanges], {category: [(word, tickets)]})``, most changed first."""
    counted = Counter(chosen.values())
    changed = defaultdict(Counter)
    words_of = defaultdict(Counter)
    for words, before, after in changes:
        changed[before][after] += 1
        words_of[after].update(set(words))
    rows = sorted((CategoryChanges(code, counted[code], changed[code])
                   for code in set(counted) | set(changed)),
                  key=lambda row: (-sum(row.changed_to.values()), row.chosen))
    suggestions = {}
    for category, counter in sorted(words_of.items()):
        known = {keyword.lower() for keyword in categories.get(category, {}).get("keywords", [])}
        suggestions[category] = [(word, n) for word, n in counter.most_common()
                                 if word.lower() not in known and n >= 2][:SUGGESTED_WORDS]
    return rows, suggestions


def lines(rows, suggestions, days):
    """The report as printed."""
    out = [f"categories the keywords chose in the last {days} days, and the office's changes:",
           f"{'chosen':<24} {'tickets':>8} {'changed':>8}  changed to"]
    for row in rows:
        total = sum(row.changed_to.values())
        share = f" ({total / row.tickets:.0%})" if row.tickets else ""
        targets = ", ".join(f"{code} {n}" for code, n in row.changed_to.most_common())
        out.append(f"{row.chosen:<24} {row.tickets:>8} {total:>8}{share}  {targets}")
    out.append("keywords to add (words shared by the tickets the office moved there):")
    for category, words in suggestions.items():
        found = ", ".join(f"{word} ({n} tickets)" for word, n in words) or "none shared twice"
        out.append(f"  {category}: {found}")
    return out
