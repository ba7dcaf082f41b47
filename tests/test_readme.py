"""The README runs: its ```sh blocks, in order, in one bash session, against a fresh server,
and every answer it shows (a trailing `# → ...`, `...` matching anything) is the real one.

The convention, stated in the README: ```sh blocks are meant to be pasted in order into one
shell against a live server (`$BASE`); ```console blocks are not run (Docker, cron, other
machines). A command whose last line ends in `# → EXPECTED` prints EXPECTED.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.databases import fresh_database
from tests.helpers import TEST_SECRET_KEY
from tests.live_server import live_server

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\S*)\s*$")
EXPECTED = re.compile(r"\s+# → ?(.*)$")
ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)=")


@dataclass
class Check:
    number: int
    command: str
    expected: str

    def matches(self, output: str) -> bool:
        pattern = ".*?".join(re.escape(part) for part in self.expected.split("..."))
        return re.fullmatch(pattern, output.strip(), re.S) is not None


def blocks(text: str, language: str) -> list[list[str]]:
    """The lines of each fenced block of `language`, in order."""
    found: list[list[str]] = []
    current: list[str] | None = None  # the block being read, when it is of `language`
    inside = False
    for line in text.splitlines():
        fence = FENCE.match(line)
        if fence and not inside:
            inside = True
            current = [] if fence.group(1) == language else None
        elif fence and fence.group(1) == "":
            inside = False
            if current is not None:
                found.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return found


def script(sh_blocks: list[list[str]]) -> tuple[str, list[Check]]:
    """One bash script of every block; each checked command's stdout goes to a file."""
    out: list[str] = ["set -euo pipefail"]
    checks: list[Check] = []
    for block in sh_blocks:
        lines = list(block)
        index = 0
        while index < len(lines):
            match = EXPECTED.search(lines[index])
            if not match:
                index += 1
                continue
            start = index
            while start > 0 and lines[start - 1].rstrip().endswith("\\"):
                start -= 1
            statement = [*lines[start:index], lines[index][: match.start()]]
            check = Check(len(checks), "\n".join(statement), match.group(1).strip())
            checks.append(check)
            lines[start : index + 1] = [
                "{",
                *statement,
                f'}} > "$README_OUT/{check.number}"',
            ]
            index = start + len(statement) + 2
        out += lines
    return "\n".join(out) + "\n", checks


@pytest.fixture(scope="module")
def readme_server() -> Iterator[tuple[str, str]]:
    """A fresh database and the server on it, started as `make run` starts it."""
    with (
        fresh_database(os.environ.get("DATABASE_URL"), prefix="oauth2_readme") as url,
        live_server(url, launcher=True) as base_url,
    ):
        yield base_url, url


def test_the_readme_runs_top_to_bottom_and_shows_the_real_answers(readme_server, tmp_path):
    base_url, database_url = readme_server
    text, checks = script(blocks(README.read_text(), "sh"))
    assert len(checks) >= 20
    # The reader runs `.venv/bin/fittrackee-oauth2` from the checkout: here, a directory
    # whose `.venv` is this interpreter's environment.
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    env = {
        **os.environ,
        "BASE": base_url,
        "README_OUT": str(outputs),
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "APP_ENV": "test",
        "ARGON2_ROUNDS": "1",
        "ARGON2_MEMORY_COST": "1024",
    }
    done = subprocess.run(
        ["bash", "-c", text],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    ran = [check for check in checks if (outputs / str(check.number)).exists()]
    assert done.returncode == 0, (
        f"the README stopped (exit {done.returncode}) after {len(ran)} of {len(checks)} "
        f"checked commands; next: {checks[len(ran)].command if len(ran) < len(checks) else '-'}"
        f"\nstderr:\n{done.stderr}"
    )
    wrong = [
        f"{check.command}\n  README says: {check.expected}\n  it printed:  "
        f"{(outputs / str(check.number)).read_text().strip()}"
        for check in checks
        if not check.matches((outputs / str(check.number)).read_text())
    ]
    assert wrong == [], "\n\n".join(wrong)


def test_the_sh_blocks_carry_values_in_variables_and_use_base():
    """No literal placeholder (a variable's name where its value belongs), no hard-coded
    server address but `$BASE`'s default."""
    assigned: set[str] = set()
    for block in blocks(README.read_text(), "sh"):
        for line in block:
            if "127.0.0.1:5000" in line:
                assert line.startswith("BASE=${BASE:-"), line
            code = line.split(" # ", 1)[0]
            for name in assigned:
                for found in re.finditer(rf"(?<![$\w{{]){name}\b", code):
                    rest = code[found.end() :]
                    assert rest.startswith("=") or rest.startswith(":"), (name, line)
            match = ASSIGNMENT.match(line)
            if match:
                assigned.add(match.group(1))
    assert {"BASE", "USER_TOKEN", "CLIENT_ID", "CLIENT_SECRET", "ACCESS_TOKEN"} <= assigned


def test_nothing_outside_the_repository_is_referenced():
    for path in [README, ROOT / "CHANGELOG.md", ROOT / "docs" / "settings.md"]:
        text = path.read_text()
        assert "../shared" not in text, path
        assert "/work/" not in text, path
    for link in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README.read_text()):
        if not link.startswith(("http://", "https://")):
            assert (ROOT / link).exists(), link


def test_the_harness_finds_commands_and_their_expected_answers():
    text, checks = script(
        [
            ["X=1", "curl -s $BASE/health \\", "  -H 'A: b'  # → {\"status\":...}", "echo $X"],
            ["echo hi  # → hi"],
        ]
    )
    assert [(c.command, c.expected) for c in checks] == [
        ("curl -s $BASE/health \\\n  -H 'A: b'", '{"status":...}'),
        ("echo hi", "hi"),
    ]
    assert '} > "$README_OUT/0"' in text and text.index("X=1") < text.index("{")
    assert checks[0].matches('{"status":"success","database":"ok"}\n')
    assert not checks[1].matches("hi there")
