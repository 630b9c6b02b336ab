"""What every dynamic provider shares, and what the plugin's door reuses: where the storage account is, which
credentials to use, and how values arrive from the engine (numbers as floats, Unknown during preview).

Nothing here talks to Azure; vhdcore does. The providers keep no state of their own on `self` that
could be pickled into `__provider`: credentials from stack config live on the instance only after
`configure()` and are left out of the pickle by `__getstate__`.
"""

from __future__ import annotations

import atexit
import contextvars
import difflib
import functools
import logging
import os
import pickle
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import pulumi
import pulumi.dynamic
from pulumi.dynamic import CheckFailure, ConfigureRequest, DiffResult, ResourceProvider
from pulumi.output import Unknown

import vhdcore
from vhdcore import (
    AZURE_CLOUD,
    CLOUDS,
    DEBUG_ENV,
    ENV_VARIABLES,
    FOOTER_SIZE,
    KEPT_CLIENTS,
    AuthFailedError,
    BlobNotFoundError,
    Cloud,
    ContainerNotFoundError,
    CredentialsError,
    InternalError,
    KeptClients,
    StorageTarget,
    UniqueId,
    VhdError,
    scrub,
    split_blob_url,
)

from .schema import ACCOUNT, ACCOUNT_FIELDS, SECRET_FIELDS

if TYPE_CHECKING:
    from vhdcore import BlobInspection

T = TypeVar("T")
A = TypeVar("A")
R = TypeVar("R", bound=pulumi.dynamic.Resource)

# Where the account is: at most one of these on a resource (endpoint_suffix refines the account name). The account
# inputs themselves (ACCOUNT_FIELDS, SECRET_FIELDS) are declared in providers/schema.py.
LOCATION_FIELDS = ("storage_account_name", "account_url", "connection_string")
# Neither where the account is nor who signs, but how to talk to it: a change is in place, never a move.
_NOT_LOCATION = ("account_key", "sas_token", "api_version", "allow_plain_http")
# The account inputs that say where a resource is: a change may move it.
PLACE_FIELDS = tuple(key for key in ACCOUNT_FIELDS if key not in _NOT_LOCATION)
# Resource input name -> StorageTarget setting.
_TARGET_FIELD = {"storage_account_name": "account_name"}
_INPUT_FIELD = {setting: name for name, setting in _TARGET_FIELD.items()}
# The account inputs whose value the engine may print beside a check failure: every other one is a secret,
# or (account_url) may carry a SAS, so failures about them name the input without a property (see check_account).
PRINTABLE_FIELDS = ("storage_account_name", "endpoint_suffix")
# Settings that ride along with whichever account a resource resolves to.
_FOLLOWING = ("cloud", "api_version")


class Account:
    """Where a resource's storage account is, and the credentials given on the resource itself: the account inputs
    (providers/schema.py) it sets.

    Parsed once from the engine's props; holds secrets, so it is never kept on a provider (which is pickled into
    state) and its repr shows none of them.
    """

    __slots__ = ("_values",)

    def __init__(self, **values: str | bool | None) -> None:
        if unknown := sorted(set(values) - set(ACCOUNT_FIELDS)):
            raise TypeError(f"Account() got unknown settings {unknown}; use {list(ACCOUNT_FIELDS)}.")
        # None: not given (so not echoed into the state); allow_plain_http is kept only when true.
        self._values: Mapping[str, str | bool] = MappingProxyType(
            {k: v for k, v in values.items() if v is not None and v is not False})

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> Account:
        texts = {key: str(props[key]) for key in ACCOUNT_FIELDS if given(props, key) and key != "allow_plain_http"}
        return cls(**texts, allow_plain_http=flag(props, "allow_plain_http"))

    def get(self, name: str) -> str | bool | None:
        return self._values.get(name)

    @property
    def located(self) -> bool:
        """Whether the resource itself says where the account is."""
        return any(key in self._values for key in LOCATION_FIELDS)

    def settings(self) -> dict[str, str | bool | None]:
        """As StorageTarget settings (account_name for storage_account_name)."""
        return {_TARGET_FIELD.get(name, name): self._values.get(name) for name in ACCOUNT_FIELDS}

    def to_props(self) -> dict[str, str | bool]:
        return dict(self._values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Account) and self._values == other._values

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._values.items())))

    def __repr__(self) -> str:
        # Even an account URL may hold a SAS by mistake: show names only.
        return f"Account({', '.join(name for name in ACCOUNT_FIELDS if name in self._values)})"


