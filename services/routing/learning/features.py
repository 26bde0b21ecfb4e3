"""What the category model reads of a concern's text: its features, counted. Pure.

One function (``features``) serves training and scoring, so that a model scores a text
as it was trained. A feature is a short string with a prefix saying its kind:

- ``c:`` a run of one to three Chinese characters (乱, 乱停, 乱停放): residents' own
  compounds and mis-cut words still share their characters with the known ones;
- ``w:`` a significant word of the text (``services.common.words.words``: jieba's cut of
  Chinese, stop words left out); an English word by its stem (parked, parking → park);
- ``e:`` two English stems in a row (``e:park car``), which say more than either;
- ``k:`` a category whose keywords were found, once whatever their weights: the
  directory's rules as evidence the model weighs against the rest (a confounder's
  keyword, 老人 in a parking complaint, is outweighed where the history shows it is).
  Not their weights: counts are taken sublinearly (1 + ln n), so a weight below 1/e would
  count against its own category, and on the corpus the category found did better than
  any measure of how much (its weight, one more, or e to it: 2-5 points fewer right
  within 3 % wrong).
"""
import re
from collections import Counter

from services.common.words import normalized, stem, words

NGRAM_SIZES = (1, 2, 3)
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[a-z]")

def features(text, keyword_hits=()):
    """The features of ``text`` with their counts (a ``Counter``); ``keyword_hits`` are the
    ``CategoryHits`` the keywords found in it."""
    counted = Counter()
    for run in _HAN_RUN.findall(normalized(text)):
        for size in NGRAM_SIZES:
            counted.update("c:" + run[start:start + size] for start in range(len(run) - size + 1))
    previous = None
    for word in words(text):
        if _LATIN.match(word):
            word = stem(word)
            if previous is not None:
                counted["e:" + previous + " " + word] += 1
            previous = word
        else:
            previous = None
        counted["w:" + word] += 1
    for hits in keyword_hits:
        counted["k:" + hits.category] = 1
    return counted
