"""interviewer/ stays a room of small modules that share only public names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "interviewer"
MODULES = sorted(PACKAGE.glob("*.py"))
MAX_NON_BLANK_LINES = 600


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_module_is_small(path):
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    assert len(lines) <= MAX_NON_BLANK_LINES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_module_uses_no_other_modules_private_names(path):
    tree = ast.parse(path.read_text())
    siblings = {p.stem for p in MODULES}
    imported_modules: set[str] = set()  # names bound to sibling modules
    private = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            from_package = node.level == 1 and not node.module or node.module == "interviewer"
            from_sibling = (node.level == 1 and node.module in siblings) or (
                node.module or ""
            ).startswith("interviewer.")
            for alias in node.names:
                if from_package and alias.name in siblings:
                    imported_modules.add(alias.asname or alias.name)
                elif from_sibling and alias.name.startswith("_"):
                    private.append(f"{node.module}.{alias.name}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in imported_modules
            and node.attr.startswith("_")
        ):
            private.append(f"{node.value.id}.{node.attr}")
    assert private == []
