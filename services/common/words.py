"""The words of a concern's text, cut the same way by every service.

Owns the cutting of a text into its significant words (``words``), the normal form of
a text (``normalized``), its latin words by their English stems (``stemmed``) and where
the words of a normal text begin and end (``boundaries``, so that a keyword can be told
from a piece of a longer word). Pure: no nameko, kombu or psycopg.

Chinese is cut into words by jieba (its default, deterministic mode with HMM) with a
private dictionary: jieba's own plus ``CIVIC_WORDS``. The dictionary is loaded once, at
the first call, which takes about a second of CPU and reads jieba's files (it keeps a
cache of its dictionary in the temporary directory); ``load()`` does it ahead, at
service start, so that no request waits for it. Cutting runs at some 400,000
characters a second, so the words of recent texts are cached: report windows overlap
and the same texts come back.

English words are stemmed by Snowball's English stemmer (``snowballstemmer``: parked,
parking and park are all park), each word once: the stems are cached.
"""
import logging
import re
import threading
import unicodedata
from functools import lru_cache

#: the words of this many texts are cached, of texts up to CACHED_LENGTH characters only:
#: at most some 40 MB, a few MB for texts of a hundred characters
WORDS_CACHED = 16384
CACHED_LENGTH = 500
#: the stems of this many latin words are cached: a few MB at most
STEMS_CACHED = 65536

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

_CHINESE_CHARACTER = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
_LATIN_WORD = "[a-z]+(?:'[a-z]+)*"
#: a run of Chinese characters, or a latin word (digits and punctuation match neither)
_RUNS = re.compile(f"(?P<han>{_CHINESE_CHARACTER}+)|(?P<latin>{_LATIN_WORD})")
_LATIN_WORDS = re.compile(_LATIN_WORD)
_CHINESE = re.compile(f"{_CHINESE_CHARACTER}+")
_SPACES = re.compile(r"\s+")
#: a Chinese number, with its unit: 三天, 十几天, 二号楼, 第三次
_NUMERALS = "〇零一二两三四五六七八九十百千万亿几"
_CHINESE_NUMBER = re.compile(f"第?[{_NUMERALS}半][{_NUMERALS}多]*[个天次年月日号点栋楼层米周回遍]{{0,2}}")

_tokenizer = None
_stemmer = None
_stemming = threading.Lock()  # a stemmer keeps the word it works on: one word at a time


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


def normalized(text):
    """``text`` as it is cut: NFKC (full-width latin and digits made plain), lower case,
    the typographic apostrophe made plain and every stretch of white space one space."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text or "").lower().replace("\u2019", "'"))


def stemmed(text):
    """``text`` (a ``normalized`` one) with each latin word replaced by its English stem
    (cars are parked → car are park), the rest as it is. A stem is a latin word too, so
    ``boundaries`` of the stemmed text are those of its words, stems whole."""
    return _LATIN_WORDS.sub(lambda word: stem(word[0]), text)


@lru_cache(maxsize=STEMS_CACHED)
def stem(word):
    """The English stem of a latin ``word`` in lower case (parking → park, flooded →
    flood, drainage → drainag); the word itself if its stem would be empty."""
    global _stemmer
    with _stemming:
        if _stemmer is None:
            import snowballstemmer  # here, not above: importing it costs 12 ms

            _stemmer = snowballstemmer.stemmer("english")
        return _stemmer.stemWord(word) or word


def chinese(text):
    """Whether ``text`` is Chinese characters only (and not empty)."""
    return _CHINESE.fullmatch(text) is not None


def words(text):
    """The significant words of ``text`` in their order, repeats kept: Chinese cut by
    jieba, latin words in lower case; numbers, punctuation, stop words and single
    characters (but ``SINGLE_CHARACTER_WORDS``) left out. Those of short texts come
    from the cache."""
    text = text or ""
    if len(text) > CACHED_LENGTH:
        return list(_cut(text))
    joined = _cached_words(text)
    return joined.split(" ") if joined else []


@lru_cache(maxsize=WORDS_CACHED)
def _cached_words(text):
    """The words of ``text`` joined by spaces (no word has one): one string per text
    keeps the cache small."""
    return " ".join(_cut(text))


def _cut(text):
    found = []
    for run in _RUNS.finditer(normalized(text)):
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


def boundaries(text):
    """The offsets of ``text`` (a ``normalized`` one) where a word begins or ends, as a
    frozenset: every offset but those inside a latin word or inside a word of jieba's
    dictionary cut of a run of Chinese (every word, stop words too). In 水表读数 (水表/读数)
    they are 0, 2 and 4; in 漏水表示 (漏水/表示) 0, 2 and 4, not 1 or 3.

    The cut is without HMM, unlike ``words``: the HMM joins characters that make no
    word of the dictionary into guessed words, which would hide the words people
    write (街口路乱停车 → 街口/路乱/停车, 没水好几天了 → 没水好/几天/了); without it such
    characters stand alone."""
    inside = set()
    for run in _RUNS.finditer(text):
        if run["latin"]:
            inside.update(range(run.start() + 1, run.end()))
            continue
        for _, start, end in load().tokenize(run["han"], HMM=False):
            inside.update(range(run.start() + start + 1, run.start() + end))
    return frozenset(offset for offset in range(len(text) + 1) if offset not in inside)
