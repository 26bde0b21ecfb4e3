"""Unit tests of services.routing.categories: a concern's category from the directory's
weighted keywords, found on word boundaries, with its confidence and reason."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.directory import load_directory
from services.routing.categories import Categorisation, Categoriser, CategoryHits, categoriser
from tests.support.system import DEMO_DIRECTORY


def categories(**keywords):
    """Categories as the directory snapshot has them, in the order given: each
    keyword a word (weight 1) or a (word, weight) pair; _ in a code stands for -."""
    snapshot = {}
    for code, words in keywords.items():
        pairs = [word if isinstance(word, tuple) else (word, 1.0) for word in words]
        code = code.replace("_", "-")
        snapshot[code] = {"code": code, "name": code, "keywords": [word for word, _ in pairs],
                          "weights": dict(pairs)}
    return snapshot


UTILITIES = Categoriser(categories(water_supply=["水表", "停水", "没水"], power_supply=["没电", "电表"],
                                   drainage=["下水道", ("污水", 2), "drain", "blocked"],
                                   sanitation=["臭味", "垃圾", "垃圾分类"],
                                   roads_traffic=["traffic light", ("road", 0.5)], greening=["park", "light"],
                                   parking=["违章停车", "illegally parked"]))


def category(text, threshold=0.6, categoriser=UTILITIES):
    return categoriser.categorise(text, threshold).category


def keywords(text, categoriser=UTILITIES):
    return {hits.category: dict(hits.keywords) for hits in categoriser.categorise(text, 0).hits}


@pytest.fixture(scope="module")
def demo():
    return Categoriser(load_directory(DEMO_DIRECTORY)["categories"])


# Word boundaries


def test_a_keyword_inside_other_words_is_not_found():
    assert keywords("楼上漏水表示无奈") == {}  # 水表 in 漏水/表示
    assert keywords("水表读数不对") == {"water-supply": {"水表": 1}}  # 水表/读数
    assert keywords("路口暂停水果摊经营") == {}  # 停水 in 暂停/水果摊
    assert keywords("家里停水了") == {"water-supply": {"停水": 1}}
    assert keywords("晚上没电视看") == {}  # 没电 in 没/电视
    assert keywords("家里没电好几天了") == {"power-supply": {"没电": 1}}


def test_a_keyword_of_several_chinese_words_is_found_whole():
    assert keywords("街口路违章停车") == {"parking": {"违章停车": 1}}  # 违章/停车


def test_english_keywords_are_whole_words_in_any_case_and_width():
    assert keywords("The DRAIN is Blocked") == {"drainage": {"drain": 1, "blocked": 1}}
    assert keywords("ＤＲＡＩＮ blocked") == {"drainage": {"drain": 1, "blocked": 1}}
    assert keywords("drainage unblocked, the car parked") == {}
    assert keywords("drains") == {}  # whole words: no plural


def test_an_english_keyword_of_several_words_is_found_whole_whatever_the_spaces():
    assert keywords("The traffic light at Main Road is broken") == {
        "roads-traffic": {"traffic light": 1, "road": 1}}
    assert keywords("traffic \n  LIGHT out") == {"roads-traffic": {"traffic light": 1}}
    assert keywords("Cars illegally parked") == {"parking": {"illegally parked": 1}}
    assert keywords("traffic, light") == {"greening": {"light": 1}}


def test_a_keyword_inside_a_longer_one_found_counts_once_as_the_longer():
    assert keywords("垃圾分类做得不好") == {"sanitation": {"垃圾分类": 1}}
    assert keywords("traffic light") == {"roads-traffic": {"traffic light": 1}}  # not also light
    assert keywords("垃圾没人清运，垃圾分类也不做") == {"sanitation": {"垃圾": 1, "垃圾分类": 1}}


def test_chinese_and_english_keywords_are_found_in_one_text():
    assert keywords("Blocked sewer: 下水道堵塞，污水外溢") == {
        "drainage": {"blocked": 1, "下水道": 1, "污水": 1}}


# Weights, confidence and ties


def test_each_category_sums_the_weights_of_its_keywords_each_time_found():
    found = UTILITIES.categorise("下水道堵塞，污水外溢，污水有臭味")
    assert found == Categorisation("drainage", 5 / 6, (
        CategoryHits("drainage", 5.0, (("下水道", 1), ("污水", 2))),
        CategoryHits("sanitation", 1.0, (("臭味", 1),))))


def test_a_weighty_keyword_outweighs_lighter_ones():
    assert category("The sewer on Jiekou Road is blocked") == "drainage"  # blocked 1, road 0.5
    assert UTILITIES.categorise("the park road").hits[0].category == "greening"  # park 1, road 0.5
    assert keywords("污水有臭味，还有垃圾") == {"drainage": {"污水": 1}, "sanitation": {"臭味": 1, "垃圾": 1}}
    assert category("污水有臭味，还有垃圾") is None  # 2 against 2: a confidence of 0.5
    assert category("污水有臭味", 0.6) == "drainage"  # 2 against 1


def test_the_only_category_found_has_full_confidence():
    found = UTILITIES.categorise("家里停水了，水表也坏了")
    assert (found.category, found.confidence) == ("water-supply", 1.0)


def test_below_the_confidence_threshold_there_is_no_category():
    found = UTILITIES.categorise("家里没电了，也没水", 0.6)
    assert (found.category, found.confidence) == (None, 0.5)
    assert [hits.category for hits in found.hits] == ["water-supply", "power-supply"]
    assert category("下水道有臭味", 0.5) == "drainage"  # a share of 0.5 is enough for 0.5
    assert category("下水道有臭味", 0.51) is None
    assert category("下水道有臭味", 0) == "drainage"


def test_a_tie_goes_to_the_category_listed_first():
    assert category("家里没电了，也没水", 0.5) == "water-supply"
    swapped = Categoriser(categories(power_supply=["没电"], water_supply=["没水"]))
    assert category("家里没电了，也没水", 0.5, swapped) == "power-supply"
    assert category("家里没水了，也没电", 0.5, swapped) == "power-supply"  # not by position in the text


def test_nothing_found_is_no_category_with_no_confidence():
    for text in ("想了解一下政策", "", None, "。。。 123"):
        assert UTILITIES.categorise(text, 0) == Categorisation(None, 0.0, ())
    assert Categoriser({}).categorise("下水道堵塞") == Categorisation(None, 0.0, ())


def test_a_keyword_without_a_weight_weighs_one():
    older = {"drainage": {"code": "drainage", "name": "排水", "keywords": ["下水道", "污水"]}}
    assert Categoriser(older).categorise("下水道污水").hits == (
        CategoryHits("drainage", 2.0, (("下水道", 1), ("污水", 1))),)


# The reason for the timeline


def test_the_reason_names_the_category_its_confidence_and_the_keywords_found():
    assert UTILITIES.categorise("下水道堵塞，污水外溢，污水有臭味").reason() == \
        "drainage (confidence 0.83): 下水道, 污水 ×2; also sanitation: 臭味"
    assert UTILITIES.categorise("家里停水了").reason() == "water-supply (confidence 1.00): 停水"


def test_the_reason_says_why_there_is_no_category():
    assert UTILITIES.categorise("家里没电了，也没水").reason() == \
        "no category: water-supply (confidence 0.50): 没水; also power-supply: 没电"
    assert UTILITIES.categorise("想了解一下政策").reason() == "no category: no keyword found"


# Properties


PIECES = ["水表", "停水", "没电", "下水道", "污水", "臭味", "垃圾", "垃圾分类", "违章停车", "traffic light",
          "road", "park", "Drain", "表示", "暂停", "，", " ", "的", "了", "3"]


@settings(deadline=None, max_examples=200)
@given(st.lists(st.sampled_from(PIECES), max_size=10).map("".join), st.floats(0, 1))
def test_a_categorisation_is_consistent(text, threshold):
    found = UTILITIES.categorise(text, threshold)
    assert 0.0 <= found.confidence <= 1.0
    weights = [hits.weight for hits in found.hits]
    assert weights == sorted(weights, reverse=True)
    if found.hits:
        assert found.confidence == pytest.approx(weights[0] / sum(weights))
        assert found.category == (found.hits[0].category if found.confidence >= threshold else None)
    else:
        assert (found.category, found.confidence) == (None, 0.0)
    assert found.reason().startswith(found.category or "no category: ")


# The demo directory


def test_the_demo_directory_categorises_concerns(demo):
    assert demo.categorise("小区门口下水道堵塞，污水外溢，臭味很大").reason() == \
        "drainage (confidence 0.80): 下水道, 堵塞, 污水; also sanitation: 臭味"
    assert demo.categorise("The drain on our street is BLOCKED").category == "drainage"
    assert demo.categorise("想了解一下政策").category is None
    assert demo.categorise("The sewer on Jiekou Road is overflowing").reason() == \
        "drainage (confidence 0.67): sewer; also roads-traffic: road"
    assert demo.categorise("红绿灯时间太短，老人过不了马路").category == "roads-traffic"
    assert demo.categorise("Messages the service parked").category is None  # park: greening


def test_the_categoriser_is_built_again_only_when_the_categories_change():
    snapshot = load_directory(DEMO_DIRECTORY)["categories"]
    first = categoriser(snapshot)
    assert categoriser(load_directory(DEMO_DIRECTORY)["categories"]) is first
    weights = {**snapshot["drainage"]["weights"], "污水": 5.0}
    snapshot["drainage"] = {**snapshot["drainage"], "weights": weights}
    assert categoriser(snapshot) is not first
    assert categoriser(snapshot).categorise("污水有臭味").confidence == 5 / 6
