"""Turn taking in audio time, driven directly (the speech tests drive it with real audio)."""

from __future__ import annotations

from live.frames import EndedBy
from live.turns import Flushed, Heard, Held, TurnTaker
from speech.frames import Final, Partial, Word


def feed(taker: TurnTaker, start_s: float, seconds: float, *, voiced: bool) -> tuple[float, bool]:
    """Feed `seconds` of 100 ms chunks from stream time `start_s`: (the end, whether
    the silence rule ended the turn on the last chunk)."""
    t, ended = start_s, False
    for _ in range(round(seconds * 10)):
        t = round(t + 0.1, 3)
        ended = taker.feed(Heard(end_s=t, voiced_s=0.1 if voiced else 0.0)).end_turn
    return t, ended


def words_until(taker: TurnTaker, t: float, last_word_end_s: float) -> bool:
    """A chunk with no new audio in which the recogniser's latest word ends at the given time."""
    return taker.feed(Heard(end_s=t, voiced_s=0.0, last_word_end_s=last_word_end_s)).end_turn


def final(text: str, start: float, end: float, conf: float = 0.9) -> Final:
    words = tuple(Word(w, start, end, conf) for w in text.split())
    return Final(text, start, end, words)


def test_silence_after_speech_ends_the_turn_in_audio_time():
    taker = TurnTaker(silence_s=1.5)
    t, _ = feed(taker, 0.0, 2.0, voiced=True)
    assert not words_until(taker, t, 1.9)
    t, ended = feed(taker, t, 1.4, voiced=False)
    assert not ended
    t, ended = feed(taker, t, 0.2, voiced=False)
    assert ended


def test_words_that_lag_the_audio_do_not_end_a_turn_while_voice_continues():
    taker = TurnTaker(silence_s=1.5)
    words_until(taker, 0.0, 0.4)  # the hypothesis sits on its first word...
    _, ended = feed(taker, 0.0, 4.0, voiced=True)  # ...while the candidate keeps talking
    assert not ended


def test_a_short_answer_without_partial_words_still_ends_by_silence():
    taker = TurnTaker(silence_s=1.5)
    t, _ = feed(taker, 0.0, 0.8, voiced=True)
    _, ended = feed(taker, t, 1.5, voiced=False)
    assert ended


def test_hold_suspends_silence_until_voice_returns():
    taker = TurnTaker(silence_s=1.5)
    t, _ = feed(taker, 0.0, 1.0, voiced=True)
    words_until(taker, t, 1.0)
    assert taker.feed(Held(t)).end_turn is False
    t, ended = feed(taker, t, 4.0, voiced=False)
    assert not ended
    t, _ = feed(taker, t, 0.5, voiced=True)
    _, ended = feed(taker, t, 1.5, voiced=False)
    assert ended


def test_results_are_shown_only_once_the_turn_is_voiced():
    taker = TurnTaker(silence_s=1.5)
    noise = taker.feed(Heard(end_s=0.1, voiced_s=0.0, results=(Partial("이"),)))
    assert noise.show == ()
    voiced = taker.feed(
        Heard(end_s=0.3, voiced_s=0.2, results=(Partial("저는"), final("저는", 0.1, 0.3)))
    )
    assert [type(r) for r in voiced.show] == [Partial, Final]
    assert [f.text for f in taker.finals] == ["저는"]
    assert taker.feed(Flushed(final("  ", 0.3, 0.3))).show == ()  # an empty final is not kept


def test_noise_alone_gives_no_turn_and_a_spoken_one_keeps_its_finals():
    taker = TurnTaker(silence_s=1.5)
    feed(taker, 0.0, 3.0, voiced=False)
    assert taker.feed(Flushed(final("이", 0.0, 0.3, conf=0.4))).show == ()
    assert taker.take(EndedBy.SILENCE) is None

    t, _ = feed(taker, 3.0, 2.0, voiced=True)
    taker.feed(Flushed(final("저는 엔지니어", 3.2, 4.8)))
    taker.feed(Flushed(final("입니다", 4.9, 5.0)))
    turn = taker.take(EndedBy.TURN_END, stt_final_ms=42.0)
    assert turn.text == "저는 엔지니어 입니다" and turn.ended_by == "turn.end"
    assert turn.speech_s == 5.0 - 3.2 and turn.stt_final_ms == 42.0
    assert t == 5.0


def test_words_of_an_earlier_turn_do_not_reopen_the_next():
    taker = TurnTaker(silence_s=1.5)
    t, _ = feed(taker, 0.0, 1.0, voiced=True)
    taker.feed(Flushed(final("네", 0.2, 0.8)))
    assert taker.take(EndedBy.TURN_END) is not None
    words_until(taker, t, 0.8)  # the recogniser still reports the old last word
    t, ended = feed(taker, t, 3.0, voiced=False)
    assert not ended and taker.take(EndedBy.SILENCE) is None
