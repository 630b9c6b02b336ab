"""What both dynamic providers share: where the storage account is, which credentials to use, and
how values arrive from the engine (numbers as floats, Unknown during preview).

Nothing here talks to Azure; vhdcore does. The providers keep no state of their own on `self` that
could be pickled into `__provider`: credentials from stack config live on the instance only after
`configure()` and are left out of the pickle by `__getstate__`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from types import MappingProxyType
from typing import Any, TypeVar

import pulumi
from pulumi.dynamic import CheckFailure, ConfigureRequest, DiffResult, ResourceProvider
from pulumi.output import Unknown

from vhdcore.credentials import CredentialsError, StorageTarget
from vhdcore.errors import VhdError
from vhdcore.page_blob import AuthFailedError

T = TypeVar("T")
A = TypeVar("A")

# Where the account is: exactly one of these on a resource (endpoint_suffix refines the account name).
LOCATION_FIELDS = ("storage_account_name", "account_url", "connection_string")
SECRET_FIELDS = ("connection_string", "account_key", "sas_token")
ACCOUNT_FIELDS = (
    "storage_account_name", "endpoint_suffix", "account_url", "connection_string", "account_key", "sas_token",
)
# Resource input name -> StorageTarget field name.
_TARGET_FIELD = {"storage_account_name": "account_name"}

# Stack config the providers read in configure(), under the project's namespace (blank-vhd:<key>).
CONFIG_CREDENTIALS = ("storageConnectionString", "storageAccountKey", "storageSasToken")
_CONFIG_TARGET_FIELD = {"storageAccountKey": "account_key", "storageSasToken": "sas_token"}
_ENV_SECRETS = frozenset({"AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN"})


def changed(
    olds: Mapping[str, Any], news: Mapping[str, Any], replaces: list[str], *,
    delete_before_replace: bool = False, inputs_unchanged: bool = False,
) -> DiffResult:
    """The DiffResult for a resource whose real inputs changed (call it only then).

    A Python dynamic provider cannot tell the engine *which* inputs changed (DiffResult has no field
    for it), so `changes=True` shows as an update of no property in events and `preview --json`.
    When __provider is the same, the engine's own comparison of old and new inputs finds exactly the
    inputs that changed, so "unknown" (None) lets it name them (`~ size_gb`); replaces still apply.
    `inputs_unchanged`: the change is not in the inputs (a refresh found the disk broken), so the
    engine would find none and must be told.
    """
    engine_can_tell = not inputs_unchanged and olds.get("__provider") == news.get("__provider")
    return DiffResult(
        changes=None if engine_can_tell else True,
        replaces=replaces,
        delete_before_replace=True if replaces and delete_before_replace else None,
    )


def input_props(args: Any) -> dict[str, Any]:
    """A resource's args dataclass as the props the engine gets: None dropped, credentials made secret.
    (Not dataclasses.asdict: it deep-copies, and Outputs must be passed as they are.)"""
    props = {f.name: getattr(args, f.name) for f in fields(args) if getattr(args, f.name) is not None}
    for key in SECRET_FIELDS:
        if key in props:
            props[key] = pulumi.Output.secret(props[key])
    return props


def resource_props(
    resource_name: str, args: A | None, args_type: type[A], kwargs: Mapping[str, Any], outputs: Iterable[str]
) -> tuple[A, dict[str, Any]]:
    """Inputs given as an args object or as keywords (as generated SDKs accept them), turned into the props
    the engine gets, with every output seeded as None: an output missing from the props never appears."""
    if args is None:
        args = args_type(**kwargs)
    elif kwargs:
        kind = args_type.__name__.removesuffix("Args")
        raise TypeError(f"{kind} {resource_name!r}: pass either args or keyword inputs, not both.")
    return args, input_props(args) | dict.fromkeys(outputs)


def with_secret_outputs(opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """Credentials echoed into outputs stay secret by name (engine), and by this option even if a
    program passed them as plain strings to an older version of the resource."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=list(SECRET_FIELDS)))


