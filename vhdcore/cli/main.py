"""`python -m vhdcore`: create and inspect fixed VHDs locally, and (`blob ...`) in Azure page blobs.

Exit codes: 0 valid and Azure-ready, 1 the disk has problems (listed), 2 usage or input error.
Only the standard library is imported here (blob_cli included); the Azure SDK is imported by the blob
commands alone, when they run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .blob_cli import add_blob_commands
from .cli_common import EXIT_OK, EXIT_USAGE, Parser, parse_timestamp, print_report
from .errors import VhdError
from .footer import fixed_footer, parse_unique_id
from .local_disk import create_fixed_vhd, inspect_file
from .sizes import parse_size


def _create(args: argparse.Namespace) -> int:
    footer = fixed_footer(
        parse_size(args.size, field="--size"),
        timestamp=parse_timestamp(args.timestamp) if args.timestamp else None,
        unique_id=parse_unique_id(args.unique_id) if args.unique_id else None,
    )
    create_fixed_vhd(args.path, footer, force=args.force)
    print(f"created {args.path}: fixed VHD, {footer.current_size} bytes, unique id {footer.unique_id.hex()}")
    return EXIT_OK


def _inspect(args: argparse.Namespace) -> int:
    return print_report(inspect_file(args.path), as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m vhdcore", description="Blank fixed VHDs for Azure: local files and page blobs.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    create = commands.add_parser("create", help="create a blank fixed VHD file (sparse)")
    create.add_argument("path")
    create.add_argument("--size", required=True, help="disk size: bytes or binary units (512MiB, 10GiB, 1TiB)")
    create.add_argument("--timestamp", help="footer time: ISO 8601 UTC (2024-01-01T00:00:00Z) or Unix seconds")
    create.add_argument("--unique-id", help="the 16 footer id bytes in on-disk order, as 32 hex digits")
    create.add_argument("--force", action="store_true", help="replace an existing file")
    create.set_defaults(run=_create)

    inspect = commands.add_parser("inspect", help="decode and check the footer of a VHD file")
    inspect.add_argument("path")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.set_defaults(run=_inspect)

    add_blob_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        code: int = args.run(args)
        return code
    except VhdError as exc:
        print(f"vhdcore: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
