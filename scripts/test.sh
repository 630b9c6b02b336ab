#!/usr/bin/env bash
# The whole test suite: set up what is missing (venv, Azurite, qemu-utils, libvhdi-utils, the Pulumi
# CLI), lint and type-check, then run every test, the end-to-end ones with the real Pulumi CLI included.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/setup.sh --test
echo "==> ruff, mypy" >&2
venv/bin/ruff check .
venv/bin/mypy
echo "==> pytest" >&2
exec venv/bin/python -m pytest "$@"
