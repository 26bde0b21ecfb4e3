"""Unit tests of services.routing.similarity: how alike two concern texts are, as the
duplicate check will score them: properties of the score, and twenty reports of one
sewer against reports of other problems on the same street."""
import itertools
import statistics

from hypothesis import given, settings
from hypothesis import strategies as st

from services.routing.similarity import Features, features, ranked, shared_words, similarity

#: one overflowing sewer on 街口路, as twenty people put it
SEWER = [
    "街口路下水道堵塞，污水外溢",
    "街口路沙井冒污水好几天了",
    "下水道堵了臭死了",
    "街口路的下水道又堵了，污水流到路面上",
    "街口路口沙井盖冒水，污水横流",
    "下水道堵塞，污水漫到人行道，行人没法走",
    "街口路污水外溢，臭气熏天",
    "街口路市场门口下水道堵塞好几天了，请派人疏通",
    "沙井堵塞冒污水，味道很臭",
    "街口路下水道返臭，污水溢出",
    "下水道堵塞导致污水倒灌进商铺",
    "街口路排水不畅，沙井冒水",
    "街口路的污水井堵了，脏水流了一地",
    "下水道疏通后又堵塞，污水外溢",
    "街口路下水道堵了三天，没人来疏通",
    "路边沙井一直冒污水，臭得不行",
    "街口路污水横流，下水道需要疏通",
    "Blocked sewer on Jiekou Road: 下水道堵塞，污水外溢",
    "The sewer on Jiekou Road is overflowing, dirty water all over the pavement",
    "Sewage overflowing from the blocked sewer on Jiekou Road",
]

#: other problems of the same street
OTHER_PROBLEMS = [
    "街口路路灯不亮", "街口路的路灯坏了好几天，晚上很黑", "街口路口路灯晚上不亮，行人不安全",
    "The street lights on Jiekou Road are out",
    "街口路违章停车", "街口路上乱停车，堵住了路口", "街口路市场门口违停严重，车辆进出困难",
    "Cars illegally parked on Jiekou Road block the pavement",
    "街口路垃圾没人清运", "街口路垃圾桶满了，垃圾堆在路边很臭", "街口路市场垃圾清运不及时，气味难闻",
    "Rubbish on Jiekou Road has not been collected",
    "街口路路面坑洼，下雨积水", "街口路路面塌陷，车辆难行", "街口路井盖松动，车辆经过很响",
    "街口路晚上施工噪音扰民", "街口路商铺音响声音太大",
    "街口路停水三天了", "街口路自来水水压太低",
]

#: the routing policy's defaults
SUGGEST, AUTO_MERGE = 0.35, 0.7

#: pieces of concerns, from which hypothesis puts texts together
PIECES = ["下水道", "堵塞", "堵了", "污水", "沙井", "路灯", "不亮", "街口路", "垃圾", "清运", "停车",
          "的", "了", "我们", "问题", "，", "。", "3号楼", "十几天", " ", "sewer", "blocked", "the",
          "Road", "水", "臭", "ＡＢＣ", "é"]
texts = st.one_of(st.lists(st.sampled_from(PIECES), max_size=12).map("".join), st.text(max_size=40))
#: texts without a significant word: stop words, numbers, punctuation, nothing
wordless = st.lists(st.sampled_from(["的", "了", "我们", "问题", "，", "。", "3号楼", "十几天", " ",
                                     "the", "please", "!", "123"]), max_size=10).map(" ".join)

FEATURES = {text: features(text) for text in SEWER + OTHER_PROBLEMS}


def score(a, b):
    return similarity(FEATURES[a], FEATURES[b])


SAME = [score(a, b) for a, b in itertools.combinations(SEWER, 2)]
DIFFERENT = [score(a, b) for a in SEWER for b in OTHER_PROBLEMS]


def spread(scores):
    """Minimum, quartiles, 90th percentile, maximum and mean, for a message."""
    ordered = sorted(scores)
    at = {f"p{round(100 * share)}": ordered[round(share * (len(ordered) - 1))]
          for share in (0, 0.1, 0.25, 0.5, 0.75, 0.9, 1)}
    return {**at, "mean": statistics.mean(ordered)}


def shown(scores):
    return " ".join(f"{name}={value:.2f}" for name, value in spread(scores).items())


# Properties


@settings(deadline=None, max_examples=200)
@given(texts, texts)
def test_the_score_is_symmetric_and_between_zero_and_one(a, b):
    assert similarity(a, b) == similarity(b, a)
    assert 0.0 <= similarity(a, b) <= 1.0


@settings(deadline=None, max_examples=200)
@given(texts)
def test_a_text_with_words_is_wholly_like_itself(text):
    assert similarity(text, text) == (1.0 if features(text).words else 0.0)


@settings(deadline=None, max_examples=200)
@given(texts, wordless)
def test_a_text_without_words_is_like_nothing(text, nothing):
    assert features(nothing).words == ()
    assert similarity(text, nothing) == 0.0 == similarity(nothing, text)
    assert shared_words(text, nothing) == []


