"""Unit tests of services.reporting.topics: the words of a concern and the hot topics
of a window: similar concerns grouped, in any order of the tickets, with their growth."""
import dataclasses
import functools
import itertools
import logging
import random
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.reporting.topics import (
    LINKED_WORDS,
    TopicTicket,
    hot_topics,
    joined_words,
    load,
    ticket_words,
    words,
)

START = datetime(2026, 5, 1, tzinfo=timezone.utc)

#: one blocked sewer on 元岗路, as twenty people put it
SEWER = [
    "元岗路下水道堵塞，污水外溢",
    "下水道堵塞好几天了，污水外溢到路面",
    "元岗路口下水道堵了，污水流到人行道上",
    "下水道又堵塞了，污水味道很大",
    "井盖冒水，下水道排水不畅",
    "元岗路井盖冒水，污水满地",
    "小区门口下水道堵塞，臭气熏天",
    "下水道堵塞导致污水倒灌进一楼商铺",
    "雨后下水道排水不畅，路面积水",
    "井盖冒水，污水外溢，行人绕着走",
    "元岗路下水道返臭，污水外溢",
    "下水道堵塞没人疏通，污水外溢",
    "井盖冒水已经三天，下水道堵塞",
    "下水道堵了很久，请尽快疏通",
    "下水道疏通后又堵塞，污水外溢",
    "菜市场旁边下水道堵塞，污水横流",
    "元岗路污水外溢，行人无法通行",
    "排水不畅，井盖冒水，污水外溢",
    "下水道堵塞，污水流进商铺",
    "Blocked sewer on Yuangang Road: 下水道堵塞，污水外溢",
]
SEWER_STATUSES = ["received"] * 8 + ["dispatched"] * 4 + ["in_progress"] * 3 + ["resolved"] * 3 \
    + ["closed", "merged"]

#: everything else a district hears about, by category
OTHER_CONCERNS = {
    "parking": ["{place}门口乱停车，堵住消防通道", "电动车乱停放，占用人行道",
                "{place}违章停车，车辆进出困难", "共享单车乱停放，挡住出入口"],
    "lighting": ["{place}路灯不亮，晚上出行不安全", "楼道灯坏了，晚上看不见楼梯", "{place}路灯不亮好几天了"],
    "noise": ["{place}晚上施工噪音扰民", "广场舞音响声音太大，影响休息", "楼下餐馆油烟噪音扰民"],
    "elderly": ["长者饭堂饭菜太咸", "长者饭堂开饭时间太晚", "老人活动中心经常关门"],
    "sanitation": ["{place}垃圾清运不及时，气味很臭", "垃圾桶满了没人清理", "{place}建筑垃圾乱堆放"],
    "water": ["自来水停水三天了", "自来水发黄有异味", "水压太低，高层用不上水"],
    "roads": ["{place}下水道井盖松动，车辆经过很响", "{place}路面塌陷，井盖破损"],
    "drainage": SEWER,  # never in yuangang: the same words elsewhere are another topic
}
COMMUNITIES = ["yuangang", "jingxi", "tonghe", "sanyuanli", None]
PLACES = ["元岗路", "京溪街", "同和路", "三元里大道", "广园中路"]


def ticket(ticket_id, text, category="drainage", community="yuangang", status="received", hour=0):
    return TopicTicket(ticket_id, category, community, text, status, START + timedelta(hours=hour))


def other_concern(rng):
    category = rng.choice(sorted(OTHER_CONCERNS))
    communities = [c for c in COMMUNITIES if category != "drainage" or c != "yuangang"]
    text = rng.choice(OTHER_CONCERNS[category]).format(place=rng.choice(PLACES))
    return category, rng.choice(communities), text, rng.choice(["received", "assigned", "resolved"])


