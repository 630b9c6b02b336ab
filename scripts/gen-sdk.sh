#!/usr/bin/env bash
# Regenerates the Node.js, Python and Go SDKs of the provider plugin from its checked-in package schema:
#   scripts/gen-sdk.sh          # into sdk/ (then refreshes examples/typescript's lockfile entry for the SDK)
#   scripts/gen-sdk.sh DIR      # into DIR/{nodejs,python,go} (tests/test_sdk.py diffs that against sdk/)
# `pulumi package gen-sdk` would ask each language's host plugin, which cannot be built here; tools/sdkgen calls
# the same generators (github.com/pulumi/pulumi/pkg/v3/codegen/*, pinned to the CLI's version) directly.
# .NET and Java SDKs: `pulumi package gen-sdk providers/plugin/schema.json --language dotnet|java` with an
# official Pulumi CLI (docs/development.md, "Generated files: the plugin and the SDKs").
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(realpath -m "${1:-$root/sdk}")
schema="$root/providers/plugin/schema.json"
command -v go >/dev/null 2>&1 ||
  { echo "error: Go is needed to run tools/sdkgen (Pulumi's code generators); install Go 1.26 or newer." >&2; exit 1; }
# -mod=readonly: tools/sdkgen/go.sum must already hold every module (setup.sh --test downloads them).
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
(cd "$root/tools/sdkgen" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -o "$build/sdkgen" .)
"$build/sdkgen" -schema "$schema" -out "$out"
if [ "$out" = "$root/sdk" ] && command -v npm >/dev/null 2>&1; then
  # The example installs the SDK from sdk/nodejs: its lockfile records the SDK's version and dependencies.
  npm install --package-lock-only --prefix "$root/examples/typescript" --no-audit --no-fund --loglevel=error
fi