@dataclass(frozen=True, repr=False)
class ProviderConfig:
    """The account settings a provider's configuration gives, which apply to every resource that does not give its
    own: the dynamic resources' stack config (the credentials) or the plugin's provider config (every setting).

    `values` holds secrets: it lives on a provider only after configure() and is never pickled or shown. `keys` says
    how a message names the config key of each setting (`stack config my-disks:storageAccountKey`).
    """

    values: Mapping[str, str] = field(default_factory=dict)
    keys: Mapping[str, str] = field(default_factory=dict)
    unknown: bool = False  # a setting is not known yet (preview of an explicit provider fed by another resource)

    def credentials(self) -> dict[str, str]:
        """The configured secrets, as StorageTarget.resolve takes them: they sign for whatever account applies."""
        return {name: value for name, value in self.values.items() if name in SECRET_FIELDS}

    def settings_for(self, account: Account) -> dict[str, str | bool | None]:
        """`account`'s StorageTarget settings with what the configuration adds: its location when the resource
        names none (a configured connection string is a location too: resolve takes it from `credentials`), its
        endpoint suffix for an account named by name alone, and its cloud and API version unless the resource
        sets them."""
        settings = account.settings()
        added = [*_FOLLOWING]
        if not account.located:
            added += ["storage_account_name", "account_url", "endpoint_suffix"]
        elif account.get("storage_account_name") is not None:
            added.append("endpoint_suffix")
        for name in added:
            setting = _TARGET_FIELD.get(name, name)
            if settings.get(setting) is None and self.values.get(name):
                settings[setting] = self.values[name]
        return settings

    def source(self, name: str) -> str:
        """How a message names where setting `name` came from, when it came from this configuration."""
        return self.keys.get(name, f"the provider configuration's {name}")

    def location_hint(self) -> str:
        """The config keys that can say where the account is, for "no storage account given"."""
        named = [self.keys[name] for name in ("connection_string", "storage_account_name", "account_url")
                 if name in self.keys]
        return (f"{', '.join(named[:-1])} or {named[-1]}" if len(named) > 1 else named[0]) if named else ""

    def __repr__(self) -> str:
        return f"ProviderConfig({', '.join(self.values)})"


def stack_config(config: Any, project: str) -> ProviderConfig:
    """The dynamic resources' configuration: the credentials in stack config, under the program's project namespace
    (`Config.get` adds it), each under its key in the declaration (storageConnectionString, ...), and named in
    messages as the user sets it (`stack config <project>:storageAccountKey`)."""
    values = {p.name: config.get(p.stack_config) for p in ACCOUNT if p.stack_config}
    keys = {p.name: f"stack config {project}:{p.stack_config}" for p in ACCOUNT if p.stack_config}
    return ProviderConfig(values={name: str(value) for name, value in values.items() if value}, keys=keys)


@dataclass(frozen=True)
class BlobAtUrl:
    """The blob a `get` names by its URL, as found, and where the URL says it is."""

    account: Account  # the URL's blob endpoint, unless the provider config or environment point there anyway
    container: str
    name: str
    found: BlobInspection

    endpoint: str

    @property
    def where(self) -> str:
        return f"blob {self.name!r} in container {self.container!r} at {self.endpoint}"



# The sorting wrappers the Python SDK's dynamic.serialize_provider puts around pickle._Pickler._batch_setitems.
_SDK_SORTING_WRAPPERS = frozenset({"batch_set_items_sorted", "batch_set_items_sorted_before_py14"})


