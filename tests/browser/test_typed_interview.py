"""A typed interview in the browser, watched live by an observer: the lobby's
live status, notes and suggestions, the mute toggle, a dropped connection
(the server is killed and restarted) that both pages survive, ending the
interview, and the observer's report buttons."""

from __future__ import annotations

import pytest

from .conftest import login_observer

pytestmark = pytest.mark.browser

QUESTIONS = ["Tell me about yourself", "What are your strengths?", "Why this team?"]
LONG_ANSWER = (
    "I build streaming speech systems in Python and I lead a small team that ships "
    "them every week, measuring latency and accuracy for each release."
)

RECORD_SPEECH = """
window.__spoken = [];
const realSpeak = speechSynthesis.speak.bind(speechSynthesis);
speechSynthesis.speak = (u) => { window.__spoken.push(u.text); realSpeak(u); };
"""

TURNS = """() => [...document.querySelectorAll('#transcript > li:not(.turn--live)')]
  .map((li) => li.querySelector('.turn__final').textContent)"""


def ai_turns(page) -> int:
    return page.locator("#transcript .turn--ai:not(.turn--live)").count()


def wait_ai_turns(page, count: int, timeout: int = 15_000) -> None:
    page.wait_for_function(
        f"document.querySelectorAll('#transcript .turn--ai:not(.turn--live)').length >= {count}",
        timeout=timeout,
    )


def test_typed_interview_with_observer_drop_and_report(browser, rt_server, shoot, page_errors):
    session = rt_server.create_session("Platform Engineer (typed)", QUESTIONS)
    sid = session["session_id"]

    # The observer watches the lobby: the new session's status changes live.
    observer = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
    page_errors.watch(observer)
    login_observer(observer, rt_server, "/dashboard/")
    row = observer.locator(f'tr[data-session="{sid}"] .status')
    assert row.inner_text() == "Scheduled"
    observer.wait_for_selector("#connection[data-state=open]")

    candidate_context = browser.new_context()
    candidate_context.add_init_script(RECORD_SPEECH)
    candidate = candidate_context.new_page()
    page_errors.watch(candidate)
    candidate.goto(session["join_url"])

    # Consent is required before anything starts.
    candidate.click("#start-typed")
    assert candidate.locator("#setup").is_visible()
    assert candidate.locator("#consent").get_attribute("aria-invalid") == "true"
    assert "Please tick the box" in candidate.locator("#consent-help").inner_text()
    candidate.check("#consent")
    candidate.click("#start-typed")
    assert candidate.evaluate("document.activeElement.id") == "answer"
    assert candidate.locator("#done").is_hidden()  # nothing to finish by voice
    wait_ai_turns(candidate, 1)
    observer.wait_for_function(
        f"""document.querySelector('tr[data-session="{sid}"] .status').textContent === 'In progress'"""
    )
    shoot(observer, "1-lobby")

    observer.click(f'tr[data-session="{sid}"] a')
    observer.wait_for_selector("#connection[data-state=open]")
    wait_ai_turns(observer, 1)
    assert observer.locator("#presence-candidate").inner_text() == "connected"

    # A typed answer, an observer note about it and a suggestion the AI takes up.
    candidate.fill("#answer", LONG_ANSWER)
    candidate.keyboard.press("Control+Enter")
    wait_ai_turns(candidate, 2)
    wait_ai_turns(observer, 2)
    assert candidate.locator("#answer").input_value() == ""
    observer.fill("#note-text", "Concrete, with numbers.")
    observer.check("#note-ref")
    observer.click("text=Add private note")
    observer.fill("#note-text", "Ask how they test latency regressions.")
    observer.click("text=Suggest to the AI")
    observer.wait_for_selector("#notes li.note--suggest")
    answer_seq = observer.locator("#transcript .turn--student").last.get_attribute("data-seq")
    note = observer.locator("#notes li.note--note")
    assert "Concrete, with numbers." in note.inner_text()
    assert note.locator("a").get_attribute("href") == f"#turn-{answer_seq}"
    assert candidate.get_by_text("Concrete, with numbers.").count() == 0  # staff only

    # Mute: the next reply is shown but not spoken.
    spoken_before = len(candidate.evaluate("window.__spoken"))
    assert spoken_before > 0  # replies so far were spoken
    candidate.click("#mute")
    assert candidate.locator("#mute").get_attribute("aria-pressed") == "true"
    candidate.fill("#answer", LONG_ANSWER.replace("Python", "Go"))
    candidate.click("#answer-form button[type=submit]")
    wait_ai_turns(candidate, 3)
    assert "test latency regressions" in candidate.evaluate(TURNS)[-1]  # the suggestion
    assert len(candidate.evaluate("window.__spoken")) == spoken_before

    # The connection drops: both pages say so, keep their transcript, and an
    # answer typed meanwhile is sent once the server is back.
    before = candidate.evaluate(TURNS)
    rt_server.kill()
    for page in (candidate, observer):
        page.wait_for_selector("#connection[data-state=reconnecting]", timeout=10_000)
        assert "Reconnecting" in page.locator("#connection").inner_text()
    shoot(candidate, "2-candidate-reconnecting")
    candidate.fill("#answer", "An answer typed while the connection was down.")
    candidate.click("#answer-form button[type=submit]")
    assert candidate.evaluate(TURNS) == before
    rt_server.start()
    for page in (candidate, observer):
        page.wait_for_selector("#connection[data-state=open]", timeout=20_000)
    wait_ai_turns(candidate, 4, timeout=20_000)
    wait_ai_turns(observer, 4, timeout=20_000)
    stored = [row["message"] for row in rt_server.conversation(sid)]
    assert candidate.evaluate(TURNS) == stored  # nothing lost, nothing doubled
    assert observer.evaluate(TURNS) == stored
    assert stored.count("An answer typed while the connection was down.") == 1

    # The candidate ends the interview (with a confirmation).
    candidate.click("#end")
    assert candidate.locator("#end-dialog").is_visible()
    candidate.click("#end-dialog button[value=cancel]")
    assert candidate.locator("#end-dialog").is_hidden()
    candidate.click("#end")
    candidate.click("#end-dialog button[value=end]")
    candidate.wait_for_selector("#ended", state="visible", timeout=15_000)
    assert candidate.evaluate("document.activeElement.id") == "ended-title"
    assert candidate.locator("#answer-form").is_hidden()
    assert "Thank you for your time" in candidate.evaluate(TURNS)[-2]  # closing words
    shoot(candidate, "3-candidate-ended")

    # The observer generates the report and downloads it.
    observer.wait_for_selector("#status[data-status=completed]", timeout=15_000)
    observer.click("#generate-report")
    observer.wait_for_selector("#download-report:visible", timeout=30_000)
    href = observer.locator("#download-report").get_attribute("href")
    pdf = observer.request.get(href)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body()[:4] == b"%PDF"
    shoot(observer, "4-observer-report")
    candidate_context.close()


