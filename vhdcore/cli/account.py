"""The storage account flags every command that talks to Azure takes (`blob ...`, `container ...`), how they
resolve into a StorageTarget, and the status line a slow request shows.

Credentials come from the flags, else the az CLI's AZURE_STORAGE_* variables, else Entra ID
(vhdcore.azure.credentials), with az's names and precedence. A setting that cannot work is named by where it
came from (a flag or a variable), never by its value. Standard library only: the Azure SDK is imported by the
operations, when a command runs.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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
from ..errors import CredentialsError, UsageError
from ..format.sizes import AZURE_LIMIT, SizeLimit
from .common import EXIT_CODES_HELP, add_output_option
from .parser import Parser

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


def add_account_options(parser: Parser, run: Callable[[argparse.Namespace], int], *, rows: str | None = None) -> None:
    """The account flags and `-o` (`rows`: see add_output_option), and `run` as the command (settings that cannot
    work named by their source)."""
    account = parser.add_argument_group("storage account (default: AZURE_STORAGE_* variables)")
    # Flags whose value is, or may hold (a URL with a SAS), a credential: see Parser.add_secret_argument.
    secret = parser.add_secret_argument
    secret(account, "--blob-endpoint", "--account-url", dest="account_url", metavar="URL",
           help="the account's blob endpoint, e.g. https://acct.blob.core.windows.net (--account-url is the older "
           "spelling)")
    account.add_argument("--account-name")
    account.add_argument("--endpoint-suffix", help="sovereign clouds, e.g. core.chinacloudapi.cn")
    secret(account, "--connection-string", help="includes its secret; prefer the variable to the flag")
    secret(account, "--account-key", help="prefer AZURE_STORAGE_KEY: flags show up in process lists")
    secret(account, "--sas-token", help="prefer AZURE_STORAGE_SAS_TOKEN: flags show up in process lists")
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
    add_output_option(parser, rows=rows)
    parser.set_defaults(run=_naming_sources(run))


def _naming_sources(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """`run`, with settings that cannot work named by where they came from (a flag or a variable)."""

    def wrapper(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except CredentialsError as exc:
            if not exc.settings:
                raise
            target = storage_target(args)
            named = " and ".join(dict.fromkeys(_source(args, target, setting) for setting in exc.settings))
            raise CredentialsError(f"{named}: {exc}", exc.settings) from None

    return wrapper


def storage_target(args: argparse.Namespace) -> StorageTarget:
    """The account the flags and the environment name, with the credentials az's precedence gives."""
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


def size_limit(args: argparse.Namespace) -> SizeLimit:
    """The size cap of --cloud, so `--size 1TiB --cloud AzureStackHub` is refused as the user wrote it."""
    return cloud_named(args.cloud, field="--cloud").size_limit if args.cloud is not None else AZURE_LIMIT


def _source(args: argparse.Namespace, target: StorageTarget, setting: str) -> str:
    flag, variable = _SOURCES[setting]
    given = getattr(args, setting, None)
    if (given is not None and given == getattr(target, setting)) or variable is None:
        return flag
    return variable


@contextmanager
def status(target: StorageTarget, doing: str, path: str) -> Iterator[ClientOptions]:
    """ClientOptions whose retries are shown on the status line (a terminal only) while the operation on `path`
    (under the account's blob endpoint) runs."""
    try:
        where = f"{target.blob_endpoint}/"
    except CredentialsError:
        where = ""  # the operation itself reports it, after the names (same order as without a status line)
    from .progress import StatusLine  # tqdm, imported when a command runs

    with StatusLine(f"vhdcore: {doing} {where}{path}") as line:
        yield ClientOptions(on_retry=line.retrying)
