"""The deployment files, parsed (this machine has no Docker engine to build or run them):
the lock files, the Dockerfile, .dockerignore and compose.yaml say what matters."""

from __future__ import annotations

import re
import shlex
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from app import __version__

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# An exact release (PostgreSQL's are major.minor), never `latest` or a bare major version.
EXACT_TAG = re.compile(r"^[\w./-]+:\d+\.\d+(\.\d+)?(-[\w.-]+)?(@sha256:[0-9a-f]{64})?$")


# --- the lock files ----------------------------------------------------------------------------


def pins(lock: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of a pip-compile output with hashes."""
    found: dict[str, tuple[str, int]] = {}
    current = None
    for line in lock.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", line)
        if match:
            current = canonicalize_name(match.group(1))
            found[current] = (match.group(2), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = found[current]
            found[current] = (version, hashes + 1)
        elif line and not line.startswith(" "):
            current = None
    return found


def requirements(*extras: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    listed = list(project["dependencies"])
    for extra in extras:
        listed += project["optional-dependencies"][extra]
    return [Requirement(text) for text in listed]


def unpinned(required: list[Requirement], locked: dict[str, tuple[str, int]]) -> list[str]:
    """Each requirement (and each dependency its extras add) that the lock does not pin at a
    version it accepts."""
    problems = []
    for requirement in required:
        name = canonicalize_name(requirement.name)
        if name not in locked:
            problems.append(f"{requirement} is not in the lock")
        elif not requirement.specifier.contains(locked[name][0], prereleases=True):
            problems.append(f"{requirement}: the lock pins {locked[name][0]}")
        for extra in requirement.extras:  # e.g. uvicorn[standard] -> uvloop, httptools...
            for text in metadata.requires(requirement.name) or []:
                added = Requirement(text)
                environment = {**default_environment(), "extra": extra}
                if (
                    added.marker is not None
                    and "extra" in str(added.marker)
                    and added.marker.evaluate(environment)
                    and canonicalize_name(added.name) not in locked
                ):
                    problems.append(f"{added.name} (from {requirement}) is not locked")
    return problems


def test_the_runtime_lock_pins_every_dependency_with_hashes():
    locked = pins(ROOT / "requirements.lock")
    assert unpinned(requirements(), locked) == []
    assert all(hashes for _, hashes in locked.values()), "every pin carries its hashes"


def test_the_dev_lock_pins_the_dev_extra_and_the_same_runtime_versions():
    runtime = pins(ROOT / "requirements.lock")
    dev = pins(ROOT / "requirements-dev.lock")
    assert unpinned(requirements("dev"), dev) == []
    assert all(hashes for _, hashes in dev.values())
    assert {name: dev[name][0] for name in runtime} == {
        name: version for name, (version, _) in runtime.items()
    }


def test_a_dependency_missing_from_the_lock_is_reported():
    locked = pins(ROOT / "requirements.lock")
    del locked["fastapi"]
    locked["alembic"] = ("0.1", 2)
    problems = unpinned([Requirement("fastapi>=0.115"), Requirement("alembic>=1.13")], locked)
    assert problems == ["fastapi>=0.115 is not in the lock", "alembic>=1.13: the lock pins 0.1"]


def test_make_installs_from_the_locks():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet --require-hashes -r $(LOCK)" in makefile
    assert "pip install --quiet --require-hashes -r $(DEV_LOCK)" in makefile
    assert "pip install --quiet --no-deps -e ." in makefile
    assert re.search(r"^lock: ", makefile, re.M)


# --- the Dockerfile ----------------------------------------------------------------------------


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments out."""
    joined: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined]


DOCKERFILE = instructions(ROOT / "Dockerfile")


def first(name: str) -> int:
    return next(i for i, (instruction, _) in enumerate(DOCKERFILE) if instruction == name)


def test_the_base_image_is_pinned_to_an_exact_release():
    [(_, image)] = [entry for entry in DOCKERFILE if entry[0] == "FROM"]
    assert EXACT_TAG.match(image), image
    assert re.match(r"python:3\.11\.\d+-slim", image), image


