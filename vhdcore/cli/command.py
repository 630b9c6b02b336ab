"""`vhdcore` (also `python -m vhdcore`): create and inspect fixed VHDs locally, and (`blob ...`) in Azure page blobs.

Exit codes are decided in one place (common.exit_code). Only the standard library is imported here (the
blob commands included); the Azure SDK is imported by the commands that talk to Azure, when they run.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import DEBUG_ENV
from ..format.footer import fixed_footer
from ..format.local_disk import create_fixed_vhd
from ..format.sizes import FOOTER_SIZE, parse_size
from ..format.unique_id import UniqueId
from .blob import add_blob_commands
from .common import (
    EXIT_CODES_HELP,
    EXIT_OK,
    add_output_option,
    error_line,
    exit_code,
    parse_timestamp,
    print_report,
    print_result,
)
from .containers import add_container_commands
from .disk import add_disk_commands
from .images import FORMAT_HELP, add_convert_command
from .parser import Parser, hide_credentials


def _create(args: argparse.Namespace) -> int:
    footer = fixed_footer(
        parse_size(args.size, field="--size"),
        timestamp=parse_timestamp(args.timestamp) if args.timestamp is not None else None,
        unique_id=UniqueId.parse(args.unique_id, field="--unique-id") if args.unique_id is not None else None,
    )
    create_fixed_vhd(args.path, footer, force=args.force)
    doc = {"path": args.path, "size": footer.current_size, "file_size": footer.current_size + FOOTER_SIZE,
           "unique_id": str(footer.unique_id)}
    print_result(doc, f"created {args.path}: fixed VHD, {footer.current_size} bytes, unique id {footer.unique_id}",
                 args.output)
    return EXIT_OK


def _inspect(args: argparse.Namespace) -> int:
    from ..sources.report import inspect_source  # a plain local file gets format.images' report, as before

    return print_report(inspect_source(args.path, args.format, compression=args.compression, sha256=args.sha256),
                        output=args.output)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="vhdcore", description="Blank fixed VHDs for Azure: local files and page blobs.",
                    epilog=EXIT_CODES_HELP)
    parser.add_argument("--version", action="version", version=f"vhdcore {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    create = commands.add_parser("create", help="create a blank fixed VHD file (sparse)", epilog=EXIT_CODES_HELP)
    create.add_argument("path")
    create.add_argument("--size", required=True, help="disk size: bytes or binary units (512MiB, 10GiB, 1TiB)")
    create.add_argument("--timestamp", help="footer time: ISO 8601 UTC (2024-01-01T00:00:00Z) or Unix seconds")
    create.add_argument("--unique-id", help="the 16 footer id bytes in on-disk order, as 32 hex digits")
    create.add_argument("--force", action="store_true", help="replace an existing file")
    add_output_option(create)
    create.set_defaults(run=_create)

    inspect = commands.add_parser("inspect", help="check a fixed VHD file, or any disk image and the fixed VHD it "
                                  "would become", epilog=EXIT_CODES_HELP)
    inspect.add_argument("path", help="a file, or an https:// URL (http:// only to this machine)")
    inspect.add_argument("--format", help=FORMAT_HELP + "; a detected fixed VHD or raw file gets the footer report")
    inspect.add_argument("--compression", metavar="NAME", help="xz, gzip, bzip2, zstd, or none (default: detected "
                         "from the magic bytes); a compressed image is read as an upload reads it")
    inspect.add_argument("--sha256", metavar="HEX", help="the published SHA-256, checked when the image is read whole")
    add_output_option(inspect)
    inspect.set_defaults(run=_inspect)

    add_convert_command(commands)
    add_blob_commands(commands)
    add_container_commands(commands)
    add_disk_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; every error becomes one line on stderr (never showing a credential of `argv`) and its
    exit code (common.exit_code)."""
    try:
        args = build_parser().parse_args(argv)
        code: int = args.run(args)
        return code
    except (Exception, KeyboardInterrupt) as exc:
        if os.environ.get(DEBUG_ENV) == "1":
            raise
        # A credential given where a path or a name was expected would be quoted by the error about it.
        print(hide_credentials(error_line(exc), sys.argv[1:] if argv is None else argv), file=sys.stderr)
        return exit_code(exc)
