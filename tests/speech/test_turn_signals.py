"""Turn-taking v2's model-free signals and the rule that weighs them: the words'
table, the candidate's rhythm, and the silence the evidence asks for."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.conf import settings

from live.turn_rule import Evidence, SignalRule, completeness, required_silence_s
from live.turn_signals import Ending, ending, pauses, rhythm_threshold_s
from speech.frames import Word


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("보고서를 작성했습니다", Ending.COMPLETE),
        ("그 일은 정말 재미있었어요", Ending.COMPLETE),
        ("독서 를 작성했 습니다", Ending.COMPLETE),  # the recogniser splits endings off
        ("그 프로젝트는 어려웠는데요", Ending.COMPLETE),  # -는데요 ends, -는데 goes on
        ("어떻게 생각합니까", Ending.COMPLETE),  # -습니까/-합니까 ask, -니까 goes on
        ("저는 데이터를 정리하고", Ending.MID_CLAUSE),
        ("그 프로젝트는 어려웠는데", Ending.MID_CLAUSE),
        ("팀장과 상의해서", Ending.MID_CLAUSE),
        ("문제가 생기면", Ending.MID_CLAUSE),
        ("결과는 좋았지만", Ending.MID_CLAUSE),
        ("고객의 요구를 분석하며", Ending.MID_CLAUSE),
        ("시간이 없으니까", Ending.MID_CLAUSE),
        ("저는 보고서를", Ending.MID_CLAUSE),  # an object waiting for its verb
        ("그 문제는 그러니까", Ending.MID_CLAUSE),  # a filler
        ("음", Ending.MID_CLAUSE),
        ("파이썬 개발자 김철수", Ending.UNKNOWN),
        ("", Ending.UNKNOWN),
    ],
)
def test_korean_words_tell_a_sentence_end_from_a_clause_that_goes_on(text, verdict):
    assert ending(text, "ko") is verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("I rewrote the queries and", Ending.MID_CLAUSE),
        ("it was slow because", Ending.MID_CLAUSE),
        ("so I um", Ending.MID_CLAUSE),
        ("we shipped it, uh", Ending.MID_CLAUSE),
        ("we shipped it on time", Ending.UNKNOWN),  # English words cannot say "finished"
    ],
)
def test_english_trailing_conjunctions_and_fillers_are_mid_clause(text, verdict):
    assert ending(text, "en-US") is verdict


def test_a_language_without_a_table_says_nothing():
    assert ending("je pense que", "fr") is Ending.UNKNOWN


def test_pauses_are_the_gaps_between_words_longer_than_articulation():
    words = [Word("a", 0.0, 0.4), Word("b", 0.5, 0.9), Word("c", 2.1, 2.5), Word("d", 3.0, 3.2)]
    assert pauses(words) == pytest.approx([1.2, 0.5])
    assert pauses(words[:1]) == []


def test_the_rhythm_keeps_the_default_until_enough_pauses_are_heard():
    rt = settings.RT
    assert rhythm_threshold_s([], rt) == rt.turn_silence_s == 1.5
    assert rhythm_threshold_s([2.0, 2.0], rt) == 1.5  # two pauses: not yet


def test_the_rhythm_follows_the_candidate_within_its_bounds():
    rt = settings.RT
    assert rhythm_threshold_s([0.8, 0.9, 1.0, 1.0], rt) == pytest.approx(1.5)  # 1.5 x 1.0
    assert rhythm_threshold_s([0.6, 0.7, 0.8, 0.8], rt) == pytest.approx(1.2)
    assert rhythm_threshold_s([0.3, 0.3, 0.4], rt) == rt.turn_rhythm_min_s == 1.0  # brisk
    assert rhythm_threshold_s([2.0, 2.5, 3.0, 2.2], rt) == rt.turn_rhythm_max_s == 2.5  # slow
    tight = replace(rt, turn_rhythm_min_s=1.4, turn_rhythm_max_s=1.6)
    assert rhythm_threshold_s([0.3, 0.3, 0.4], tight) == 1.4
    assert rhythm_threshold_s([2.0, 2.5, 3.0], tight) == 1.6


def test_the_silence_needed_grows_with_the_evidence_that_the_answer_goes_on():
    rt = replace(settings.RT, turn_smart_turn_weight=1.0, turn_lexical_weight=1.0)
    done = Evidence(p_complete=0.95, words=Ending.COMPLETE, threshold_s=1.5)
    going_on = Evidence(p_complete=0.1, words=Ending.MID_CLAUSE, threshold_s=1.5)
    nothing = Evidence(p_complete=None, words=Ending.UNKNOWN, threshold_s=1.5)
    assert completeness(done, rt) == pytest.approx(0.975)
    # Factors 0.5 (complete) .. 2.5 (mid-clause) of the threshold, within 0.6 .. 4.0 s.
    assert required_silence_s(done, rt) == pytest.approx(1.5 * (0.5 + 2.0 * 0.025))
    assert required_silence_s(going_on, rt) == pytest.approx(1.5 * (0.5 + 2.0 * 0.95))
    assert required_silence_s(nothing, rt) == pytest.approx(2.25)
    assert required_silence_s(going_on, rt) > 3.0 > 1.6 > required_silence_s(done, rt)


def test_by_default_a_connective_ending_outweighs_a_model_sure_the_turn_is_complete():
    rt = settings.RT  # Smart Turn weighs a quarter of the words
    fooled = Evidence(p_complete=0.98, words=Ending.MID_CLAUSE, threshold_s=1.5)
    assert required_silence_s(fooled, rt) > 3.0  # a 3 s thinking pause is outlasted
    finished = Evidence(p_complete=0.9, words=Ending.UNKNOWN, threshold_s=1.5)
    assert required_silence_s(finished, rt) == pytest.approx(1.05)  # the model alone: soon


def test_the_weights_choose_which_signal_counts():
    rt = replace(settings.RT, turn_smart_turn_weight=1.0, turn_lexical_weight=1.0)
    split = Evidence(p_complete=0.9, words=Ending.MID_CLAUSE, threshold_s=1.5)
    assert completeness(split, rt) == pytest.approx(0.45)
    assert completeness(split, replace(rt, turn_lexical_weight=0.0)) == pytest.approx(0.9)
    assert completeness(split, replace(rt, turn_smart_turn_weight=0.0)) == 0.0


def test_the_silence_needed_stays_within_its_bounds():
    rt = settings.RT
    brisk = Evidence(p_complete=1.0, words=Ending.COMPLETE, threshold_s=1.0)
    slow = Evidence(p_complete=0.0, words=Ending.MID_CLAUSE, threshold_s=2.5)
    assert required_silence_s(brisk, rt) == rt.turn_min_wait_s == 0.6
    assert required_silence_s(slow, rt) == rt.turn_max_wait_s == 4.0


class Certain:
    """A stand-in end-of-turn model that is sure the turn is complete, and counts its calls."""

    def __init__(self):
        self.calls = 0

    def probability(self, samples):
        self.calls += 1
        return 1.0


def test_the_rule_asks_the_model_once_per_pause_and_the_words_decide_with_it():
    model = Certain()
    rule = SignalRule("ko", smart_turn=model)
    rule.hear(b"\x00\x00" * 1600, 1.0)
    rule.words("저는 데이터를 정리하고", last_word_end_s=1.0)
    # 0.1 s in: the model is not asked yet, the words alone say mid-clause.
    assert rule.silence_s(1.1) == pytest.approx(3.75)
    assert model.calls == 0
    assert rule.wants_words(1.3) and not rule.wants_words(1.4)  # once per pause
    # The model says complete, the words say mid-clause: c = 0.25 / 1.25 = 0.2.
    assert rule.silence_s(1.3) == pytest.approx(1.5 * (0.5 + 2.0 * 0.8)) and model.calls == 1
    rule.words("저는 데이터를 정리하고 보고서를 작성했습니다", last_word_end_s=3.0)
    assert rule.p_complete is None  # speech resumed: a new pause, a new verdict
    assert rule.silence_s(3.3) == pytest.approx(0.75) and model.calls == 2
    rule.turn_taken([2.0, 2.0, 2.0])
    assert (rule.text, rule.audio, rule.earlier_pauses) == ("", [], [2.0, 2.0, 2.0])
    assert rule.evidence().threshold_s == 2.5  # a slow speaker's next turn waits longer
