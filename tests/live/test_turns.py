"""Turn taking in audio time, driven directly (the speech tests drive it with real audio)."""

from __future__ import annotations

from live.turns import TurnTaker
from speech.frames import Final, Word

CHUNK = b"\x00\x00" * 1600  # 100 ms at 16 kHz


def feed(taker: TurnTaker, start_s: float, seconds: float, *, voiced: bool) -> float:
    """Feed `seconds` of 100 ms chunks starting at stream time `start_s`; returns the end."""
    t = start_s
    for _ in range(round(seconds * 10)):
        t = round(t + 0.1, 3)
        taker.on_audio(CHUNK, 16000, 0.1 if voiced else 0.0, t, keep_audio=False)
    return t


def final(text: str, start: float, end: float, conf: float = 0.9) -> Final:
    words = tuple(Word(w, start, end, conf) for w in text.split())
    return Final(text, start, end, words)


def test_silence_after_speech_ends_the_turn_in_audio_time():
    taker = TurnTaker(silence_s=1.5)
    t = feed(taker, 0.0, 2.0, voiced=True)
    taker.on_words(1.9)
    t = feed(taker, t, 1.4, voiced=False)
    assert not taker.silence_elapsed(t)
    t = feed(taker, t, 0.2, voiced=False)
    assert taker.silence_elapsed(t)


def test_words_that_lag_the_audio_do_not_end_a_turn_while_voice_continues():
    taker = TurnTaker(silence_s=1.5)
    taker.on_words(0.4)  # the hypothesis sits on its first word...
    t = feed(taker, 0.0, 4.0, voiced=True)  # ...while the candidate keeps talking
    assert not taker.silence_elapsed(t)


def test_a_short_answer_without_partial_words_still_ends_by_silence():
    taker = TurnTaker(silence_s=1.5)
    t = feed(taker, 0.0, 0.8, voiced=True)
    t = feed(taker, t, 1.5, voiced=False)
    assert taker.silence_elapsed(t)


def test_hold_suspends_silence_until_voice_returns():
    taker = TurnTaker(silence_s=1.5)
    t = feed(taker, 0.0, 1.0, voiced=True)
    taker.on_words(1.0)
    taker.hold(t)
    t = feed(taker, t, 4.0, voiced=False)
    assert not taker.silence_elapsed(t)
    t = feed(taker, t, 0.5, voiced=True)
    t = feed(taker, t, 1.5, voiced=False)
    assert taker.silence_elapsed(t)


def test_noise_alone_gives_no_turn_and_a_spoken_one_keeps_its_finals():
    taker = TurnTaker(silence_s=1.5)
    feed(taker, 0.0, 3.0, voiced=False)
    taker.on_final(final("이", 0.0, 0.3, conf=0.4))
    assert taker.take("silence") is None

    t = feed(taker, 3.0, 2.0, voiced=True)
    taker.on_final(final("저는 엔지니어", 3.2, 4.8))
    taker.on_final(final("입니다", 4.9, 5.0))
    turn = taker.take("turn.end", stt_final_ms=42.0)
    assert turn.text == "저는 엔지니어 입니다" and turn.ended_by == "turn.end"
    assert turn.speech_s == 5.0 - 3.2 and turn.stt_final_ms == 42.0
    assert t == 5.0


def test_words_of_an_earlier_turn_do_not_reopen_the_next():
    taker = TurnTaker(silence_s=1.5)
    t = feed(taker, 0.0, 1.0, voiced=True)
    taker.on_final(final("네", 0.2, 0.8))
    assert taker.take("turn.end") is not None
    taker.on_words(0.8)  # the recogniser still reports the old last word
    t = feed(taker, t, 3.0, voiced=False)
    assert not taker.silence_elapsed(t) and taker.take("silence") is None