@functools.cache
def window():
    """(tickets, the sewer's ticket ids): the sewer's 20 among 100 others, ids mixed."""
    rng = random.Random(20260501)
    concerns = [("drainage", "yuangang", text, status)
                for text, status in zip(SEWER, SEWER_STATUSES, strict=True)]
    concerns += [other_concern(rng) for _ in range(100)]
    order = list(range(len(concerns)))
    rng.shuffle(order)
    tickets = [ticket(f"ZD{position:04d}", text, category, community, status, hour=position)
               for position, (category, community, text, status) in zip(order, concerns, strict=True)]
    return tickets, sorted(t.ticket_id for t in tickets[:len(SEWER)])


@functools.cache
def previous_window():
    """The week before: five about the sewer, others elsewhere or about another thing."""
    sewer = [ticket(f"ZP{n:04d}", text, status="closed") for n, text in enumerate(SEWER[:5])]
    return sewer + [
        ticket("ZP0100", SEWER[0], community="jingxi"),
        ticket("ZP0101", SEWER[0], category="roads"),
        ticket("ZP0102", "化粪池满了，臭气熏天"),
        ticket("ZP0103", "元岗路门口乱停车，堵住消防通道", category="parking"),
    ]


@functools.cache
def expected_topics():
    return hot_topics(window()[0], previous_window())


def test_chinese_is_cut_into_its_significant_words():
    assert words("元岗路下水道堵塞，污水外溢") == ["元岗路", "下水道", "堵塞", "污水", "外溢"]


def test_stop_words_complaint_filler_and_punctuation_are_left_out():
    assert words("我们小区的问题一直没有解决，希望有关部门尽快处理！！") == ["小区"]


def test_numbers_chinese_or_not_are_left_out():
    assert words("3号楼１２月停水，已经十几天了，第三次反映") == ["停水"]


def test_single_characters_are_left_out_but_those_naming_a_fault():
    assert words("下水道堵了，好臭啊") == ["下水道", "堵", "臭"]


def test_civic_words_jieba_cuts_badly_are_whole():
    assert words("路灯不亮") == ["路灯", "不亮"]
    assert words("雨后路面积水") == ["路面", "积水"]


def test_english_is_split_into_lower_case_words_without_stop_words():
    assert words("The street light on Main Road has been broken for 3 weeks, please fix it!") == \
        ["street", "light", "main", "road", "broken", "fix"]


def test_mixed_and_full_width_text():
    assert words("ＡＢＣ小区：Sewer blocked，下水道堵塞") == \
        ["abc", "小区", "sewer", "blocked", "下水道", "堵塞"]


def test_empty_text_has_no_words():
    assert words("") == [] and words(None) == [] and words("。。。!!! 123") == []


def test_loading_jieba_logs_nothing_below_warning():
    load()
    assert logging.getLogger("jieba").getEffectiveLevel() >= logging.WARNING


def test_twenty_concerns_about_one_sewer_are_the_top_topic():
    tickets, sewer_ids = window()
    top, *others = hot_topics(tickets)
    assert top["ticket_ids"] == sewer_ids
    assert (top["category"], top["community"], top["communities"], top["count"]) == \
        ("drainage", "yuangang", ["yuangang"], 20)
    assert top["top_words"][:3] == ["下水道", "污水", "堵塞"]
    assert all(group["count"] < 20 for group in others)


def test_a_topic_counts_its_open_and_resolved_tickets():
    top = hot_topics(window()[0])[0]
    assert (top["open"], top["resolved"]) == (15, 4)  # the merged one is neither


def test_growth_is_against_the_same_topic_in_the_window_before():
    top = expected_topics()[0]
    assert (top["count"], top["previous_count"], top["growth"]) == (20, 5, 15)


@settings(max_examples=30, deadline=None)
@given(st.permutations(window()[0]), st.permutations(previous_window()))
def test_the_topics_are_the_same_whatever_the_order_of_the_tickets(current, previous):
    assert hot_topics(current, previous) == expected_topics()


