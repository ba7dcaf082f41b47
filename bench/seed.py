#!/usr/bin/env python3
"""Fill the project's database (and the floor's) with millions of rows, server-side, in minutes.

    .venv/bin/python bench/seed.py --dsn postgresql://postgres@127.0.0.1:5432/bench_oauth2 \\
        --tokens 1000000 [--floor-dsn postgresql://floor:floor@127.0.0.1:5432/floor] \\
        [--long-families 5 --long-length 10000]

Why server-side: every row is made by PostgreSQL itself from `generate_series` in one
`INSERT ... SELECT` per table (one transaction each), so nothing crosses the socket but the
statement; with the table's secondary indexes and foreign keys dropped during the insert and
rebuilt after (`bulkload.py`), 10 M token rows take minutes, not hours.

What it makes, for `--tokens N` stored token rows (proportions of a server that has run for
a while; the figures are what the issue asks for):

- users: N / 200 (at least 50), `seed<id>`, a dummy password hash (they never log in);
- clients: N / 5000 (at least 10), three per owner, owned by the first seeded users;
- codes: N / 10: 90 % used and expired, 5 % expired unused, 5 % unexpired (a code is
  kept until it expires, used or not);
- token rows: N in all, in families (one client, one user, one `family_id` each). Family
  lengths cycle through 1..39 (mean 20). The rows of a family are its rotations, an hour
  apart: all but the newest have `rotated_at` and `revoked_at` set. By family: 60 %
  (`--expired-percent`) fully expired (both tokens' expiry in the past), 10 %
  (`--revoked-percent`) revoked by the user within the last day (the newest row revoked too,
  nothing expired), the rest live (the newest pair unexpired, the older ones rotated but not
  expired). Families and states are interleaved so every share holds by rows too;
- plus `--long-families` families of `--long-length` rows (a client refreshing every minute,
  rotated 10 000+ times; the newest live), counted in N.

Lifetimes are the project's defaults: access 10 days, refresh 20 days, code 5 minutes.
Hashes are distinct 64-character lowercase hex (SHA-256 of a per-run salt and the row's
number), `family_id` 32-character hex. `oauth2_tokens.code_id` is left NULL (migration 0005
drops it); `oauth2_codes.family_id` is written only when the column exists.

Ids start above each table's largest id, so a database the bench fixtures (or an earlier
seed) already used can be seeded again; `seeded_tokens()` counts only the seeded rows (those
of `seed...` users), which is how `scale.py --keep` recognises data it can reuse.

The floor (`--floor-dsn`; schema in its own schema.sql: bytea SHA-256, `issued_at` epoch,
`expires_in`, `revoked`) gets the same number of users, clients, codes and token rows with
the same mix (a rotated or revoked row is `revoked`; a row is expired there when ours is), so
both servers are measured on the same amount of data. Its start.sh with RESET=1 drops its
data: seed it after it has started once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg
from bulkload import LoadReport, bulk_insert, column_type, has_column, max_id

ACCESS_S = 864_000  # the project's ACCESS_TOKEN_LIFETIME default (the floor's too)
REFRESH_S = 2 * ACCESS_S  # REFRESH_TOKEN_LIFETIME's default: twice the access lifetime
CODE_S = 300
STEP_S = 3600  # an ordinary family rotates every hour
LONG_STEP_S = 60  # a long family, every minute
BLOCK = 39  # family lengths cycle through 1..BLOCK: mean (BLOCK + 1) / 2 = 20
BLOCK_ROWS = BLOCK * (BLOCK + 1) // 2
SEED_PREFIX = "seed"
REDIRECT = "https://seed.example.com/callback"


@dataclass(frozen=True)
class Plan:
    """How many rows of each kind, from the number of token rows."""

    tokens: int
    long_families: int = 5
    long_length: int = 10_000
    expired_percent: int = 60
    revoked_percent: int = 10

    def __post_init__(self) -> None:
        if self.long_rows > self.tokens:
            raise ValueError(
                f"{self.long_families} families of {self.long_length} rows do not fit in "
                f"{self.tokens} token rows"
            )
        if not 0 <= self.expired_percent + self.revoked_percent <= 100:
            raise ValueError("--expired-percent + --revoked-percent must be within 0..100")

    @property
    def users(self) -> int:
        return max(50, self.tokens // 200)

    @property
    def clients(self) -> int:
        return max(10, self.tokens // 5000)

    @property
    def codes(self) -> int:
        return self.tokens // 10

    @property
    def long_rows(self) -> int:
        return self.long_families * self.long_length

    @property
    def regular_rows(self) -> int:
        return self.tokens - self.long_rows

    @property
    def regular_families(self) -> int:
        """Families the regular rows fall into (the last one possibly cut short)."""
        if self.regular_rows == 0:
            return 0
        block, rest = divmod(self.regular_rows - 1, BLOCK_ROWS)
        return block * BLOCK + _family_in_block(rest) + 1

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "users": self.users,
            "clients": self.clients,
            "codes": self.codes,
            "families": self.regular_families + self.long_families,
        }


def _family_in_block(r: int) -> int:
    """The k with k(k+1)/2 <= r < (k+1)(k+2)/2: row r of a block is in its family k (length k+1)."""
    return (math.isqrt(8 * r + 1) - 1) // 2


def fit_long_families(tokens: int, wanted: int, length: int, share: float = 0.1) -> int:
    """How many long families a database of `tokens` rows gets: at most `share` of its rows, so
    a small database is not made of long families only."""
    return max(0, min(wanted, int(tokens * share) // length))


@dataclass(frozen=True)
class _Bases:
    """Largest existing ids: seeded row n gets id base + n."""

    users: int
    clients: int
    codes: int
    tokens: int


def _token_rows(plan: Plan, salt: str) -> str:
    """One row per stored token pair: (i, f, pos, len, newest, state, step, age), i from 0.

    Regular row i lies in block i / 780 of 39 families of lengths 1..39; within the block,
    family k holds rows k(k+1)/2 .. (k+1)(k+2)/2 - 1. State by family number modulo 100: 'e'
    (expired), 'r' (revoked), 'l' (live); 39 and 100 are coprime, so over 3900 families every
    length meets every state once and the shares hold by rows. `age` is how long ago (s) the
    family's newest pair was issued; row `pos` was issued (len - 1 - pos) * step before it."""
    n, e, r = plan.regular_rows, plan.expired_percent, plan.expired_percent + plan.revoked_percent
    expired_age = f"{REFRESH_S + 3600} + (f % 60) * 86400"  # newest expired 1 h to 60 days ago
    regular = f"""
        SELECT i, f, pos, len, (pos = len - 1 OR i = {n - 1}) AS newest,
               CASE WHEN f % 100 < {e} THEN 'e' WHEN f % 100 < {r} THEN 'r' ELSE 'l' END AS state,
               {STEP_S} AS step
        FROM generate_series(0, {n - 1}) AS g(i)
        CROSS JOIN LATERAL (SELECT i / {BLOCK_ROWS} AS b, i % {BLOCK_ROWS} AS r) AS br
        CROSS JOIN LATERAL (SELECT (floor((sqrt(8 * r + 1) - 1) / 2))::int AS k) AS kk
        CROSS JOIN LATERAL (SELECT b * {BLOCK} + k AS f, r - k * (k + 1) / 2 AS pos,
                                   k + 1 AS len) AS fam"""
    long_ = f"""
        SELECT {n} + j AS i, {plan.regular_families} + j / {plan.long_length} AS f,
               (j % {plan.long_length})::int AS pos, {plan.long_length} AS len,
               j % {plan.long_length} = {plan.long_length - 1} AS newest, 'l' AS state,
               {LONG_STEP_S} AS step
        FROM generate_series(0, {plan.long_rows - 1}) AS g(j)"""
    parts = [p for p, count in ((regular, n), (long_, plan.long_rows)) if count > 0]
    union = " UNION ALL ".join(parts) if parts else "SELECT 0, 0, 0, 1, true, 'l', 1 WHERE false"
    return f"""
        SELECT c.*, now() - make_interval(secs => c.age + (c.len - 1 - c.pos) * c.step) AS issued
        FROM (
            SELECT u.*, CASE u.state WHEN 'e' THEN {expired_age}
                                     WHEN 'r' THEN 3600 + f % 86400
                                     ELSE CASE WHEN u.step = {LONG_STEP_S} THEN 30
                                               ELSE f % 36000 END END AS age
            FROM ({union}) AS u(i, f, pos, len, newest, state, step)
        ) AS c"""


