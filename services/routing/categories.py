"""Which category a concern's text belongs to, by the directory's weighted keywords.

Owns the ``Categoriser`` (built once from the directory's categories: an Aho-Corasick
automaton of every keyword) and its answer, a ``Categorisation`` with the keywords
found and a one-line reason for the timeline. Pure: no nameko, kombu or psycopg.

A Chinese keyword counts where it starts and ends on a boundary of the text's words (see
``services.common.words.boundaries``: the words of jieba's dictionary), one word or
several (违章停车, cut 违章/停车), and where it lies inside one word, a piece of it (垃圾 in
垃圾桶, 排水 in 排水管, 供电 in 供电所, 养老 in 养老院), but never across a boundary: 水表
is found in 水表读数不对 (水表/读数), not in 楼上漏水表示无奈 (漏水/表示). Still missed, a
keyword that the dictionary shares between two words: 乱停 in 乱停放 (乱/停放: the
dictionary has no 乱停放; list such a word as a keyword of its own), 水表 in 水表坏了
(水/表坏/了), 电箱 in 我家电箱 (我/家电/箱): 4 of 880 sentences that put each of 110
Chinese keywords (the demo directory's before it listed how residents write) in eight
contexts, as on whole words alone. Now found: the keyword in every one of the 524 words
of jieba's dictionary that hold one of those 110 (2 before):
most mean what it means (垃圾桶, 户口本, 电线杆), a few do not (圣诞老人, 米老鼠, 脑积水,
臭味相投), and a word holding two keywords counts both (排水管: 排水 for drainage, 水管 for
water supply, a tie). A keyword of one character would be found in every word holding it.

English is compared by stem (Snowball's English stemmer, see
``services.common.words.stemmed``), in any case and width, and only as whole words:
parked, parking and park meet, flooded and flooding, trees and tree, lifts and lift,
traffic lights and traffic light; drainage is not drain (drainag), nor unblocked
blocked. A keyword of several words is found as the same stems in the same order, with
the spaces between them as they come: cars illegally parked, not cars parked illegally.
The price of stems: keywords of two categories with one stem are both found (parking,
of parking, and park, of greening: a parked car counts for both), and a word meets a keyword it
only resembles (Block 5 meets blocked); of two keywords of one category with one stem
(lift, lifts) the first listed counts.

A keyword inside a longer one found at the same place counts once, as the longer
(垃圾分类, not also 垃圾; traffic light, not also light). Each category sums the weights of
its keywords found, every time found (垃圾桶 and 垃圾 in one text: 垃圾 twice); the best sum
wins, ties to the category listed first; its ``confidence`` is its share of the weight
of every category found (1.0 when it is the only one), and below the threshold (the
policy's ``category_confidence``) the concern gets no category: the office decides.
"""
from collections import Counter
from dataclasses import dataclass

import ahocorasick

from services.common.directory import DEFAULT_KEYWORD_WEIGHT, DEFAULT_POLICY
from services.common.words import boundaries, chinese, normalized, stemmed

DEFAULT_CONFIDENCE = DEFAULT_POLICY["category_confidence"]


@dataclass(frozen=True)
class CategoryHits:
    """The keywords of one category found in a text: ``keywords`` as ``(keyword as
    the directory spells it, times found)`` in the order first found, ``weight``
    their weights summed, each time found."""
    category: str
    weight: float
    keywords: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Categorisation:
    """A text's ``category`` (None: no keyword found, or ``confidence`` below the
    threshold), the best category's ``confidence`` (0.0 when nothing was found) and
    the ``hits`` of every category found, the best first."""
    category: str | None
    confidence: float
    hits: tuple[CategoryHits, ...]

    def reason(self):
        """One line for the timeline, e.g. ``drainage (confidence 0.75): 下水道, 污水 ×2;
        also sanitation: 臭味``; ``no category: ...`` when it has none."""
        if not self.hits:
            return "no category: no keyword found"
        best, *others = self.hits
        line = f"{best.category} (confidence {self.confidence:.2f}): {_found(best)}"
        if others:
            line += "; also " + "; ".join(f"{hits.category}: {_found(hits)}" for hits in others)
        return line if self.category is not None else f"no category: {line}"


