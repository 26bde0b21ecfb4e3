"""Which open ticket a new concern likely repeats: the rule, pure.

A new concern is a likely duplicate of an open ticket of its district when:
- the category is the same (the candidates are only those: ``store.duplicate_candidates``);
- the ticket was received within the policy's ``duplicate_days`` (14);
- both texts are alike: ``similarity`` of their words, at least ``duplicate_suggest`` (0.35),
  with at least ``MIN_SHARED_WORDS`` (2) significant words in common: one shared word is
  most often the street's name (江浦路垃圾没人清运 and 江浦路公厕太脏 score 0.38 on it
  alone), two name the problem too (下水道, 堵塞);
- and, when both have a point, they lie within ``duplicate_radius_m`` (200 m) of each
  other. A concern without a point is compared with the open tickets of its community
  (its only place; the district's when it names none), by their texts alone.

The best-scoring such ticket is the match (the nearer, then the earlier, on equal
scores). What follows is the district's ``duplicates`` policy: ``ignore`` (the default)
looks for none; ``suggest`` links the concern to it and leaves it with the
representative or the office, who merge it with one action or take it on as a ticket of
its own; ``auto_merge`` does the same, but merges it at once from
``duplicate_auto_merge`` (0.7) up. A ticket that is itself a
likely duplicate of another open ticket leads to that one: links always point to the
first report of a problem.
"""
import math
from dataclasses import dataclass

from services.routing import similarity

EARTH_RADIUS_M = 6_371_000
MIN_SHARED_WORDS = 2


@dataclass(frozen=True)
class Candidate:
    """An open ticket that shares words with the new concern."""
    ticket_id: str
    words: tuple
    point: tuple | None  # (lat, lon)
    received_at: object
    original_id: str | None = None  # the ticket it is itself linked to, when open


@dataclass(frozen=True)
class Match:
    ticket_id: str  # the ticket to join: the candidate's own original when it has one
    score: float
    shared_words: tuple
    distance_m: float | None
    auto_merge: bool

    def describe(self):
        where = f", {self.distance_m:.0f} m away" if self.distance_m is not None else ""
        shared = ", ".join(self.shared_words) or "none"
        return f"likely duplicate of {self.ticket_id} (score {self.score:.2f}{where}; shared words: {shared})"


def distance_m(a, b):
    """Great-circle distance in metres between two ``(lat, lon)`` points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def likely_duplicate(words, point, candidates, policy):
    """The ``Match`` of a new concern (its significant ``words`` and ``point`` or None)
    among ``candidates``, or None. ``policy`` is the district's."""
    if policy["duplicates"] == "ignore":
        return None
    mine = similarity.features_of_words(words)
    best = None
    for candidate in candidates:
        distance = (distance_m(point, candidate.point)
                    if point is not None and candidate.point is not None else None)
        if distance is not None and distance > policy["duplicate_radius_m"]:
            continue
        theirs = similarity.features_of_words(candidate.words)
        score = similarity.similarity(mine, theirs)
        if score < policy["duplicate_suggest"]:
            continue
        shared = similarity.shared_words(mine, theirs)
        if len(shared) < MIN_SHARED_WORDS:
            continue
        rank = (score, -(distance if distance is not None else math.inf), _earlier(candidate))
        if best is None or rank > best[0]:
            best = (rank, candidate, score, distance, shared)
    if best is None:
        return None
    _, candidate, score, distance, shared = best
    return Match(ticket_id=candidate.original_id or candidate.ticket_id, score=round(score, 3),
                 shared_words=tuple(shared), distance_m=distance,
                 auto_merge=(policy["duplicates"] == "auto_merge"
                             and score >= policy["duplicate_auto_merge"]))


def _earlier(candidate):
    return -candidate.received_at.timestamp()
