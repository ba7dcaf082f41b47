"""The settings reference (`docs/settings.md`) and `.env.example`, generated from
`app.config.Settings`.

    python -m app.settings_reference > docs/settings.md                 (make settings-doc
    python -m app.settings_reference --env-example > .env.example        does both)

Each row comes from a field: its environment variable, type, default and `description`, so
neither file can drift from the code (`tests/test_settings_reference.py` compares the
committed files with this output and refuses a field without a description).
"""

from __future__ import annotations

import sys
import textwrap
import types
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic.fields import FieldInfo

from app.config import Settings

PREAMBLE = """\
# Settings reference

Generated from `app/config.py` by `make settings-doc`; do not edit by hand.

Every setting is an environment variable. They are read, in this order of precedence, from:
the process's environment; then a `.env` file, which is the file named by `ENV_FILE` when
that is set, else `.env` in the working directory when there is one (`.env.example` lists
the settings an operator sets). An empty value (`DATABASE_URL=`) means the default.
Booleans are `true`/`false` (also `1`/`0`, `yes`/`no`). The server (`fittrackee-oauth2
serve`) and the command line read the same settings; a setting it cannot use stops it with
one line saying which and why.

## Database connections

Each worker process keeps one pool of at most `DB_POOL_SIZE` (+ `DB_MAX_OVERFLOW`)
connections. A deployment of R replicas of `WORKERS` workers therefore holds up to
R x `WORKERS` x (`DB_POOL_SIZE` + `DB_MAX_OVERFLOW`) PostgreSQL connections, plus one
short-lived connection for each migration or command-line run. Keep that below the
server's `max_connections` (PostgreSQL's default is 100, a few of which are reserved for
superusers): 2 replicas x 4 workers x 10 = 80 fits; 3 x 4 x 10 = 120 does not.

## All settings

| Variable | Type | Default | Meaning |
| --- | --- | --- | --- |
"""


def type_name(annotation: Any) -> str:
    """A reader's name for a field's type: `integer`, `one of: a, b`, `integer or empty`."""
    origin = get_origin(annotation)
    if origin is Literal:
        return "one of: " + ", ".join(f"`{value}`" for value in get_args(annotation))
    if origin in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        named = " or ".join(type_name(arg) for arg in members)
        return f"{named} or empty" if len(members) < len(get_args(annotation)) else named
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "one of: " + ", ".join(f"`{member.value}`" for member in annotation)
    names = {bool: "boolean", int: "integer", float: "number", str: "text", Path: "path"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def default_text(field: FieldInfo) -> str:
    extra = field.json_schema_extra
    if isinstance(extra, dict) and "doc_default" in extra:
        return str(extra["doc_default"])
    value = field.get_default(call_default_factory=True)
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def missing_descriptions() -> list[str]:
    """Settings fields without a description: each must say what it means."""
    return [
        name.upper()
        for name, field in Settings.model_fields.items()
        if not (field.description or "").strip()
    ]


def render() -> str:
    rows = [
        "| "
        + " | ".join(
            [
                f"`{name.upper()}`",
                cell(type_name(field.annotation)),
                cell(default_text(field)),
                cell(field.description or ""),
            ]
        )
        + " |"
        for name, field in Settings.model_fields.items()
    ]
    return PREAMBLE + "\n".join(rows) + "\n"


ENV_EXAMPLE_PREAMBLE = """\
# Settings of the FitTrackee OAuth2 server. Copy this file to `.env` and set what you need:
# `fittrackee-oauth2` (and `make run`) read `.env` from the working directory, or the file
# named by ENV_FILE; docker compose reads it for compose.yaml. The environment overrides
# this file, and an empty value means the default. Every setting: docs/settings.md.
# Generated from app/config.py by `make settings-doc`.

# --- compose.yaml only: the password of its PostgreSQL (used by the server's DATABASE_URL)
POSTGRES_PASSWORD=
"""


def env_value(field: FieldInfo) -> str:
    extra = field.json_schema_extra
    if isinstance(extra, dict) and "doc_default" in extra:
        return ""
    value = field.get_default(call_default_factory=True)
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def render_env_example() -> str:
    """Every setting, commented out at its default, under its description."""
    blocks = [ENV_EXAMPLE_PREAMBLE]
    for name, field in Settings.model_fields.items():
        variable = name.upper()
        text = " ".join(f"{variable}: {field.description or ''}".split()).replace("`", "")
        lines = textwrap.wrap(text, width=98)
        blocks.append(
            "\n".join(f"# {line}" for line in lines) + f"\n# {variable}={env_value(field)}\n"
        )
    return "\n".join(blocks)


def main(argv: list[str] | None = None) -> int:
    missing = missing_descriptions()
    if missing:
        print(f"error: settings without a description: {', '.join(missing)}", file=sys.stderr)
        return 1
    args = sys.argv[1:] if argv is None else argv
    sys.stdout.write(render_env_example() if args == ["--env-example"] else render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
