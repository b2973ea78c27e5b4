"""The domain app imports nothing above it: of the project's packages, only
the config package `interview_rt` (apps above react to it through signals,
e.g. interviews.signals.session_ending)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ROOT / "interviews"
ABOVE = {"speech", "interviewer", "live", "consumers", "api", "reports", "dashboard"}
ALLOWED = {"interviews", "interview_rt"}


def project_packages() -> set[str]:
    return {p.parent.name for p in ROOT.glob("*/__init__.py")}


def domain_files() -> list[Path]:
    return sorted(
        p for p in DOMAIN.rglob("*.py") if "migrations" not in p.relative_to(DOMAIN).parts
    )


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of each absolute import in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def test_the_packages_named_above_the_domain_exist():
    # A renamed package would make the check below pass without checking it;
    # a new one is forbidden without being named here.
    assert project_packages() >= ABOVE | ALLOWED


def test_the_domain_imports_no_package_above_it():
    forbidden = (project_packages() | ABOVE) - ALLOWED
    files = domain_files()
    assert DOMAIN / "admin.py" in files and DOMAIN / "services.py" in files
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {package}"
        for path in files
        for line, package in imported(path)
        if package in forbidden
    ]
    assert offending == []


def test_the_check_sees_imports_inside_functions(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import live.ai_turns\n"
        "from . import services\n"
        "def f():\n"
        "    from reports import build\n"
        "    import interview_rt.pools\n"
    )
    assert imported(sample) == [(1, "live"), (4, "reports"), (5, "interview_rt")]
