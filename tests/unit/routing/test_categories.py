"""Unit tests of services.routing.categories: a concern's category from the directory's
weighted keywords, found on whole words or inside one Chinese word (never across a word
boundary), English by stem, with its confidence and reason."""
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


#: keywords of the demo directory that are pieces of longer words people write
COMPOUNDS = Categoriser(categories(parking=["停车", "乱停"], drainage=["排水", ("污水", 2)],
                                   power_supply=["供电"], elderly_care=["养老"], sanitation=["垃圾"],
                                   water_supply=["水管", "水表"]))


def test_a_keyword_across_a_word_boundary_is_not_found():
    assert keywords("楼上漏水表示无奈") == {}  # 水表 in 漏水/表示
    assert keywords("水表读数不对") == {"water-supply": {"水表": 1}}  # 水表/读数
    assert keywords("路口暂停水果摊经营") == {}  # 停水 in 暂停/水果摊
    assert keywords("家里停水了") == {"water-supply": {"停水": 1}}
    assert keywords("晚上没电视看") == {}  # 没电 in 没/电视
    assert keywords("家里没电好几天了") == {"power-supply": {"没电": 1}}
    assert keywords("电动车乱停放", COMPOUNDS) == {}  # 乱停 in 乱/停放: jieba has no word 乱停放


@pytest.mark.parametrize("text, found", [
    ("停车位被占了", {"parking": {"停车": 1}}),  # 停车位
    ("排水管破了", {"drainage": {"排水": 1}, "water-supply": {"水管": 1}}),  # 排水管: both pieces
    ("供电所不接电话", {"power-supply": {"供电": 1}}),  # 供电所
    ("养老院收费太贵", {"elderly-care": {"养老": 1}}),  # 养老院
    ("垃圾桶满了", {"sanitation": {"垃圾": 1}}),  # 垃圾桶
])
def test_a_chinese_keyword_inside_one_word_is_found(text, found):
    assert keywords(text, COMPOUNDS) == found


def test_a_keyword_inside_one_word_and_as_a_whole_word_counts_each_time():
    assert keywords("垃圾桶满了，垃圾没人清运", COMPOUNDS) == {"sanitation": {"垃圾": 2}}
    assert COMPOUNDS.categorise("污水管破了，污水流到路上").hits == (
        CategoryHits("drainage", 4.0, (("污水", 2),)),)  # 污水/管, 污水: weighs 2 each time


def test_a_keyword_of_several_chinese_words_is_found_whole():
    assert keywords("街口路违章停车") == {"parking": {"违章停车": 1}}  # 违章/停车
    assert keywords("街口路违章停车", COMPOUNDS) == {"parking": {"停车": 1}}


def test_english_keywords_are_whole_words_in_any_case_and_width():
    assert keywords("The DRAIN is Blocked") == {"drainage": {"drain": 1, "blocked": 1}}
    assert keywords("ＤＲＡＩＮ blocked") == {"drainage": {"drain": 1, "blocked": 1}}
    assert keywords("drainage unblocked") == {}  # drainag, unblock: not drain, block


#: English keywords of the demo directory, and a leak
ENGLISH = Categoriser(categories(parking=["parking", "illegally parked"], drainage=["flooding", "drain"],
                                 greening=["tree", "fallen tree"], property_management=["lift", "lifts"],
                                 water_supply=["leaking"]))


@pytest.mark.parametrize("text, found", [
    ("parked", {"parking": {"parking": 1}}), ("PARKING", {"parking": {"parking": 1}}),
    ("car park", {"parking": {"parking": 1}}),
    ("The street flooded", {"drainage": {"flooding": 1}}),
    ("flooding, floods", {"drainage": {"flooding": 2}}),
    ("a pipe leaks", {"water-supply": {"leaking": 1}}), ("leaking", {"water-supply": {"leaking": 1}}),
    ("trees", {"greening": {"tree": 1}}), ("the lifts", {"property-management": {"lift": 1}}),
    ("drains", {"drainage": {"drain": 1}}),
])
def test_english_keywords_and_texts_meet_by_stem(text, found):
    assert keywords(text, ENGLISH) == found


def test_two_keywords_of_a_category_with_one_stem_count_once_as_the_first():
    assert ENGLISH.categorise("lift and lifts").hits == (
        CategoryHits("property-management", 2.0, (("lift", 2),)),)


def test_an_english_keyword_of_several_words_is_found_by_stem_whole_whatever_the_spaces():
    assert keywords("The traffic light at Main Road is broken") == {
        "roads-traffic": {"traffic light": 1, "road": 1}}
    assert keywords("traffic \n  LIGHTS out") == {"roads-traffic": {"traffic light": 1}}
    assert keywords("Cars illegally parked") == {"parking": {"illegally parked": 1}}  # not also park
    assert keywords("traffic, light") == {"greening": {"light": 1}}
    assert keywords("fallen trees", ENGLISH) == {"greening": {"fallen tree": 1}}
    assert keywords("cars are parked illegally", ENGLISH) == {"parking": {"parking": 1}}  # in that order only


def test_a_keyword_inside_a_longer_one_found_counts_once_as_the_longer():
    assert keywords("垃圾分类做得不好") == {"sanitation": {"垃圾分类": 1}}
    assert keywords("traffic light") == {"roads-traffic": {"traffic light": 1}}  # not also light
    assert keywords("垃圾没人清运，垃圾分类也不做") == {"sanitation": {"垃圾": 1, "垃圾分类": 1}}
    assert keywords("垃圾分类桶") == {"sanitation": {"垃圾分类": 1}}  # 垃圾分类/桶


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
    assert category("排水管破了", 0.5, COMPOUNDS) == "drainage"  # 排水, 水管: pieces of one word tie too
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
        "drainage (confidence 0.75): 下水道, 污水; also sanitation: 臭味"
    assert demo.categorise("The drain on our street is BLOCKED").category == "drainage"
    assert demo.categorise("想了解一下政策").category is None
    assert demo.categorise("The sewer on Jiekou Road is overflowing").reason() == \
        "drainage (confidence 0.75): sewer; also roads-traffic: road"
    assert demo.categorise("红绿灯时间太短，老人过不了马路").category == "roads-traffic"
    # park is the stem of parking's and greening's words alike: neither has it alone
    assert demo.categorise("Messages the service parked").reason() == "no category: no keyword found"
    assert demo.categorise("Traffic lights out on Jiekou Road").reason() == \
        "roads-traffic (confidence 1.00): traffic light, road"
    assert demo.categorise("Both lifts broken, the street flooded").reason() == \
        "no category: drainage (confidence 0.50): flooding; also property-management: lift"
    assert demo.categorise("供电所不接电话").category == "power-supply"
    assert demo.categorise("养老院收费太贵").category == "elderly-care"


def test_the_categoriser_is_built_again_only_when_the_categories_change():
    snapshot = load_directory(DEMO_DIRECTORY)["categories"]
    first = categoriser(snapshot)
    assert categoriser(load_directory(DEMO_DIRECTORY)["categories"]) is first
    weights = {**snapshot["drainage"]["weights"], "污水": 5.0}
    snapshot["drainage"] = {**snapshot["drainage"], "weights": weights}
    assert categoriser(snapshot) is not first
    assert categoriser(snapshot).categorise("污水有臭味").confidence == 5 / 6
