#!/usr/bin/env bash
# Idempotent setup for the demo (`setup.sh`) and the tests (`setup.sh --test`): the project venv with
# the pinned requirements, Azurite from npm, the Debian tools the tests read VHDs with, and the Pulumi
# CLI. Each step is skipped when what it makes is already there; pip, npm and Go reuse their caches.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
test_tools=0
[ "${1:-}" = "--test" ] && test_tools=1
step() { printf '==> %s\n' "$*" >&2; }

reqs=(requirements.txt)
[ $test_tools = 1 ] && reqs+=(requirements-test.txt)
stamp="venv/.installed-$(cat "${reqs[@]}" | sha256sum | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  step "Python venv with ${reqs[*]}"
  [ -x venv/bin/python ] || python3 -m venv venv
  venv/bin/python -m pip install --quiet --disable-pip-version-check "${reqs[@]/#/-r}"
  rm -f venv/.installed-* && touch "$stamp"
fi

if [ ! -x tools/azurite/node_modules/.bin/azurite-blob ]; then
  step "Azurite (npm, pinned by tools/azurite/package-lock.json)"
  npm ci --prefix tools/azurite --no-audit --no-fund --loglevel=error
fi

if [ $test_tools = 1 ] && ! { command -v qemu-img && command -v vhdiinfo; } >/dev/null; then
  step "Debian packages qemu-utils and libvhdi-utils"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq qemu-utils libvhdi-utils >/dev/null
fi

step "Pulumi CLI"
scripts/install-pulumi.sh
