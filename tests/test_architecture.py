"""The house rules the tree keeps (docs/architecture.md), checked on the
application code: the .py files outside tests/, benchmarks/ and migrations/."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from interviews.wire import ClientType, EventType

ROOT = Path(__file__).resolve().parents[1]
NOT_APPLICATION = {"tests", "benchmarks", "migrations", ".venv", "node_modules", "var", "media"}
PROJECT_PACKAGES = {
    path.parent.name
    for path in ROOT.glob("*/__init__.py")
    if path.parent.name not in NOT_APPLICATION
}
MAX_FILE_LINES = 600
MAX_PACKAGE_SHARE = 0.25
REGISTRY = "interviews/wire.py"
MAX_OTHER_FILES_PER_WIRE_NAME = 2


def application_files() -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("*.py")
        if not set(path.relative_to(ROOT).parts) & NOT_APPLICATION
    )


def lines(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip())


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def trees() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(), filename=str(path)) for path in application_files()}


def test_no_file_is_over_the_line_limit():
    over = {rel(p): n for p in application_files() if (n := lines(p)) > MAX_FILE_LINES}
    assert not over, f"files over {MAX_FILE_LINES} non-blank lines: {over}"


def test_no_top_level_package_holds_over_a_quarter_of_the_lines():
    per_package: dict[str, int] = defaultdict(int)
    for path in application_files():
        parts = path.relative_to(ROOT).parts
        per_package[parts[0] if len(parts) > 1 else "(top level)"] += lines(path)
    total = sum(per_package.values())
    heavy = {p: f"{n / total:.0%}" for p, n in per_package.items() if n > MAX_PACKAGE_SHARE * total}
    assert not heavy, f"packages over a quarter of {total} lines: {heavy}"


def test_the_domain_app_imports_no_project_package_above_it():
    allowed = {"interviews", "interview_rt"}
    upward = []
    for path, tree in trees().items():
        if path.relative_to(ROOT).parts[0] != "interviews":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in PROJECT_PACKAGES - allowed:
                    upward.append(f"{rel(path)}:{node.lineno} imports {name}")
    assert not upward, upward


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_module_uses_another_modules_private_names():
    found = []
    for path, tree in trees().items():
        here = module_name(path)
        package = here if path.name == "__init__.py" else here.rpartition(".")[0]
        modules: dict[str, str] = {}  # local name -> project module it stands for
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                if base.split(".")[0] not in PROJECT_PACKAGES:
                    continue
                for alias in node.names:
                    if _private(alias.name) and base != here:
                        found.append(f"{rel(path)}:{node.lineno} imports {base}.{alias.name}")
                    modules[alias.asname or alias.name] = f"{base}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in PROJECT_PACKAGES:
                        modules[alias.asname or alias.name.split(".")[0]] = alias.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and _private(node.attr)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
            ):
                found.append(f"{rel(path)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not found, found


def test_each_wire_type_name_is_written_in_the_registry_and_at_most_two_other_files():
    wire_names = {t.value for t in ClientType} | {t.value for t in EventType}
    files_by_name: dict[str, set[str]] = defaultdict(set)
    for path, tree in trees().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in wire_names:
                files_by_name[node.value].add(rel(path))
    assert all(REGISTRY in files for files in files_by_name.values())
    assert set(files_by_name) == wire_names
    spread = {
        name: sorted(files - {REGISTRY})
        for name, files in files_by_name.items()
        if len(files - {REGISTRY}) > MAX_OTHER_FILES_PER_WIRE_NAME
    }
    assert not spread, spread
