#!/usr/bin/env bash
# The demo: set up what is missing, start the demo's own Azurite (a free port, or --port N or
# BLANK_VHD_AZURITE_PORT; data in .azurite/; never a server it did not start), run `pulumi up` on the `local`
# stack (local file backend in .pulumi/) with that Azurite's connection string as an encrypted secret, then
# show the disk it made. Safe to run again: it reuses its own Azurite, on the port it used last time if free.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
port_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port_args=(--port "${2:?--port needs a number}"); shift 2 ;;
    --port=*) port_args=(--port "${1#--port=}"); shift ;;
    -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument $1; use --port N (or BLANK_VHD_AZURITE_PORT=N)." >&2; exit 2 ;;
  esac
done
scripts/setup.sh
py=venv/bin/python
echo "==> Azurite (the demo's own): $($py tools/azurite_server.py start "${port_args[@]}")"
connection=$($py tools/azurite_server.py connection-string)
$py tools/pulumi_stack.py up --stack local --secret "storageConnectionString=$connection"
container=$($py tools/pulumi_stack.py output container_name --stack local)
blob=$($py tools/pulumi_stack.py output blob_name --stack local)
echo "==> vhdcore blob inspect -c $container -n $blob"
AZURE_STORAGE_CONNECTION_STRING="$connection" $py -m vhdcore blob inspect -c "$container" -n "$blob"
echo "==> Tear down with: venv/bin/python tools/pulumi_stack.py destroy --stack local; venv/bin/python tools/azurite_server.py stop"
