#!/usr/bin/env bash
# The whole A/B run, project vs floor (see bench/README.md). Extra arguments go to compare.py,
# e.g.  bench/compare.sh --duration 10 --repeats 3 --json /tmp/bench.json
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
exec "${PYTHON:-$ROOT/.venv/bin/python}" bench/compare.py "$@"
