"""Text helpers shared by the director, the reply check, the prompts and the
evaluation: words, their normal form, content words, hedges, clipping."""

from __future__ import annotations

import re

WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    """a an the and or but if then so of to in on at by for with from as is are was were be
    been being it its this that these those i you he she we they me my your our their his her
    them us do does did done have has had not no yes can could would should will shall may might
    must about into over than too very just also what which who whom how why when where there
    here all any some such each more most other own same only up down out off again further once
    etc e g eg ie""".split()  # noqa: SIM905 - a word list reads better as text
)
# Trailing Korean particles, stripped so "데이터베이스를" matches "데이터베이스".
_KO_PARTICLES = tuple(
    "에서는 으로는 에서 으로 에게 까지 부터 처럼 보다 하고 이나 라고 은 는 이 가 을 를 에 의 로 와 과 도 만".split()  # noqa: SIM905
)
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
HEDGES = (
    "i don't know",
    "i do not know",
    "not sure",
    "no idea",
    "i guess",
    "i think so",
    "maybe",
    "probably",
    "something like that",
    "kind of",
    "sort of",
    "모르겠",
    "잘 모르",
    "글쎄",
    "아마",
)


def normalize(word: str) -> str:
    """Lower case, light stemming (English plural s, Korean particles)."""
    w = word.lower()
    if _HANGUL.search(w):
        for particle in _KO_PARTICLES:
            if w.endswith(particle) and len(w) > len(particle) + 1:
                return w[: -len(particle)]
        return w
    if len(w) > 4 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    return w


def tokens(text: str) -> list[str]:
    return [normalize(w) for w in WORD.findall(text or "")]


def content_words(text: str) -> list[str]:
    return [w for w in tokens(text) if w not in STOPWORDS and not w.isdigit()]


def word_count(text: str) -> int:
    return len(WORD.findall(text or ""))


def clip(text: str, limit: int) -> str:
    """`text` on one line, at most `limit` characters (an ellipsis marks a cut)."""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def word_chunks(text: str) -> list[str]:
    """Split into word-sized pieces (keeping spaces) so a reply streams."""
    return re.findall(r"\S+\s*", text) or [text]
