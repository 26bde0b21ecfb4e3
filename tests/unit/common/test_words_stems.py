"""Unit tests of services.common.words' stems: a normal text's latin words by their
English stems, the rest as it is, and the pieces of text that are Chinese."""
from services.common.words import boundaries, chinese, normalized, stem, stemmed


def test_each_latin_word_is_replaced_by_its_stem_and_the_rest_kept():
    assert stemmed(normalized("Cars are PARKED illegally, 下水道drains 3 trees")) == \
        "car are park illeg, 下水道drain 3 tree"
    assert stemmed("") == ""


def test_inflections_meet_at_one_stem_and_longer_words_do_not():
    assert {stem(word) for word in ("park", "parked", "parking", "parks")} == {"park"}
    assert {stem(word) for word in ("flooded", "flooding", "floods")} == {"flood"}
    assert stem("drainage") != stem("drain")


def test_a_stemmed_text_has_the_boundaries_of_its_words():
    text = stemmed("the lights of 漏水表示")
    assert text == "the light of 漏水表示"
    assert boundaries(text) == {0, 3, 4, 9, 10, 12, 13, 15, 17}


def test_chinese_is_chinese_characters_only():
    assert chinese("水表") and chinese("㐀")
    assert not chinese("水a") and not chinese("") and not chinese("水 表")
