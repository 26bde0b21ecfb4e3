"""Unit tests of the learned category model: what it reads of a text
(``services.routing.learning.features``) and its pure scoring
(``services.routing.learning.model``), proved equal to scikit-learn's own pipeline
fitted by the training (``services.routing.learning.training.train``)."""
import math

import pytest

from services.common.directory import load_directory
from services.routing.categories import Categoriser, CategoryHits
from services.routing.learning import corpus, training
from services.routing.learning.features import features
from services.routing.learning.model import CategoryModel, Scored
from services.routing.learning.training import TooFewExamples, train
from tests.support.system import DEMO_DIRECTORY

#: the weights are rounded to 5 decimals: a probability moves by far less than this
TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def categoriser():
    return Categoriser(load_directory(DEMO_DIRECTORY)["categories"])


@pytest.fixture(scope="module")
def examples():
    return corpus.examples()


def test_chinese_is_read_as_every_run_of_one_to_three_characters_and_its_words():
    assert features("乱停放") == {"c:乱": 1, "c:停": 1, "c:放": 1, "c:乱停": 1, "c:停放": 1,
                                 "c:乱停放": 1, "w:停放": 1}


def test_runs_of_characters_are_counted_each_time_and_never_across_punctuation():
    read = features("漏水，漏水")
    assert (read["c:漏水"], read["c:漏"], read["w:漏水"]) == (2, 2, 2)
    assert "c:水漏" not in read and "c:水，漏" not in read


def test_english_is_read_by_stems_and_pairs_of_stems_in_any_case():
    read = features("Cars illegally PARKED, parking everywhere")
    assert read["w:car"] == read["w:illeg"] == 1 and read["w:park"] == 2
    assert read["e:car illeg"] == read["e:illeg park"] == read["e:park park"] == 1
    assert "w:parked" not in read and "w:cars" not in read
    assert not any(feature.startswith("c:") for feature in read)


def test_a_chinese_word_breaks_a_pair_of_english_stems():
    read = features("car 车位 parked")
    assert (read["w:car"], read["w:车位"], read["w:park"]) == (1, 1, 1)
    assert not any(feature.startswith("e:") for feature in read)


def test_the_categories_whose_keywords_were_found_are_features_whatever_their_weights():
    hits = (CategoryHits("parking", 2.5, (("乱停", 1),)), CategoryHits("elderly-care", 0.3, (("老人", 1),)))
    read = features("老人门口乱停放", hits)
    assert (read["k:parking"], read["k:elderly-care"]) == (1, 1)
    without = {feature: n for feature, n in read.items() if not feature.startswith("k:")}
    assert without == features("老人门口乱停放")


def test_a_keyword_of_little_weight_counts_for_its_category_in_the_model():
    """Counts are taken as 1 + ln n: a weight of 0.3 read as a count would be -0.2."""
    import math

    light = features("老人", (CategoryHits("elderly-care", 0.3, (("老人", 1),)),))["k:elderly-care"]
    assert 1 + math.log(light) == 1


def test_an_empty_text_has_no_features():
    assert features("") == {} and features(None) == {}


class Fitted:
    """What the training fitted, kept: scikit-learn's own vectoriser, TF-IDF and classifier."""

    def __init__(self, monkeypatch):
        from sklearn import feature_extraction, linear_model
        from sklearn.feature_extraction import text

        self.vectoriser = self.tfidf = self.classifier = None
        fitted = self

        class Vectoriser(feature_extraction.DictVectorizer):
            def fit_transform(self, *args, **kwargs):
                fitted.vectoriser = self
                return super().fit_transform(*args, **kwargs)

        class Tfidf(text.TfidfTransformer):
            def fit_transform(self, *args, **kwargs):
                fitted.tfidf = self
                return super().fit_transform(*args, **kwargs)

        class Classifier(linear_model.LogisticRegression):
            def fit(self, *args, **kwargs):
                fitted.classifier = self
                return super().fit(*args, **kwargs)

        monkeypatch.setattr(feature_extraction, "DictVectorizer", Vectoriser)
        monkeypatch.setattr(text, "TfidfTransformer", Tfidf)
        monkeypatch.setattr(linear_model, "LogisticRegression", Classifier)

    def probabilities(self, texts, categoriser):
        """``[{category: probability}]`` of ``texts`` by scikit-learn's pipeline (``categoriser``
        None: of a model that reads the text only)."""
        counted = training.counted_features(texts, categoriser)
        matrix = self.tfidf.transform(self.vectoriser.transform(counted))
        return [dict(zip((str(code) for code in self.classifier.classes_), row, strict=True))
                for row in self.classifier.predict_proba(matrix)]


