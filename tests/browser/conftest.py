"""Fixtures for the browser tests: a real server (daphne subprocess), the
system Chromium driven by Playwright, fake microphones, screenshots."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.audio_fixtures import KOREAN_ANSWER, espeak_available, silence, speak, write_wav
from tests.conftest import require_service

from .server import ROOT, STAFF_PASSWORD, STAFF_USER, LiveServer

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "browser"
# Quiet, offline, root-safe headless Chromium.
BASE_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# The candidate speaks this answer, then is silent for longer than the turn
# silence (1.5 s), so the server ends the turn by silence. Chromium loops the
# file, so every loop is one more answer: tests wait for the first ones only.
SPEECH_PADDING_S = (0.5, 3.0)


@pytest.fixture(scope="package")
def chromium_path() -> str:
    require_service(
        Path(CHROMIUM).exists(),
        f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)",
    )
    try:
        import playwright  # noqa: F401
    except ImportError:
        require_service(False, "playwright is not installed (pip install -r requirements-dev.txt)")
    return CHROMIUM


@pytest.fixture(scope="package")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="package")
def rt_server(chromium_path, artifacts):
    workdir = Path(tempfile.mkdtemp(prefix="interview-rt-browser-"))
    server = LiveServer(workdir, artifacts)
    server.log_path.unlink(missing_ok=True)
    server.prepare()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="package")
def spoken_answer_wav(artifacts) -> Path:
    require_service(espeak_available(), "espeak-ng and sox are needed to synthesise test speech")
    pcm = silence(SPEECH_PADDING_S[0]) + speak(KOREAN_ANSWER) + silence(SPEECH_PADDING_S[1])
    return write_wav(artifacts / "candidate-answer.wav", pcm)


@pytest.fixture(scope="package")
def playwright_driver(chromium_path):
    # Package scope, not session: while the sync API is active an event loop
    # runs in this thread, and Django refuses ORM calls from other tests then.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


class HarnessBrowser:
    """The browser, with new contexts and pages that bypass the content
    security policy unless told otherwise: Playwright's own wait_for_function
    (and axe) evaluate strings in the page, which the policy forbids
    ('unsafe-eval'). tests/browser/test_csp.py opens the pages under the policy
    (bypass_csp=False) and fails on any violation."""

    def __init__(self, browser) -> None:
        self.browser = browser

    def new_context(self, **options):
        options.setdefault("bypass_csp", True)
        return self.browser.new_context(**options)

    def new_page(self, **options):
        options.setdefault("bypass_csp", True)
        return self.browser.new_page(**options)

    def __getattr__(self, name: str):
        return getattr(self.browser, name)


def launch(playwright_driver, *extra: str) -> HarnessBrowser:
    return HarnessBrowser(
        playwright_driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=[*BASE_ARGS, *extra]
        )
    )


@pytest.fixture(scope="package")
def voice_browser(playwright_driver, spoken_answer_wav):
    """A browser whose microphone is the spoken answer, allowed without asking."""
    browser = launch(
        playwright_driver,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={spoken_answer_wav}",
    )
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def browser(playwright_driver):
    """A browser with a fake microphone that pages must ask for (and are denied)."""
    browser = launch(playwright_driver, "--use-fake-device-for-media-stream")
    yield browser
    browser.close()


class PageErrors:
    """Uncaught errors and console errors of the pages a test opened."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page) -> None:
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        page.on(
            "console",
            lambda msg: (
                msg.type == "error"
                and "WebSocket connection" not in msg.text  # expected while the server is down
                and "Failed to load resource" not in msg.text
                and self.errors.append(f"{page.url}: console: {msg.text}")
            ),
        )


@pytest.fixture
def page_errors():
    watcher = PageErrors()
    yield watcher
    assert not watcher.errors, "JavaScript errors:\n" + "\n".join(watcher.errors)


@pytest.fixture
def shoot(artifacts, request):
    """shoot(page, name): a full-page screenshot in test-artifacts/browser/."""

    def take(page, name: str) -> Path:
        path = artifacts / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def login_observer(page, server: LiveServer, next_path: str) -> None:
    page.goto(f"{server.base}/admin/login/?next={next_path}")
    page.fill("#id_username", STAFF_USER)
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{server.base}{next_path}")
