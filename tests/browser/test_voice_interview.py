"""End to end in headless Chromium: the candidate's microphone is an espeak-ng
Korean WAV (Chromium's fake capture device); the candidate page streams it
through the AudioWorklet to the real server (daphne, Vosk, the scripted
interviewer); the transcript and the AI's replies show on the candidate page
and on an observer's live view; a reload of the candidate page keeps the
transcript."""

from __future__ import annotations

import pytest

from .conftest import login_observer

pytestmark = pytest.mark.browser

QUESTIONS = [
    "자기소개를 해 주세요",
    "가장 자랑스러운 프로젝트는 무엇입니까?",
    "어려운 버그를 어떻게 해결했습니까?",
    "팀에서 갈등이 생기면 어떻게 합니까?",
    "왜 이 회사에 지원했습니까?",
    "질문이 있습니까?",
]

# Observes, in the page, what a person could see or hear: whether a partial
# hypothesis was ever on screen (and in which style), and what the page handed
# to the browser's speech synthesis (the real call still runs).
OBSERVE = """
window.__observed = { partials: [], spoken: [], cancels: 0 };
const realSpeak = speechSynthesis.speak.bind(speechSynthesis);
const realCancel = speechSynthesis.cancel.bind(speechSynthesis);
speechSynthesis.speak = (u) => { window.__observed.spoken.push({ text: u.text, lang: u.lang }); realSpeak(u); };
speechSynthesis.cancel = () => { window.__observed.cancels += 1; realCancel(); };
const watchPartials = () => new MutationObserver(() => {
  for (const span of document.querySelectorAll("#transcript .turn__partial")) {
    if (!span.textContent.trim()) continue;
    const style = getComputedStyle(span);
    window.__observed.partials.push({
      text: span.textContent.trim(), opacity: style.opacity, fontStyle: style.fontStyle,
      ariaHidden: span.getAttribute("aria-hidden"),
    });
  }
}).observe(document.body, { subtree: true, childList: true, characterData: true });
document.addEventListener("DOMContentLoaded", watchPartials);
"""

COMMITTED = """() => [...document.querySelectorAll('#transcript > li')]
  .filter((li) => !li.classList.contains('turn--live') && !li.classList.contains('turn--open'))
  .map((li) => [li.classList.contains('turn--ai') ? 'ai' : li.classList.contains('turn--student') ? 'student' : 'other',
                li.querySelector('.turn__final').textContent])"""

# A spoken answer, and the interviewer's reply after it, are on screen.
ANSWERED = """() => {
  const items = [...document.querySelectorAll('#transcript > li')];
  const i = items.findIndex((li) => li.matches('.turn--student:not(.turn--open)'));
  return i >= 0 && items.slice(i + 1).some((li) => li.matches('.turn--ai:not(.turn--live)'));
}"""


def rows_until(server, session_id, speakers: list[str], page, timeout_s: float = 30) -> list[dict]:
    """The conversation as the server stored it, once it starts with `speakers`."""
    rows: list[dict] = []
    for _ in range(int(timeout_s * 4)):
        rows = server.conversation(session_id)
        if [r["speaker"] for r in rows][: len(speakers)] == speakers:
            return rows
        page.wait_for_timeout(250)
    raise AssertionError(f"conversation never started with {speakers}: {rows}")


