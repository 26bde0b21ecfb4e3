"""Hot topics: which concerns of a report window are about the same thing.

Owns the grouping of a window's tickets into hot topics, with their growth over the
window before (``hot_topics``), the report made of them (``hot_topics_answer``), and
the words kept with a ticket (``ticket_words``). Pure: no nameko, kombu or psycopg; the
caller reads the tickets' rows into a ``TopicQuestion`` and serves the answer.

The significant words of a text are cut by ``services.common.words`` (``words`` and
``load`` are importable from here too; ``load()`` at service start loads jieba's
dictionary ahead). Cutting is the cost of ``hot_topics`` (some 400,000 characters a
second: 0.7 s for 10,000 texts of 30 characters, 3 s for 120; the grouping takes
0.1 s), which is why that module caches the words of recent texts: report windows
overlap and the same texts come back. The grouping grows with the number of tickets,
not its square (``_linked``): 0.6 s for 20,000 short texts of one bucket that all
share words, some 3 s for 20,000 of thirty words each, still too long for an event
loop (see ``services.reporting.topic_runs``).
"""
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations, islice

from services.common.words import load, words
from services.reporting.figures import RESOLVED_STATUSES

__all__ = ["FINISHED_STATUSES", "LINKED_WORDS", "TOP_WORDS", "TopicQuestion", "TopicTicket", "hot_topics",
           "hot_topics_answer", "joined_words", "load", "ticket_words", "words"]

#: statuses of a ticket nobody works on any more; the others are open
FINISHED_STATUSES = frozenset({*RESOLVED_STATUSES, "merged", "rejected"})
TOP_WORDS = 5
#: the words of a text that link it to others: its first ones, the title's and the first
#: sentences', where a concern says what it is about. Linking costs the square of a
#: text's words, and a description may have a thousand
LINKED_WORDS = 32


@dataclass(frozen=True)
class TopicTicket:
    """What hot topics read of a ticket: ``text`` is its title and description."""
    ticket_id: str
    category: str | None
    community: str | None
    text: str
    status: str
    received_at: datetime
    words: str = None  # the text's words as ``joined_words`` keeps them; None: cut the text


@dataclass(frozen=True)
class TopicQuestion:
    """A hot-topics report to answer: its ``district`` (None: all), ``days`` ending at
    ``end`` (from ``start``), at most ``limit`` groups, and the rows read of the window's
    tickets (``current``) and of the window before (``previous``), as ``TopicTicket``
    fields."""
    district: str | None
    days: int
    limit: int
    start: datetime
    end: datetime
    current: list
    previous: list


def hot_topics_answer(question):
    """The hot-topics report (docs/reference.md#reporting-api) of a ``TopicQuestion``."""
    groups = hot_topics([TopicTicket(**row) for row in question.current],
                        [TopicTicket(**row) for row in question.previous], question.limit)
    return {"district": question.district, "days": question.days, "from": question.start.isoformat(),
            "to": question.end.isoformat(), "tickets": len(question.current), "groups": groups}


def joined_words(text):
    """``words(text)`` as one string, to be kept with the text (``TopicTicket.words``)."""
    return " ".join(words(text))


def ticket_words(title, description):
    """The words kept with a ticket: ``joined_words`` of its title and description, the
    text hot topics read of it (``TopicTicket.text``)."""
    return joined_words(" ".join(part for part in (title, description) if part))


def _ticket_words(ticket):
    if ticket.words is not None:
        return tuple(ticket.words.split(" ")) if ticket.words else ()
    return words(ticket.text)


def _linked_words(ticket_words):
    """The first ``LINKED_WORDS`` different words of a text, those it is linked by."""
    return frozenset(islice(dict.fromkeys(ticket_words), LINKED_WORDS))