def test_the_same_words_in_another_community_or_category_never_join():
    tickets = [ticket("ZD1", SEWER[0]), ticket("ZD2", SEWER[0], community="jingxi"),
               ticket("ZD3", SEWER[0], category="roads"), ticket("ZD4", SEWER[0], category=None),
               ticket("ZD5", SEWER[1], community="jingxi"), ticket("ZD6", SEWER[1], category=None)]
    groups = hot_topics(tickets)
    assert [(g["category"], g["community"], g["ticket_ids"]) for g in groups] == [
        ("drainage", "jingxi", ["ZD2", "ZD5"]), (None, "yuangang", ["ZD4", "ZD6"])]


def test_no_community_is_a_community_of_its_own():
    groups = hot_topics([ticket("ZD1", SEWER[0], community=None),
                         ticket("ZD2", SEWER[1], community=None), ticket("ZD3", SEWER[1])])
    assert [(g["community"], g["communities"], g["ticket_ids"]) for g in groups] == \
        [(None, [], ["ZD1", "ZD2"])]


def test_tickets_sharing_one_word_are_not_linked():
    assert hot_topics([ticket("ZD1", "小区停水"), ticket("ZD2", "小区停电")]) == []


def test_a_short_text_joins_those_having_all_its_words():
    groups = hot_topics([ticket("ZD1", "停水"), ticket("ZD2", "自来水停水三天了"), ticket("ZD3", "小区停电")])
    assert [g["ticket_ids"] for g in groups] == [["ZD1", "ZD2"]]


def test_tickets_linked_through_another_are_one_topic():
    groups = hot_topics([ticket("ZD1", "下水道堵塞"), ticket("ZD2", "下水道堵塞，污水外溢"),
                         ticket("ZD3", "污水外溢，臭气熏天")])
    assert [g["ticket_ids"] for g in groups] == [["ZD1", "ZD2", "ZD3"]]


def test_more_shared_words_can_be_required():
    tickets = [ticket("ZD1", "下水道堵塞，污水外溢"), ticket("ZD2", "下水道堵塞，臭气熏天")]
    assert len(hot_topics(tickets)) == 1 and hot_topics(tickets, min_shared=3) == []


def test_a_ticket_alone_is_no_topic():
    assert hot_topics([ticket("ZD1", SEWER[0])]) == []


def test_texts_without_words_are_never_linked():
    assert hot_topics([ticket("ZD1", "？？？"), ticket("ZD2", "希望尽快解决")]) == []


def test_equal_topics_rank_by_growth_then_category():
    current = [ticket("ZD1", SEWER[0]), ticket("ZD2", SEWER[1]),
               ticket("ZD3", "路灯不亮", category="lighting"),
               ticket("ZD4", "路灯不亮", category="lighting"),
               ticket("ZD5", "广场舞噪音扰民", category="noise"),
               ticket("ZD6", "广场舞噪音扰民", category="noise")]
    previous = [ticket("ZP1", SEWER[0]), ticket("ZP2", "小区路灯不亮", category="lighting")]
    assert [(g["category"], g["growth"]) for g in hot_topics(current, previous)] == \
        [("noise", 2), ("drainage", 1), ("lighting", 1)]


def test_at_most_limit_topics():
    tickets, _ = window()
    assert len(hot_topics(tickets, limit=3)) == 3
    assert hot_topics(tickets, limit=3) == hot_topics(tickets)[:3]


def test_a_ticket_given_twice_is_refused():
    with pytest.raises(ValueError, match="ZD1"):
        hot_topics([ticket("ZD1", SEWER[0]), ticket("ZD1", SEWER[1], community="jingxi")])


def test_words_kept_with_the_tickets_give_the_same_topics_as_cutting_their_texts():
    kept = [dataclasses.replace(ticket, words=joined_words(ticket.text)) for ticket in window()[0]]
    kept_before = [dataclasses.replace(ticket, words=joined_words(ticket.text))
                   for ticket in previous_window()]
    assert hot_topics(kept, kept_before) == expected_topics()
    assert kept[0].words and kept[0].words.split(" ") == words(kept[0].text)