def _sha(tag: str, salt: str, n: str) -> str:
    """SHA-256 (bytea) of a tag, the run's salt and a row number: distinct per row and run."""
    return f"sha256(convert_to('{tag}{salt}' || {n}, 'UTF8'))"


def _hex(tag: str, salt: str, n: str) -> str:
    return f"encode({_sha(tag, salt, n)}, 'hex')"


def _code_created() -> str:
    """When code g was made: 95 % a day to a month ago (expired), 5 % within the last minute."""
    return (
        "now() - make_interval(secs => CASE WHEN g % 100 < 95 THEN 86400 + g % 2592000 "
        "ELSE g % 60 END)"
    )


# --- the project's tables -----------------------------------------------------------------------


def project_sql(
    plan: Plan, b: _Bases, salt: str, codes_family: bool, binary: bool
) -> dict[str, str]:
    """The INSERT for each of the project's tables (app/db/models.py), in load order.
    `binary`: the token table's hashes and family ids are `bytea` (migration 0005), not hex
    text; the codes' family ids (`codes_family`) are then too."""
    token_hash = _sha if binary else _hex

    def family(n: str) -> str:
        return f"decode(md5('{salt}f' || {n}), 'hex')" if binary else f"md5('{salt}f' || {n})"

    client_of, user_of = (
        f"{b.clients} + 1 + f % {plan.clients}",
        f"{b.users} + 1 + f % {plan.users}",
    )
    rotated = "CASE WHEN NOT newest THEN issued + make_interval(secs => step) END"
    family_col = ", family_id" if codes_family else ""
    family_val = f", {family('g')}" if codes_family else ""
    return {
        "users": f"""
            INSERT INTO users (id, username, email, password_hash, created_at, is_active,
                               accepted_policy_at)
            SELECT {b.users} + g, '{SEED_PREFIX}' || ({b.users} + g),
                   '{SEED_PREFIX}' || ({b.users} + g) || '@seed.example.com',
                   '!seeded-user-never-logs-in', now() - make_interval(days => g % 365), true,
                   now() - make_interval(days => g % 365)
            FROM generate_series(1, {plan.users}) AS g""",
        "oauth2_clients": f"""
            INSERT INTO oauth2_clients (id, client_id, client_secret_hash, user_id, name, website,
                                        description, redirect_uris, scope, issued_at)
            SELECT {b.clients} + g, '{SEED_PREFIX}' || md5('{salt}c' || g), {_hex("s", salt, "g")},
                   {b.users} + 1 + ((g - 1) / 3) % {plan.users}, 'seeded app ' || g,
                   'https://seed.example.com', 'made by bench/seed.py', '["{REDIRECT}"]'::json,
                   'profile:read workouts:read', now() - make_interval(days => g % 365)
            FROM generate_series(1, {plan.clients}) AS g""",
        "oauth2_codes": f"""
            INSERT INTO oauth2_codes (id, code_hash, client_id, user_id, scope, redirect_uri,
                                      code_challenge, code_challenge_method, created_at,
                                      expires_at, used_at{family_col})
            SELECT {b.codes} + g + 1, {_hex("k", salt, "g")}, {b.clients} + 1 + g % {plan.clients},
                   {b.users} + 1 + g % {plan.users}, 'profile:read', '{REDIRECT}',
                   md5('{salt}v' || g), 'S256', created, created + interval '{CODE_S} s',
                   CASE WHEN g % 100 < 90 THEN created + interval '5 s' END{family_val}
            FROM generate_series(0, {plan.codes - 1}) AS g
            CROSS JOIN LATERAL (SELECT {_code_created()} AS created) AS t""",
        "oauth2_tokens": f"""
            INSERT INTO oauth2_tokens (id, access_token_hash, refresh_token_hash, client_id,
                                       user_id, family_id, scope, issued_at, access_expires_at,
                                       refresh_expires_at, revoked_at, rotated_at)
            SELECT {b.tokens} + i + 1, {token_hash("a", salt, "i")}, {token_hash("r", salt, "i")},
                   {client_of}, {user_of}, {family("f")}, 'profile:read', issued,
                   issued + interval '{ACCESS_S} s', issued + interval '{REFRESH_S} s',
                   CASE WHEN NOT newest THEN issued + make_interval(secs => step)
                        WHEN state = 'r' THEN issued + interval '60 s' END,
                   {rotated}
            FROM ({_token_rows(plan, salt)}) AS rows""",
    }