def hot_topics(current, previous=(), limit=20, min_shared=2):
    """The largest groups of similar concerns among ``current`` (a window's tickets),
    at most ``limit``, the same for the same tickets in any order.

    Similar concerns have the same category and the same community (None is a value
    of its own) and texts that share words: two tickets are linked when they share
    ``min_shared`` significant words among their first ``LINKED_WORDS``, or all those
    of one that has fewer; a group is a set of tickets linked directly or through
    others. A ticket alone is no topic and is left out: hot means several people
    raised it, and single tickets are in the ordinary reports already.

    Each group: its ``category`` and ``community``, ``communities`` (sorted, those
    that are not None), ``count``, ``previous_count`` (tickets of ``previous``, the
    window before, of the same category and community that share ``min_shared`` of
    the group's top words, or all the words of one that has fewer: a previous ticket
    may count for two groups), ``growth`` (count - previous_count), ``top_words``
    (the words most of its tickets have, then by word), ``ticket_ids`` (sorted),
    ``open`` (not resolved, closed, merged or rejected) and ``resolved`` (resolved or
    closed). Largest first, then fastest growing, then by category, community and
    first ticket id (None after names).

    The cost grows with the number of tickets, not its square (see ``_linked``); it
    is still seconds of CPU for tens of thousands of long texts, so a service runs it
    off its event loop.
    """
    if min_shared < 1:
        raise ValueError("min_shared must be at least 1")
    groups = []
    for (category, community), bucket in _buckets(current).items():
        vocabularies = [_ticket_words(ticket) for ticket in bucket]
        for members in _linked([_linked_words(found) for found in vocabularies], min_shared):
            if len(members) > 1:
                groups.append(_group(category, community, [bucket[i] for i in members],
                                     [frozenset(vocabularies[i]) for i in members]))
    groups = _contenders(groups, limit)
    _count_previous(groups, previous, min_shared)
    groups.sort(key=_rank)
    return groups[:max(limit, 0)]


def _contenders(groups, limit):
    """The groups that may be among the ``limit`` first: those at least as large as
    the ``limit``-th largest (the window before only orders groups of one size)."""
    if limit < 1:
        return []
    if len(groups) <= limit:
        return groups
    smallest = sorted((group["count"] for group in groups), reverse=True)[limit - 1]
    return [group for group in groups if group["count"] >= smallest]


def _buckets(tickets):
    """Tickets by (category, community), each bucket in ticket id order."""
    buckets = defaultdict(list)
    last = None
    for ticket in sorted(tickets, key=lambda ticket: ticket.ticket_id):
        if ticket.ticket_id == last:
            raise ValueError(f"ticket {ticket.ticket_id} is given twice")
        buckets[(ticket.category, ticket.community)].append(ticket)
        last = ticket.ticket_id
    return buckets


