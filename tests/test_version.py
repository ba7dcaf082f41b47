"""One version, written in `app/__init__.py`, reported everywhere from there."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from app import __version__

ROOT = Path(__file__).resolve().parent.parent


async def test_health_and_the_openapi_document_report_the_packages_version(client):
    assert (await client.get("/health")).json()["version"] == __version__
    assert (await client.get("/openapi.json")).json()["info"]["version"] == __version__


def test_the_command_line_reports_it():
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout == f"fittrackee-oauth2 {__version__}\n"


def test_it_is_written_once_and_released_in_the_changelog():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "app.__version__"}
    releases = re.findall(
        r"^## (\d+\.\d+\.\d+) - \d{4}-\d\d-\d\d$", (ROOT / "CHANGELOG.md").read_text(), re.M
    )
    assert releases[0] == __version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License")
    assert "FitTrackee OAuth2 server contributors" in license_text
