"""Every page passes the content security policy (no inline script, nothing
from elsewhere): Chromium reports no `securitypolicyviolation` and logs no CSP
error on any of them, sockets included."""

from __future__ import annotations

import pytest

from .conftest import login_observer

pytestmark = pytest.mark.browser

# Recorded from the first script run on each document, before the page's own.
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


class Violations:
    def __init__(self) -> None:
        self.found: list[str] = []

    def watch(self, page) -> None:
        page.on(
            "console",
            lambda msg: (
                "Content Security Policy" in msg.text
                and self.found.append(f"{page.url}: {msg.text}")
            ),
        )

    def collect(self, page) -> None:
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(300)
        self.found += [f"{page.url}: {v}" for v in page.evaluate("window.__csp || []")]


@pytest.fixture
def violations():
    return Violations()


def open_page(page, url: str, violations: Violations, ready: str | None = None) -> None:
    response = page.goto(url)
    assert response.status < 400 or "token=wrong" in url, (url, response.status)
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, (url, policy)
    if ready:
        page.wait_for_selector(ready, timeout=15_000)
    violations.collect(page)


def test_every_page_passes_the_content_security_policy(browser, rt_server, violations):
    session = rt_server.create_session("CSP check", ["Tell me about yourself"])
    sid, student = session["session_id"], session["student"]["id"]
    base = rt_server.base

    candidate_context = browser.new_context(bypass_csp=False)
    candidate_context.add_init_script(WATCH)
    candidate = candidate_context.new_page()
    violations.watch(candidate)
    open_page(candidate, f"{base}/join/{sid}/?token=wrong", violations)
    open_page(candidate, session["join_url"], violations)
    # Starting the interview opens the socket (connect-src) and runs the page's modules.
    candidate.check("#consent")
    candidate.click("#start-typed")
    candidate.wait_for_selector("#transcript .turn--ai", timeout=15_000)
    violations.collect(candidate)

    staff_context = browser.new_context(viewport={"width": 1280, "height": 1000}, bypass_csp=False)
    staff_context.add_init_script(WATCH)
    staff = staff_context.new_page()
    violations.watch(staff)
    open_page(staff, f"{base}/dashboard/login/", violations)
    open_page(staff, f"{base}/admin/login/", violations)
    login_observer(staff, rt_server, "/dashboard/")
    for path, ready in [
        ("/dashboard/", "#connection[data-state=open]"),
        ("/dashboard/new/", None),
        (f"/dashboard/{sid}/", "#connection[data-state=open]"),
        (f"/dashboard/{sid}/review/", None),
        ("/dashboard/candidates/", None),
        (f"/dashboard/candidates/{student}/", None),
        ("/admin/", None),
        ("/admin/interviews/interviewsession/", None),
        (f"/admin/interviews/interviewsession/{session['id']}/change/", None),
        ("/admin/interviews/question/add/", None),
        ("/api/", None),
        ("/api/docs/", ".swagger-ui .info"),
    ]:
        open_page(staff, f"{base}{path}", violations, ready)
    candidate_context.close()
    staff_context.close()
    assert not violations.found, "CSP violations:\n" + "\n".join(violations.found)
