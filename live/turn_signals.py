"""Two of turn-taking v2's signals that need no model: the words and the rhythm.

**The words.** Whether what the recogniser heard so far ends mid-clause, from
a small table per language (below). Korean marks the end of a sentence with a
final ending (-다, -요, -까, -죠); a connective ending (-고, -는데, -서, -면,
-지만, -며 ...), a case particle or a filler on the last word means the
sentence goes on. The longest matching suffix of the last words (spaces
removed: the recogniser splits endings off, "작성했 습니다") decides, so
"-는데요" (final) beats "-는데" (connective) and "-습니까" (a question) beats
"-니까" ("because"). English has no reliable written end, only words that
cannot end a sentence ("and", "because", "the") and fillers ("um", "uh").
It is a heuristic over an imperfect transcript: docs/speech.md gives its
measured accuracy.

**The rhythm.** The pauses inside a candidate's earlier answers set their
silence threshold: a slow, deliberate speaker gets more time, a brisk one
less, within RT_TURN_RHYTHM_MIN_S .. RT_TURN_RHYTHM_MAX_S.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from django.conf import settings

from speech.frames import Word


class Ending(enum.Enum):
    COMPLETE = "complete"  # a sentence ending
    MID_CLAUSE = "mid_clause"  # a connective ending, a particle, a trailing conjunction, a filler
    UNKNOWN = "unknown"


C, M = Ending.COMPLETE, Ending.MID_CLAUSE

# Korean: suffix of the last word(s) -> verdict; the longest match wins.
KOREAN_ENDINGS: dict[str, Ending] = {
    # sentence-final endings
    "다": C,
    "요": C,
    "죠": C,
    "까": C,
    "네": C,
    "습니까": C,
    "입니까": C,
    "합니까": C,
    "됩니까": C,
    # connective endings: the clause goes on
    "고": M,
    "는데": M,
    "은데": M,
    "인데": M,
    "서": M,
    "면": M,
    "지만": M,
    "며": M,
    "면서": M,
    "니까": M,
    "려고": M,
    "도록": M,
    "거나": M,
    "다가": M,
    "든지": M,
    # case and topic particles: a noun phrase waiting for its verb
    "는": M,
    "은": M,
    "를": M,
    "을": M,
    "가": M,
    "의": M,
    "에": M,
    "와": M,
    "과": M,
    "로": M,
}
# Korean fillers: the whole last word.
KOREAN_FILLERS = frozenset({"음", "어", "그", "저", "그러니까", "뭐", "아", "에", "이제", "좀"})

# English: words that cannot end a sentence, and fillers (the whole last word).
ENGLISH_TRAILING = frozenset(
    {"and", "but", "so", "because", "or", "then", "if", "when", "that", "which", "who"}
    | {"the", "a", "an", "to", "of", "with", "for", "my", "our"}
)
ENGLISH_FILLERS = frozenset({"um", "uh", "er", "erm", "hmm", "mm", "like"})

MAX_SUFFIX = max(map(len, KOREAN_ENDINGS))


def ending(text: str, language: str) -> Ending:
    """What the words so far say about the clause: complete, mid-clause, or nothing."""
    words = text.lower().split()
    if not words:
        return Ending.UNKNOWN
    last = words[-1].strip(".,!?…")
    if language.split("-")[0] == "ko":
        if last in KOREAN_FILLERS:
            return Ending.MID_CLAUSE
        tail = "".join(words[-2:])[-MAX_SUFFIX:]
        for size in range(min(MAX_SUFFIX, len(tail)), 0, -1):
            verdict = KOREAN_ENDINGS.get(tail[-size:])
            if verdict is not None:
                return verdict
        return Ending.UNKNOWN
    if language.split("-")[0] == "en" and (last in ENGLISH_TRAILING or last in ENGLISH_FILLERS):
        return Ending.MID_CLAUSE
    return Ending.UNKNOWN


# Gaps between two recognised words shorter than this are articulation, not pauses.
MIN_PAUSE_S = 0.3


def pauses(words: Sequence[Word], min_pause_s: float = MIN_PAUSE_S) -> list[float]:
    """The pauses inside one answer: gaps between consecutive words' times."""
    return [
        later.start - earlier.end
        for earlier, later in zip(words, words[1:], strict=False)
        if later.start - earlier.end >= min_pause_s
    ]


def rhythm_threshold_s(earlier_pauses: Sequence[float], rt=None) -> float:
    """The candidate's silence threshold from the pauses inside their earlier
    answers: RT_TURN_RHYTHM_MARGIN times their upper quartile, within the
    bounds; RT_TURN_SILENCE_S (bounded too) until enough pauses are heard."""
    rt = rt or settings.RT
    if len(earlier_pauses) < rt.turn_rhythm_min_pauses:
        threshold = rt.turn_silence_s
    else:
        ordered = sorted(earlier_pauses)
        threshold = rt.turn_rhythm_margin * ordered[int(0.75 * (len(ordered) - 1) + 0.5)]
    return min(rt.turn_rhythm_max_s, max(rt.turn_rhythm_min_s, threshold))