# --- the floor's tables (its schema.sql) --------------------------------------------------------


def floor_sql(plan: Plan, b: _Bases, salt: str) -> dict[str, str]:
    """The same rows in the floor's schema; its codes have no id (the hash is the key)."""
    return {
        "users": f"""
            INSERT INTO users (id, username, email, password, is_active, created_at)
            SELECT {b.users} + g, '{SEED_PREFIX}' || ({b.users} + g),
                   '{SEED_PREFIX}' || ({b.users} + g) || '@seed.example.com',
                   decode(repeat('00', 48), 'hex'), true, now() - make_interval(days => g % 365)
            FROM generate_series(1, {plan.users}) AS g""",
        "clients": f"""
            INSERT INTO clients (id, client_id, secret_hash, user_id, name, website, description,
                                 redirect_uris, scope, issued_at)
            SELECT {b.clients} + g, '{SEED_PREFIX}' || md5('{salt}c' || g), {_sha("s", salt, "g")},
                   {b.users} + 1 + ((g - 1) / 3) % {plan.users}, 'seeded app ' || g,
                   'https://seed.example.com', 'made by bench/seed.py', ARRAY['{REDIRECT}'],
                   'profile:read workouts:read', now() - make_interval(days => g % 365)
            FROM generate_series(1, {plan.clients}) AS g""",
        "codes": f"""
            INSERT INTO codes (code_hash, client_id, user_id, scope, redirect_uri, code_challenge,
                               expires_at)
            SELECT {_sha("k", salt, "g")}, {b.clients} + 1 + g % {plan.clients},
                   {b.users} + 1 + g % {plan.users}, 'profile:read', '{REDIRECT}',
                   md5('{salt}v' || g), extract(epoch FROM created) + {CODE_S}
            FROM generate_series(0, {plan.codes - 1}) AS g
            CROSS JOIN LATERAL (SELECT {_code_created()} AS created) AS t""",
        "tokens": f"""
            INSERT INTO tokens (id, access_hash, refresh_hash, client_id, user_id, scope,
                                issued_at, expires_in, revoked)
            SELECT {b.tokens} + i + 1, {_sha("a", salt, "i")}, {_sha("r", salt, "i")},
                   {b.clients} + 1 + f % {plan.clients}, {b.users} + 1 + f % {plan.users},
                   'profile:read', extract(epoch FROM issued), {ACCESS_S},
                   NOT newest OR state = 'r'
            FROM ({_token_rows(plan, salt)}) AS rows""",
    }


