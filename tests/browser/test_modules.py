"""The page modules' own rules, run in Chromium: the transcript's ordering and
replacement rules, and the interviewer's voice. Headless Chromium has no
speech engine, so the voice is given a stand-in synthesiser that reports
start and end like a real one; everything else is the real module."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

TRANSCRIPT = """
async (base) => {
  const { Transcript } = await import(base + "/static/js/transcript.js");
  const list = document.createElement("ol");
  document.body.append(list);
  const t = new Transcript(list);
  const shown = () => [...list.children].map((li) => [
    li.className.replace("turn ", ""), li.querySelector(".turn__final").textContent,
    li.querySelector(".turn__partial").textContent]);
  const steps = {};
  t.apply({ type: "ai.delta", text: "Hello. " });
  t.apply({ type: "ai.delta", text: "First question?" });
  steps.streaming = shown();
  t.apply({ type: "ai.message", seq: 2, text: "Hello. First question?" });
  t.apply({ type: "transcript.partial", text: "I am" });
  steps.partial = shown();
  t.apply({ type: "transcript.final", seq: 3, text: "I am an engineer" });
  t.apply({ type: "transcript.partial", text: "who likes" });
  steps.finalThenPartial = shown();
  t.apply({ type: "turn.committed", seq: 4, text: "I am an engineer who likes tests" });
  steps.committed = shown();
  // A resume replays what is already there, and a live event overtook it.
  t.apply({ type: "ai.message", seq: 7, text: "Second question?" });
  t.apply({ type: "turn.committed", seq: 6, text: "Another answer" });
  t.apply({ type: "ai.message", seq: 2, text: "Hello. First question?" });
  t.apply({ type: "interview.ended", seq: 8, reason: "done" });
  steps.replayed = shown();
  steps.ariaHiddenPartial = list.querySelector(".turn__partial").getAttribute("aria-hidden");
  return steps;
}
"""

VOICE = """
async (base) => {
  const { Voice } = await import(base + "/static/js/voice.js");
  const log = [];
  // Speaks each utterance for 50 ms, one at a time, like a real engine.
  const synth = {
    queue: [], speaking: false, pending: false, current: null,
    speak(u) { log.push(["speak", u.text, u.lang]); this.queue.push(u); this.pending = true; this.next(); },
    next() {
      if (this.current || !this.queue.length) { this.pending = this.queue.length > 0; return; }
      const u = this.current = this.queue.shift();
      this.pending = this.queue.length > 0; this.speaking = true;
      u.onstart && u.onstart();
      u.timer = setTimeout(() => { this.current = null; this.speaking = false; u.onend && u.onend(); this.next(); }, 50);
    },
    cancel() {
      log.push(["cancel"]);
      if (this.current) { clearTimeout(this.current.timer); this.current.onend && this.current.onend(); }
      this.current = null; this.queue = []; this.speaking = false; this.pending = false;
    },
  };
  const states = [];
  const voice = new Voice({ lang: "ko", synth, onSpeaking: (on) => states.push(on) });
  const result = {};
  // A reply streams in: sentences are spoken as soon as they are complete.
  voice.delta("안녕하세요. 첫 번째");
  result.afterFirstDelta = log.slice();
  voice.delta(" 질문입니다. 자기소개를");
  voice.finish("안녕하세요. 첫 번째 질문입니다. 자기소개를 해 주세요.");
  result.spokenReply = log.filter((e) => e[0] === "speak").map((e) => e[1]);
  await new Promise((r) => setTimeout(r, 20));
  result.speakingMidReply = voice.speaking;
  // The candidate talks over it: silence at once, and the rest is not spoken.
  log.length = 0;
  voice.delta("두 번째 질문은 ");
  voice.stop();
  voice.delta("무엇입니까. 그리고 ");
  voice.finish("두 번째 질문은 무엇입니까. 그리고 끝.");
  result.afterBargeIn = log.slice();
  result.speakingAfterBargeIn = voice.speaking;
  // The next reply is spoken again; muted, it is not.
  log.length = 0;
  voice.delta("세 번째. ");
  voice.finish("세 번째. ");
  voice.setMuted(true);
  voice.delta("네 번째. ");
  voice.finish("네 번째. ");
  result.afterMute = log.slice();
  result.states = states;
  return result;
}
"""


@pytest.fixture(scope="module")
def page(browser, rt_server):
    page = browser.new_page()
    page.goto(f"{rt_server.base}/healthz")
    yield page
    page.close()


def test_transcript_orders_replaces_and_replays(page, rt_server):
    steps = page.evaluate(TRANSCRIPT, rt_server.base)
    assert steps["streaming"] == [["turn--ai turn--live", "Hello. First question?", ""]]
    assert steps["partial"] == [
        ["turn--ai", "Hello. First question?", ""],
        ["turn--student turn--open", "", "I am"],
    ]
    assert steps["finalThenPartial"][1] == [
        "turn--student turn--open",
        "I am an engineer",
        " who likes",
    ]
    assert steps["committed"][1] == ["turn--student", "I am an engineer who likes tests", ""]
    assert [text for _, text, _ in steps["replayed"]] == [
        "Hello. First question?",
        "I am an engineer who likes tests",
        "Another answer",
        "Second question?",
        "The interview has ended.",
    ]
    assert steps["ariaHiddenPartial"] == "true"


def test_voice_speaks_sentences_as_they_stream_and_stops_when_interrupted(page, rt_server):
    r = page.evaluate(VOICE, rt_server.base)
    assert r["afterFirstDelta"] == [["speak", "안녕하세요.", "ko"]]
    assert r["spokenReply"] == ["안녕하세요.", "첫 번째 질문입니다.", "자기소개를 해 주세요."]
    assert r["speakingMidReply"] is True
    assert r["afterBargeIn"] == [["cancel"]]  # nothing of the interrupted reply after it
    assert r["speakingAfterBargeIn"] is False
    assert r["afterMute"] == [["speak", "세 번째.", "ko"], ["cancel"]]
    assert r["states"][:2] == [True, False]
