"""Hot topics: which concerns of a report window are about the same thing.

Owns the significant words of a concern's text (``words``) and the grouping of a
window's tickets into hot topics, with their growth over the window before
(``hot_topics``). Pure: no nameko, kombu or psycopg; the caller reads the tickets into
``TopicTicket`` values and serves the groups.

Chinese is cut into words by jieba (its default, deterministic mode with HMM) with a
private dictionary: jieba's own plus ``CIVIC_WORDS``. The dictionary is loaded once, at
the first call, which takes about a second of CPU and reads jieba's files (it keeps a
cache of its dictionary in the temporary directory); ``load()`` does it ahead, at
service start, so that no request waits for it. Cutting is the cost of ``hot_topics``
(some 400,000 characters a second: 0.7 s for 10,000 texts of 30 characters, 3 s for
120; the grouping takes 0.1 s), so the words of recent texts are cached: report
windows overlap and the same texts come back.
"""
import logging
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from services.reporting.figures import RESOLVED_STATUSES

#: statuses of a ticket nobody works on any more; the others are open
FINISHED_STATUSES = frozenset({*RESOLVED_STATUSES, "merged", "rejected"})
TOP_WORDS = 5
#: the words of this many texts are cached, of texts up to CACHED_LENGTH characters only:
#: at most some 40 MB, a few MB for texts of a hundred characters
WORDS_CACHED = 16384
CACHED_LENGTH = 500

#: Chinese stop words: words that say nothing of what a concern is about. Single
#: characters are dropped anyway (but see SINGLE_CHARACTER_WORDS), so 的 了 和 是 在
#: 有 我 你 他 这 那 就 也 都 很 请 不 被 把 给 对 与 及 等 啊 呢 吧 吗 need no entry.
#: Place words (小区, 社区, 门口, 楼道) are kept: they say where, which tells topics apart.
CHINESE_STOP_WORDS = frozenset("""
    我们 你们 他们 她们 它们 咱们 大家 自己 本人 人家 别人 有人 没人 没人管 这个 那个 这些 那些
    这里 那里 这边 那边 这样 那样 这种 那种 这么 那么 这次 那次 其他 其它 其中 一些 有些 一下 一点
    什么 怎么 怎么办 怎样 如何 为什么 为何 哪里 哪些 哪个 是否 是不是 有没有 能不能 可不可以
    已经 一直 没有 还是 还有 但是 可是 而且 并且 因为 所以 因此 如果 虽然 然后 或者 以及 就是 只是
    不是 也是 都是 可以 能够 需要 应该 必须 不能 不会 不要 无法 没法 非常 特别 比较 十分 真的 实在
    总是 经常 一再 再次 始终 依然 仍然 好像 似乎 几乎 一样 左右 以上 以下 之前 之后 后来 期间
    现在 目前 最近 今天 昨天 前天 每天 天天 小时 分钟 好几天 好多天 好久 很久 多年 多次 很大 很多
    进行 出现 发生 存在 造成 导致 影响 使得 觉得 认为 知道 看到 发现 表示 得到 不了 起来
    问题 反映 反应 希望 情况 投诉 举报 建议 要求 诉求 请求 恳请 麻烦 谢谢 感谢 尽快 及时 解决
    处理 落实 相关 有关 部门 政府 领导 单位 工作人员 居民 市民 群众 老百姓 严重
    附近 旁边 周边 周围 对面 号楼 单元 门牌
""".split())

#: English stop words, and the complaint filler of English texts
ENGLISH_STOP_WORDS = frozenset("""
    the an is are was were be been being am and or but nor of to in on at for with from by as
    into onto about near over under after before since until than then so too also just very
    really still again always often any some all each every it its this that these those there
    here has have had having do does did doing done not no can could would should will shall may
    might must we you he she they our your their his her them us me my mine who whom which what
    when where why how if because while don't doesn't didn't isn't aren't wasn't weren't can't
    won't haven't hasn't let get got getting please help thanks thank hope problem problems issue
    issues report reported complaint complain day days week weeks month months
""".split())

#: single characters that name a utility or a fault on their own (下水道堵了: 堵)
SINGLE_CHARACTER_WORDS = frozenset("水电气灯堵漏臭吵脏")

#: words jieba's dictionary lacks or cuts badly in concerns (路灯不亮 → 路/灯不亮, 路面积水 →
#: 路/面积/水), with the frequency that makes jieba cut them out (100 is not enough for 不亮)
CIVIC_WORDS = {"不亮": 1000, "不畅": 1000, "冒水": 1000, "积水": 1000}

#: a run of Chinese characters, or a latin word (digits and punctuation match neither)
_RUNS = re.compile(r"(?P<han>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)|(?P<latin>[a-z]+(?:'[a-z]+)*)")
#: a Chinese number, with its unit: 三天, 十几天, 二号楼, 第三次
_NUMERALS = "〇零一二两三四五六七八九十百千万亿几"
_CHINESE_NUMBER = re.compile(f"第?[{_NUMERALS}半][{_NUMERALS}多]*[个天次年月日号点栋楼层米周回遍]{{0,2}}")

_tokenizer = None


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


def load():
    """jieba with its dictionary loaded and its progress log silenced; once per process."""
    global _tokenizer
    if _tokenizer is None:
        import jieba  # here, not above: importing it costs 0.2 s, loading it a second

        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        for word, frequency in CIVIC_WORDS.items():
            tokenizer.add_word(word, frequency)
        _tokenizer = tokenizer  # only once complete: a concurrent first call loads it twice
    return _tokenizer


def words(text):
    """The significant words of ``text`` in their order, repeats kept: Chinese cut by
    jieba, latin words in lower case; numbers, punctuation, stop words and single
    characters (but ``SINGLE_CHARACTER_WORDS``) left out."""
    return list(_words(text or ""))


def joined_words(text):
    """``words(text)`` as one string, to be kept with the text (``TopicTicket.words``)."""
    return " ".join(_words(text or ""))


def _ticket_words(ticket):
    if ticket.words is not None:
        return tuple(ticket.words.split(" ")) if ticket.words else ()
    return _words(ticket.text or "")


def _words(text):
    """The words of ``text`` as a tuple; those of short texts from the cache."""
    if len(text) > CACHED_LENGTH:
        return _cut(text)
    joined = _cached_words(text)
    return tuple(joined.split(" ")) if joined else ()


@lru_cache(maxsize=WORDS_CACHED)
def _cached_words(text):
    """The words of ``text`` joined by spaces (no word has one): one string per text
    keeps the cache small."""
    return " ".join(_cut(text))


def _cut(text):
    found = []
    for run in _RUNS.finditer(unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")):
        if run["latin"]:
            if len(run["latin"]) > 1 and run["latin"] not in ENGLISH_STOP_WORDS:
                found.append(run["latin"])
            continue
        found.extend(word for word in load().cut(run["han"]) if _significant(word))
    return tuple(found)


def _significant(word):
    if len(word) == 1:
        return word in SINGLE_CHARACTER_WORDS
    return word not in CHINESE_STOP_WORDS and not _CHINESE_NUMBER.fullmatch(word)


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
