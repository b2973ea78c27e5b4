"""Accessibility checks for the browser tests: axe-core (the copy bundled in
axe-playwright-python) run on the page as it is; serious or critical
violations fail the test, with what and where."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

BLOCKING_IMPACTS = ("serious", "critical")
NARROW_VIEWPORT = {"width": 375, "height": 812}


def blocking_violations(page) -> list[str]:
    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") not in BLOCKING_IMPACTS:
            continue
        targets = [", ".join(node["target"]) for node in violation["nodes"][:5]]
        found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return found


def assert_accessible(page) -> None:
    found = blocking_violations(page)
    assert not found, "axe-core found serious or critical violations:\n" + "\n".join(found)


def assert_fits_narrow_screen(page) -> None:
    """At 375 px nothing makes the page scroll sideways."""
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow} px wider than a 375 px screen"
