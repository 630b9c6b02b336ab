# Sourced by the scripts: the offline-safe environment for every Pulumi run, and the project tools
# first on PATH. Everything lives in ignored folders of the project.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$root/.tools/bin:$root/venv/bin:$PATH"
export PULUMI_HOME="$root/.pulumi/home"
export PULUMI_BACKEND_URL="file://$root/.pulumi/state"
export PULUMI_SKIP_UPDATE_CHECK=1
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=1
export PULUMI_CREDENTIAL_STORE=plaintext
export PIP_DISABLE_PIP_VERSION_CHECK=1
mkdir -p "$root/.pulumi/state" "$root/.pulumi/home"
# Local stacks are encrypted with a passphrase the scripts make once and keep out of git.
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  [ -s "$root/.pulumi/passphrase" ] || (umask 077 && head -c 24 /dev/urandom | base64 > "$root/.pulumi/passphrase")
  export PULUMI_CONFIG_PASSPHRASE_FILE="$root/.pulumi/passphrase"
fi
