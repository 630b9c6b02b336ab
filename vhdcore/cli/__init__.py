"""The `vhdcore` command (also `python -m vhdcore`): fixed VHDs locally and in Azure page blobs.

Modules: command (the parser, local commands, and the one place errors become exit codes) -> blob (the
`blob` commands), containers (the `container` commands) and images (`convert`, image facts for `inspect`)
-> account (the storage account flags both share) -> progress (tqdm: byte bars and the status line,
imported when a command runs), parser (argparse with argument errors that show no secret) and common (exit
codes, parsing and printing helpers); imports flow that way only.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """The console entry point `vhdcore`; imports the command line only when it runs."""
    from .command import main as run

    return run(argv)


__all__ = ["main"]