def _linked(vocabularies, min_shared):
    """The groups (lists of positions, ascending) of linked vocabularies.

    Identical vocabularies are one node, and links join nodes in a union-find whose
    root is the smallest node. No pair of nodes is ever compared. Two vocabularies
    share ``min_shared`` words when, in sorted order, the first ``min_shared - 1`` of
    those (a run) and the last are the same: so each node is listed under each run of
    its words, and within each list a node joins the first one that had any of its
    words after the run. A vocabulary of fewer words joins those having all of them,
    found by looking its parts up. The cost is some n × k^min_shared / 2 for n nodes
    of k words (``LINKED_WORDS`` at most), not n² × shared words: 20,000 texts of
    thirty words that all share words take 3 s, against 40 s comparing pairs.
    """
    nodes = {}  # vocabulary → its node
    node_of = []
    for vocabulary in vocabularies:
        node_of.append(nodes.setdefault(vocabulary, len(nodes)) if vocabulary else None)
    parent = list(range(len(nodes)))

    def root(node):
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def join(node, others):
        mine = root(node)
        for other in others:
            theirs = root(other)
            if theirs < mine:
                parent[mine] = mine = theirs
            elif theirs > mine:
                parent[theirs] = mine

    ordered = [sorted(vocabulary) for vocabulary in nodes]
    fewer = {vocabulary: node for vocabulary, node in nodes.items() if len(vocabulary) < min_shared}
    runs = defaultdict(list)  # min_shared - 1 words → (node, where its later words begin)
    for node, words_of_node in enumerate(ordered):
        if fewer:
            for size in range(1, min(len(words_of_node), min_shared)):
                join(node, {fewer[part] for part in map(frozenset, combinations(words_of_node, size))
                            if part in fewer})
        if len(words_of_node) >= min_shared:
            for run in combinations(range(len(words_of_node) - 1), min_shared - 1):
                later = run[-1] + 1 if run else 0
                runs[tuple(words_of_node[position] for position in run)].append((node, later))
    for members in runs.values():
        # a list whose nodes are joined already adds nothing: common words are skipped
        # at the cost of one look at each node
        if len(members) > 1 and len({root(node) for node, _ in members}) > 1:
            first_having = {}  # a later word → the first node of this list that has it
            for node, later in members:
                join(node, {first_having.setdefault(word, node) for word in ordered[node][later:]} - {node})
    members = defaultdict(list)
    for position, node in enumerate(node_of):
        members[("node", root(node)) if node is not None else ("alone", position)].append(position)
    return list(members.values())


def _group(category, community, tickets, vocabularies):
    frequency = Counter(word for vocabulary in vocabularies for word in vocabulary)
    return {
        "category": category, "community": community,
        "communities": sorted({ticket.community for ticket in tickets} - {None}),
        "count": len(tickets), "previous_count": 0, "growth": len(tickets),
        "top_words": sorted(frequency, key=lambda word: (-frequency[word], word))[:TOP_WORDS],
        "ticket_ids": [ticket.ticket_id for ticket in tickets],
        "open": sum(ticket.status not in FINISHED_STATUSES for ticket in tickets),
        "resolved": sum(ticket.status in RESOLVED_STATUSES for ticket in tickets),
    }


def _count_previous(groups, previous, min_shared):
    """Set each group's ``previous_count`` and ``growth``; only the tickets of
    ``previous`` in a bucket that has a group are cut into words.

    A group is found by the parts of its top words a previous ticket must have (each
    ``min_shared`` of them, or all when it has fewer), looked up among the ticket's
    words that are top words of a group of its bucket; a ticket of fewer words finds
    the groups having them all. No ticket is compared with every group.
    """
    by_bucket = defaultdict(lambda: {"parts": defaultdict(set), "whole": defaultdict(set),
                                     "top": set()})
    for position, group in enumerate(groups):
        bucket = by_bucket[(group["category"], group["community"])]
        top = sorted(group["top_words"])
        bucket["top"].update(top)
        for part in combinations(top, min(min_shared, len(top))):
            bucket["parts"][part].add(position)
        for size in range(1, min(min_shared, len(top))):  # all the words of a shorter ticket
            for part in combinations(top, size):
                bucket["whole"][part].add(position)
    counted = Counter()
    for ticket in previous:
        bucket = by_bucket.get((ticket.category, ticket.community))
        vocabulary = set(_ticket_words(ticket)) if bucket else None
        if not vocabulary:
            continue
        found = set(bucket["whole"].get(tuple(sorted(vocabulary)), ()))
        shared = sorted(vocabulary & bucket["top"])
        for size in range(1, min(min_shared, len(vocabulary)) + 1):
            for part in combinations(shared, size):
                found.update(bucket["parts"].get(part, ()))
        counted.update(found)
    for position, group in enumerate(groups):
        group["previous_count"] = counted[position]
        group["growth"] = group["count"] - group["previous_count"]


def _rank(group):
    return (-group["count"], -group["growth"], _named(group["category"]),
            _named(group["community"]), group["ticket_ids"][0])


def _named(value):
    return (value is None, value or "")
