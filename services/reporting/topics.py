"""Hot topics: which concerns of a report window are about the same thing.

Owns the grouping of a window's tickets into hot topics, with their growth over the
window before (``hot_topics``), and the words kept with a ticket (``joined_words``).
Pure: no nameko, kombu or psycopg; the caller reads the tickets into ``TopicTicket``
values and serves the groups.

The significant words of a text are cut by ``services.common.words`` (``words`` and
``load`` are importable from here too; ``load()`` at service start loads jieba's
dictionary ahead). Cutting is the cost of ``hot_topics`` (some 400,000 characters a
second: 0.7 s for 10,000 texts of 30 characters, 3 s for 120; the grouping takes
0.1 s), which is why that module caches the words of recent texts: report windows
overlap and the same texts come back.
"""
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from services.common.words import load, words
from services.reporting.figures import RESOLVED_STATUSES

__all__ = ["FINISHED_STATUSES", "TOP_WORDS", "TopicTicket", "hot_topics", "joined_words", "load", "words"]

#: statuses of a ticket nobody works on any more; the others are open
FINISHED_STATUSES = frozenset({*RESOLVED_STATUSES, "merged", "rejected"})
TOP_WORDS = 5


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


def joined_words(text):
    """``words(text)`` as one string, to be kept with the text (``TopicTicket.words``)."""
    return " ".join(words(text))


def _ticket_words(ticket):
    if ticket.words is not None:
        return tuple(ticket.words.split(" ")) if ticket.words else ()
    return words(ticket.text)


def hot_topics(current, previous=(), limit=20, min_shared=2):
    """The largest groups of similar concerns among ``current`` (a window's tickets),
    at most ``limit``, the same for the same tickets in any order.

    Similar concerns have the same category and the same community (None is a value
    of its own) and texts that share words: two tickets are linked when they share
    ``min_shared`` significant words, or all the words of one that has fewer; a group
    is a set of tickets linked directly or through others. A ticket alone is no topic
    and is left out: hot means several people raised it, and single tickets are in
    the ordinary reports already.

    Each group: its ``category`` and ``community``, ``communities`` (sorted, those
    that are not None), ``count``, ``previous_count`` (tickets of ``previous``, the
    window before, of the same category and community that share ``min_shared`` of
    the group's top words, or all the words of one that has fewer: a previous ticket
    may count for two groups), ``growth`` (count - previous_count), ``top_words``
    (the words most of its tickets have, then by word), ``ticket_ids`` (sorted),
    ``open`` (not resolved, closed, merged or rejected) and ``resolved`` (resolved or
    closed). Largest first, then fastest growing, then by category, community and
    first ticket id (None after names).
    """
    if min_shared < 1:
        raise ValueError("min_shared must be at least 1")
    groups = []
    for (category, community), bucket in _buckets(current).items():
        vocabularies = [frozenset(_ticket_words(ticket)) for ticket in bucket]
        for members in _linked(vocabularies, min_shared):
            if len(members) > 1:
                groups.append(_group(category, community, [bucket[i] for i in members],
                                     [vocabularies[i] for i in members]))
    _count_previous(groups, previous, min_shared)
    groups.sort(key=_rank)
    return groups[:max(limit, 0)]


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

    Identical vocabularies are one node; each node counts the words it shares with
    the nodes before it through an index word → nodes, so only nodes sharing a word
    are ever compared (a word in n nodes costs n²: 0.5 s for a bucket of 10,000 texts
    about one sewer); links join groups in a union-find whose root is the first node.
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

    index = defaultdict(list)
    sizes = []
    for node, vocabulary in enumerate(nodes):
        shared = Counter()
        for word in vocabulary:
            shared.update(index[word])
            index[word].append(node)
        for other, count in shared.items():
            if count >= min(min_shared, len(vocabulary), sizes[other]):
                first, second = sorted((root(node), root(other)))
                parent[second] = first
        sizes.append(len(vocabulary))
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
    ``previous`` in a bucket that has a group are cut into words."""
    by_bucket = defaultdict(list)
    for group in groups:
        by_bucket[(group["category"], group["community"])].append(group)
    for ticket in previous:
        bucket = by_bucket.get((ticket.category, ticket.community))
        vocabulary = set(_ticket_words(ticket)) if bucket else None
        for group in bucket or ():
            top = group["top_words"]
            if vocabulary and len(vocabulary.intersection(top)) >= min(min_shared, len(top),
                                                                        len(vocabulary)):
                group["previous_count"] += 1
    for group in groups:
        group["growth"] = group["count"] - group["previous_count"]


def _rank(group):
    return (-group["count"], -group["growth"], _named(group["category"]),
            _named(group["community"]), group["ticket_ids"][0])


def _named(value):
    return (value is None, value or "")