def test_candidate_page_works_with_the_keyboard_alone(browser, rt_server, page_errors):
    session = rt_server.create_session("Keyboard only", QUESTIONS)
    page = browser.new_context().new_page()
    page_errors.watch(page)
    page.goto(session["join_url"])
    page.wait_for_selector("#connection[data-state=open]")

    order = []
    for _ in range(5):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || document.activeElement.className"))
    # The skip link first, then the controls in reading order (the microphone
    # list stays disabled until the microphone has been allowed).
    assert order == ["skip-link", "consent", "mic-test", "start-voice", "start-typed"]
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    # Controls have names a screen reader can announce.
    page.get_by_role("checkbox", name="I agree that my voice and answers are recorded").wait_for()
    page.get_by_role("combobox", name="Microphone").wait_for()

    page.focus("#consent")
    page.keyboard.press("Space")
    page.focus("#start-typed")
    page.keyboard.press("Enter")
    page.wait_for_selector("#transcript .turn--ai:not(.turn--live)")
    assert page.evaluate("document.activeElement.id") == "answer"
    page.keyboard.type("I answer with the keyboard only, and I explain my work step by step.")
    page.keyboard.press("Control+Enter")
    page.wait_for_function(
        "document.querySelectorAll('#transcript .turn--ai:not(.turn--live)').length >= 2"
    )
    for role, name in [
        ("button", "Mute interviewer voice"),
        ("button", "End the interview"),
        ("button", "Send answer"),
        ("textbox", "Type your answer"),
        ("list", "Transcript"),
        ("timer", None),
    ]:
        assert page.get_by_role(role, name=name).count() == 1, (role, name)
    assert page.locator("#transcript").get_attribute("aria-live") == "polite"


def test_admin_session_page_links_to_live_view_and_join_link(browser, rt_server):
    from .conftest import login_observer

    session = rt_server.create_session("Admin links", QUESTIONS)
    page = browser.new_context().new_page()
    change = f"/admin/interviews/interviewsession/{session['id']}/change/"
    login_observer(page, rt_server, change)
    assert page.locator("a", has_text="join link").get_attribute("href") == session["join_url"]
    page.click("a:has-text('live view')")
    page.wait_for_url(f"{rt_server.base}/dashboard/{session['session_id']}/")
    assert page.locator("h1").inner_text() == "Admin links"
    page.wait_for_selector("#connection[data-state=open]")
