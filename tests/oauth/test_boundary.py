"""The engine's boundary: `app/oauth/` knows nothing of the database or the web framework."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
FORBIDDEN = ("app.db", "sqlalchemy", "asyncpg", "aiosqlite", "fastapi", "starlette", "app.api")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.append(node.module)
    return names


def test_the_engine_imports_no_storage_and_no_framework() -> None:
    offending = [
        f"{path.relative_to(APP.parent)}: {name}"
        for path in sorted((APP / "oauth").rglob("*.py"))
        for name in _imports(path)
        if any(name == forbidden or name.startswith(f"{forbidden}.") for forbidden in FORBIDDEN)
    ]
    assert offending == []


def test_the_check_sees_imports_inside_functions_too(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from app.db.engine import Database\n    import sqlalchemy\n")
    assert _imports(module) == ["app.db.engine", "sqlalchemy"]