def test_dependencies_come_from_the_lock_in_a_layer_before_the_code():
    copies = [(i, args) for i, (name, args) in enumerate(DOCKERFILE) if name == "COPY"]
    runs = [(i, args) for i, (name, args) in enumerate(DOCKERFILE) if name == "RUN"]
    lock_copy = next(i for i, args in copies if args == "requirements.lock ./")
    install = next(i for i, args in runs if "--require-hashes -r requirements.lock" in args)
    code_copies = [i for i, args in copies if "app" in args.split() or "README.md" in args]
    assert lock_copy < install < min(code_copies)  # README or code edits keep the layer
    assert all(args.split()[0] != "." for _, args in copies)  # never the whole context
    project_install = next(i for i, args in runs if "pip install --no-deps ." in args)
    assert project_install > max(code_copies)


def test_the_server_runs_as_a_non_root_user_through_the_launcher_with_a_healthcheck():
    [(_, user)] = [entry for entry in DOCKERFILE if entry[0] == "USER"]
    assert user not in ("root", "0")
    assert first("USER") < first("CMD")
    [(_, command)] = [entry for entry in DOCKERFILE if entry[0] == "CMD"]
    assert shlex.split(command.replace('["', "").replace('", "', " ").replace('"]', "")) == [
        "fittrackee-oauth2",
        "serve",
        "--migrate",
    ]
    [(_, healthcheck)] = [entry for entry in DOCKERFILE if entry[0] == "HEALTHCHECK"]
    assert "/health" in healthcheck
    environment = " ".join(args for name, args in DOCKERFILE if name == "ENV")
    assert "APP_ENV=production" in environment
    assert "DATA_DIR=/srv/data" in environment


def test_the_build_context_leaves_out_the_virtualenv_data_secrets_and_caches():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "data", ".env", "**/__pycache__", ".pytest_cache"} <= ignored
    assert {"requirements.lock", "app", "alembic", "alembic.ini", "README.md"}.isdisjoint(ignored)


# --- compose.yaml ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def environment_of(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def default_of(value: str) -> str:
    """The value compose gives `${NAME:-default}` when NAME is unset."""
    match = re.fullmatch(r"\$\{\w+:-([^}]*)\}", value)
    return match.group(1) if match else value


def test_compose_runs_the_server_postgresql_and_redis_with_healthchecks(compose):
    services = compose["services"]
    assert set(services) == {"server", "postgres", "redis"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
        if "image" in service and name != "server":
            assert EXACT_TAG.match(service["image"]), service["image"]
    server = services["server"]
    assert server["build"] == "."
    assert server["image"].endswith(f":{__version__}")
    assert server["command"] == ["fittrackee-oauth2", "serve", "--migrate"]
    assert "/health" in " ".join(server["healthcheck"]["test"])
    for dependency in ("postgres", "redis"):
        assert server["depends_on"][dependency]["condition"] == "service_healthy"
    assert any(v.startswith("postgres-data:") for v in services["postgres"]["volumes"])
    assert set(compose["volumes"]) >= {"postgres-data"}


def test_compose_shares_the_rate_limit_counts_of_several_workers_through_redis(compose):
    env = environment_of(compose["services"]["server"])
    assert int(default_of(env["WORKERS"])) > 1
    assert env["REDIS_URL"].startswith("redis://redis:")
    assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in env["DATABASE_URL"]
    assert env["APP_ENV"] == "production"


def test_compose_takes_the_issuer_and_the_secrets_from_dot_env(compose):
    server = compose["services"]["server"]
    env = environment_of(server)
    for name in ("ISSUER", "SECRET_KEY"):
        assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", env[name]), env[name]
    assert "${POSTGRES_PASSWORD:?" in env["DATABASE_URL"]
    postgres = environment_of(compose["services"]["postgres"])
    assert postgres["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert server["env_file"] == ".env"
    assert all(port.startswith("127.0.0.1:") for port in server["ports"])  # behind the proxy


def test_compose_connection_arithmetic_fits_postgresqls_max_connections(compose):
    env = environment_of(compose["services"]["server"])
    workers, pool = int(default_of(env["WORKERS"])), int(default_of(env["DB_POOL_SIZE"]))
    command = compose["services"]["postgres"]["command"]
    max_connections = int(command[command.index("-c") + 1].split("=")[1])
    reserved, migration = 3, 1
    assert workers * pool + migration <= max_connections - reserved
