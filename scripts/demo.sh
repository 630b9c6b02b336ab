#!/usr/bin/env bash
# The demo: set up what is missing, start Azurite (port 10000, data in .azurite/), run `pulumi up` on
# the `local` stack (local file backend in .pulumi/), then show the disk it made. Safe to run again.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/setup.sh
py=venv/bin/python
echo "==> Azurite: $($py tools/azurite_server.py start)"
$py tools/pulumi_stack.py up --stack local
container=$($py tools/pulumi_stack.py output container_name --stack local)
blob=$($py tools/pulumi_stack.py output blob_name --stack local)
echo "==> python -m vhdcore blob inspect -c $container -n $blob"
AZURE_STORAGE_CONNECTION_STRING="UseDevelopmentStorage=true" $py -m vhdcore blob inspect -c "$container" -n "$blob"
echo "==> Tear down with: venv/bin/python tools/pulumi_stack.py destroy --stack local; venv/bin/python tools/azurite_server.py stop"