def _found(hits):
    return ", ".join(keyword if count == 1 else f"{keyword} ×{count}" for keyword, count in hits.keywords)


class Categoriser:
    """The categories of a directory (``directory["categories"]``: code → category
    with ``keywords`` and their ``weights``; a keyword without a weight weighs 1),
    ready to categorise texts. Building it takes under a millisecond for the demo
    directory; ``categorise`` changes nothing in it. Categorising one of 400 sentences of
    the demo's keywords takes some 27 µs (25 when keywords were only whole words and
    English was not stemmed); an English word met for the first time adds some 30 µs for
    its stem, then cached: a sentence of 12 new English words takes 0.4 ms."""

    def __init__(self, categories):
        self.order = {code: position for position, code in enumerate(categories)}
        entries = {}  # stemmed keyword → {category: (keyword as spelled, weight)}
        for code, category in categories.items():
            weights = category.get("weights") or {}
            for keyword in category["keywords"]:
                # of two keywords of a category with the same stems (lift, lifts), the first counts
                entries.setdefault(stemmed(normalized(keyword).strip()), {}).setdefault(
                    code, (keyword, float(weights.get(keyword, DEFAULT_KEYWORD_WEIGHT))))
        entries.pop("", None)
        self.automaton = ahocorasick.Automaton()
        for key, found in entries.items():
            self.automaton.add_word(key, (len(key), tuple((code, *kept) for code, kept in found.items())))
        self.automaton.make_automaton()
        self.empty = not entries

    def categorise(self, text, threshold=DEFAULT_CONFIDENCE):
        """The ``Categorisation`` of ``text``; ``threshold`` is the least confidence
        that gives a category (the district policy's ``category_confidence``)."""
        found = {}  # category → times each keyword was found, in the order first found
        weights = Counter()
        for entries in self._matches(stemmed(normalized(text))):
            for code, keyword, weight in entries:
                found.setdefault(code, Counter())[keyword] += 1
                weights[code] += weight
        if not weights:
            return Categorisation(None, 0.0, ())
        ranking = sorted(weights, key=lambda code: (-weights[code], self.order[code]))
        hits = tuple(CategoryHits(code, weights[code], tuple(found[code].items())) for code in ranking)
        confidence = weights[ranking[0]] / sum(weights.values())
        return Categorisation(ranking[0] if confidence >= threshold else None, confidence, hits)

    def _matches(self, text):
        """The entries of each keyword found in ``text`` (a stemmed one) as whole words
        or as a piece of one Chinese word, in text order, but those inside a longer one
        found."""
        if self.empty or not text:
            return []
        edges = boundaries(text)
        spans = []
        for end, (length, entries) in self.automaton.iter(text):
            start = end + 1 - length
            if _counts(text, start, end + 1, edges):
                spans.append((start, end + 1, entries))
        spans.sort(key=lambda span: (span[0], -span[1]))
        return [entries for start, end, entries in spans
                if not any(other[0] <= start and end <= other[1] and other[1] - other[0] > end - start
                           for other in spans)]


def _counts(text, start, end, edges):
    """Whether a keyword found at ``text[start:end]`` counts: it starts and ends on word
    boundaries (``edges``), or it is Chinese and no boundary lies within it, so it is a
    piece of one word (乱停 in 乱停放, not 水表 in 漏水/表示)."""
    if start in edges and end in edges:
        return True
    return chinese(text[start:end]) and edges.isdisjoint(range(start + 1, end))


_last = (None, None)


def categoriser(categories):
    """The ``Categoriser`` of ``categories``, built again only when they change (a
    reloaded directory): the last one is kept."""
    global _last
    key = tuple((code, tuple(category["keywords"]), tuple(sorted((category.get("weights") or {}).items())))
                for code, category in categories.items())
    if _last[0] != key:
        _last = (key, Categoriser(categories))
    return _last[1]
