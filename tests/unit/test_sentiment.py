"""Sentiment of feedback: VADER scores English text only; another language, or text too
short to tell, is left unscored with the reason (the detected language, or "")."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.services.feedback import sentiment
from portal.services.feedback.sentiment import Sentiment

POSITIVE = "The new bus driver is wonderful and always kind to the children."
NEGATIVE = "The bus was late again and the driver was rude. This is terrible."
NEUTRAL = "The bus leaves the school at three in the afternoon."
SPANISH = "El autobús llegó tarde otra vez y el conductor fue muy grosero con los niños."


def test_kind_english_text_scores_positive():
    mood = sentiment.analyse(POSITIVE)
    assert mood.language == "en"
    assert mood.score is not None and mood.score >= sentiment.POSITIVE_FROM
    assert mood.label == "positive"


def test_angry_english_text_scores_negative():
    mood = sentiment.analyse(NEGATIVE)
    assert mood.language == "en"
    assert mood.score is not None and mood.score <= sentiment.NEGATIVE_BELOW
    assert mood.label == "negative"


def test_plain_english_facts_score_neutral():
    mood = sentiment.analyse(NEUTRAL)
    assert mood.language == "en"
    assert mood.score is not None and sentiment.NEGATIVE_BELOW < mood.score < sentiment.POSITIVE_FROM
    assert mood.label == "neutral"


def test_spanish_text_is_not_scored_and_keeps_its_language():
    assert sentiment.analyse(SPANISH) == Sentiment(None, "es")
    assert sentiment.analyse(SPANISH).label == "unscored"


@pytest.mark.parametrize("text", ["Great job", "Thanks!", "", "   ", "1 2 3 4 5 6", "!!! ??? ..."])
def test_text_with_fewer_than_three_words_is_not_scored_and_has_no_language(text):
    assert sentiment.analyse(text) == Sentiment(None, "")
    assert sentiment.detect_language(text) == ""


def test_the_same_text_always_gets_the_same_language_and_score():
    texts = [POSITIVE, NEGATIVE, NEUTRAL, SPANISH, "abc def ghi", "ok ok ok fine"]
    first = [sentiment.analyse(text) for text in texts]
    for _ in range(5):
        assert [sentiment.analyse(text) for text in texts] == first


def test_scores_are_rounded_to_four_places():
    score = sentiment.analyse(NEGATIVE).score
    assert score is not None and round(score, 4) == score


def test_a_very_long_english_text_is_still_scored_within_range():
    mood = sentiment.analyse((POSITIVE + " ") * 200)
    assert mood.language == "en"
    assert mood.score is not None and -1 <= mood.score <= 1


@pytest.mark.parametrize(
    ("score", "label"),
    [
        (None, "unscored"),
        (1.0, "positive"),
        (sentiment.POSITIVE_FROM, "positive"),
        (0.0499, "neutral"),
        (0.0, "neutral"),
        (-0.0499, "neutral"),
        (sentiment.NEGATIVE_BELOW, "negative"),
        (-1.0, "negative"),
    ],
)
def test_label_of_uses_vaders_thresholds(score, label):
    assert sentiment.label_of(score) == label


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_analysed_without_error(text):
    mood = sentiment.analyse(text)
    assert mood.score is None or -1 <= mood.score <= 1
    assert (mood.score is not None) == (mood.language == "en")
    if len(sentiment.WORD.findall(text)) < sentiment.MIN_WORDS:
        assert mood == Sentiment(None, "")