# --- running it ---------------------------------------------------------------------------------

PROJECT_TABLES = ("users", "oauth2_clients", "oauth2_codes", "oauth2_tokens")
FLOOR_TABLES = ("users", "clients", "codes", "tokens")


async def _bases(conn: asyncpg.Connection, tables: tuple[str, ...]) -> _Bases:
    users, clients, codes, tokens = tables
    code_base = await max_id(conn, codes) if await has_column(conn, codes, "id") else 0
    return _Bases(
        await max_id(conn, users),
        await max_id(conn, clients),
        code_base,
        await max_id(conn, tokens),
    )


async def _load(conn: asyncpg.Connection, statements: dict[str, str]) -> list[LoadReport]:
    reports = []
    for table, sql in statements.items():
        report = await bulk_insert(conn, table, sql)
        print(f"  {report.line()}", flush=True)
        reports.append(report)
    return reports


async def seed_project(dsn: str, plan: Plan) -> list[LoadReport]:
    """Seed the project's (migrated) database; one report per table."""
    conn = await asyncpg.connect(dsn)
    try:
        salt = secrets.token_hex(4)
        bases = await _bases(conn, PROJECT_TABLES)
        codes_family = await has_column(conn, "oauth2_codes", "family_id")
        binary = await column_type(conn, "oauth2_tokens", "access_token_hash") == "bytea"
        print(f"project {_where(dsn)}: {_describe(plan)}", flush=True)
        return await _load(conn, project_sql(plan, bases, salt, codes_family, binary))
    finally:
        await conn.close()