def trained_and_fitted(monkeypatch, texts, labels, categoriser, reads_keywords=True):
    fitted = Fitted(monkeypatch)
    body = train(texts, labels, categoriser, reads_keywords=reads_keywords)
    assert fitted.classifier is not None and fitted.tfidf.sublinear_tf
    return CategoryModel(body, version=1), fitted


def assert_scored_as_scikit_learn(model, fitted, texts, categoriser):
    expected = fitted.probabilities(texts, categoriser if model.reads_keywords else None)
    for text, wanted in zip(texts, expected, strict=True):
        scored = model.score(text, categoriser.categorise(text).hits)
        assert set(dict(scored.ranking)) == set(wanted)
        for code, probability in scored.ranking:
            assert probability == pytest.approx(wanted[code], abs=TOLERANCE), (text, code)
        assert scored.category == max(wanted, key=wanted.get) or \
            wanted[scored.category] == pytest.approx(max(wanted.values()), abs=TOLERANCE)
        assert scored.probability == scored.ranking[0][1]
        assert [p for _, p in scored.ranking] == sorted((p for _, p in scored.ranking), reverse=True)
        assert sum(p for _, p in scored.ranking) == pytest.approx(1.0)


def test_the_pure_scorer_gives_every_held_back_text_the_probabilities_scikit_learn_gives(
        monkeypatch, examples, categoriser):
    training_set, held_back = examples[::3], examples[1::7]
    model, fitted = trained_and_fitted(monkeypatch, [e.text for e in training_set],
                                       [e.category for e in training_set], categoriser)
    assert len(model.categories) == len({e.category for e in training_set}) > 2
    assert_scored_as_scikit_learn(model, fitted, [e.text for e in held_back], categoriser)


def test_a_model_of_the_text_alone_reads_no_keyword_and_scores_as_scikit_learn(
        monkeypatch, examples, categoriser):
    training_set, held_back = examples[::3], examples[1::7]
    model, fitted = trained_and_fitted(monkeypatch, [e.text for e in training_set],
                                       [e.category for e in training_set], categoriser, reads_keywords=False)
    assert not model.reads_keywords and model.body["reads_keywords"] is False
    assert not any(feature.startswith("k:") for feature in model.weights)
    text = held_back[0].text
    assert model.score(text, categoriser.categorise(text).hits) == model.score(text)
    assert_scored_as_scikit_learn(model, fitted, [e.text for e in held_back], categoriser)


def test_a_model_of_two_categories_scores_as_scikit_learn_s_binary_regression(
        monkeypatch, examples, categoriser):
    two = [e for e in examples if e.category in ("drainage", "parking")]
    training_set, held_back = two[::2], two[1::2]
    model, fitted = trained_and_fitted(monkeypatch, [e.text for e in training_set],
                                       [e.category for e in training_set], categoriser)
    assert model.categories == ("drainage", "parking") and model.intercepts[0] == 0.0
    assert all(values[1] == 0.0 for values in model.body["features"].values())
    assert_scored_as_scikit_learn(model, fitted, [e.text for e in held_back], categoriser)
    right = sum(model.score(e.text).category == e.category for e in held_back)
    assert right >= 0.8 * len(held_back)


@pytest.fixture(scope="module")
def model(examples, categoriser):
    """A model of the whole corpus."""
    return CategoryModel(train([e.text for e in examples], [e.category for e in examples], categoriser),
                         version=3)


