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
need() { echo "error: $1" >&2; exit 1; }

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
  need "Python 3.11 or newer is needed as python3; install it (Debian: apt-get install python3 python3-venv)."
command -v npm >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 20 ] ||
  need "Node.js 20 or newer with npm is needed for Azurite; install it (https://nodejs.org or your package manager)."

# One stamp per requirements file, so the demo and the tests do not reinstall each other's set.
reqs=(requirements.txt)
[ $test_tools = 1 ] && reqs+=(requirements-test.txt)
for req in "${reqs[@]}"; do
  stamp="venv/.installed-${req%.txt}-$(sha256sum "$req" | cut -c1-16)"
  [ -e "$stamp" ] && continue
  step "Python venv: $req"
  if [ ! -x venv/bin/python ]; then
    python3 -m venv venv || need "python3 cannot make a virtualenv; install the venv module (Debian: apt-get install python3-venv)."
  fi
  venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
  rm -f "venv/.installed-${req%.txt}-"???????????????? && touch "$stamp"
done

if [ ! -x tools/azurite/node_modules/.bin/azurite-blob ]; then
  step "Azurite (npm, pinned by tools/azurite/package-lock.json)"
  npm ci --prefix tools/azurite --no-audit --no-fund --loglevel=error
fi

if [ $test_tools = 1 ] && ! { command -v qemu-img && command -v vhdiinfo; } >/dev/null; then
  step "Debian packages qemu-utils and libvhdi-utils"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo -n"  # never wait for a password prompt (CI has no terminal)
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq qemu-utils libvhdi-utils >/dev/null ||
    need "installing qemu-utils and libvhdi-utils failed; install them as root (apt-get install qemu-utils libvhdi-utils) and run this again."
fi

if [ $test_tools = 0 ]; then
  step "Pulumi CLI"
  scripts/install-pulumi.sh
  exit 0
fi

# The tests of the provider plugin from every language (tests/test_lang_*.py); the demo needs none of it.
step "Pulumi CLI and the YAML language host"
scripts/install-pulumi.sh --yaml

# The TypeScript example: @pulumi/pulumi and typescript pinned by its lockfile, and the generated SDK (sdk/nodejs)
# installed as a copy, which its postinstall compiles with tsc. Redone when the lockfile or the SDK changes.
ts=examples/typescript
stamp="$ts/node_modules/.installed-$(cat "$ts/package-lock.json" <(cd sdk/nodejs && git ls-files -co --exclude-standard | sort | xargs cat) | sha256sum | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  step "npm: $ts (pinned by its package-lock.json, with sdk/nodejs compiled)"
  npm ci --prefix "$ts" --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

# Go modules: the SDK generator (tools/sdkgen) and the Go example (the Automation API, the generated Go SDK).
command -v go >/dev/null 2>&1 ||
  need "Go 1.26.6 or newer is needed for the SDK generator and the Go example tests; install it (https://go.dev/dl/)."
for module in tools/sdkgen examples/go; do
  (cd "$module" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly go mod download) ||
    need "downloading the Go modules of $module failed (see above)."
done
