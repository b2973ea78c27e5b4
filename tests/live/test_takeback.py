"""The take-back decision (live/takeback.py) driven directly: which answer the
candidate's resumed speech reopens, and what of a continued turn is whose."""

from __future__ import annotations

import pytest

from live.frames import EndedBy, Turn
from live.takeback import Answer, Continuation, Outcome, TakeBack, own_part, without
from speech.frames import Final, Word


def final(text: str, start: float, end: float) -> Final:
    return Final(text, start, end, tuple(Word(w, start, end, 0.9) for w in text.split()))


def turn(*finals: Final, ended_by=EndedBy.SILENCE, pcm: bytes = b"", typed: str = "") -> Turn:
    text = " ".join(f.text for f in finals)
    return Turn(text=f"{text} {typed}".strip(), finals=finals, ended_by=ended_by, audio_pcm=pcm)


FIRST = final("저는 엔지니어 입니다", 0.0, 2.0)
SECOND = final("파이썬 을 좋아합니다", 4.0, 5.5)
THIRD = final("감사 합니다", 8.0, 9.0)


def committed(taker: TakeBack, t: Turn, at_s: float = 3.5) -> Answer:
    answer = Answer(t, committed_at_s=at_s)
    taker.committed(answer)
    return answer


def test_speech_within_the_grace_window_reopens_the_answer_silence_ended():
    taker = TakeBack(grace_s=4.0)
    answer = committed(taker, turn(FIRST))
    assert taker.resumed(3.5 + 4.0) is answer


def test_speech_after_the_grace_window_does_not():
    taker = TakeBack(grace_s=4.0)
    committed(taker, turn(FIRST))
    assert taker.resumed(3.5 + 4.1) is None


def test_only_once_per_commit():
    taker = TakeBack(grace_s=4.0)
    committed(taker, turn(FIRST))
    assert taker.resumed(4.0) is not None and taker.resumed(4.5) is None


@pytest.mark.parametrize("ended_by", [EndedBy.TURN_END, EndedBy.TEXT, EndedBy.INTERVIEW_END])
def test_answers_not_ended_by_silence_are_never_reopened(ended_by):
    taker = TakeBack(grace_s=4.0)
    committed(taker, turn(FIRST, ended_by=ended_by))
    assert taker.resumed(4.0) is None


def test_a_control_frame_since_the_commit_settles_the_answer():
    taker = TakeBack(grace_s=4.0)
    committed(taker, turn(FIRST))
    taker.ended()
    assert taker.resumed(4.0) is None


def test_grace_zero_turns_take_back_off():
    taker = TakeBack(grace_s=0.0)
    committed(taker, turn(FIRST))
    assert taker.resumed(3.5) is None


def test_ai_spoken_for_the_reply_settles_the_answer():
    taker = TakeBack(grace_s=4.0)
    answer = committed(taker, turn(FIRST))
    answer.reply_id = 12
    taker.ai_spoken(12)
    assert taker.resumed(4.0) is None


def test_ai_spoken_before_the_reply_is_known_is_kept_for_the_take_back_job():
    taker = TakeBack(grace_s=4.0)
    answer = committed(taker, turn(FIRST))
    taker.ai_spoken(12)  # the AI task has not told the input task its id yet
    assert taker.resumed(4.0) is answer
    answer.reply_id = 12
    assert answer.spoken_already()


def test_ai_spoken_for_another_reply_changes_nothing():
    taker = TakeBack(grace_s=4.0)
    answer = committed(taker, turn(FIRST))
    answer.reply_id = 12
    taker.ai_spoken(10)  # the greeting
    assert taker.resumed(4.0) is answer and not answer.spoken_already()


def test_ai_spoken_after_the_speech_resumed_changes_nothing():
    taker = TakeBack(grace_s=4.0)
    answer = committed(taker, turn(FIRST))
    assert taker.resumed(4.0) is answer
    taker.ai_spoken(12)
    answer.reply_id = 12
    assert not answer.spoken_already()


def test_a_new_commit_forgets_earlier_ai_spoken():
    taker = TakeBack(grace_s=4.0)
    committed(taker, turn(FIRST))
    taker.ai_spoken(12)
    answer = committed(taker, turn(SECOND), at_s=7.0)
    assert taker.resumed(7.5) is answer and answer.spoken == frozenset()


# --- what of a continued turn is whose ------------------------------------------


def continued(prior: Answer, *later: Final, pcm: bytes = b"", typed: str = "") -> tuple:
    whole = turn(*prior.turn.finals, *later, pcm=prior.turn.audio_pcm + pcm, typed=typed)
    return whole, Continuation(prior, len(prior.turn.finals), len(prior.turn.audio_pcm))


def test_a_taken_back_answer_continues_its_row_whole():
    prior = Answer(turn(FIRST, pcm=b"aa"), 3.5, outcome=Outcome.RETRACTED, student_id=7)
    whole, continuation = continued(prior, SECOND, pcm=b"bb")
    own, continues, dropped = own_part(whole, continuation)
    assert own == whole and continues == 7 and dropped == (0, 0)


def test_when_the_reply_stays_the_new_speech_is_the_next_answer():
    prior = Answer(turn(FIRST, pcm=b"aa"), 3.5, outcome=Outcome.REFUSED, student_id=7)
    whole, continuation = continued(prior, SECOND, pcm=b"bb", typed="and more")
    own, continues, dropped = own_part(whole, continuation)
    assert continues is None and dropped == (1, 2)
    assert own.text == "파이썬 을 좋아합니다 and more"
    assert own.finals == (SECOND,) and own.audio_pcm == b"bb"


def test_a_reply_never_started_leaves_the_whole_answer_to_the_next_commit():
    prior = Answer(turn(FIRST, pcm=b"aa"), 3.5, outcome=Outcome.SKIPPED)
    whole, continuation = continued(prior, SECOND, pcm=b"bb")
    assert own_part(whole, continuation) == (whole, None, (0, 0))


def test_a_chain_keeps_out_what_an_earlier_answer_kept():
    # 1 was answered and stays; 1+2 was reopened before its reply started
    # (its own part: 2); 1+2+3 is then answer 2+3, a new row.
    one = Answer(turn(FIRST, pcm=b"a"), 3.5, outcome=Outcome.REFUSED, student_id=7)
    whole2, cont2 = continued(one, SECOND, pcm=b"b")
    two = Answer(whole2, 6.0, outcome=Outcome.SKIPPED)
    _, two.student_id, two.dropped = own_part(whole2, cont2)
    whole3, cont3 = continued(two, THIRD, pcm=b"c")
    own, continues, _ = own_part(whole3, cont3)
    assert continues is None and own.finals == (SECOND, THIRD) and own.audio_pcm == b"bc"


def test_nothing_of_its_own_is_nothing_to_answer():
    assert without(turn(FIRST), 1, 0) is None


def test_a_shorter_window_for_a_hold():
    taker = TakeBack(grace_s=4.0)
    committed(taker, turn(final("하나", 0.0, 1.0)), at_s=3.5)
    assert taker.resumed(5.2, within_s=1.5) is None  # 1.7 s after: too late for a hold
    answer = committed(taker, turn(final("둘", 6.0, 7.0)), at_s=8.0)
    assert taker.resumed(9.4, within_s=1.5) is answer
    assert taker.target is None
