#!/usr/bin/env bash
# The tests: set up, lint, type-check, then unit, golden, property and integration tests (real Docker
# containers). Long soaks are opt-in: scripts/test.sh -m soak. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
.venv/bin/ruff check harness workloads nemeses checkers dbs docker/kvstore tests bench
.venv/bin/mypy   # the packages, at the strictness pyproject.toml's [tool.mypy] sets
export SPLITBRAIN_REQUIRE_DOCKER=1
exec .venv/bin/pytest -q -p no:cacheprovider "$@"
