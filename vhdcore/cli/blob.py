"""`vhdcore blob create|inspect|grow|delete|upload`: fixed VHDs in Azure page blobs, blank or from an image.

The account flags and credentials are account.py's (shared with `vhdcore container`). These commands never
create or delete a container (`vhdcore container` does). The Azure SDK is imported only when a blob command
runs, so the rest of the command line stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ..azure.credentials import ClientOptions
from ..errors import BlobNotFoundError, UsageError
from ..format.sizes import parse_size
from ..format.unique_id import UniqueId
from .account import EPILOG, add_account_options, size_limit, status, storage_target
from .common import EXIT_OK, EXIT_PROBLEMS, parse_timestamp, print_result
from .images import SOURCE_HELP, add_source_options, open_source_args, shown_source, source_facts
from .parser import Parser

DEFAULT_CONNECTIONS = 8  # vhdcore.azure.upload.DEFAULT_CONNECTIONS, without importing the Azure SDK here

if TYPE_CHECKING:
    from ..azure.blobs import BlankVhdBlob


def add_blob_commands(commands: Any) -> None:
    blob = commands.add_parser("blob", help="fixed VHDs in Azure page blobs", epilog=EPILOG,
                               description="Create, inspect, grow and delete blank fixed VHDs in Azure page blobs, "
                               "and upload disk images as fixed VHDs.")
    sub = blob.add_subparsers(dest="blob_command", required=True, parser_class=type(blob))

    create = _command(sub, "create", "create a blank fixed VHD (2 requests, 512 bytes sent, at any size; 1 more the "
                      "first time, to check the account's kind)", _create)
    create.add_argument("--size", required=True, help="disk size: bytes or binary units (512MiB, 10GiB, 1TiB)")
    create.add_argument("--unique-id", help="the 16 footer id bytes in on-disk order, as 32 hex digits")
    create.add_argument("--timestamp", help="footer time: ISO 8601 UTC (2024-01-01T00:00:00Z) or Unix seconds")
    create.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE", help="blob metadata")

    _command(sub, "inspect", "decode and check the footer and the blob (3 requests, no data read)", _inspect)

    grow = _command(sub, "grow", "grow a disk in place, keeping its data and unique id", _grow)
    grow.add_argument("--size", required=True, help="new disk size, not smaller than the current one")
    grow.add_argument("--unique-id", help="refuse unless the disk has this unique id")

    delete = _command(sub, "delete", "delete a disk by its unique id (never a leased one)", _delete)
    delete.add_argument("--unique-id", help="delete only if the disk has this unique id (blob inspect shows it); "
                        "without it, only the empty blob an interrupted create or upload left (no page written) is "
                        "deleted, never one holding data")

    upload = _command(sub, "upload", "upload a disk image as a fixed VHD, sending only its data; a re-run resumes",
                      _upload)
    upload.add_argument("source", help=SOURCE_HELP)
    add_source_options(upload)
    upload.add_argument("--size", help="disk size, at least the image's rounded up to whole MiB (the default)")
    upload.add_argument("--verify", action="store_true",
                        help="before the footer, read every written page back and compare it with the image")
    upload.add_argument("--max-connections", type=int, default=DEFAULT_CONNECTIONS, metavar="N",
                        help=f"Put Page requests at a time, 1 to 64 (default {DEFAULT_CONNECTIONS})")
    upload.add_argument("--unique-id", help="the 16 footer id bytes in on-disk order, as 32 hex digits")
    upload.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE", help="blob metadata")


def _command(sub: Any, name: str, help: str, run: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    """A blob command with az's names first (`az storage blob`), today's older names as aliases."""
    parser: Parser = sub.add_parser(name, help=help, description=help, epilog=EPILOG)
    parser.add_argument("--container-name", "-c", "--container", dest="container", required=True,
                        help="the blob container (--container is the older spelling)")
    parser.add_argument("--name", "-n", required=True, help="blob name, e.g. disks/data-01.vhd")
    add_account_options(parser, run)
    return parser


def _create(args: argparse.Namespace) -> int:
    from ..azure.page_blob import create_blank_vhd

    size = parse_size(args.size, field="--size", limit=size_limit(args))
    unique_id = _unique_id(args.unique_id)
    timestamp = parse_timestamp(args.timestamp) if args.timestamp is not None else None
    target = storage_target(args)
    with status(target, "creating", f"{args.container}/{args.name}") as options:
        blob = create_blank_vhd(target, container=args.container, name=args.name, size=size,
                                metadata=_metadata(args.metadata), unique_id=unique_id, timestamp=timestamp,
                                options=options)
    return _print_blob(blob, args, f"created {blob.url}")


def _inspect(args: argparse.Namespace) -> int:
    from ..azure.page_blob import inspect_blank_vhd

    target = storage_target(args)
    with status(target, "reading", f"{args.container}/{args.name}") as options:
        found = inspect_blank_vhd(target, container=args.container, name=args.name, options=options)
    if found is None:
        raise BlobNotFoundError(f"blob {target.blob_endpoint}/{args.container}/{args.name} does not exist",
                                "check --container-name and --name")
    # The unique id this tool's metadata records is what `blob delete --unique-id` takes: an unfinished upload
    # or create has no footer to show it, so it is shown too (appended, so the other tsv columns keep their places).
    recorded = found.recorded_unique_id
    doc = found.report.to_json() | {"recorded_unique_id": None if recorded is None else str(recorded)}
    table = found.report.to_table()
    if recorded is not None and recorded != found.unique_id:
        head, problems, tail = table.rpartition("\nproblems")
        row = f"recorded_unique_id  {recorded} (this tool's metadata; what `blob delete --unique-id` takes)"
        table = f"{head}\n{row}{problems}{tail}"
    print_result(doc, table, args.output)
    return EXIT_OK if found.report.azure_ready else EXIT_PROBLEMS


def _grow(args: argparse.Namespace) -> int:
    from ..azure.page_blob import grow_blank_vhd

    size = parse_size(args.size, field="--size", limit=size_limit(args))
    target = storage_target(args)
    with status(target, "growing", f"{args.container}/{args.name}") as options:
        blob = grow_blank_vhd(target, container=args.container, name=args.name, size=size,
                              unique_id=_unique_id(args.unique_id), options=options)
    return _print_blob(blob, args, f"{blob.url} is")


def _delete(args: argparse.Namespace) -> int:
    from ..azure.page_blob import delete_blank_vhd

    target = storage_target(args)
    with status(target, "deleting", f"{args.container}/{args.name}") as options:
        deleted = delete_blank_vhd(target, container=args.container, name=args.name,
                                   unique_id=_unique_id(args.unique_id), options=options)
    url = f"{target.blob_endpoint}/{args.container}/{args.name}"
    print_result({"url": url, "deleted": deleted},
                 f"deleted {url}" if deleted else f"{url} does not exist; nothing to delete", args.output)
    return EXIT_OK


def _upload(args: argparse.Namespace) -> int:
    from ..azure.upload import upload_image
    from .progress import Progress

    size = parse_size(args.size, field="--size") if args.size is not None else None
    unique_id, metadata, target = _unique_id(args.unique_id), _metadata(args.metadata), storage_target(args)
    with open_source_args(args) as image:  # a refused image stops here, before any request
        with Progress(image.allocated_bytes, "uploading") as bar:
            done = upload_image(target, image, container=args.container, name=args.name, size=size, metadata=metadata,
                                unique_id=unique_id, verify=args.verify, max_connections=args.max_connections,
                                options=ClientOptions(on_retry=bar.retrying),
                                progress=lambda p: bar.update(p.read, p.sent), notes=bar.note)
        kind = image.kind
        facts = source_facts(image)
    for warning in done.warnings:
        print(f"vhdcore: warning: {warning}", file=sys.stderr)
    doc = asdict(done)
    # `warnings` stays after the upload's own fields (ImageUpload declares them after it), where -o tsv has it.
    doc |= {"unique_id": str(done.unique_id), "warnings": doc.pop("warnings"), "source": shown_source(args.source),
            **facts}
    if done.already_complete:
        table = (f"{done.url} already holds {shown_source(args.source)} as a fixed VHD of {done.size} bytes, unique id "
                 f"{done.unique_id}; nothing was sent")
    else:
        table = (f"uploaded {shown_source(args.source)} ({kind}, {done.image_size} bytes, {done.data_bytes} bytes of "
                 f"data) to {done.url}{' (resumed)' if done.resumed else ''}: a fixed VHD of {done.size} bytes (blob "
                 f"{done.blob_length} bytes), unique id {done.unique_id}, {done.bytes_sent} bytes sent"
                 f"{', verified' if done.verified else ''}")
    print_result(doc, table, args.output)
    return EXIT_OK


def _print_blob(blob: BlankVhdBlob, args: argparse.Namespace, lead: str) -> int:
    for warning in blob.warnings:
        print(f"vhdcore: warning: {warning}", file=sys.stderr)
    print_result(asdict(blob) | {"unique_id": str(blob.unique_id)},
                 f"{lead} a blank fixed VHD of {blob.size} bytes (blob {blob.blob_length} bytes), "
                 f"unique id {blob.unique_id}", args.output)
    return EXIT_OK


def _unique_id(text: str | None) -> UniqueId | None:
    return None if text is None else UniqueId.parse(text, field="--unique-id")


def _metadata(pairs: list[str]) -> dict[str, str]:
    metadata = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise UsageError(f"--metadata {pair!r} is not KEY=VALUE; write it like --metadata owner=team-a.")
        metadata[key] = value
    return metadata
