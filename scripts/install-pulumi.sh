#!/usr/bin/env bash
# Puts the pinned Pulumi CLI (and the two helper scripts the Python runtime needs) into .tools/bin.
# Order: an earlier install in .tools/bin; a `pulumi` on PATH at the pinned version; a build of the
# published Go modules with the local Go toolchain (for machines that reach only package registries).
# On a machine with internet access the official installer is simpler: https://www.pulumi.com/docs/install/
# With --yaml it also builds the YAML language host (pulumi-language-yaml, for the tests' `runtime: yaml`
# project) from its Go module at the version in scripts/pulumi-yaml-version.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
want_yaml=0
[ "${1:-}" = "--yaml" ] && want_yaml=1
# The CLI's own pin: the newest release the Go module proxy serves (the SDK pin, in requirements.txt, is
# the newest on PyPI; a newer CLI runs older SDKs).
version=$(tr -d '[:space:]' < "$root/scripts/pulumi-cli-version")
bin="$root/.tools/bin"
mkdir -p "$bin"
# Two setups at once (demo and tests) must not build into the same folder.
exec 9>"$root/.tools/pulumi.lock"
flock 9

hint="install Pulumi v$version (https://www.pulumi.com/docs/install/) so that \`pulumi version\` prints v$version, and run this again"
have_version() { [ -x "$1" ] && [ "$("$1" version 2>/dev/null)" = "v$version" ]; }
# `pulumi` is moved into place last, so an interrupted run is never taken for a finished one.
installed() { have_version "$bin/pulumi" && [ -x "$bin/pulumi-resource-pulumi-python" ]; }

# The YAML language host: `go install` works on its module (its go.mod has no replace directives) and builds
# it with the pkg/sdk versions that release was made with (its code does not compile against the CLI's newer
# pkg). Official release flags (its .goreleaser.yml), version stamped. The stamp file is written last.
yaml_version=$(tr -d '[:space:]' < "$root/scripts/pulumi-yaml-version")
yaml_stamp="$root/.tools/pulumi-language-yaml.version"
install_yaml() {
  [ $want_yaml = 1 ] || return 0
  [ -x "$bin/pulumi-language-yaml" ] && [ "$(cat "$yaml_stamp" 2>/dev/null)" = "$yaml_version" ] && return 0
  command -v go >/dev/null 2>&1 ||
    { echo "error: Go is needed to build the YAML language host v$yaml_version; install Go, or install it from https://github.com/pulumi/pulumi-yaml/releases into $bin." >&2; return 1; }
  echo "building the YAML language host v$yaml_version from its Go module (first time: about 2 minutes)..." >&2
  local out="$root/.tools/pulumi-yaml-build"
  rm -rf "$out" && mkdir -p "$out"
  if ! GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0 GOBIN="$out" go install -trimpath \
      -ldflags "-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=v$yaml_version" \
      "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@v$yaml_version" >"$out/go-install.log" 2>&1; then
    tail -n 20 "$out/go-install.log" >&2
    echo "error: building the YAML language host v$yaml_version failed (see above)." >&2
    return 1
  fi
  mv "$out/pulumi-language-yaml" "$bin/pulumi-language-yaml"
  echo "$yaml_version" > "$yaml_stamp"
}

if installed; then install_yaml; exit; fi
if on_path=$(command -v pulumi 2>/dev/null) && [ "$on_path" != "$bin/pulumi" ] && have_version "$on_path"; then
  # An official install ships its plugins beside the binary, where the CLI looks for them.
  ln -sf "$on_path" "$bin/pulumi"
  install_yaml
  exit
fi
if ! command -v go >/dev/null 2>&1; then
  echo "error: Pulumi CLI v$version is not on PATH and Go is not installed to build it; $hint." >&2
  exit 1
fi
trap 'echo "error: building Pulumi CLI v$version from its Go modules failed (see above); $hint." >&2' ERR

export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
module() { go mod download -json "$1" | sed -n "s/.*\"$2\": \"\\(.*\\)\",*/\\1/p"; }
goline=$(sed -n 's/^go //p' "$(module "github.com/pulumi/pulumi/pkg/v3@v$version" GoMod)")
have=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$goline" "$have" | sort -V | head -1)" != "$goline" ]; then
  echo "error: Pulumi v$version needs Go $goline or newer to build, this machine has Go $have; install a newer Go, or $hint." >&2
  exit 1
fi

build="$root/.tools/pulumi-build"
mkdir -p "$build"
# A throwaway wrapper module: `go install pkg@version` refuses pkg/v3 because its go.mod has replace
# directives. The clipboard replace is the only non-local one upstream uses, so the build graph matches.
cat > "$build/go.mod" <<MOD
module blankvhd.invalid/pulumi-build

go $goline

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
rm -f "$build/go.sum"
echo "building Pulumi CLI v$version from its Go modules (first time: several minutes)..." >&2
pkg="github.com/pulumi/pulumi/pkg/v3@v$version" sdk="github.com/pulumi/pulumi/sdk/v3@v$version"
if ! (cd "$build" && go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$version" "$sdk") >"$build/go-get.log" 2>&1; then
  tail -n 20 "$build/go-get.log" >&2
  false
fi
flags=(-trimpath -tags osusergo,grpcnotrace -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version")

# The dynamic-provider plugin and the program executor ship as scripts inside the sdk module;
# module files are read-only and lose their mode bits, so copy them and restore the execute bit.
sdkdir=$(module "$sdk" Dir)
install -m 0755 "$sdkdir/python/dist/pulumi-resource-pulumi-python" "$sdkdir/python/cmd/pulumi-language-python-exec" "$bin/"

# The Python language host (only needed for a bare `pulumi up` in the project folder; the scripts run
# the program inline through the Automation API). It has no tags, so it resolves by the sdk release
# commit; some module proxies serve neither that commit nor the module: then go on without it.
commit=$(module "$sdk" Hash)
host=github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3
if [ -n "$commit" ] && (cd "$build" && go get "$host@$commit" "$pkg" "$sdk" && go build "${flags[@]}" -o "$bin/pulumi-language-python" "$host") 2>/dev/null; then
  :
else
  echo "note: the module proxy does not serve $host for v$version; skipping the language host (the scripts do not need it)." >&2
fi

(cd "$build" && go build "${flags[@]}" -o "$bin/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
mv "$bin/pulumi.tmp" "$bin/pulumi"
installed
trap - ERR
install_yaml
