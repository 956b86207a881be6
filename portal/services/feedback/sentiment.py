"""How positive or negative a piece of feedback reads, where we can tell.

VADER (its lexicon ships inside the package: nothing is downloaded at run time)
scores English text from -1 to 1. The text's language is detected first (langdetect,
whose profiles also ship in the package); text in another language, or too short to
tell, is not scored, and the reason is kept, rather than a guess."""

import re
from dataclasses import dataclass
from functools import cache

from langdetect import DetectorFactory, LangDetectException, detect_langs
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

SCORED_LANGUAGES = frozenset({"en"})
# Fewer words than this, or a less certain detection, and the language is not known.
MIN_WORDS = 3
MIN_CONFIDENCE = 0.9
# VADER's own thresholds for its compound score.
POSITIVE_FROM = 0.05
NEGATIVE_BELOW = -0.05
WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Sentiment:
    score: float | None  # -1 to 1; None when not scored
    language: str  # the detected language, "" when it could not be told

    @property
    def label(self) -> str:
        """ "positive", "neutral", "negative", or "unscored"."""
        if self.score is None:
            return "unscored"
        if self.score >= POSITIVE_FROM:
            return "positive"
        if self.score <= NEGATIVE_BELOW:
            return "negative"
        return "neutral"


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    DetectorFactory.seed = 0  # the same text is always given the same language
    return SentimentIntensityAnalyzer()


def detect_language(text: str) -> str:
    if len(WORD.findall(text)) < MIN_WORDS:
        return ""
    _analyzer()
    try:
        best = detect_langs(text[:2000])[0]
    except LangDetectException:
        return ""
    return best.lang if best.prob >= MIN_CONFIDENCE else ""


def analyse(text: str) -> Sentiment:
    language = detect_language(text)
    if language not in SCORED_LANGUAGES:
        return Sentiment(None, language)
    score = _analyzer().polarity_scores(text[:5000])["compound"]
    return Sentiment(round(float(score), 4), language)


def label_of(score: float | None) -> str:
    return Sentiment(score, "").label
