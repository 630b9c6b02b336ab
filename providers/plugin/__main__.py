"""`python -m providers.plugin`: the plugin, as the console script `pulumi-resource-blank-vhd` runs it."""

from . import main

main()
