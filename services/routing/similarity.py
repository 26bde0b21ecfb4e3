"""How alike two concern texts are, to find the ticket a new concern duplicates.

Owns the features of a text (``features``: computed once, then compared with any number
of candidates), the score of two texts (``similarity``), the words they share
(``shared_words``) and a candidate list ranked by score (``ranked``). Pure: no nameko,
kombu or psycopg.

A text's features are its distinct significant words (``services.common.words``:
stop words, numbers and punctuation left out), each of weight ``WORD_WEIGHT``, and
the character bigrams of its Chinese words, each of weight ``BIGRAM_WEIGHT``: 下水道
gives 下水 and 水道, a two-character word is its own bigram. So 下水道堵塞 and 下水道堵了
share the word 下水道 and the bigrams 下水 and 水道; 垃圾清运, which jieba keeps whole,
still shares 垃圾 and 清运 with 垃圾没人清运; and a word weighs more than a piece of
one. Bigrams are taken within words, not across them: in the measured reports the
bigrams that straddle two words (市场门口 → 场门) lowered the scores of reports of the
same problem more than those of different ones.
Repeats count once: a long complaint that says 污水 five times is not more about sewage.

The score is the cosine of the two weighted feature sets: the squared weight of the
shared features over the geometric mean of each text's squared weight. It is 1.0 for
texts with the same features, 0.0 when they share none or one has none (an empty text,
or one of stop words only), and does not depend on the order of the two texts. A short
text inside a long one scores high rather than low (cosine, not Jaccard), which suits a
short report of the same thing (下水道堵了) against a detailed one. Against
街口路下水道堵塞，污水外溢:

- 0.81 下水道疏通后又堵塞，污水外溢 (the same words, less the street, plus 疏通)
- 0.63 街口路的下水道又堵了，污水流到路面上
- 0.51 街口路沙井冒污水好几天了
- 0.30 下水道堵了臭死了
- 0.25 街口路路灯不亮, 街口路违章停车 (another problem: only the street's name is shared)
- 0.00 The sewer on Jiekou Road is overflowing (the same problem in another language)

Other words for the same thing (沙井 and 下水道, sewer and 下水道) share nothing, so the
reports of one problem spread from 0 to 0.8 (of the 190 pairs of twenty reports of one
sewer, the median scored 0.23 and one in ten 0.56 or more), while reports of other
problems on the same street stayed under 0.5 (the median 0, nine in ten 0.26 or less).
What does tell them apart is the best match: each of the twenty scored highest with
another report of the sewer. So a
new concern is best compared with the open tickets of its own category and community,
where its best match of 0.35 or more is most likely the same problem and one of 0.7 or
more is nearly the same wording.
"""
import math
from dataclasses import dataclass

from services.common.words import words

WORD_WEIGHT = 1.0
BIGRAM_WEIGHT = 0.5


@dataclass(frozen=True)
class Features:
    """What ``similarity`` compares of a text: ``words`` (distinct, in their first
    order), their set, the bigrams of the Chinese ones and ``weight``, the sum of
    the squared weights of them all (0.0 for a text without words)."""
    words: tuple[str, ...]
    word_set: frozenset[str]
    bigrams: frozenset[str]
    weight: float


def features(text):
    """The features of ``text`` (a string; None is an empty text)."""
    return features_of_words(words(text))


def features_of_words(significant_words):
    """The features of a text from its significant words (``words(text)``, as a ticket
    keeps them), without cutting the text again."""
    distinct = tuple(dict.fromkeys(significant_words))
    bigrams = frozenset(word[i:i + 2] for word in distinct if not word.isascii()
                        for i in range(len(word) - 1))
    weight = WORD_WEIGHT ** 2 * len(distinct) + BIGRAM_WEIGHT ** 2 * len(bigrams)
    return Features(distinct, frozenset(distinct), bigrams, weight)


def _features(value):
    return value if isinstance(value, Features) else features(value)


def similarity(a, b):
    """How alike two texts are, from 0.0 to 1.0; each is a text or its ``features``."""
    a, b = _features(a), _features(b)
    if not a.weight or not b.weight:
        return 0.0
    if a.word_set == b.word_set and a.bigrams == b.bigrams:
        return 1.0
    shared = (WORD_WEIGHT ** 2 * len(a.word_set & b.word_set)
              + BIGRAM_WEIGHT ** 2 * len(a.bigrams & b.bigrams))
    return min(1.0, shared / math.sqrt(a.weight * b.weight))


def shared_words(a, b):
    """The significant words both texts have, in their first order in ``a``; each is a
    text or its ``features``."""
    a, b = _features(a), _features(b)
    return [word for word in a.words if word in b.word_set]


def ranked(text, candidates, at_least=0.0):
    """``(key, score)`` of the candidates scoring ``at_least`` and more than 0, best
    first (equal scores in the order given); ``text`` is a text or its features,
    ``candidates`` ``(key, text or features)`` pairs. The text is cut once."""
    text = _features(text)
    scored = [(key, similarity(text, candidate)) for key, candidate in candidates]
    return sorted((pair for pair in scored if pair[1] >= at_least and pair[1] > 0),
                  key=lambda pair: -pair[1])
