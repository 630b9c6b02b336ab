"""`vhdcore blob create|inspect|grow|delete|upload`: fixed VHDs in Azure page blobs, blank or from an image.

Credentials come from the flags, else the az CLI's AZURE_STORAGE_* variables, else Entra ID
(vhdcore.azure.credentials). Containers are never created or deleted. The Azure SDK is imported only
when a blob command runs, so the rest of the command line stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ..azure.clouds import API_VERSION, CLOUDS, ENV_API_VERSION, STACK_API_VERSION, cloud_named
from ..azure.credentials import (
    ENV_ACCOUNT,
    ENV_ACCOUNT_URL,
    ENV_AUTH_MODE,
    ENV_CONNECTION_STRING,
    ENV_KEY,
    ENV_SAS_TOKEN,
    ClientOptions,
    StorageTarget,
)
from ..errors import BlobNotFoundError, CredentialsError, UsageError
from ..format.images import open_image
from ..format.sizes import AZURE_LIMIT, SizeLimit, parse_size
from ..format.unique_id import UniqueId
from .common import (
    EXIT_CODES_HELP,
    EXIT_OK,
    EXIT_PROBLEMS,
    add_output_option,
    parse_timestamp,
    print_result,
)
from .images import FORMAT_HELP

DEFAULT_CONNECTIONS = 8  # vhdcore.azure.upload.DEFAULT_CONNECTIONS, without importing the Azure SDK here

if TYPE_CHECKING:
    from ..azure.page_blob import BlankVhdBlob

# The command line's opt-in to plain http with a key or SAS, for scripts that cannot add the flag.
ENV_ALLOW_PLAIN_HTTP = "VHDCORE_ALLOW_PLAIN_HTTP"

EPILOG = f"""credentials (the az CLI's names and precedence):
  --connection-string, or --blob-endpoint/--account-name with --account-key or --sas-token; without flags
  AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT(_URL) with AZURE_STORAGE_SAS_TOKEN or
  AZURE_STORAGE_KEY; with no key or SAS (or --auth-mode login), Entra ID (az login, managed identity) over https.

{EXIT_CODES_HELP}"""


# StorageTarget setting -> (its flag, its variable): a failing setting is named by where it came from.
_SOURCES = {
    "account_url": ("--blob-endpoint", ENV_ACCOUNT_URL),
    "account_name": ("--account-name", ENV_ACCOUNT),
    "endpoint_suffix": ("--endpoint-suffix", None),
    "connection_string": ("--connection-string", ENV_CONNECTION_STRING),
    "account_key": ("--account-key", ENV_KEY),
    "sas_token": ("--sas-token", ENV_SAS_TOKEN),
}


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
    upload.add_argument("source", help="the disk image: raw, VHD (fixed or dynamic), VHDX, QCOW2, VMDK or VDI")
    upload.add_argument("--format", help=FORMAT_HELP)
    upload.add_argument("--size", help="disk size, at least the image's rounded up to whole MiB (the default)")
    upload.add_argument("--verify", action="store_true",
                        help="before the footer, read every written page back and compare it with the image")
    upload.add_argument("--max-connections", type=int, default=DEFAULT_CONNECTIONS, metavar="N",
                        help=f"Put Page requests at a time, 1 to 64 (default {DEFAULT_CONNECTIONS})")
    upload.add_argument("--unique-id", help="the 16 footer id bytes in on-disk order, as 32 hex digits")
    upload.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE", help="blob metadata")


def _command(sub: Any, name: str, help: str, run: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    """A blob command with az's names first (`az storage blob`), today's older names as aliases."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help, description=help, epilog=EPILOG)
    parser.add_argument("--container-name", "-c", "--container", dest="container", required=True,
                        help="the blob container (--container is the older spelling)")
    parser.add_argument("--name", "-n", required=True, help="blob name, e.g. disks/data-01.vhd")
    account = parser.add_argument_group("storage account (default: AZURE_STORAGE_* variables)")
    account.add_argument("--blob-endpoint", "--account-url", dest="account_url", metavar="URL",
                         help="the account's blob endpoint, e.g. https://acct.blob.core.windows.net "
                         "(--account-url is the older spelling)")
    account.add_argument("--account-name")
    account.add_argument("--endpoint-suffix", help="sovereign clouds, e.g. core.chinacloudapi.cn")
    account.add_argument("--connection-string", help="includes its secret; prefer the variable to the flag")
    account.add_argument("--account-key", help="prefer AZURE_STORAGE_KEY: flags show up in process lists")
    account.add_argument("--sas-token", help="prefer AZURE_STORAGE_SAS_TOKEN: flags show up in process lists")
    account.add_argument("--auth-mode", choices=("key", "login"),
                         help="key: an account key, SAS or connection string (flags or variables) must be given; "
                         f"login: Entra ID only, ignoring keys in the variables (default: {ENV_AUTH_MODE}, else "
                         "a key or SAS if one is given, else Entra ID)")
    account.add_argument("--cloud", metavar="NAME",
                         help=f"the cloud the account is in: {', '.join(CLOUDS)} (default: the public cloud of the "
                         "endpoint, else AzureCloud); sets the endpoint suffix, the API version and the size limits")
    account.add_argument("--api-version", help=f"storage API version to send (default {API_VERSION}, "
                         f"{STACK_API_VERSION} on Azure Stack; or {ENV_API_VERSION})")
    account.add_argument("--allow-plain-http", action="store_true", default=None,
                         help=f"send the key or SAS to an http endpoint on another machine (a private endpoint you "
                         f"trust; also {ENV_ALLOW_PLAIN_HTTP}=1); without it only https and this machine (Azurite)")
    add_output_option(parser)
    parser.set_defaults(run=_naming_sources(run))
    return parser


def _naming_sources(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """`run`, with settings that cannot work named by where they came from (a flag or a variable)."""

    def wrapper(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except CredentialsError as exc:
            if not exc.settings:
                raise
            target = _target(args)
            named = " and ".join(dict.fromkeys(_source(args, target, setting) for setting in exc.settings))
            raise CredentialsError(f"{named}: {exc}", exc.settings) from None

    return wrapper


def _target(args: argparse.Namespace) -> StorageTarget:
    environ: dict[str, str] = dict(os.environ)
    if args.auth_mode == "login":
        given = [flag for flag, value in (("--connection-string", args.connection_string),
                                          ("--account-key", args.account_key), ("--sas-token", args.sas_token))
                 if value is not None]
        if given:
            raise UsageError(f"--auth-mode login signs in with Entra ID, so {given[0]} cannot be given with it; "
                             "drop it, or use --auth-mode key.")
        environ[ENV_AUTH_MODE] = "login"  # as az: the variables' keys, SAS tokens and connection strings are ignored
    elif args.auth_mode == "key":
        environ.pop(ENV_AUTH_MODE, None)
    target = StorageTarget.resolve(
        account_url=args.account_url, account_name=args.account_name, connection_string=args.connection_string,
        account_key=args.account_key, sas_token=args.sas_token, endpoint_suffix=args.endpoint_suffix,
        environ=environ, api_version=args.api_version, cloud=args.cloud,
        allow_plain_http=args.allow_plain_http or environ.get(ENV_ALLOW_PLAIN_HTTP) == "1" or None,
    )
    if args.auth_mode == "key" and not target.has_shared_secret:
        raise UsageError("--auth-mode key needs an account key, SAS token or connection string with a key, and none "
                         "was given; pass --account-key or --sas-token, set AZURE_STORAGE_KEY or "
                         "AZURE_STORAGE_SAS_TOKEN, or use --auth-mode login.")
    return target


def _size_limit(args: argparse.Namespace) -> SizeLimit:
    """The size cap of --cloud, so `--size 1TiB --cloud AzureStackHub` is refused as the user wrote it."""
    return cloud_named(args.cloud, field="--cloud").size_limit if args.cloud is not None else AZURE_LIMIT


def _source(args: argparse.Namespace, target: StorageTarget, setting: str) -> str:
    flag, variable = _SOURCES[setting]
    given = getattr(args, setting, None)
    if (given is not None and given == getattr(target, setting)) or variable is None:
        return flag
    return variable


def _create(args: argparse.Namespace) -> int:
    from ..azure.page_blob import create_blank_vhd

    size = parse_size(args.size, field="--size", limit=_size_limit(args))
    unique_id = _unique_id(args.unique_id)
    timestamp = parse_timestamp(args.timestamp) if args.timestamp is not None else None
    target = _target(args)
    with _status(args, target, "creating") as options:
        blob = create_blank_vhd(target, container=args.container, name=args.name, size=size,
                                metadata=_metadata(args.metadata), unique_id=unique_id, timestamp=timestamp,
                                options=options)
    return _print_blob(blob, args, f"created {blob.url}")


def _inspect(args: argparse.Namespace) -> int:
    from ..azure.page_blob import inspect_blank_vhd

    target = _target(args)
    with _status(args, target, "reading") as options:
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

    size = parse_size(args.size, field="--size", limit=_size_limit(args))
    target = _target(args)
    with _status(args, target, "growing") as options:
        blob = grow_blank_vhd(target, container=args.container, name=args.name, size=size,
                              unique_id=_unique_id(args.unique_id), options=options)
    return _print_blob(blob, args, f"{blob.url} is")


def _delete(args: argparse.Namespace) -> int:
    from ..azure.page_blob import delete_blank_vhd

    target = _target(args)
    with _status(args, target, "deleting") as options:
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
    unique_id, metadata, target = _unique_id(args.unique_id), _metadata(args.metadata), _target(args)
    with open_image(args.source, args.format) as image:  # a refused image stops here, before any request
        with Progress(image.allocated_bytes, "uploading") as bar:
            done = upload_image(target, image, container=args.container, name=args.name, size=size, metadata=metadata,
                                unique_id=unique_id, verify=args.verify, max_connections=args.max_connections,
                                options=ClientOptions(on_retry=bar.retrying),
                                progress=lambda p: bar.update(p.read, p.sent), notes=bar.note)
        kind = image.kind
    for warning in done.warnings:
        print(f"vhdcore: warning: {warning}", file=sys.stderr)
    doc = asdict(done) | {"unique_id": str(done.unique_id), "source": args.source}
    if done.already_complete:
        table = (f"{done.url} already holds {args.source} as a fixed VHD of {done.size} bytes, unique id "
                 f"{done.unique_id}; nothing was sent")
    else:
        table = (f"uploaded {args.source} ({kind}, {done.image_size} bytes, {done.data_bytes} bytes of data) to "
                 f"{done.url}{' (resumed)' if done.resumed else ''}: a fixed VHD of {done.size} bytes (blob "
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


@contextmanager
def _status(args: argparse.Namespace, target: StorageTarget, doing: str) -> Iterator[ClientOptions]:
    """ClientOptions whose retries are shown on the status line (a terminal only) while the operation runs."""
    try:
        where = f"{target.blob_endpoint}/"
    except CredentialsError:
        where = ""  # the operation itself reports it, after the names (same order as without a status line)
    from .progress import StatusLine  # tqdm, imported when a blob command runs

    with StatusLine(f"vhdcore: {doing} {where}{args.container}/{args.name}") as status:
        yield ClientOptions(on_retry=status.retrying)


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
