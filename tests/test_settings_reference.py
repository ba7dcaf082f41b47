"""The settings reference (`docs/settings.md`) is what `Settings` generates, and covers every
field with a description."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pydantic import Field, create_model

from app import settings_reference
from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "settings.md"


def test_the_committed_reference_is_what_the_settings_generate():
    assert REFERENCE.read_text() == settings_reference.render(), (
        "docs/settings.md is out of date: run `make settings-doc`"
    )


def test_every_setting_has_a_description_and_a_row():
    assert settings_reference.missing_descriptions() == []
    text = REFERENCE.read_text()
    for name, field in Settings.model_fields.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name.upper()}` |"))
        assert " ".join((field.description or "").split()) in row.replace("\\|", "|")


def test_a_field_without_a_description_is_reported(monkeypatch):
    undocumented = create_model(
        "Undocumented",
        __base__=Settings,
        shiny_new_knob=(int, 3),
        documented_knob=(int, Field(4, description="A knob, in turns.")),
    )
    monkeypatch.setattr(settings_reference, "Settings", undocumented)
    assert settings_reference.missing_descriptions() == ["SHINY_NEW_KNOB"]
    assert settings_reference.main() == 1


def test_types_and_defaults_are_shown_as_a_reader_writes_them():
    rows = {
        line.split(" | ")[0][3:-1]: line.split(" | ")
        for line in REFERENCE.read_text().splitlines()
        if line.startswith("| `")
    }
    assert rows["APP_ENV"][1:3] == ["one of: `development`, `production`, `test`", "`development`"]
    assert rows["WORKERS"][1:3] == ["integer", "`1`"]
    assert rows["REFRESH_TOKEN_LIFETIME"][1:3] == ["integer or empty", "(empty)"]
    assert rows["DOCS_ENABLED"][1:3] == ["boolean", "`true`"]
    for machine_path in (str(ROOT), "/home/", "/root/"):
        assert machine_path not in REFERENCE.read_text()


def test_the_module_prints_the_reference():
    done = subprocess.run(
        [sys.executable, "-m", "app.settings_reference"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == REFERENCE.read_text()


ENV_EXAMPLE = ROOT / ".env.example"


def test_the_committed_env_example_is_what_the_settings_generate():
    assert ENV_EXAMPLE.read_text() == settings_reference.render_env_example(), (
        ".env.example is out of date: run `make settings-doc`"
    )
    for name in Settings.model_fields:
        assert f"\n# {name.upper()}=" in ENV_EXAMPLE.read_text(), name


def test_the_env_example_with_every_line_uncommented_gives_the_defaults(tmp_path, monkeypatch):
    """What it shows as each setting's value is the default (empty meaning the default)."""
    uncommented = [
        line[2:] if line.startswith("# ") and "=" in line.split(" ", 2)[1] else line
        for line in ENV_EXAMPLE.read_text().splitlines()
    ]
    assert (
        sum(1 for line in uncommented if not line.startswith("#") and "=" in line)
        == len(Settings.model_fields) + 1
    )  # and POSTGRES_PASSWORD, for compose.yaml
    env_file = tmp_path / "all.env"
    env_file.write_text("\n".join(uncommented) + "\n")
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("ENV_FILE", str(env_file))
    assert Settings.load() == Settings()