def is_unknown(value: object) -> bool:
    """True for a value the engine does not know yet (preview), anywhere inside lists and dicts."""
    if isinstance(value, Unknown):
        return True
    if isinstance(value, dict):
        return any(is_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(is_unknown(v) for v in value)
    return False


def given(props: Mapping[str, Any], key: str) -> bool:
    """A property the program set (None is dropped by the engine; an Unknown counts as set)."""
    return props.get(key) is not None


def flag(props: Mapping[str, Any], key: str) -> bool:
    """A boolean input; absent means False."""
    return bool(props.get(key)) and not isinstance(props.get(key), Unknown)


def warn(message: str) -> None:
    """A warning from the provider process. It has no engine connection (pulumi#6065), so pulumi.log
    would print to stderr anyway, but only while no other runtime is set up in the same process; the
    engine relays the provider's stderr as a diagnostic either way."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


class StorageProvider(ResourceProvider):
    """Base of both providers: credentials from `configure`, then AZURE_STORAGE_*, then Entra ID."""

    # __provider holds only a reference to this class (module + name, no instance data: see
    # __getstate__), so there is no secret in it to encrypt; tests/test_provider_serialization.py
    # proves it. Leaving it plain spares a passphrase and a decryption per resource (#15538).
    serialize_as_secret_always = False

    # Credentials from stack config, set by configure() on the instance (after unpickling, so never
    # persisted); the class default keeps an unconfigured instance usable.
    _config: Mapping[str, str] = MappingProxyType({})

    def configure(self, req: ConfigureRequest) -> None:
        values = {key: req.config.get(key) for key in CONFIG_CREDENTIALS}
        self._config = {key: str(value) for key, value in values.items() if value}

    def __getstate__(self) -> dict[str, Any]:
        # Nothing about an instance is worth persisting, and what configure() set is secret.
        return {}

    def target(
        self,
        props: Mapping[str, Any],
        *,
        resource_secrets: bool = True,
        use_config: bool = True,
        endpoint: str | None = None,
    ) -> StorageTarget:
        """The account a resource lives in. Credentials: the resource's own (unless told not to), else
        stack config, else AZURE_STORAGE_* (StorageTarget.resolve), else Entra ID.

        `endpoint` pins the account: the blob endpoint the state records for a resource that exists. If
        the inputs, stack config or environment now point elsewhere, the target stays on `endpoint`, and
        only credentials that are not tied to the other account come along (the resource's own key or SAS,
        stack config's key or SAS); a connection string or environment account for the other account
        never redirects it (resolve() uses those only for the account they point at).
        """
        explicit = {_TARGET_FIELD.get(k, k): props[k] for k in ACCOUNT_FIELDS if given(props, k)}
        if not resource_secrets:
            explicit.pop("account_key", None)
            explicit.pop("sas_token", None)
            if "connection_string" in explicit:
                # It is also the location: keep where it points, drop its secret.
                cs = explicit.pop("connection_string")
                explicit["account_url"] = StorageTarget(connection_string=cs).blob_endpoint
        found = self._resolve(explicit, use_config=use_config)
        if endpoint is None or _endpoint_of(found) == endpoint:
            return found
        pinned = {k: v for k, v in explicit.items() if k in ("account_key", "sas_token")}
        return self._resolve({**pinned, "account_url": endpoint}, use_config=use_config)

    def _resolve(self, given_explicitly: Mapping[str, Any], *, use_config: bool) -> StorageTarget:
        explicit = dict(given_explicitly)
        environ = dict(os.environ)
        secret_given = any(k in explicit for k in ("connection_string", "account_key", "sas_token"))
        if use_config and self._config and not secret_given:
            # Stack config is this stack's own setting, so its key or SAS applies to the account the
            # resource names; a configured connection string goes in as AZURE_STORAGE_CONNECTION_STRING,
            # which resolve() only uses for the account it points at. Config replaces the variables.
            environ = {k: v for k, v in environ.items() if k not in _ENV_SECRETS}
            for key, value in self._config.items():
                if key == "storageConnectionString":
                    environ["AZURE_STORAGE_CONNECTION_STRING"] = value
                else:
                    explicit.setdefault(_CONFIG_TARGET_FIELD[key], value)
        return StorageTarget.resolve(environ=environ, **explicit)

    def with_fallback(
        self, props: Mapping[str, Any], call: Callable[[StorageTarget], T], *, endpoint: str | None = None
    ) -> T:
        """Run `call` with the first credentials in order (the resource's, stack config's, the environment's);
        when they are refused, try the next source. A key goes stale in two places: on the resource, in
        state, and in the provider config the engine keeps from the last `up` for refresh and destroy; so
        after a rotation, the new key in config or the environment is enough. If every source is refused,
        the first refusal is reported. `endpoint` pins the account (see target)."""
        attempts: tuple[dict[str, bool], ...] = (
            {}, {"resource_secrets": False}, {"resource_secrets": False, "use_config": False},
        )
        tried: list[StorageTarget] = []
        first: VhdError | None = None
        for options in attempts:
            try:
                target = self.target(props, endpoint=endpoint, **options)
                if target in tried:
                    continue
                tried.append(target)
                return call(target)
            except (AuthFailedError, CredentialsError) as refused:
                first = first or refused
        assert first is not None  # the first attempt always runs
        raise first

    def check_account(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        """One failure for account inputs that conflict or say nowhere; no network."""
        located = [key for key in LOCATION_FIELDS if given(news, key)]
        if len(located) > 1:
            return [CheckFailure(located[1], (
                f"{' and '.join(located)} are both set; give only one of storage_account_name, account_url "
                "or connection_string to say which storage account holds the disk."
            ))]
        if given(news, "endpoint_suffix") and located != ["storage_account_name"]:
            return [CheckFailure("endpoint_suffix", (
                f"endpoint_suffix {news['endpoint_suffix']!r} only applies to storage_account_name; "
                "remove it, or name the account with storage_account_name."
            ))]
        if any(is_unknown(news.get(key)) for key in ACCOUNT_FIELDS):
            return []  # preview: checked again once the values are known
        target = self.target(news)
        if not any(getattr(target, key) for key in ("account_url", "account_name", "connection_string")):
            # Neither the inputs nor stack config nor the environment say where: name the inputs that can.
            return [CheckFailure("storage_account_name", (
                "no storage account given; set storage_account_name, account_url or connection_string, or the "
                "stack config blank-vhd:storageConnectionString, or AZURE_STORAGE_CONNECTION_STRING or "
                "AZURE_STORAGE_ACCOUNT."
            ))]
        try:
            target.validate()
        except VhdError as exc:
            return [CheckFailure(located[0] if located else "storage_account_name", str(exc))]
        return []

    def endpoint(self, props: Mapping[str, Any]) -> str | None:
        """The blob endpoint the inputs point at; None while any of them is unknown or invalid."""
        if any(is_unknown(props.get(key)) for key in ACCOUNT_FIELDS):
            return None
        try:
            return self.target(props).blob_endpoint
        except VhdError:
            return None

    def account_replaces(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        """What moves the resource to another account (so: replace). The account is pinned to the state's
        blob_endpoint: wherever the new inputs, stack config and environment resolve to is compared with
        it, so a change of config or AZURE_STORAGE_* alone counts too (as `blob_endpoint`, no input
        changed). A change that keeps the endpoint (a rotated key, the same account named another way)
        is not one; an unknown location input may be one."""
        location_changed = [
            key for key in ACCOUNT_FIELDS if key not in ("account_key", "sas_token") and olds.get(key) != news.get(key)
        ]
        old_endpoint = olds.get("blob_endpoint")
        new_endpoint = self.endpoint(news)
        if new_endpoint is None or not old_endpoint:
            return location_changed  # unknown (preview), or a state without blob_endpoint
        if new_endpoint == old_endpoint:
            return []
        if not location_changed:
            keys = ("container_name", "blob_name")
            names = [str(news[k]) for k in keys if given(news, k) and not is_unknown(news[k])]
            warn(
                f"{'/'.join(names) or 'the resource'} is in {old_endpoint} (blob_endpoint in the state), but the stack "
                f"config and AZURE_STORAGE_* variables now point at {new_endpoint}, so it will be replaced by a new "
                f"one there and the old one deleted; to keep it, point them back or set account_url to {old_endpoint}."
            )
        return location_changed or ["blob_endpoint"]


def _endpoint_of(target: StorageTarget) -> str | None:
    try:
        return target.blob_endpoint
    except VhdError:
        return None


class _DropVhdErrorTracebacks(logging.Filter):
    """grpc logs every exception a provider method raises, with its traceback, on the provider's
    stderr, which the engine prints beside the error. A VhdError is a finished one-sentence message
    (the engine already shows it), so its traceback is noise; anything else keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], VhdError))


logging.getLogger("grpc._server").addFilter(_DropVhdErrorTracebacks())