def test_the_body_has_the_format_every_feature_s_idf_and_weights_rounded_and_what_it_learned_from(
        model, examples):
    body = model.body
    assert body["format"] == 1 and len(body["intercepts"]) == len(body["categories"]) == 13
    assert body["examples"] == {"total": len(examples), "by_category": dict(sorted(
        {code: sum(e.category == code for e in examples) for code in body["categories"]}.items()))}
    for values in body["features"].values():
        assert len(values) == 14 and values[0] >= 1.0
        assert all(round(value, 5) == value for value in values)
    assert all(feature[:2] in ("c:", "w:", "e:", "k:") for feature in body["features"])


def test_a_feature_the_model_never_saw_changes_nothing(model):
    known = features("小区门口马路边的雨水口被泥沙填满了")
    unseen = {**known, "w:zzyzx": 3, "c:龘": 1, "k:no-such-category": 2.0}
    assert all(feature not in model.weights for feature in ("w:zzyzx", "c:龘", "k:no-such-category"))
    assert model.score_features(unseen) == model.score_features(known)
    assert model.score("qwertyuiop zxcvbnm") == model.score_features({})


def test_a_text_of_no_known_feature_is_scored_by_the_intercepts_alone(model):
    scored = model.score_features({})
    exponentials = [math.exp(b) for b in model.intercepts]
    best = max(range(len(exponentials)), key=exponentials.__getitem__)
    assert scored.category == model.categories[best]
    assert scored.probability == pytest.approx(exponentials[best] / sum(exponentials))
    assert scored.top_words == ()
    assert scored.describe() == f"{scored.category} p {scored.probability:.2f}"


def test_the_top_words_are_what_weighed_most_for_the_best_category_read_as_people_read_them(
        model, categoriser):
    text = "化粪池满了溢出来，流到巷子里"
    scored = model.score(text, categoriser.categorise(text).hits)
    assert scored.category == "drainage"
    assert 0 < len(scored.top_words) <= 3
    weights = [weight for _, weight in scored.top_words]
    assert weights == sorted(weights, reverse=True) and all(weight > 0 for weight in weights)
    assert all(":" not in word for word, _ in scored.top_words)
    assert "keywords of drainage" in [word for word, _ in scored.top_words]


def test_a_word_read_as_characters_and_as_a_word_is_one_top_word_of_both_weights(model, examples):
    text = "我家住一楼，每次下大雨马桶就咕噜咕噜往上涌，外面的管网是不是太小了？"
    counted = features(text)
    assert "c:大雨" in counted and "w:大雨" in counted
    scored = model.score_features(counted)
    words = [word for word, _ in scored.top_words]
    assert "大雨" in words
    both = {"c:大雨": counted["c:大雨"], "w:大雨": counted["w:大雨"]}
    alone = model.score_features(both)
    index = model.categories.index(alone.category)
    scaled = {feature: (1 + math.log(n)) * model.weights[feature][0] for feature, n in both.items()}
    length = math.sqrt(sum(value * value for value in scaled.values()))
    summed = sum(value / length * model.weights[feature][1][index] for feature, value in scaled.items())
    assert alone.top_words == (("大雨", round(summed, 4)),)
    for example in examples:
        words = [word for word, _ in model.score(example.text).top_words]
        assert len(words) == len(set(words)), example.text


def test_describe_says_the_category_its_probability_and_the_top_words():
    scored = Scored("parking", 0.8712, (("parking", 0.8712), ("greening", 0.1288)),
                    (("乱停", 0.41), ("keywords of parking", 0.123)))
    assert scored.describe() == "parking p 0.87 (乱停 0.41, keywords of parking 0.12)"


def test_one_category_is_too_few_to_learn_from(categoriser):
    with pytest.raises(TooFewExamples, match="3 labelled texts of 1 category"):
        train(["下水道堵塞", "污水外溢", "沙井冒水"], ["drainage"] * 3, categoriser)