@settings(deadline=None, max_examples=200)
@given(texts, texts)
def test_features_give_the_score_and_words_of_their_texts(a, b):
    assert similarity(features(a), b) == similarity(a, features(b)) == similarity(a, b)
    assert shared_words(features(a), features(b)) == shared_words(a, b)


@settings(deadline=None, max_examples=200)
@given(texts, texts)
def test_shared_words_are_those_of_both_in_the_first_texts_order(a, b):
    shared = shared_words(a, b)
    assert set(shared) == set(features(a).words) & set(features(b).words)
    assert shared == [word for word in features(a).words if word in shared]
    assert sorted(shared) == sorted(shared_words(b, a))


# Examples


def test_features_are_distinct_words_and_the_bigrams_of_chinese_ones():
    found = features("下水道堵塞，下水道堵了 sewer")
    assert isinstance(found, Features)
    assert found.words == ("下水道", "堵塞", "堵", "sewer")
    assert found.bigrams == {"下水", "水道", "堵塞"}
    assert found.weight == 4 * 1.0 + 3 * 0.25


def test_different_wordings_share_the_bigrams_of_their_words():
    assert features("下水道堵塞").bigrams & features("下水道堵了").bigrams == {"下水", "水道"}
    assert shared_words("街口路市场垃圾清运不及时", "街口路垃圾没人清运") == ["街口"]
    assert similarity("垃圾清运不及时", "垃圾没人清运") > 0  # 垃圾清运 is one word to jieba


def test_scores_on_the_scale_the_documentation_gives():
    report = "街口路下水道堵塞，污水外溢"
    assert round(similarity(report, "下水道疏通后又堵塞，污水外溢"), 2) == 0.81
    assert round(similarity(report, "街口路沙井冒污水好几天了"), 2) == 0.51
    assert round(similarity(report, "街口路路灯不亮"), 2) == 0.25
    assert similarity(report, "The sewer on Jiekou Road is overflowing") == 0.0


def test_english_words_are_compared_in_lower_case_without_stop_words():
    assert shared_words("The SEWER is blocked", "sewer blocked again") == ["sewer", "blocked"]
    assert similarity("The SEWER is blocked", "sewer blocked") == 1.0


def test_candidates_are_ranked_best_first_without_those_below_the_threshold():
    candidates = [("light", "街口路路灯不亮"), ("sewer", "下水道疏通后又堵塞，污水外溢"),
                  ("english", "The sewer is overflowing"), ("pit", FEATURES["街口路沙井冒污水好几天了"])]
    assert [key for key, _ in ranked("街口路下水道堵塞，污水外溢", candidates)] == ["sewer", "pit", "light"]
    assert [key for key, _ in ranked(features("街口路下水道堵塞，污水外溢"), candidates, SUGGEST)] == \
        ["sewer", "pit"]
    assert ranked("", candidates) == []


# Twenty reports of one sewer, and other problems of the same street


def test_each_report_of_the_sewer_is_most_like_another_report_of_it():
    for report in SEWER:
        best_same = max(score(report, other) for other in SEWER if other != report)
        best_different = max(score(report, other) for other in OTHER_PROBLEMS)
        assert best_same >= best_different + 0.09, report
        assert best_same >= SUGGEST, report


def test_reports_of_the_sewer_are_more_alike_than_reports_of_different_problems():
    print(f"\nsame problem ({len(SAME)} pairs): {shown(SAME)}"
          f"\ndifferent problems ({len(DIFFERENT)} pairs): {shown(DIFFERENT)}")
    assert statistics.mean(SAME) >= statistics.mean(DIFFERENT) + 0.1
    assert spread(SAME)["p75"] >= spread(DIFFERENT)["p90"] + 0.1
    chance = sum((same > different) + (same == different) / 2 for same in SAME for different in DIFFERENT)
    assert chance / (len(SAME) * len(DIFFERENT)) >= 0.7  # a same pair beats a different one


def test_the_default_thresholds_against_the_measured_scores():
    def share(scores, threshold):
        return sum(value >= threshold for value in scores) / len(scores)

    print(f"\nat suggest {SUGGEST}: {share(SAME, SUGGEST):.0%} of same-problem pairs,"
          f" {share(DIFFERENT, SUGGEST):.1%} of different-problem pairs"
          f"\nat auto_merge {AUTO_MERGE}: {share(SAME, AUTO_MERGE):.0%} and"
          f" {share(DIFFERENT, AUTO_MERGE):.0%}")
    assert share(SAME, SUGGEST) >= 0.4 and share(DIFFERENT, SUGGEST) <= 0.05
    assert max(DIFFERENT) <= 0.5 < AUTO_MERGE
    assert 0 < share(SAME, AUTO_MERGE) <= 0.05  # only nearly the same wording is merged unasked
