"""`vhdcore container create|delete|list`: the blob containers the disks go into, with az's names
(`az storage container`) and the account flags of `vhdcore blob` (account.py).

Delete removes only an empty container unless --delete-blobs says to delete it with every blob in it. The Azure SDK
is imported only when a command runs (vhdcore.azure.containers), speaking the pinned storage API version.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from ..azure.credentials import ClientOptions, StorageTarget
from ..errors import UsageError
from .account import EPILOG, add_account_options, status, storage_target
from .common import EXIT_OK, print_result, print_rows
from .parser import Parser

LIST_LIMIT = 5000  # vhdcore.azure.containers.LIST_LIMIT (az's default), without importing the Azure SDK here
# List's columns for people, as `az storage container list -o table` titles them.
_COLUMNS = {"name": "Name", "lease_state": "Lease State", "last_modified": "Last Modified"}


def add_container_commands(commands: Any) -> None:
    container = commands.add_parser("container", help="blob containers: create, delete, list", epilog=EPILOG,
                                    description="Create, delete and list the blob containers disks go into.")
    sub = container.add_subparsers(dest="container_command", required=True, parser_class=type(container))

    _command(sub, "create", "create a container (one that exists is left as it is)", _create, named=True)

    delete = _command(sub, "delete", "delete an empty container (refused while it holds any blob, unless "
                      "--delete-blobs)", _delete, named=True)
    delete.add_argument("--delete-blobs", action="store_true",
                        help="delete the container even if it holds blobs, and every blob in it with it (leased "
                        "ones too: Azure checks no blob lease when a container is deleted)")

    listing = _command(sub, "list", "list the account's containers, in name order", _list, named=False)
    listing.add_argument("--prefix", help="only containers whose names start with this")
    listing.add_argument("--num-results", type=int, default=LIST_LIMIT, metavar="N",
                         help=f"list at most N containers (default {LIST_LIMIT}, as az); a note on stderr says when "
                         "there are more")


def _command(sub: Any, name: str, help: str, run: Callable[[argparse.Namespace], int], *,
             named: bool) -> argparse.ArgumentParser:
    parser: Parser = sub.add_parser(name, help=help, description=help, epilog=EPILOG)
    if named:
        parser.add_argument("--name", "-n", required=True, help="the container's name: 3 to 63 lowercase letters, "
                            "digits and single hyphens")
    add_account_options(parser, run, rows=None if named else "container")
    return parser


def _create(args: argparse.Namespace) -> int:
    from ..azure.containers import create_container

    return _change(args, "creating container", "created", lambda target, options: create_container(
        target, args.name, options=options), "created container {url}", "container {url} already exists; left as it is")


def _delete(args: argparse.Namespace) -> int:
    from ..azure.containers import delete_container

    return _change(args, "deleting container", "deleted", lambda target, options: delete_container(
        target, args.name, delete_blobs=args.delete_blobs, options=options), "deleted container {url}",
        "container {url} does not exist; nothing to delete")


def _change(args: argparse.Namespace, doing: str, key: str, call: Callable[[StorageTarget, ClientOptions], bool],
            done: str, not_needed: str) -> int:
    """Run `call` on container -n, and print whether it changed anything (`key`: true or false) as -o asks."""
    target = storage_target(args)
    with status(target, doing, args.name) as options:
        changed = call(target, options)
    url = f"{target.blob_endpoint}/{args.name}"
    print_result({"name": args.name, "url": url, key: changed}, (done if changed else not_needed).format(url=url),
                 args.output)
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from ..azure.containers import list_containers

    if args.num_results < 1:
        raise UsageError(f"--num-results {args.num_results} must be at least 1; give 1 or more.")
    target = storage_target(args)
    with status(target, "listing containers of", "") as options:
        listing = list_containers(target, prefix=args.prefix, limit=args.num_results, options=options)
    print_rows([asdict(found) for found in listing.containers], _COLUMNS, args.output)
    if listing.more:
        print(f"vhdcore: note: the account holds more containers than the {args.num_results} listed; raise "
              "--num-results or narrow --prefix to see them.", file=sys.stderr)
    return EXIT_OK
