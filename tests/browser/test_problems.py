"""What a candidate sees when something is wrong: a bad, unknown or expired
link, a blocked or missing microphone, the interview opened in a second
window, a link that expires while the page is open."""

from __future__ import annotations

import uuid

import pytest

from .conftest import launch

pytestmark = pytest.mark.browser


def alert_text(page) -> str:
    return page.locator("[role=alert]:visible").first.inner_text()


def test_wrong_unknown_and_expired_links_explain_themselves(browser, rt_server, shoot):
    session = rt_server.create_session("Link checks", ["Tell me about yourself"])
    sid = session["session_id"]
    page = browser.new_page()

    response = page.goto(f"{rt_server.base}/join/{sid}/?token=not-the-token")
    assert response.status == 403
    assert "This link is not valid" in alert_text(page)
    shoot(page, "wrong-token")

    response = page.goto(f"{rt_server.base}/join/{sid}/")
    assert response.status == 403
    assert "This link is not valid" in alert_text(page)

    response = page.goto(f"{rt_server.base}/join/{uuid.uuid4()}/?token=whatever")
    assert response.status == 404
    assert "We could not find this interview" in alert_text(page)

    assert rt_server.api("POST", f"/api/sessions/{session['id']}/start/").status_code == 200
    assert rt_server.api("POST", f"/api/sessions/{session['id']}/end/").status_code == 200
    response = page.goto(session["join_url"])
    assert response.status == 403
    assert "This link has expired or the interview is over" in alert_text(page)
    shoot(page, "expired")
    page.close()


def test_blocked_microphone_says_how_to_fix_it_and_typing_still_works(
    browser, rt_server, shoot, page_errors
):
    session = rt_server.create_session("Mic blocked", ["Tell me about yourself"])
    page = browser.new_context().new_page()  # no microphone permission: the prompt is denied
    page_errors.watch(page)
    page.goto(session["join_url"])
    page.check("#consent")
    page.click("#start-voice")
    error = page.locator("#mic-error")
    error.wait_for(state="visible")
    assert "Microphone access is blocked" in error.inner_text()
    assert "answer by typing" in error.inner_text()
    assert page.evaluate("document.activeElement.id") == "mic-retry"
    assert page.locator("#setup").is_visible()  # the interview did not start without a mic
    shoot(page, "blocked")

    page.click("#start-typed")
    page.wait_for_selector("#transcript .turn--ai:not(.turn--live)")
    page.fill("#answer", "I prefer to type my answers today, thank you for understanding.")
    page.click("#answer-form button[type=submit]")
    page.wait_for_function(
        "document.querySelectorAll('#transcript .turn--ai:not(.turn--live)').length >= 2"
    )
    rows = rt_server.conversation(session["session_id"])
    assert [r["speaker"] for r in rows] == ["ai", "student", "ai"]


def test_missing_microphone_is_named(playwright_driver, rt_server, shoot, page_errors):
    # Permission granted, but the machine has no audio input at all.
    no_mic = launch(playwright_driver, "--use-fake-ui-for-media-stream")
    try:
        session = rt_server.create_session("No mic", ["Tell me about yourself"])
        page = no_mic.new_page()
        page_errors.watch(page)
        page.goto(session["join_url"])
        page.click("#mic-test")
        error = page.locator("#mic-error")
        error.wait_for(state="visible")
        assert "No microphone was found" in error.inner_text()
        shoot(page, "no-mic")
    finally:
        no_mic.close()


def test_opening_the_link_in_a_second_window_tells_the_first(browser, rt_server, page_errors):
    session = rt_server.create_session("Two windows", ["Tell me about yourself"])
    first = browser.new_context().new_page()
    page_errors.watch(first)
    first.goto(session["join_url"])
    first.wait_for_selector("#connection[data-state=open]")
    second = browser.new_context().new_page()
    second.goto(session["join_url"])
    second.wait_for_selector("#connection[data-state=open]")

    fatal = first.locator("#fatal")
    fatal.wait_for(state="visible")
    assert "open in another window or tab" in fatal.inner_text()
    assert first.locator("#start-voice").is_disabled()
    assert first.evaluate("document.activeElement.id") == "fatal"
    assert second.locator("#fatal").is_hidden()


def test_interview_ended_by_staff_and_link_expired_while_away(
    browser, rt_server, shoot, page_errors
):
    # Staff end the interview while the candidate is on the page.
    session = rt_server.create_session("Ended by staff", ["Tell me about yourself"])
    page = browser.new_context().new_page()
    page_errors.watch(page)
    page.goto(session["join_url"])
    page.check("#consent")
    page.click("#start-typed")
    page.wait_for_selector("#transcript .turn--ai:not(.turn--live)")
    assert rt_server.api("POST", f"/api/sessions/{session['id']}/end/").status_code == 200
    page.wait_for_selector("#ended", state="visible")
    assert "The interview is over" in page.locator("#ended").inner_text()

    # The link expires while the candidate's connection is down: on reconnecting
    # the server refuses it (4403) and the page says why instead of retrying.
    later = rt_server.create_session("Expires while away", ["Tell me about yourself"])
    page = browser.new_context().new_page()
    page_errors.watch(page)
    page.goto(later["join_url"])
    page.check("#consent")
    page.click("#start-typed")
    page.wait_for_selector("#transcript .turn--ai:not(.turn--live)")
    rt_server.kill()
    page.wait_for_selector("#connection[data-state=reconnecting]")
    rt_server.manage(
        "shell",
        "-c",
        "from interviews import selectors, services; "
        f"services.transition_session(session=selectors.session_by_uuid('{later['session_id']}'), "
        "action='end')",
    )
    rt_server.start()
    fatal = page.locator("#fatal")
    fatal.wait_for(state="visible", timeout=20_000)
    assert "This interview link has expired or the interview is over" in fatal.inner_text()
    assert page.locator("#connection").get_attribute("data-state") == "closed"
    assert page.locator("#answer").is_disabled()
    shoot(page, "expired-while-away")