def register(resource: pulumi.dynamic.Resource, provider: ResourceProvider, resource_name: str,
             props: dict[str, Any], opts: pulumi.ResourceOptions | None) -> None:
    """pulumi.dynamic.Resource.__init__, with the pickler as the SDK means it to be. To pickle a provider
    deterministically, the SDK's serialize_provider wraps the pure-Python pickler's _batch_setitems in a sorting layer
    for every dynamic resource it registers and never removes it: the n-th registration in a process sorts every dict
    n times, and after about a thousand (a big program, or an Automation API process running many stacks) pickling
    fails with RecursionError (pulumi/pulumi#17803). Unwrapped here first, every registration pickles through the
    SDK's one layer; an SDK that no longer wraps it is left alone."""
    method = pickle._Pickler._batch_setitems  # type: ignore[attr-defined]
    while getattr(method, "__name__", "") in _SDK_SORTING_WRAPPERS and method.__closure__:
        inner = [cell.cell_contents for cell in method.__closure__ if callable(cell.cell_contents)]
        if len(inner) != 1:
            break  # not the SDK's shape: leave it as it is
        method = inner[0]
    pickle._Pickler._batch_setitems = method  # type: ignore[attr-defined]
    pulumi.dynamic.Resource.__init__(resource, provider, resource_name, props, opts)


def get_resource(cls: type[R], provider: ResourceProvider, resource_name: str, id: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None, properties: Iterable[str]) -> R:
    """What a generated SDK's static `get` does, for a dynamic resource: the engine reads the resource `id` through
    `provider` (its read() gets no inputs but the id) instead of managing it. `cls.__init__` is skipped, as it
    needs the inputs; every property the resource shows is seeded as None (one missing from the props never
    appears)."""
    resource = cls.__new__(cls)
    merged = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id))
    register(resource, provider, resource_name, dict.fromkeys(properties), merged)
    return resource


