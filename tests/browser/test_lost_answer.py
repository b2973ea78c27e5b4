"""An answer lost with the connection (the server killed and restarted): the
candidate page reconnects by itself, says in plain words that the answer did
not arrive and asks for it again; the interview then goes on, and nothing is
stored twice. The server side of the same fault: tests/faults/."""

from __future__ import annotations

import pytest

from .a11y import assert_accessible

pytestmark = pytest.mark.browser

QUESTIONS = ["자기소개를 해 주세요", "가장 자랑스러운 프로젝트는 무엇입니까?", "왜 이 회사입니까?"]
ANSWER = "I design speech pipelines and measure their latency before and after every change."

COMMITTED = """() => [...document.querySelectorAll('#transcript > li')]
  .filter((li) => !li.classList.contains('turn--live') && !li.classList.contains('turn--open'))
  .map((li) => li.querySelector('.turn__final').textContent)"""
HEARING = """() => [...document.querySelectorAll('#transcript .turn--open')]
  .some((li) => li.textContent.trim().length > 0)"""
# Frames carrying this text vanish on their way out, as if the connection
# dropped right after the answer left the page.
LOSE_IN_TRANSIT = """
const realSend = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  if (typeof data === "string" && data.includes("LOST IN TRANSIT")) return;
  return realSend.call(this, data);
};
"""


def wait_ai_turns(page, count: int, timeout: int = 20_000) -> None:
    page.wait_for_function(
        f"document.querySelectorAll('#transcript .turn--ai:not(.turn--live)').length >= {count}",
        timeout=timeout,
    )


def restart(server, page) -> None:
    server.kill()
    page.wait_for_selector("#connection[data-state=reconnecting]", timeout=10_000)
    server.start()
    page.wait_for_selector("#connection[data-state=open]", timeout=30_000)


def test_a_spoken_answer_cut_by_a_server_crash_is_asked_for_again(
    voice_browser, rt_server, shoot, page_errors
):
    session = rt_server.create_session("Crash mid answer", QUESTIONS)
    sid = session["session_id"]
    page = voice_browser.new_context().new_page()
    page_errors.watch(page)
    page.goto(session["join_url"])
    page.check("#consent")
    page.click("#start-voice")
    wait_ai_turns(page, 1)

    # The candidate is speaking (the page shows words heard so far) when the
    # server dies; it comes back on the same address.
    page.wait_for_function(HEARING, timeout=30_000)
    assert not rt_server.speech_facts(sid), "the answer was committed before the crash"
    restart(rt_server, page)

    problem = page.locator("#problem")
    problem.wait_for(state="visible", timeout=10_000)
    assert "did not get all of your answer" in problem.inner_text()
    assert "Please give that answer again" in problem.inner_text()
    assert page.get_by_role("alert").filter(has_text="give that answer again").count() == 1
    shoot(page, "asked-again")
    assert_accessible(page)

    # The microphone goes on: the answer given again is committed and answered,
    # and the request goes away (a passing notice, such as the server catching
    # up with the audio while its speech model loads again, may show meanwhile).
    wait_ai_turns(page, 2, timeout=45_000)
    page.wait_for_function(
        "!document.getElementById('problem').textContent.includes('give that answer again')",
        timeout=5_000,
    )
    stored = [row["message"] for row in rt_server.conversation(sid)]
    assert [row["speaker"] for row in rt_server.conversation(sid)][:3] == ["ai", "student", "ai"]
    assert page.evaluate(COMMITTED)[:3] == stored[:3]


def test_a_typed_answer_lost_in_transit_is_put_back_to_send_again(
    browser, rt_server, shoot, page_errors
):
    session = rt_server.create_session("Lost typed answer", QUESTIONS)
    sid = session["session_id"]
    context = browser.new_context()
    context.add_init_script(LOSE_IN_TRANSIT)
    page = context.new_page()
    page_errors.watch(page)
    page.goto(session["join_url"])
    page.check("#consent")
    page.click("#start-typed")
    wait_ai_turns(page, 1)

    lost = "LOST IN TRANSIT: " + ANSWER
    page.fill("#answer", lost)
    page.click("#answer-form button[type=submit]")
    assert page.locator("#answer").input_value() == ""
    restart(rt_server, page)

    problem = page.locator("#problem")
    problem.wait_for(state="visible", timeout=10_000)
    assert "before your answer reached the interviewer" in problem.inner_text()
    assert page.locator("#answer").input_value() == lost  # back in the box
    shoot(page, "typed-put-back")

    page.fill("#answer", ANSWER)
    page.click("#answer-form button[type=submit]")
    wait_ai_turns(page, 2)
    problem.wait_for(state="hidden", timeout=5_000)
    students = [r["message"] for r in rt_server.conversation(sid) if r["speaker"] == "student"]
    assert students == [ANSWER]
    assert page.evaluate(COMMITTED)[1] == ANSWER
    context.close()
