"""The module rule of DESIGN.md that import-linter cannot see: app.py is a module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_app_py_imports_no_view():
    imported = imported_modules(ROOT / "app.py")
    assert not {m for m in imported if m == "playground.views" or m.startswith("playground.views.")}
    assert "playground.blueprints" in imported  # the one way in to the page blueprints
