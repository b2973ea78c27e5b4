"""The reply check: nothing the model writes reaches the candidate unchecked.

The model's streamed text is cut into sentences (``SentenceBuffer``) and each
sentence passes the ``ReplyGuard`` before it is sent: a sentence that quotes
an expected answer or states a score is never sent (``ReplyWithheld``; see
docs/interviewer.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .plan import Plan
from .text import STOPWORDS, content_words, tokens

SHINGLE = 4
_SCORE_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b\d+(?:\.\d+)?\s*(?:/|out of)\s*(?:5|10|100)\b",
        r"\b(?:score[sd]?|scoring|rating|rated|grade[sd]?|graded|marks?)\b[^.?!]{0,40}?\d",
        r"\b\d+(?:\.\d+)?\s*(?:points?|marks?|stars?)\b",
        r"\b(?:strong[_ ]yes|lean[_ ]no)\b",
        r"\d+\s*점",
        r"점수",
    )
)
_ANSWER_DISCLOSURE = re.compile(
    r"\b(?:expected|reference|model|ideal|correct)\s+answers?\s*(?:is|was|are|were|:)|모범\s*답안|정답은",
    re.IGNORECASE,
)


class ReplyWithheld(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ReplyGuard:
    """Checks each piece of a reply before the candidate sees it.

    A piece fails when it quotes an expected answer (any run of SHINGLE
    consecutive words of one, with at least two content words, that the
    planned questions themselves do not contain; a short expected answer
    quoted whole; most of its key terms (six at most) in one sentence; or a
    sentence announcing "the expected answer is") or states a score.
    Checks run across piece boundaries (the last words of the previous
    piece are kept), so splitting a quote over two sentences does not
    help.
    """

    def __init__(self, plan: Plan, allowed: Iterable[str] = ()) -> None:
        allowed_text = [q.text for q in plan.questions] + [a for a in allowed if a]
        allowed_shingles = {s for text in allowed_text for s in _shingles(tokens(text))}
        allowed_words = {w for text in allowed_text for w in content_words(text)}
        self._shingles: set[tuple[str, ...]] = set()
        self._phrases: list[tuple[str, ...]] = []
        self._bags: list[tuple[frozenset[str], int]] = []
        for q in plan.questions:
            expected = tokens(q.expected_answer)
            if not expected:
                continue
            if len(expected) >= SHINGLE:
                for s in _shingles(expected):
                    if s not in allowed_shingles and sum(w not in STOPWORDS for w in s) >= 2:
                        self._shingles.add(s)
            elif (
                any(w not in STOPWORDS for w in expected)
                and len("".join(expected)) >= 5
                and not _contains(tokens(" ".join(allowed_text)), tuple(expected))
            ):
                self._phrases.append(tuple(expected))
            key = frozenset(content_words(q.expected_answer)) - allowed_words
            if len(key) >= 5:
                # Most of a short key set, or six terms of a long one, in one sentence.
                self._bags.append((key, min(-(-len(key) * 7 // 10), 6)))
        self._tail: list[str] = []

    def check(self, piece: str) -> str | None:
        """None if `piece` may be sent; else the reason it may not."""
        words = tokens(piece)
        window = self._tail + words
        if any(s in self._shingles for s in _shingles(window)):
            return "expected_answer"
        if any(_contains(window, phrase) for phrase in self._phrases):
            return "expected_answer"
        present = set(content_words(piece))
        if any(len(key & present) >= need for key, need in self._bags):
            return "expected_answer"
        if _ANSWER_DISCLOSURE.search(piece):
            return "expected_answer"
        if any(p.search(piece) for p in _SCORE_PATTERNS):
            return "score"
        self._tail = window[-(SHINGLE - 1) :]
        return None


def _shingles(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def _contains(words: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1))


_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*\s+|[。！？]+\s*|\n+")
MAX_UNCHECKED_WORDS = 40


class SentenceBuffer:
    """Collects streamed text and releases it a sentence at a time.

    The reply check needs a whole sentence to judge; a run-on without a
    full stop is released at a word boundary after MAX_UNCHECKED_WORDS.
    """

    def __init__(self) -> None:
        self._text = ""

    def feed(self, text: str) -> list[str]:
        self._text += text
        out = []
        while True:
            match = _BOUNDARY.search(self._text)
            if match:
                out.append(self._text[: match.end()])
                self._text = self._text[match.end() :]
                continue
            words = list(re.finditer(r"\S+\s+", self._text))
            if len(words) > MAX_UNCHECKED_WORDS:
                cut = words[MAX_UNCHECKED_WORDS - 1].end()
                out.append(self._text[:cut])
                self._text = self._text[cut:]
                continue
            return out

    def flush(self) -> str:
        rest, self._text = self._text, ""
        return rest


def ends_sentence(text: str) -> bool:
    """Whether `text` ends a sentence (a full stop, maybe a closing quote)."""
    return bool(re.search(r"[.!?…。！？][\"'”’)\]]*\s*$", text))