async def seed_floor(dsn: str, plan: Plan) -> list[LoadReport]:
    """Seed the floor's database (its schema must exist: start it once first)."""
    conn = await asyncpg.connect(dsn)
    try:
        salt = secrets.token_hex(4)
        bases = await _bases(conn, FLOOR_TABLES)
        print(f"floor {_where(dsn)}: {_describe(plan)}", flush=True)
        return await _load(conn, floor_sql(plan, bases, salt))
    finally:
        await conn.close()


async def seeded_tokens(dsn: str, floor: bool = False) -> int:
    """Token rows made by this seeder (those of its `seed...` users); 0 without the tables."""
    tokens = "tokens" if floor else "oauth2_tokens"
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT to_regclass($1)", tokens) is None:
            return 0
        return int(
            await conn.fetchval(
                f"SELECT count(*) FROM {tokens} WHERE user_id IN "
                f"(SELECT id FROM users WHERE username LIKE '{SEED_PREFIX}%')"
            )
        )
    finally:
        await conn.close()


async def project_mix(dsn: str) -> dict[str, int]:
    """The token table's rows by state, now: what the seed made (and what `clean` may take)."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            """
            SELECT count(*) AS rows, count(DISTINCT family_id) AS families,
                   count(*) FILTER (WHERE access_expires_at < now()
                                    AND refresh_expires_at < now()) AS expired,
                   count(*) FILTER (WHERE rotated_at IS NOT NULL AND refresh_expires_at >= now())
                       AS rotated_unexpired,
                   count(*) FILTER (WHERE rotated_at IS NULL AND revoked_at IS NOT NULL
                                    AND refresh_expires_at >= now()) AS revoked_unexpired,
                   count(*) FILTER (WHERE revoked_at IS NULL AND refresh_expires_at >= now())
                       AS live
            FROM oauth2_tokens"""
        )
        return dict(row)
    finally:
        await conn.close()


def _describe(plan: Plan) -> str:
    return (
        f"{plan.tokens} token rows ({plan.regular_families} families of 1..{BLOCK} rows"
        f" + {plan.long_families} of {plan.long_length}), {plan.users} users, "
        f"{plan.clients} clients, {plan.codes} codes"
    )


def _where(dsn: str) -> str:
    """The DSN without its password, for printing."""
    head, sep, tail = dsn.rpartition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return dsn
    scheme, _, auth = head.partition("//")
    return f"{scheme}//{auth.split(':', 1)[0]}:***@{tail}"


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that shape the data, shared with scale.py and clean_under_load.py."""
    parser.add_argument(
        "--long-families", type=int, default=5, help="families rotated 10 000+ times (5)"
    )
    parser.add_argument(
        "--long-length", type=int, default=10_000, help="rows per long family (10000)"
    )
    parser.add_argument(
        "--expired-percent", type=int, default=60, help="fully expired families (60)"
    )
    parser.add_argument("--revoked-percent", type=int, default=10, help="revoked families (10)")


async def main_async(args: argparse.Namespace) -> None:
    plan = Plan(
        args.tokens,
        args.long_families,
        args.long_length,
        args.expired_percent,
        args.revoked_percent,
    )
    out: dict = {"plan": plan.as_dict()}
    t0 = time.perf_counter()
    if args.dsn:
        out["project"] = [r.as_dict() for r in await seed_project(args.dsn, plan)]
        out["project_mix"] = await project_mix(args.dsn)
        print(f"  now in the token table: {out['project_mix']}")
    if args.floor_dsn:
        out["floor"] = [r.as_dict() for r in await seed_floor(args.floor_dsn, plan)]
    out["elapsed_s"] = round(time.perf_counter() - t0, 1)
    print(f"seeded in {out['elapsed_s']} s")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", help="the project's database, migrated (postgresql://...)")
    parser.add_argument("--floor-dsn", help="the floor's database, its schema made by start.sh")
    parser.add_argument("--tokens", type=int, required=True, help="token rows to add")
    add_plan_arguments(parser)
    parser.add_argument("--json", type=Path, help="write the plan and per-table timings")
    args = parser.parse_args()
    if not args.dsn and not args.floor_dsn:
        parser.error("give --dsn, --floor-dsn or both")
    try:
        asyncio.run(main_async(args))
    except ValueError as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    main()
