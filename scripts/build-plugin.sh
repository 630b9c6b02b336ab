#!/usr/bin/env bash
# Builds the provider plugin as a tarball that `pulumi plugin install resource blank-vhd <version> --file <tarball>`
# installs into the plugin cache, for programs in any language on a machine without a blank-vhd virtualenv:
#
#   scripts/build-plugin.sh [OUT_DIR]      # default dist/; prints the tarball's path
#
# The tarball holds the executable the CLI runs (`pulumi-resource-blank-vhd`, a POSIX sh shim) and `lib/`: the wheel
# of this checkout with its runtime dependencies at the versions requirements.txt pins (pip install --target). The
# CLI runs an executable plugin directly, with no language host; the shim starts the Python it was built with
# (python3.X by name, as compiled dependencies such as grpcio are built for one Python and platform) on lib/ alone.
# So a tarball is for one OS, CPU and Python minor version: its name says which.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(mkdir -p "${1:-$root/dist}" && cd "${1:-$root/dist}" && pwd)
python="$root/venv/bin/python"
[ -x "$python" ] || { echo "error: no venv at $root/venv; run scripts/setup.sh first." >&2; exit 1; }

version=$("$python" -c 'import sys; sys.path.insert(0, sys.argv[1]); import vhdcore; print(vhdcore.__version__)' "$root")
minor=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
os=$(uname -s | tr '[:upper:]' '[:lower:]')
arch=$(uname -m)
case "$arch" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
name="pulumi-resource-blank-vhd-v$version-$os-$arch-py$minor"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "==> wheel of $root" >&2
"$python" -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir "$work/wheel" "$root"
echo "==> $name: the wheel and its dependencies (pinned by requirements.txt)" >&2
# The runtime pins, without the repository stack's own extras (pulumi-azure-native, pyyaml for its wrapper).
grep -v -E '^(pulumi-azure-native|pyyaml)==' "$root/requirements.txt" > "$work/constraints.txt"
# With the `disks` extra: the plugin serves ManagedDiskImage, which needs azure-mgmt-compute.
wheel=$(echo "$work"/wheel/*.whl)
"$python" -m pip install --quiet --disable-pip-version-check --no-compile --target "$work/plugin/lib" \
  --constraint "$work/constraints.txt" "blank-vhd[disks] @ file://$wheel"
cat > "$work/plugin/pulumi-resource-blank-vhd" <<SHIM
#!/bin/sh
# blank-vhd $version's provider plugin, built for Python $minor on $os-$arch (scripts/build-plugin.sh).
here=\$(cd "\$(dirname "\$0")" && pwd)
python=\${BLANK_VHD_PLUGIN_PYTHON:-python$minor}
if ! command -v "\$python" >/dev/null 2>&1; then
  echo "pulumi-resource-blank-vhd: this plugin runs on Python $minor, and \$python is not on PATH; install Python $minor, or set BLANK_VHD_PLUGIN_PYTHON to its path." >&2
  exit 1
fi
# -S: no site-packages of that Python, only lib/ (what the plugin was built with).
PYTHONPATH="\$here/lib" exec "\$python" -S -m providers.plugin "\$@"
SHIM
chmod 0755 "$work/plugin/pulumi-resource-blank-vhd"
tar -C "$work/plugin" -czf "$out/$name.tar.gz" .
echo "$out/$name.tar.gz"
