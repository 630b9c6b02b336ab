"""blank-vhd as a Pulumi resource provider plugin: `pulumi-resource-blank-vhd`, the console script the engine starts
for the package `blank-vhd` (resources `blank-vhd:index:BlankVhd`, `VhdImage`, `BlobContainer`), for programs in
any language. Its schema is providers/plugin/schema.json, generated from providers/schema.py.

Start-up is kept short (the engine waits for it): this module imports nothing; the server and the SDK load in
main(), the core providers and vhdcore on the first request about a resource, the Azure SDK on its first storage call.
"""

from __future__ import annotations

import re
import sys

# The SDK release that added the provider interface the plugin is built on (pulumi.provider.experimental).
MIN_PULUMI = (3, 171, 0)


def main() -> None:
    """The console script's entry point; the engine passes its address as the first argument."""
    from importlib.metadata import version

    found = version("pulumi")
    # By version, not by trying an import: SDKs before 3.171.0 hold parts of pulumi.provider.experimental already.
    if _release(found) < MIN_PULUMI:
        print(f"pulumi-resource-blank-vhd: the pulumi Python SDK {found} has no provider interface; the plugin needs "
              f"{'.'.join(map(str, MIN_PULUMI))} or newer: pip install 'pulumi>=3.171.0,<4' into its virtualenv.",
              file=sys.stderr)
        raise SystemExit(1)
    from .server import serve

    serve(sys.argv[1:])


def _release(version: str) -> tuple[int, ...]:
    """The numeric release of a version string ("3.171.0rc1" -> (3, 171, 0))."""
    digits = re.match(r"[0-9]+(?:\.[0-9]+)*", version)
    return tuple(int(part) for part in digits[0].split(".")) if digits else ()
