"""Start and stop the two servers of the A/B comparison, each pinned to one CPU.

- the floor: `../shared/bench-floor/start.sh` / `stop.sh` (its pid from its pid file);
- the project: one uvicorn worker (uvloop, httptools, no access log) on a PostgreSQL database of
  its own, re-created and migrated with alembic on the first start of a comparison.

Only processes started here are stopped here, by their pid.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FLOOR_DIR = (ROOT / ".." / "shared" / "bench-floor").resolve()


def wait_until_up(url: str, pid: int | None = None, timeout: float = 20.0) -> None:
    """Poll `GET /api/auth/profile` (401 without a token on both servers) until it answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid is not None and not Path(f"/proc/{pid}").exists():
            raise RuntimeError(f"server process {pid} exited")
        try:
            urllib.request.urlopen(f"{url}/api/auth/profile", timeout=1)
        except urllib.error.HTTPError:
            return  # any HTTP answer: it is up
        except OSError:
            time.sleep(0.2)
            continue
        return
    raise RuntimeError(f"{url} did not come up in {timeout:.0f} s")


@dataclass
class Floor:
    """The floor micro-app (a yardstick): raw Starlette + asyncpg."""

    port: int = 5100
    cpu: int | None = 0
    floor_dir: Path = DEFAULT_FLOOR_DIR
    reset: bool = True  # RESET=1 on the first start only: later starts keep the data
    pid: int | None = None
    name: str = "floor"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        env = {**os.environ, "PORT": str(self.port), "WORKERS": "1"}
        env["SERVER_CPU"] = "" if self.cpu is None else str(self.cpu)
        return env

    def start(self) -> None:
        env = self._env()
        env["RESET"] = "1" if self.reset else "0"
        self.reset = False
        subprocess.run([str(self.floor_dir / "start.sh")], env=env, check=True)
        home = Path(os.environ.get("FLOOR_HOME", "/tmp/bench-floor"))
        self.pid = int((home / f"floor-{self.port}.pid").read_text())
        wait_until_up(self.url, self.pid)

    def stop(self) -> None:
        subprocess.run([str(self.floor_dir / "stop.sh")], env=self._env(), check=False)
        self.pid = None


@dataclass
class Project:
    """The project: `uvicorn app.asgi:app`, one worker, on its own PostgreSQL database."""

    port: int = 5200
    cpu: int | None = 0
    database: str = "bench_oauth2"
    pg: str = "postgresql://postgres@127.0.0.1:5432"
    root: Path = ROOT  # the checkout to serve (another one: `compare.py --baseline-dir`)
    extra_env: dict[str, str] = field(default_factory=dict)
    fresh_db: bool = True  # drop + create + migrate on the first start only
    pid: int | None = None
    name: str = "project"
    log: Path = Path("/tmp/bench-project.log")
    _proc: subprocess.Popen | None = None
    _secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    _log_mode: str = "wb"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def venv(self) -> Path:
        return self.root / ".venv"

    @property
    def database_url(self) -> str:
        return f"{self.pg.replace('postgresql://', 'postgresql+asyncpg://')}/{self.database}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "APP_ENV": "development",
            "SECRET_KEY": self._secret,  # fixed for the session: user JWTs survive restarts
            # The bench registers a handful of users per setup; a long session of setups must
            # not trip the per-IP registration limit (registration is not a measured path).
            "RATE_LIMIT_REGISTRATIONS_PER_IP": "100000",
            **self.extra_env,
        }

    def recreate_database(self) -> None:
        admin = f"{self.pg}/postgres"
        for sql in (
            f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)',
            f'CREATE DATABASE "{self.database}"',
        ):
            subprocess.run(["psql", admin, "-qtAX", "-c", sql], check=True)
        subprocess.run(
            [str(self.venv / "bin" / "alembic"), "upgrade", "head"],
            cwd=self.root,
            env=self.env(),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        if self.fresh_db:
            self.recreate_database()
            self.fresh_db = False
        pin = [] if self.cpu is None else ["taskset", "-c", str(self.cpu)]
        cmd = [
            *pin,
            str(self.venv / "bin" / "uvicorn"),
            "app.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        mode, self._log_mode = self._log_mode, "ab"  # truncated at a session's first start
        with self.log.open(mode) as log:
            self._proc = subprocess.Popen(
                cmd, cwd=self.root, env=self.env(), stdout=log, stderr=log, start_new_session=True
            )
        self.pid = self._proc.pid  # taskset execs uvicorn: same pid
        try:
            wait_until_up(self.url, self.pid)
        except RuntimeError:
            self.stop()
            raise RuntimeError(f"project did not start; see {self.log}") from None

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc, self.pid = None, None


def rss_kib(pid: int) -> int:
    """Resident set size of a process, in KiB (VmRSS of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")
