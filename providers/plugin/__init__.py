"""blank-vhd as a Pulumi resource provider plugin: `pulumi-resource-blank-vhd`, the console script the engine starts
for the package `blank-vhd` (resources `blank-vhd:index:BlankVhd`, `VhdImage`, `BlobContainer`), for programs in
any language. Its schema is providers/plugin/schema.json, generated from providers/schema.py.

Start-up is kept short (the engine waits for it): this module imports nothing; the server and the SDK load in
main(), the core providers and vhdcore on the first request about a resource, the Azure SDK on its first storage call.
"""

from __future__ import annotations

import sys

# The SDK release that added the provider interface the plugin is built on (pulumi.provider.experimental).
MIN_PULUMI = (3, 171, 0)


def main() -> None:
    """The console script's entry point; the engine passes its address as the first argument."""
    try:
        from pulumi.provider.experimental import provider as _  # noqa: F401
    except ImportError:
        from importlib.metadata import version

        print(f"pulumi-resource-blank-vhd: the pulumi Python SDK {version('pulumi')} has no provider interface; the "
              f"plugin needs {'.'.join(map(str, MIN_PULUMI))} or newer: pip install 'pulumi>=3.171.0,<4' into its "
              "virtualenv.", file=sys.stderr)
        raise SystemExit(1) from None
    from .server import serve

    serve(sys.argv[1:])