class Diff(DiffResult):
    """A DiffResult that also names what differs, Python names (inputs, or a computed output such as
    blob_endpoint or azure_ready that the state got wrong): the dynamic door cannot send them (its DiffResult has no
    field for them), the plugin sends them as the preview's `~ sizeGb`."""

    def __init__(self, *, diffs: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.diffs = list(dict.fromkeys(diffs))


def changed(
    olds: Mapping[str, Any], news: Mapping[str, Any], changes: Iterable[str], replaces: list[str], *,
    delete_before_replace: bool = False, inputs_unchanged: bool = False, also: Iterable[str] = (),
) -> Diff:
    """The Diff for a resource whose real inputs changed, or must change (call it only then).

    A Python dynamic provider cannot tell the engine *which* inputs changed (DiffResult has no
    field for it), so `changes=True` shows as an update of no property in events and `preview --json`.
    When __provider is the same, the engine's own comparison of old and new inputs finds exactly the
    inputs that changed, so "unknown" (None) lets it name them (`~ size_gb`); replaces still apply.
    `inputs_unchanged`: the change is not in the inputs (a refresh found the disk broken), so the
    engine would find none and must be told. `also`: what differs besides the inputs (for `diffs`).
    """
    engine_can_tell = not inputs_unchanged and olds.get("__provider") == news.get("__provider")
    return Diff(
        changes=None if engine_can_tell else True,
        replaces=replaces,
        delete_before_replace=True if replaces and delete_before_replace else None,
        diffs=[*changes, *replaces, *also],
    )


def no_change() -> Diff:
    return Diff(changes=False)


def resource_inputs(
    args_type: type[A], resource_name: str, positional: tuple[Any, ...], keywords: dict[str, Any],
) -> tuple[A, pulumi.ResourceOptions | None]:
    """The args object and options of a resource built as generated SDKs allow: `(name, args, opts)` or
    `(name, opts=..., **inputs)`. Misuse is one line naming the problem (pulumi.RunError prints no
    traceback), never a TypeError from deep inside."""
    kind = args_type.__name__.removesuffix("Args")
    rest = list(positional)
    args: Any = keywords.pop("args", None)
    opts: Any = keywords.pop("opts", None)
    if rest and (rest[0] is None or isinstance(rest[0], args_type)):
        args = rest.pop(0) or args
    if rest and (rest[0] is None or isinstance(rest[0], pulumi.ResourceOptions)):
        opts = rest.pop(0) or opts
    if rest:
        raise pulumi.RunError(f"{kind} {resource_name!r}: unexpected positional argument {rest[0]!r}; pass the "
                              f"inputs as a {args_type.__name__} or as keywords, and options as opts=.")
    if opts is not None and not isinstance(opts, pulumi.ResourceOptions):
        raise pulumi.RunError(f"{kind} {resource_name!r}: opts {opts!r} is not a pulumi.ResourceOptions.")
    names = [f.name for f in fields(args_type)]  # type: ignore[arg-type]
    if unknown := [key for key in keywords if key not in names]:
        close = difflib.get_close_matches(unknown[0], names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise pulumi.RunError(f"{kind} {resource_name!r}: unknown input {unknown[0]!r}{hint}; the inputs are "
                              f"{', '.join(names)}.")
    if args is not None:
        if keywords:
            raise pulumi.RunError(f"{kind} {resource_name!r}: pass either a {args_type.__name__} or keyword "
                                  "inputs, not both.")
        if not isinstance(args, args_type):
            raise pulumi.RunError(f"{kind} {resource_name!r}: args {args!r} is not a {args_type.__name__}.")
        return args, opts
    required = [f.name for f in fields(args_type) if f.default is MISSING]  # type: ignore[arg-type]
    if missing := [key for key in required if key not in keywords]:
        raise pulumi.RunError(f"{kind} {resource_name!r}: missing required input {', '.join(missing)}.")
    return args_type(**keywords), opts


def engine_props(args: Any, outputs: Iterable[str]) -> dict[str, Any]:
    """A resource's args as the props the engine gets: None dropped, credentials made secret, and every
    output seeded as None (an output missing from the props never appears).
    (Not dataclasses.asdict: it deep-copies, and Outputs must be passed as they are.)"""
    props = {f.name: getattr(args, f.name) for f in fields(args) if getattr(args, f.name) is not None}
    for key in SECRET_FIELDS:
        if key in props:
            props[key] = pulumi.Output.secret(props[key])
    return props | dict.fromkeys(outputs)


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


def without_flags(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs without the flags that are false: what a program leaves out (check sets them false again)."""
    return {key: value for key, value in inputs.items() if value is not False}


class StoredDisk(Protocol):
    """What every disk resource's state says about the disk in storage (DiskState, ImageState: frozen, so
    read-only here)."""

    @property
    def url(self) -> str: ...
    @property
    def blob_endpoint(self) -> str: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def blob_length(self) -> int: ...
    @property
    def unique_id(self) -> UniqueId | None: ...
    @property
    def azure_ready(self) -> bool: ...
    @property
    def adopted(self) -> bool: ...


def stored_disk_from_outputs(props: Mapping[str, Any], size_bytes: int) -> dict[str, Any]:
    """StoredDisk's fields from a state's outputs (older states may lack blob_endpoint, url or unique_id);
    `size_bytes` stands in for a state without one."""
    size = int(props.get("size_bytes") or size_bytes)
    unique_id = props.get("unique_id")
    return {
        "url": str(props.get("url") or ""),
        "blob_endpoint": str(props.get("blob_endpoint") or ""),
        "size_bytes": size,
        "blob_length": int(props.get("blob_length") or size + FOOTER_SIZE),
        "unique_id": UniqueId.parse(unique_id) if UniqueId.is_text(unique_id) else None,
        "azure_ready": props.get("azure_ready") is not False,
        "adopted": flag(props, "adopted"),
    }


def stored_disk_outputs(disk: StoredDisk) -> dict[str, Any]:
    """StoredDisk's fields as outputs (the unique id as 32 hex digits)."""
    return {
        "url": disk.url,
        "blob_endpoint": disk.blob_endpoint,
        "size_bytes": disk.size_bytes,
        "blob_length": disk.blob_length,
        "unique_id": None if disk.unique_id is None else str(disk.unique_id),
        "azure_ready": disk.azure_ready,
        "adopted": disk.adopted,
    }


Report = Callable[[str], None]


def _warning_to_stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _line_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# Where a provider method's warnings and progress lines go. The dynamic provider process has no engine connection
# (pulumi#6065): pulumi.log would print to stderr anyway, but only while no other runtime is set up in the same
# process, and the engine relays the provider's stderr as a diagnostic either way. The plugin sets its own for each
# call, to the engine's log and the resource's URN (a thread started with the call's context sees it).
WARNINGS: contextvars.ContextVar[Report] = contextvars.ContextVar("warnings", default=_warning_to_stderr)
PROGRESS: contextvars.ContextVar[Report] = contextvars.ContextVar("progress", default=_line_to_stderr)


def warn(message: str) -> None:
    """A warning about the resource being worked on, one sentence."""
    WARNINGS.get()(message)


def progress_line(line: str) -> None:
    """A line of progress (an upload's), shown in the engine's log as it comes."""
    PROGRESS.get()(line)


_PROVIDER_METHODS = ("check", "diff", "create", "update", "read", "delete")


def reported(method: Callable[..., T]) -> Callable[..., T]:
    """A provider method whose failures reach the user as one line, never a traceback.

    The dynamic-provider server reports every exception a method raises as `traceback.format_exc()`
    (pulumi/dynamic/__main__.py), which the engine prints in full. A VhdError is a finished sentence,
    so in the provider process the traceback limit goes to 0 and only `Type: sentence` is left; any
    other exception is a bug, reported as one line too (with the traceback under VHDCORE_DEBUG=1).
    """

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            if KEPT_CLIENTS.get() is None and in_dynamic_provider_process():
                call = contextvars.copy_context()
                call.run(KEPT_CLIENTS.set, _dynamic_run_clients())
                return call.run(method, *args, **kwargs)
            return method(*args, **kwargs)
        except VhdError:
            _no_tracebacks()
            raise
        except Exception as exc:
            if os.environ.get(DEBUG_ENV) == "1":
                raise
            _no_tracebacks()
            raise InternalError(f"{type(exc).__name__}: {scrub(str(exc))} (a bug in blank-vhd; set {DEBUG_ENV}=1 for "
                                "the traceback and please report it)") from None

    return wrapper


def _no_tracebacks() -> None:
    # Only in the provider process, which runs nothing but providers.
    if in_dynamic_provider_process():
        sys.tracebacklimit = 0


def in_dynamic_provider_process() -> bool:
    """Whether this is the process the engine starts for the dynamic resources (`python -m pulumi.dynamic`). Like the
    plugin's, it serves the provider calls of one engine run and ends with it."""
    main = sys.modules.get("__main__")
    return getattr(getattr(main, "__spec__", None), "name", None) == "pulumi.dynamic.__main__"


@functools.cache
def _dynamic_run_clients() -> KeptClients:
    """The storage clients the dynamic resources' provider process keeps for its engine run, as the plugin does."""
    clients = KeptClients()
    atexit.register(clients.close)
    return clients


class StorageProvider(ResourceProvider):
    """Base of every provider: the account from the resource's inputs, then the provider's configuration (`config`:
    stack config for the dynamic resources, set by `configure`; the provider config for the plugin), the environment
    and Entra ID, in the order StorageTarget.resolve gives.

    Every subclass's check/diff/create/update/read/delete is `reported`: one line per failure.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in _PROVIDER_METHODS:
            if name in vars(cls):
                setattr(cls, name, reported(vars(cls)[name]))

    # __provider holds only a reference to this class (module + name, no instance data: see
    # __getstate__), so there is no secret in it to encrypt; tests/test_provider_serialization.py
    # proves it. Leaving it plain spares a passphrase and a decryption per resource (#15538).
    serialize_as_secret_always = False

    # The configuration, set on the instance by configure() (after unpickling, so never persisted) or by the
    # plugin; the class default keeps an unconfigured instance usable.
    config: ProviderConfig = ProviderConfig()

    def configure(self, req: ConfigureRequest) -> None:
        # The provider process sets the project (PULUMI_PROJECT, from the engine) before it calls configure(), and
        # req.config reads `<that project>:<key>`: messages name the keys in the user's own namespace.
        self.config = stack_config(req.config, pulumi.get_project())

    def __getstate__(self) -> dict[str, Any]:
        # Nothing about an instance is worth persisting, and what configure() set is secret.
        return {}

    def target(self, account: Account, *, endpoint: str | None = None) -> StorageTarget:
        """The account a resource lives in, with the first credentials the precedence gives. `endpoint` pins
        the account: the blob endpoint the state records for a resource that exists."""
        return StorageTarget.resolve(self.config.settings_for(account), config=self.config.credentials(),
                                     pinned_endpoint=endpoint)

    def with_fallback(self, account: Account, call: Callable[[StorageTarget], T], *, endpoint: str | None = None) -> T:
        """Run `call` with the first credentials in order; when they are refused, try the next source
        (StorageTarget.fallbacks). If every source is refused, the first refusal is reported."""
        first: VhdError | None = None
        for target in self._targets(account, endpoint):
            try:
                return call(target)
            except (AuthFailedError, CredentialsError) as refused:
                first = first or refused
        assert first is not None  # fallbacks always yields at least one target
        raise first

    def _targets(self, account: Account, endpoint: str | None) -> Iterator[StorageTarget]:
        return StorageTarget.fallbacks(self.config.settings_for(account), config=self.config.credentials(),
                                       pinned_endpoint=endpoint)

    def account_at(self, endpoint: str) -> Account:
        """The account inputs of a resource found at `endpoint` by its URL alone (`get`, `pulumi import`): none when
        the configuration or the environment point there anyway (so the code `pulumi import` prints names no
        account), else its account_url."""
        return Account() if self.endpoint({}) == endpoint else Account(account_url=endpoint)

    def find_by_url(self, kind: str, url: str) -> BlobAtUrl:
        """The blob `<kind>.get(name, url)` or `pulumi import` reads: the URL (no SAS) says where it is, the
        credentials come from the provider configuration or the environment, as for refresh. A blob that does not
        exist (or whose container does not) fails in one sentence: ReadResult(None, {}) would not fail a get, the
        engine would carry on with empty outputs."""
        endpoint, container, name = split_blob_url(url)
        account = self.account_at(endpoint)
        try:
            found = self.with_fallback(
                account, lambda t: vhdcore.inspect_blank_vhd(t, container=container, name=name), endpoint=endpoint)
        except ContainerNotFoundError:
            found = None
        if found is None:
            raise BlobNotFoundError(
                f"{kind}: no blob {name!r} in container {container!r} at {endpoint}",
                "check the URL (the `url` output of the disk, without a SAS) and that the disk still exists",
            )
        return BlobAtUrl(account, container, name, found, endpoint)

    def check_account(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        """One failure for account inputs that conflict, say nowhere or cannot work; no network.

        The engine prints a failure's property *value* beside it (`property connection_string value {...}`:
        in clear for every CLI before 3.274, and for an account_url carrying a SAS still), so a failure about a
        secret input or account_url has no property (""), and its reason names the input instead and never
        quotes the value.
        """
        located = [key for key in LOCATION_FIELDS if given(news, key)]
        if len(located) > 1:
            return [CheckFailure("", (
                f"{' and '.join(located)} are both set; give only one of storage_account_name, account_url "
                "or connection_string to say which storage account holds the disk."
            ))]
        if given(news, "endpoint_suffix") and located != ["storage_account_name"]:
            return [CheckFailure("endpoint_suffix", (
                f"endpoint_suffix {news['endpoint_suffix']!r} only applies to storage_account_name; "
                "remove it, or name the account with storage_account_name."
            ))]
        allow = news.get("allow_plain_http")
        if allow is not None and not is_unknown(allow) and not isinstance(allow, bool):
            return [CheckFailure("allow_plain_http", f"allow_plain_http {allow!r} is not a boolean; set it to true "
                                 "only for a private http endpoint you trust.")]
        if self.config.unknown or any(is_unknown(news.get(key)) for key in ACCOUNT_FIELDS):
            return []  # preview: checked again once the values are known
        account = Account.from_props(news)
        try:
            target = self.target(account)
        except CredentialsError as exc:
            return [self._credentials_failure(exc, account, None)]
        if not any(getattr(target, key) for key in ("account_url", "account_name", "connection_string")):
            # Neither the inputs nor the configuration nor the environment say where: name what can.
            configured = self.config.location_hint()
            return [CheckFailure("storage_account_name", (
                "no storage account given; set storage_account_name, account_url or connection_string, or "
                + (f"the {configured}, or " if configured else "") + "AZURE_STORAGE_CONNECTION_STRING or "
                "AZURE_STORAGE_ACCOUNT."
            ))]
        try:
            target.check_cloud()
        except CredentialsError as exc:
            return [self._credentials_failure(exc, account, target)]
        except VhdError as exc:
            # Cloud errors quote no secret: they name the cloud, a suffix and the bare blob endpoint.
            about = next((key for key in ("cloud", "endpoint_suffix") if given(news, key)), "")
            return [CheckFailure(about, str(exc))]
        try:
            target.check_api_version()
        except VhdError as exc:
            # From the input, or else from the configuration or environment, which no property names.
            return [CheckFailure("api_version" if given(news, "api_version") else "", str(exc))]
        try:
            target.validate()
        except CredentialsError as exc:
            return [self._credentials_failure(exc, account, target)]
        return []

    def _credentials_failure(
        self, exc: CredentialsError, account: Account, target: StorageTarget | None
    ) -> CheckFailure:
        """The failure for settings that cannot work, naming where each one came from: an input, the configuration
        or an AZURE_STORAGE_* variable. A property only for a printable input (its value is in the message anyway)."""
        sources = []
        for setting in exc.settings:
            value = getattr(target, setting, None) if target is not None else None
            name = _INPUT_FIELD.get(setting, setting)
            if value is None or account.get(name) == value:
                sources.append(name)
            elif self.config.values.get(name) == value:
                sources.append(self.config.source(name))
            else:
                sources.append(ENV_VARIABLES.get(setting, name))
        if sources and all(source in PRINTABLE_FIELDS for source in sources):
            return CheckFailure(sources[0], str(exc))
        return CheckFailure("", f"{' and '.join(dict.fromkeys(sources))}: {exc}" if sources else str(exc))

    def cloud_for(self, props: Mapping[str, Any]) -> Cloud:
        """The cloud whose limits apply to a resource: the one its account is in, or the one its `cloud` input
        names while the rest is unknown (preview); AzureCloud's when nothing says (check_account reports why)."""
        if self.config.unknown or any(is_unknown(props.get(key)) for key in ACCOUNT_FIELDS):
            name = props.get("cloud")
            return CLOUDS.get(name, AZURE_CLOUD) if isinstance(name, str) else AZURE_CLOUD
        try:
            return self.target(Account.from_props(props)).profile
        except VhdError:
            return AZURE_CLOUD

    def endpoint(self, props: Mapping[str, Any]) -> str | None:
        """The blob endpoint the inputs point at; None while any of them is unknown or invalid."""
        if self.config.unknown or any(is_unknown(props.get(key)) for key in ACCOUNT_FIELDS):
            return None
        try:
            return self.target(Account.from_props(props)).blob_endpoint
        except VhdError:
            return None

    def account_replaces(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        """What moves the resource to another account (so: replace). The account is pinned to the state's
        blob_endpoint: wherever the new inputs, configuration and environment resolve to is compared with
        it, so a change of configuration or AZURE_STORAGE_* alone counts too (as `blob_endpoint`, no input
        changed). A change that keeps the endpoint (a rotated key, the same account named another way)
        is not one; an unknown location input may be one."""
        location_changed = [
            key for key in ACCOUNT_FIELDS if key not in _NOT_LOCATION and olds.get(key) != news.get(key)
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
                f"{'/'.join(names) or 'the resource'} is in {old_endpoint} (blob_endpoint in the state), but the "
                f"provider configuration and AZURE_STORAGE_* variables now point at {new_endpoint}, so it will be "
                f"replaced by a new one there and the old one deleted; to keep it, point them back or set account_url "
                f"to {old_endpoint}."
            )
        return location_changed or ["blob_endpoint"]


class NamingProvider(StorageProvider):
    """Base of the disk providers, whose instances carry how to name a disk when blob_name is omitted: the only
    instance data pickled into `__provider`, so never an input or an output of a resource.

    - `auto_name_prefix`: the resource's name (check() has no URN).
    - `identity`: who the disk belongs to (organization, project, stack, parent and resource name); None in
      states written before 0.2.
    """

    def __init__(self, auto_name_prefix: str | None = None, identity: str | None = None) -> None:
        self.auto_name_prefix = auto_name_prefix
        self.identity = identity

    def __getstate__(self) -> dict[str, Any]:
        state = {"auto_name_prefix": self.auto_name_prefix, "identity": self.identity}
        return {key: value for key, value in state.items() if value}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.auto_name_prefix = state.get("auto_name_prefix")
        self.identity = state.get("identity")


class _DropVhdErrorTracebacks(logging.Filter):
    """grpc logs every exception a provider method raises, with its traceback, on the provider's
    stderr, which the engine prints beside the error. A VhdError is a finished one-sentence message
    (the engine already shows it), so its traceback is noise; anything else keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], VhdError))


logging.getLogger("grpc._server").addFilter(_DropVhdErrorTracebacks())