def test_merged_repeats_count_inside_their_group():
    """Twenty neighbours, one sewer: the tickets merged into the first still count, so
    the group shows how many people raised it, while only the first is open."""
    texts = ["元岗路下水道堵塞，污水外溢", "元岗路下水道又堵了，污水外溢",
             "元岗路下水道堵塞好几天，污水漫出来", "元岗路下水道堵塞，污水外溢很臭"]
    sewer = [ticket(f"T{n}", text, status="merged" if n else "dispatched", hour=n)
             for n, text in enumerate(texts)]
    (group,) = hot_topics(sewer)
    assert (group["count"], group["open"]) == (4, 1)


def linked_pairwise(tickets, min_shared):
    """The groups of ``hot_topics``' definition, every pair compared: the reference."""
    vocabularies = {t.ticket_id: frozenset(list(dict.fromkeys(words(t.text)))[:LINKED_WORDS])
                    for t in tickets}
    group_of = {t.ticket_id: {t.ticket_id} for t in tickets}
    for one, other in itertools.combinations(tickets, 2):
        mine, theirs = vocabularies[one.ticket_id], vocabularies[other.ticket_id]
        if (one.category, one.community) == (other.category, other.community) and mine and theirs \
                and len(mine & theirs) >= min(min_shared, len(mine), len(theirs)):
            joined = group_of[one.ticket_id] | group_of[other.ticket_id]
            for ticket_id in joined:
                group_of[ticket_id] = joined
    return sorted({tuple(sorted(group)) for group in group_of.values() if len(group) > 1})


def previous_pairwise(group, previous, min_shared):
    """The previous tickets counted for ``group`` by ``hot_topics``' definition."""
    top = set(group["top_words"])
    return sum(1 for t in previous if (t.category, t.community) == (group["category"], group["community"])
               and (vocabulary := set(words(t.text)))
               and len(vocabulary & top) >= min(min_shared, len(top), len(vocabulary)))


#: few words, so that texts share many and link in chains; latin, so that they cut fast
FEW_WORDS = ["sewer", "blocked", "smell", "water", "road", "lamp", "dark", "noise", "night"]
drawn_tickets = st.lists(st.tuples(st.sampled_from(["drainage", "lighting"]),
                                   st.sampled_from(["yuangang", None]),
                                   st.lists(st.sampled_from(FEW_WORDS), max_size=5)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(drawn_tickets, drawn_tickets, st.integers(1, 3), st.integers(1, 8))
def test_the_topics_are_those_of_every_pair_compared(current, previous, min_shared, limit):
    tickets = [ticket(f"ZD{n:03d}", " ".join(text), category, community)
               for n, (category, community, text) in enumerate(current)]
    before = [ticket(f"ZP{n:03d}", " ".join(text), category, community)
              for n, (category, community, text) in enumerate(previous)]
    every = hot_topics(tickets, before, limit=len(tickets), min_shared=min_shared)
    assert sorted(tuple(group["ticket_ids"]) for group in every) == linked_pairwise(tickets, min_shared)
    for group in every:
        assert group["previous_count"] == previous_pairwise(group, before, min_shared)
    assert hot_topics(tickets, before, limit=limit, min_shared=min_shared) == every[:limit]


def test_only_the_first_words_of_a_long_text_link_it():
    filler = " ".join(f"filler{one}{two}" for one in "ab" for two in "abcdefghijklmnopqrst")
    far = ticket("ZD1", f"sewer {filler} blocked")
    near = ticket("ZD2", "sewer blocked")
    assert len(set(words(far.text))) > LINKED_WORDS + 1
    assert hot_topics([far, near]) == []
    assert hot_topics([ticket("ZD1", f"sewer blocked {filler}"), near])[0]["count"] == 2


def test_the_words_kept_with_a_ticket_are_those_of_its_title_and_description():
    kept = ticket_words("元岗路下水道堵塞", "污水外溢三天了")
    assert kept == joined_words("元岗路下水道堵塞 污水外溢三天了")
    assert {"下水道", "污水"} <= set(kept.split(" "))
    assert ticket_words("元岗路下水道堵塞", None) == joined_words("元岗路下水道堵塞")
    assert ticket_words(None, None) == ""