def test_spoken_answer_shows_for_candidate_and_observer_and_survives_a_reload(
    voice_browser, rt_server, shoot, page_errors
):
    session = rt_server.create_session("Backend Engineer (voice)", QUESTIONS)
    sid = session["session_id"]

    observer = voice_browser.new_context(viewport={"width": 1280, "height": 1500}).new_page()
    page_errors.watch(observer)
    login_observer(observer, rt_server, f"/dashboard/{sid}/")
    observer.wait_for_selector("#connection[data-state=open]")

    candidate_context = voice_browser.new_context(viewport={"width": 1024, "height": 1300})
    candidate_context.add_init_script(OBSERVE)
    candidate = candidate_context.new_page()
    page_errors.watch(candidate)
    candidate.goto(session["join_url"])
    assert candidate.locator("#setup").is_visible()

    # Mic check: the meter moves with the fake microphone's speech.
    candidate.click("#mic-test")
    candidate.wait_for_function("document.getElementById('level').value > 0.2", timeout=10_000)
    shoot(candidate, "1-mic-check")
    candidate.check("#consent")
    candidate.click("#start-voice")
    assert candidate.locator("#interview").is_visible()

    # The greeting streams in on both pages and is handed to speech synthesis.
    candidate.wait_for_selector("#transcript .turn--ai:not(.turn--live)", timeout=15_000)
    greeting = candidate.locator("#transcript .turn--ai").first.locator(".turn__final").inner_text()
    assert "Lee Candidate" in greeting and QUESTIONS[0] in greeting
    observer.wait_for_selector("#transcript .turn--ai:not(.turn--live)", timeout=10_000)

    # The spoken answer: partials (lighter, hidden from screen readers), then
    # the committed answer and the AI's reply.
    candidate.wait_for_function(ANSWERED, timeout=45_000)
    observer.wait_for_function(ANSWERED, timeout=15_000)
    rows = rows_until(rt_server, sid, ["ai", "student", "ai"], candidate)
    stored_answer, stored_reply = rows[1]["message"], rows[2]["message"]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in stored_answer)  # Korean words recognised

    on_candidate = candidate.evaluate(COMMITTED)
    on_observer = observer.evaluate(COMMITTED)
    expected = [["ai", rows[0]["message"]], ["student", stored_answer], ["ai", stored_reply]]
    assert on_candidate[:3] == expected
    assert on_observer[:3] == expected

    observed = candidate.evaluate("window.__observed")
    assert observed["partials"], "no partial hypothesis was ever shown"
    first_partial = observed["partials"][0]
    assert float(first_partial["opacity"]) < 1 and first_partial["fontStyle"] == "italic"
    assert first_partial["ariaHidden"] == "true"
    spoken = " ".join(s["text"] for s in observed["spoken"])
    assert greeting.split(".")[0] in spoken  # the reply was spoken, sentence by sentence
    assert {s["lang"] for s in observed["spoken"]} == {"ko"}

    # Observer extras: presence, the question being asked, latency per turn.
    assert observer.locator("#presence-candidate").inner_text() == "connected"
    asked = observer.locator("#question").inner_text()
    assert asked in QUESTIONS
    observer.wait_for_selector("#latency-chart rect", timeout=10_000)
    assert "turn(s)" in observer.locator("#latency-summary").inner_text()
    shoot(candidate, "2-candidate")
    shoot(observer, "3-observer")

    # Reload: the transcript comes back from the server, nothing lost or doubled.
    before = candidate.evaluate(COMMITTED)
    candidate.reload()
    candidate.wait_for_function(f"({COMMITTED})().length >= {len(before)}", timeout=10_000)
    after = candidate.evaluate(COMMITTED)
    assert after[: len(before)] == before
    assert candidate.locator("#interview").is_visible()
    assert "reloaded" in candidate.locator("#mic-resume-box").inner_text()
    candidate.click("#mic-resume")
    candidate.wait_for_selector("#mic-resume-box", state="hidden")
    candidate.wait_for_function(
        "parseFloat(document.getElementById('live-meter-bar').style.width) > 20", timeout=10_000
    )
    shoot(candidate, "4-after-reload")

    # Speaking again after the reload; "I'm done" ends the answer mid-sentence.
    answers = len(rt_server.speech_facts(sid))
    candidate.wait_for_function(
        "[...document.querySelectorAll('#transcript .turn__partial')].some((s) => s.textContent.trim())",
        timeout=20_000,
    )
    candidate.click("#done")
    speech_facts: list[dict] = []
    for _ in range(40):
        speech_facts = rt_server.speech_facts(sid)
        if len(speech_facts) > answers:
            break
        candidate.wait_for_timeout(250)
    assert len(speech_facts) > answers, "no answer was committed after I'm done"
    assert speech_facts[answers]["ended_by"] == "turn.end"
    candidate_context.close()

    # A phone-sized screen: nothing wider than the viewport.
    phone = voice_browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    phone_page = phone.new_page()
    phone_page.goto(session["join_url"])
    assert phone_page.locator("#start-typed").inner_text() == "Continue by typing"
    phone_page.check("#consent")
    phone_page.click("#start-typed")
    phone_page.wait_for_function(f"({COMMITTED})().length >= {len(before)}", timeout=10_000)
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375
    shoot(phone_page, "5-phone")
    phone.close()
