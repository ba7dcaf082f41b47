#!/usr/bin/env python3
"""Summarise a py-spy `--format raw` profile (collapsed stacks) as text: where the CPU goes.

    .venv/bin/python bench/pyspy_top.py /tmp/prof/project-W1.txt [--top 25] [--grep REGEX]

py-spy samples only threads that run (not the event loop waiting in epoll), so the shares are
shares of the server's busy CPU time. Views:
- by layer: the package of the innermost Python frame (app, fastapi, starlette, pydantic,
  sqlalchemy, asyncpg, uvicorn, ...), i.e. who spends the CPU itself; C code counts for the
  Python frame that called it (uvloop's own work shows as `Runner.run`, "event loop");
- ours, inclusive: the project's functions (app/) by the share of samples they are on the
  stack, i.e. what they and everything they call cost;
- inclusive: every function, skipping the event-loop plumbing every sample goes through;
- self: functions by the share of samples they are the innermost frame;
- with --grep: the share of samples with a frame matching each regex (e.g. 'asyncpg.*connect').

Profiles recorded with py-spy's `--full-filenames` (bench/run.py does) are classified by path;
short names are guessed from their first component.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*) \((?P<path>[^()]*?)(?::(?P<line>\d+))?\)$")
ROOT = str(Path(__file__).resolve().parent.parent) + "/"
PLUMBING = (
    "<module>",
    "asyncio_run",
    "Runner.run",
    "Server.run",
    "Server.serve",
    "Command.",
    "Context.invoke",
    "main (uvicorn",
    "run (uvicorn",
    "run_forever",
    "_run_once",
    "Handle._run",
    "Task.__step",
)
# Innermost frames of threads that wait rather than work, which py-spy can report as active
# (e.g. the idle workers of the default thread pool that argon2 hashing ran on).
IDLE = re.compile(
    r"^(_worker \(.*concurrent/futures/thread.py:81\)|Condition\.wait |Event\.wait "
    r"|Thread\._wait_for_tstate_lock )"
)


def parse(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def short_path(path: str) -> str:
    """The path from the package root: `asyncpg/pool.py`, `app/db/engine.py`."""
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1]
    if path.startswith(ROOT):
        return path[len(ROOT) :]
    m = re.search(r"/lib/python3\.\d+/(.*)$", path)
    return m[1] if m else path


def function_key(frame: str) -> str:
    """`func (short path)` without the line number, so a function's lines add up."""
    m = FRAME.match(frame)
    return f"{m['func']} ({short_path(m['path'])})" if m else frame


def layer(frame: str) -> str:
    m = FRAME.match(frame)
    if not m:
        return "?"
    path, func = m["path"], m["func"]
    if func in ("Runner.run", "asyncio_run", "run_forever"):
        return "event loop (uvloop C code, I/O)"
    if path.startswith(ROOT + "app/") or path.startswith("app/"):
        return "app (ours)"
    if path.endswith("bench-floor/app.py") or path == "app.py":
        return "floor app.py"
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    stdlib = re.search(r"/lib/python3\.\d+/([^/]+)", path)
    if stdlib or path.startswith("<frozen"):
        name = stdlib[1].removesuffix(".py") if stdlib else path.strip("<>").split()[-1]
        return f"stdlib {name}"
    return path.split("/", 1)[0]


def share_lines(counter: Counter[str], total: int, top: int) -> list[str]:
    return [f"  {n / total:6.1%}  {name}" for name, n in counter.most_common(top)]


def summarise(path: Path, top: int, patterns: list[str]) -> str:
    stacks = parse(path)
    idle = sum(n for frames, n in stacks if IDLE.match(frames[-1]))
    stacks = [(frames, n) for frames, n in stacks if not IDLE.match(frames[-1])]
    total = sum(n for _, n in stacks) or 1
    by_layer: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    grep: Counter[str] = Counter()
    regexes = [(p, re.compile(p)) for p in patterns]
    for frames, n in stacks:
        by_layer[layer(frames[-1])] += n
        own[function_key(frames[-1])] += n
        keys = {function_key(f) for f in frames}
        for key in keys:
            if not any(key.startswith(p) or p in key for p in PLUMBING):
                inclusive[key] += n
            if "(app/" in key:
                ours[key] += n
        for pattern, regex in regexes:
            if any(regex.search(f) for f in frames):
                grep[pattern] += n
    out = [f"{path.name}: {total} busy samples ({idle} samples of waiting threads left out)"]
    if regexes:
        out += ["", "frames matching:"]
        out += [f"  {grep[p] / total:6.1%}  {p}" for p, _ in regexes]
    out += ["", "by layer (innermost frame):", *share_lines(by_layer, total, top)]
    out += ["", "ours (app/), inclusive:", *share_lines(ours, total, top)]
    out += ["", "inclusive (on the stack):", *share_lines(inclusive, total, top)]
    out += ["", "self (innermost frame):", *share_lines(own, total, top)]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--grep", action="append", default=[], help="regex over frames")
    args = parser.parse_args()
    for f in args.files:
        print(summarise(f, args.top, args.grep), end="\n\n")


if __name__ == "__main__":
    main()
