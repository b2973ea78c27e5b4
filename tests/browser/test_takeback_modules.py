"""The page modules' rules for taking an answer back, run in Chromium: a
reopened answer keeps one line (its next commit replaces it), a reply taken
back leaves the candidate's transcript and is struck through on the
observers'; the voice reports a reply as spoken (`ai.spoken`) only once it
was heard to its end, or muted, and stops a reply taken back at once.

Events are given as the server sends them (docs/protocol.md); the speech
synthesiser is a stand-in that reports start and end like a real one
(headless Chromium has no speech engine)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

TAKE_BACK = """
async ([base, showWithdrawn]) => {
  const { Transcript } = await import(base + "/static/js/transcript.js");
  const list = document.createElement("ol");
  document.body.append(list);
  const t = new Transcript(list, { showWithdrawn });
  const shown = () => [...list.children].map((li) => [
    li.className.replace("turn ", ""),
    li.querySelector(".turn__who").textContent,
    li.querySelector(".turn__final").textContent + li.querySelector(".turn__partial").textContent]);
  const steps = {};
  t.apply({ type: "ai.message", seq: 1, conversation_id: 10, text: "Why this role?" });
  t.apply({ type: "transcript.final", seq: 2, text: "I like the team" });
  t.apply({ type: "turn.committed", seq: 3, conversation_id: 11, text: "I like the team" });
  t.apply({ type: "ai.delta", text: "Thanks. " });
  t.apply({ type: "ai.message", seq: 4, conversation_id: 12, text: "Thanks. Next question?" });
  steps.committed = shown();
  // The candidate goes on: the answer reopens, the reply to it is taken back.
  t.apply({ type: "transcript.final", seq: 5, text: "and the product" });
  t.apply({ type: "turn.reopened", seq: 6, conversation_id: 11 });
  t.apply({ type: "ai.cancelled", seq: 7, conversation_id: 12 });
  t.apply({ type: "transcript.partial", text: "it helps" });
  steps.reopened = shown();
  steps.open = t.hasOpenAnswer();
  steps.deltaAccepted = t.apply({ type: "ai.delta", text: "Stale words" });
  t.apply({ type: "turn.committed", seq: 8, conversation_id: 11, text: "I like the team and the product it helps" });
  steps.recommitted = shown();
  steps.deltaAfterCommit = t.apply({ type: "ai.delta", text: "Good. " });
  steps.final = shown();
  return steps;
}
"""


@pytest.fixture(scope="module")
def page(browser, rt_server):
    page = browser.new_page()
    page.goto(f"{rt_server.base}/healthz")
    yield page
    page.close()


def test_the_candidate_sees_one_line_per_answer_and_no_reply_taken_back(page, rt_server):
    steps = page.evaluate(TAKE_BACK, [rt_server.base, False])
    assert steps["committed"] == [
        ["turn--ai", "Interviewer", "Why this role?"],
        ["turn--student", "You", "I like the team"],
        ["turn--ai", "Interviewer", "Thanks. Next question?"],
    ]
    # The reply is gone; the answer is in progress again, with the new words.
    assert steps["reopened"] == [
        ["turn--ai", "Interviewer", "Why this role?"],
        ["turn--student turn--open", "You", "I like the team and the product it helps"],
    ]
    assert steps["open"] is True
    assert steps["deltaAccepted"] is False  # no reply streams for a reopened answer
    assert steps["recommitted"] == [
        ["turn--ai", "Interviewer", "Why this role?"],
        ["turn--student", "You", "I like the team and the product it helps"],
    ]
    assert steps["deltaAfterCommit"] is True  # the next reply streams as usual
    assert steps["final"][2] == ["turn--ai turn--live", "Interviewer", "Good. "]


def test_the_observer_sees_the_reply_struck_through_and_the_reopening(page, rt_server):
    steps = page.evaluate(TAKE_BACK, [rt_server.base, True])
    assert steps["reopened"] == [
        ["turn--ai", "Interviewer", "Why this role?"],
        ["turn--student turn--open", "You", "I like the team and the product it helps"],
        ["turn--ai turn--withdrawn", "Interviewer · taken back", "Thanks. Next question?"],
        ["turn--system", "", "The candidate went on with their answer."],
    ]
    # The answer is replaced in place, above the reply it no longer has.
    assert [row[2] for row in steps["recommitted"][:2]] == [
        "Why this role?",
        "I like the team and the product it helps",
    ]
    assert steps["recommitted"][1][0] == "turn--student"


VOICE = """
async (base) => {
  const { Voice } = await import(base + "/static/js/voice.js");
  const log = [];
  // Speaks each utterance for 30 ms, one at a time; a cancel ends them with an error, as Chromium does.
  const synth = {
    queue: [], speaking: false, pending: false, current: null,
    speak(u) { log.push(["speak", u.text]); this.queue.push(u); this.pending = true; this.next(); },
    next() {
      if (this.current || !this.queue.length) { this.pending = this.queue.length > 0; return; }
      const u = this.current = this.queue.shift();
      this.pending = this.queue.length > 0; this.speaking = true;
      u.onstart && u.onstart();
      u.timer = setTimeout(() => { this.current = null; this.speaking = false; u.onend && u.onend(); this.next(); }, 30);
    },
    cancel() {
      log.push(["cancel"]);
      for (const u of [this.current, ...this.queue].filter(Boolean)) { clearTimeout(u.timer); u.onerror && u.onerror(); }
      this.current = null; this.queue = []; this.speaking = false; this.pending = false;
    },
  };
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  const spoken = [];
  const voice = new Voice({ lang: "en", synth, onReplySpoken: (id) => spoken.push([id, log.length]) });
  const result = {};
  // Heard to its end: reported once, after the last sentence ended.
  voice.delta("Hello there. Tell me ");
  voice.finish("Hello there. Tell me about yourself.", 1);
  result.beforeTheEnd = spoken.slice();
  await wait(150);
  result.heard = spoken.slice();
  // Cut off by the candidate: not reported.
  voice.delta("Second question. ");
  voice.finish("Second question. And more.", 2);
  await wait(10);
  voice.stop();
  await wait(100);
  result.afterBargeIn = spoken.slice();
  // Taken back while it speaks: stopped at once, not reported.
  log.length = 0;
  voice.delta("Third. ");
  voice.finish("Third. And the rest.", 3);
  await wait(10);
  voice.withdraw(3);
  result.withdrawLog = log.slice();
  result.speakingAfterWithdraw = voice.speaking;
  await wait(100);
  result.afterWithdraw = spoken.slice();
  // Taken back while it still streams (its answer reopened): the rest is never said.
  log.length = 0;
  voice.delta("Fourth. Still ");
  voice.withdraw();
  result.streamingWithdrawLog = log.slice();
  // Muted: reported as soon as it is shown, without speaking.
  voice.setMuted(true);
  log.length = 0;
  voice.delta("Fifth. ");
  voice.finish("Fifth. ", 5);
  result.muted = spoken.slice();
  result.mutedLog = log.slice();
  return result;
}
"""

NO_SYNTH = """
async (base) => {
  const { Voice } = await import(base + "/static/js/voice.js");
  const spoken = [];
  const failing = { speak(u) { setTimeout(() => u.onerror && u.onerror(), 5); }, cancel() {}, speaking: false, pending: false };
  const a = new Voice({ synth: null, onReplySpoken: (id) => spoken.push(id) });
  a.delta("Hello. ");
  a.finish("Hello. ", 1);
  const b = new Voice({ synth: failing, onReplySpoken: (id) => spoken.push(id) });
  b.delta("Hello. ");
  b.finish("Hello. ", 2);
  await new Promise((r) => setTimeout(r, 50));
  return spoken;
}
"""


def test_a_reply_is_reported_spoken_only_when_heard_to_its_end_or_muted(page, rt_server):
    r = page.evaluate(VOICE, rt_server.base)
    assert r["beforeTheEnd"] == []
    assert r["heard"] == [[1, 2]]  # after both sentences were handed over and ended
    assert r["afterBargeIn"] == [[1, 2]]
    assert r["withdrawLog"] == [["speak", "Third."], ["speak", "And the rest."], ["cancel"]]
    assert r["speakingAfterWithdraw"] is False
    assert r["afterWithdraw"] == [[1, 2]]
    assert r["streamingWithdrawLog"] == [["speak", "Fourth."], ["cancel"]]
    assert [reply for reply, _ in r["muted"]] == [1, 5]
    assert r["mutedLog"] == []


def test_no_report_when_the_page_could_not_speak(page, rt_server):
    assert page.evaluate(NO_SYNTH, rt_server.base) == []
