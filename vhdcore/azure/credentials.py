"""Where the storage account is and how to authenticate to it, resolved per call and never persisted.

The precedence is written here and only here. Settings come, in order, from the caller (a resource's
inputs, command-line flags), then stack config (a key, SAS or connection string the Pulumi provider
was configured with), then the az CLI's AZURE_STORAGE_* variables (AZURE_STORAGE_CONNECTION_STRING, else
AZURE_STORAGE_ACCOUNT / AZURE_STORAGE_ACCOUNT_URL with AZURE_STORAGE_SAS_TOKEN, preferred, or
AZURE_STORAGE_KEY), then Entra ID through DefaultAzureCredential. `StorageTarget.resolve` applies it;
`StorageTarget.fallbacks` lists the next sources to try when the first one's key is refused.
The Azure SDK is imported only when a client is built, so importing this module stays cheap.
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

from ..errors import CloudError, CredentialsError
from . import clouds

if TYPE_CHECKING:
    from azure.core.pipeline.transport import HttpTransport
    from azure.storage.blob import BlobServiceClient

# Azurite's fixed, publicly documented development account; it protects nothing.
DEV_ACCOUNT = "devstoreaccount1"
DEV_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
DEV_BLOB_ENDPOINT = f"http://127.0.0.1:10000/{DEV_ACCOUNT}"

ENV_CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"
ENV_ACCOUNT = "AZURE_STORAGE_ACCOUNT"
ENV_ACCOUNT_URL = "AZURE_STORAGE_ACCOUNT_URL"
ENV_KEY = "AZURE_STORAGE_KEY"
ENV_SAS_TOKEN = "AZURE_STORAGE_SAS_TOKEN"
ENV_AUTH_MODE = "AZURE_STORAGE_AUTH_MODE"
_ENV_SECRETS = frozenset({ENV_CONNECTION_STRING, ENV_KEY, ENV_SAS_TOKEN})
# The variable each StorageTarget setting falls back to, for messages that say where a setting came from.
ENV_VARIABLES = {
    "connection_string": ENV_CONNECTION_STRING, "account_key": ENV_KEY, "sas_token": ENV_SAS_TOKEN,
    "account_url": ENV_ACCOUNT_URL, "account_name": ENV_ACCOUNT,
}
# The variables _from_environ reads that still count beside stack config's credentials: all but the secrets.
_ENV_KEPT_BESIDE_CONFIG = frozenset({*ENV_VARIABLES.values(), ENV_AUTH_MODE}) - _ENV_SECRETS

_LOCATION = ("account_url", "account_name", "connection_string")
_SECRETS = ("account_key", "sas_token")
_SETTINGS = ("api_version", "cloud")  # neither where nor who: they come along wherever the target goes
# The settings stack config may hold (StorageTarget field names); each is a secret.
CONFIG_SETTINGS = ("connection_string", "account_key", "sas_token")
_ACCOUNT_NAME = re.compile(r"[a-z0-9]{3,24}")
_SUFFIX = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+")
_NO_ACCOUNT = (f"no storage account given; give an account URL, account name or connection string, or set "
               f"{ENV_CONNECTION_STRING} or {ENV_ACCOUNT}")


@dataclass(frozen=True)
class ClientOptions:
    """How clients talk to storage. Retries and timeouts are azure-core's policies, never our own loops.

    Throttling, 5xx answers and broken connections get `retry_total` retries with exponential backoff. A
    request that never reached the endpoint (connection refused, a host name that does not resolve, a
    connect timeout) gets only `retry_connect` retries, `connect_backoff` seconds apart, so that an endpoint
    that is down fails a command in seconds; its error then says nothing reached storage.
    `on_retry` is told, before each retry, what is being retried (the command line's status line).
    """

    retry_total: int = 5
    initial_backoff: float = 2.0
    increment_base: float = 2.0
    retry_connect: int = 1
    connect_backoff: float = 1.0
    connection_timeout: float = 20.0
    read_timeout: float = 60.0  # per socket read, not per operation
    transport: Any = None  # borrowed: clients built from these options never close it
    credential: Any = None  # a TokenCredential used instead of DefaultAzureCredential
    retry_policy: Any = None  # replaces the retry policy built from the fields above
    on_retry: Any = None  # Callable[[str], None]

    def client_kwargs(self) -> dict[str, Any]:
        # Typed as int in the SDK, but the arithmetic works on floats (sub-second backoffs).
        backoff: dict[str, Any] = {"initial_backoff": self.initial_backoff, "increment_base": self.increment_base}
        retry = self.retry_policy or _reachability_retry()(
            retry_total=self.retry_total, retry_connect=self.retry_connect, connect_backoff=self.connect_backoff,
            on_retry=self.on_retry, **backoff,
        )
        kwargs: dict[str, Any] = {
            "retry_policy": retry,
            "connection_timeout": self.connection_timeout,
            "read_timeout": self.read_timeout,
        }
        if self.transport is not None:
            kwargs["transport"] = _borrowed(self.transport, self.connection_timeout, self.read_timeout)
        return kwargs


# Set on a ServiceRequestError when no attempt of its request reached the endpoint: nothing can have landed.
NEVER_REACHED = "vhdcore_never_reached"


@functools.cache
def _reachability_retry() -> type[Any]:
    """ExponentialRetry that keeps retries short for requests that never reach the endpoint (built on first use,
    so that importing this module does not import the SDK)."""
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError
    from azure.storage.blob import ExponentialRetry

    class ReachabilityRetry(ExponentialRetry):
        def __init__(self, *, connect_backoff: float, on_retry: Any, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.connect_backoff, self.on_retry = connect_backoff, on_retry

        def configure_retries(self, request: Any) -> dict[str, Any]:
            settings: dict[str, Any] = super().configure_retries(request)
            request.context["vhdcore_retry"] = settings
            return settings

        def increment(self, settings: dict[str, Any], request: Any, response: Any = None, error: Any = None) -> bool:
            if response is not None or isinstance(error, ServiceResponseError):
                settings["vhdcore_reached"] = True
            return bool(super().increment(settings, request, response=response, error=error))

        def get_backoff_time(self, settings: dict[str, Any]) -> float:
            last = settings["history"][-1] if settings["history"] else None
            unreached = last is not None and isinstance(last.error, ServiceRequestError)
            wait = self.connect_backoff if unreached else float(super().get_backoff_time(settings))
            if self.on_retry is not None:
                status = getattr(getattr(last, "http_response", None), "status_code", None)
                why = "no connection" if unreached else f"HTTP {status}" if status else "no answer"
                self.on_retry(f"retrying in {wait:.0f} s ({why})")
            return wait

        def send(self, request: Any) -> Any:
            try:
                return super().send(request)  # type: ignore[no-untyped-call]
            except ServiceRequestError as exc:
                if not request.context.get("vhdcore_retry", {}).get("vhdcore_reached"):
                    setattr(exc, NEVER_REACHED, True)
                raise

    return ReachabilityRetry


@dataclass(frozen=True)
class _ConnectionString:
    endpoint: str | None
    account_name: str | None
    account_key: str | None
    sas_token: str | None


@dataclass(frozen=True, repr=False)
class StorageTarget:
    """One storage account and its secret (key, SAS, or none for Entra ID). Holds secrets: never pickled."""

    account_url: str | None = None
    account_name: str | None = None
    endpoint_suffix: str | None = None  # None: the cloud's (core.windows.net for AzureCloud)
    connection_string: str | None = None
    account_key: str | None = None
    sas_token: str | None = None
    api_version: str | None = None  # the x-ms-version to send; None: clouds.api_version() decides
    cloud: str | None = None  # a vhdcore.azure.clouds name; None: the public cloud the endpoint is in, else AzureCloud
    # Send a key or SAS over plain http to a host other than this machine (a private endpoint the caller trusts).
    allow_plain_http: bool = False

    @classmethod
    def resolve(
        cls,
        settings: Mapping[str, str | bool | None] | None = None,
        *,
        environ: Mapping[str, str] = os.environ,
        config: Mapping[str, str] | None = None,
        pinned_endpoint: str | None = None,
        **explicit: str | bool | None,
    ) -> StorageTarget:
        """The target the precedence gives: explicit settings (`settings` and keywords; non-None values win),
        then `config` (stack config: connection_string, account_key or sas_token), then the AZURE_STORAGE_*
        variables in `environ`.

        - No explicit location (account_url, account_name, connection_string): the location comes from
          config's connection string, else the environment (AZURE_STORAGE_CONNECTION_STRING first, else
          AZURE_STORAGE_ACCOUNT_URL and/or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_SAS_TOKEN or, only
          without a SAS, AZURE_STORAGE_KEY). An explicit or configured key or SAS replaces the
          environment's secret.
        - An explicit location: no other location is mixed in. A configured key or SAS applies to it; a
          connection string (configured or in the environment) or an environment secret fills in only when
          nothing explicit authenticates and it names the same blob endpoint, so a key for one account is
          never sent to another.
        - AZURE_STORAGE_AUTH_MODE=login: environment keys, SAS tokens and connection strings are ignored,
          as az does, so Entra ID (DefaultAzureCredential) is used unless a secret is given explicitly.
        - `pinned_endpoint`: the account a disk already lives in (a Pulumi state's blob_endpoint). If the
          settings now point elsewhere, the target stays there, and only credentials not tied to the other
          account come along (an explicit or configured key or SAS).
        """
        explicit = {**(settings or {}), **explicit}
        known = {f.name for f in fields(cls)}
        if unknown := sorted(set(explicit) - known):
            raise TypeError(f"StorageTarget.resolve() got unknown settings {unknown}; use {sorted(known)}.")
        given: dict[str, Any] = {k: v for k, v in explicit.items() if v is not None}
        if unknown := sorted(set(config or {}) - set(CONFIG_SETTINGS)):
            raise TypeError(f"StorageTarget.resolve() got unknown config {unknown}; use {list(CONFIG_SETTINGS)}.")
        configured = {k: v for k, v in (config or {}).items() if v}
        if configured and not any(k in given for k in ("connection_string", *_SECRETS)):
            # Stack config is this stack's own setting and replaces the variables' secrets. Its key or SAS
            # applies to the account the caller names; its connection string is used like the variable,
            # only for the account it points at.
            # Only the variables _from_environ reads: a copy of the whole environment was most of what resolve
            # cost, and it runs for every request a provider answers.
            environ = {k: environ[k] for k in _ENV_KEPT_BESIDE_CONFIG if k in environ}
            if "connection_string" in configured:
                environ[ENV_CONNECTION_STRING] = configured["connection_string"]
            given |= {k: v for k, v in configured.items() if k in _SECRETS}
        found = cls._combine(given, _from_environ(environ))
        if pinned_endpoint is None or _endpoint_of(found) == pinned_endpoint:
            return found
        portable = {k: v for k, v in given.items() if k in (*_SECRETS, *_SETTINGS, "allow_plain_http")}
        return cls._combine({**portable, "account_url": pinned_endpoint}, _from_environ(environ))

    @classmethod
    def fallbacks(
        cls,
        settings: Mapping[str, str | bool | None] | None = None,
        *,
        environ: Mapping[str, str] = os.environ,
        config: Mapping[str, str] | None = None,
        pinned_endpoint: str | None = None,
        **explicit: str | bool | None,
    ) -> Iterator[StorageTarget]:
        """The targets to try in order when a key is refused: every source (as resolve), then without the
        explicit secrets, then without config either; each distinct target once.

        A key goes stale in two places: on a resource, in its state, and in the provider config the engine
        keeps from the last `pulumi up` for refresh and destroy; after a rotation, the new key in config or
        the environment is then enough.
        """
        explicit = {**(settings or {}), **explicit}
        location = {k: v for k, v in explicit.items() if v is not None and k not in _SECRETS}
        connection_string = location.get("connection_string")
        # A connection string is also a location: without its secret, keep where it points.
        if isinstance(connection_string, str) and (
                endpoint := _parse_connection_string(connection_string, strict=False).endpoint):
            del location["connection_string"]
            location["account_url"] = endpoint
        attempts = (
            (explicit, config),
            (location, config),
            (location, None),
        )
        tried: list[StorageTarget] = []
        for settings, configured in attempts:
            target = cls.resolve(environ=environ, config=configured, pinned_endpoint=pinned_endpoint, **settings)
            if target not in tried:
                tried.append(target)
                yield target

    @classmethod
    def _combine(cls, given: dict[str, Any], env: StorageTarget) -> StorageTarget:
        secret_given = any(k in given for k in _SECRETS)
        if not any(k in given for k in _LOCATION):
            base = env._without_secrets() if secret_given else env
        elif not secret_given and "connection_string" not in given and _same_endpoint(cls(**given), env):
            base = env._secrets_only()
        else:
            base = cls()
        return replace(base, **given)

    def __repr__(self) -> str:
        shown = [f"account_url={_bare(self.account_url)!r}"] if self.account_url else []
        shown += [f"{k}={getattr(self, k)!r}" for k in ("account_name", "endpoint_suffix", *_SETTINGS)
                  if getattr(self, k)]
        shown += [f"{k}=<set>" for k in ("connection_string", *_SECRETS) if getattr(self, k)]
        return f"StorageTarget({', '.join(shown)})"

    def __reduce__(self) -> NoReturn:
        # Dynamic providers pickle whatever they hold into state; refusing here keeps secrets out of it.
        raise TypeError("StorageTarget holds credentials and must not be pickled; resolve it inside each call instead.")

    def validate(self) -> None:
        """Raise CredentialsError naming the first setting that cannot work, or CloudError for the cloud or the API
        version (check_cloud, check_api_version). Makes no request."""
        self._validate_location()
        self.check_cloud()
        self.check_api_version()

    def _validate_location(self) -> None:
        if self.connection_string is not None:
            clash = [k for k in (*_LOCATION[:2], *_SECRETS) if getattr(self, k)]
            if clash:
                _fail(f"a connection string already names the account and its secret, so {' and '.join(clash)} "
                      "cannot be given with it; pass one or the other", "connection_string", *clash)
            about = ("connection_string",)
            parsed = _parse_connection_string(self.connection_string)
            _check_secrets(parsed.account_key, parsed.sas_token, in_="in the connection string", about=about)
            _check_endpoint(parsed.endpoint or "", what="the connection string's blob endpoint", about=about)
            if parsed.account_key and not parsed.account_name:
                _fail("the connection string has AccountKey but no AccountName; add AccountName=<account>", *about)
            _check_auth_scheme(parsed.endpoint or "", secret=bool(parsed.account_key or parsed.sas_token), about=about,
                               allow_plain_http=self.allow_plain_http)
            return
        _check_secrets(self.account_key, self.sas_token)
        if self.account_url is None and self.account_name is None:
            _fail(_NO_ACCOUNT)
        if self.account_name is not None and not _ACCOUNT_NAME.fullmatch(self.account_name):
            _fail(f"account name {self.account_name!r} is not 3 to 24 lowercase letters and digits; "
                  "check the storage account's name", "account_name")
        self._check_suffix()
        if self.account_url is not None:
            _check_endpoint(self.account_url, what=f"account URL {_bare(self.account_url)!r}", about=("account_url",))
            derived = _account_from_url(self.account_url)
            if self.account_name and derived and derived != self.account_name:
                _fail(f"account URL {_bare(self.account_url)!r} belongs to account {derived!r}, not account name "
                      f"{self.account_name!r}; give matching values or only one of them", "account_url", "account_name")
        if self.account_key and not self._key_account_name():
            _fail(f"an account key needs the account name, which account URL {_bare(self.account_url)!r} does not "
                  "show; use a SAS token instead, or a connection string with BlobEndpoint and AccountName",
                  "account_key", "account_url")
        _check_auth_scheme(self.blob_endpoint, secret=bool(self.account_key or self.sas_token),
                           about=("account_url",) if self.account_url is not None else ("account_name",),
                           allow_plain_http=self.allow_plain_http)

    @property
    def blob_endpoint(self) -> str:
        """The account's blob endpoint URL, without trailing slash and never with a key or SAS."""
        if self.connection_string is not None:
            return _bare(_parse_connection_string(self.connection_string).endpoint).rstrip("/")
        if self.account_url is not None:
            return _bare(self.account_url).rstrip("/")
        if self.account_name is not None:
            named = clouds.cloud_named(self.cloud) if self.cloud is not None else clouds.AZURE_CLOUD
            suffix = self.endpoint_suffix or named.endpoint_suffix
            if suffix is None:
                raise clouds.stack_needs_endpoint(named)
            return f"https://{self.account_name}.blob.{suffix}"
        _fail(_NO_ACCOUNT)

    @property
    def profile(self) -> clouds.Cloud:
        """The cloud the account is in: the one named, else the public cloud whose endpoint it has, else AzureCloud.
        Raises CloudError for a name blank-vhd does not know."""
        if self.cloud is not None:
            return clouds.cloud_named(self.cloud)
        endpoint = _endpoint_of(self)
        return (clouds.public_cloud_of(endpoint) if endpoint else None) or clouds.AZURE_CLOUD

    def check_cloud(self) -> clouds.Cloud:
        """The cloud profile, after checking that the endpoint can be in it (CloudError) and the suffix is one
        (CredentialsError). Makes no request."""
        self._check_suffix()
        cloud = self.profile
        try:
            endpoint = self.blob_endpoint
        except CloudError:
            raise
        except CredentialsError:
            return cloud  # no location yet: validate() says so
        from_suffix = self.connection_string is None and self.account_url is None
        clouds.check_endpoint(cloud, endpoint, explicit_cloud=self.cloud is not None,
                              suffix=self.endpoint_suffix if from_suffix else None)
        return cloud

    def _check_suffix(self) -> None:
        if self.endpoint_suffix is not None and not _SUFFIX.fullmatch(self.endpoint_suffix):
            _fail(f"endpoint suffix {self.endpoint_suffix!r} is not a DNS suffix; use e.g. core.windows.net or "
                  "core.chinacloudapi.cn (no scheme, no slash)", "endpoint_suffix")

    def check_api_version(self) -> None:
        """Raise CloudError if the API version to send is malformed, too old or too new for the cloud, or one
        the SDK cannot send."""
        _check_sendable(self.wire_api_version)

    @property
    def wire_api_version(self) -> str:
        """The x-ms-version every request to this target carries (clouds.api_version: ours, else the
        environment's, else the pinned one)."""
        return clouds.api_version(self.api_version, cloud=self.profile)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret string this target holds, for scrubbing messages."""
        found = [self.account_key, self.sas_token]
        if self.connection_string:
            parsed = _parse_connection_string(self.connection_string, strict=False)
            found += [self.connection_string, parsed.account_key, parsed.sas_token]
        return tuple(s for s in found if s)

    @property
    def has_shared_secret(self) -> bool:
        """True when requests are signed with an account key or a SAS (not Entra ID)."""
        if self.connection_string is not None:
            parsed = _parse_connection_string(self.connection_string, strict=False)
            return bool(parsed.account_key or parsed.sas_token)
        return bool(self.account_key or self.sas_token)

    def service_client(self, options: ClientOptions | None = None) -> BlobServiceClient:
        """A new BlobServiceClient; use it in a `with` block and drop it after the call.

        A DefaultAzureCredential built here belongs to the client and is closed with it (its HTTP sessions
        and token-cache handles would otherwise outlive the call); a credential from `options` is borrowed.
        """
        self.validate()
        options = options or ClientOptions()
        credential = self._credential(options)
        owned = credential if credential is not options.credential and hasattr(credential, "close") else None
        client: BlobServiceClient = _owning_client_class()(
            self.blob_endpoint, credential=credential, api_version=self.wire_api_version, **options.client_kwargs()
        )
        client._vhdcore_owned_credential = owned  # type: ignore[attr-defined]
        return client

    def _credential(self, options: ClientOptions) -> Any:
        from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential

        key, sas = self.account_key, self.sas_token
        if self.connection_string is not None:
            parsed = _parse_connection_string(self.connection_string)
            key, sas = parsed.account_key, parsed.sas_token
        if key:
            return AzureNamedKeyCredential(self._key_account_name() or "", key)
        if sas:
            return AzureSasCredential(sas.lstrip("?"))
        _check_auth_scheme(self.blob_endpoint, secret=False, about=("account_url",))
        if options.credential is not None:
            return options.credential
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()

    def _key_account_name(self) -> str | None:
        if self.connection_string is not None:
            return _parse_connection_string(self.connection_string).account_name
        return self.account_name or (_account_from_url(self.account_url) if self.account_url else None)

    def _without_secrets(self) -> StorageTarget:
        if self.connection_string is None:
            return replace(self, account_key=None, sas_token=None)
        parsed = _parse_connection_string(self.connection_string, strict=False)
        if parsed.endpoint is None:
            return self  # unparseable: keep it so validate() reports the real problem
        return StorageTarget(account_url=parsed.endpoint, account_name=parsed.account_name)

    def _secrets_only(self) -> StorageTarget:
        if self.connection_string is None:
            return StorageTarget(account_key=self.account_key, sas_token=self.sas_token)
        parsed = _parse_connection_string(self.connection_string, strict=False)
        return StorageTarget(account_key=None if parsed.sas_token else parsed.account_key, sas_token=parsed.sas_token)


def _from_environ(environ: Mapping[str, str]) -> StorageTarget:
    def get(name: str) -> str | None:
        return environ.get(name) or None

    login = (get(ENV_AUTH_MODE) or "").lower() == "login"
    if not login and (connection_string := get(ENV_CONNECTION_STRING)):
        return StorageTarget(connection_string=connection_string)
    sas = None if login else get(ENV_SAS_TOKEN)
    key = None if login or sas else get(ENV_KEY)  # like az: a SAS wins over a key
    return StorageTarget(
        account_url=get(ENV_ACCOUNT_URL), account_name=get(ENV_ACCOUNT), account_key=key, sas_token=sas
    )


def _bare(url: str | None) -> str:
    """A URL without query, fragment or user info: what may appear in messages and reprs."""
    try:
        parts = urlsplit(url or "")
        host = parts.netloc.rpartition("@")[2]
    except ValueError:
        return "<unparseable URL>"
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else (url or "").split("?")[0].split("#")[0]


def _same_endpoint(a: StorageTarget, b: StorageTarget) -> bool:
    ea, eb = _endpoint_of(a), _endpoint_of(b)
    return ea is not None and eb is not None and _normalized(ea) == _normalized(eb)


def _endpoint_of(target: StorageTarget) -> str | None:
    try:
        return target.blob_endpoint
    except (CredentialsError, CloudError):
        return None


def _normalized(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


@functools.lru_cache(maxsize=32)  # parsed again by every property that needs a part of it, per request
def _parse_connection_string(text: str, *, strict: bool = True) -> _ConnectionString:
    # Keys are case-insensitive; values may contain '=' (base64 keys, SAS tokens). Never echo the text.
    items: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, sep, value = part.partition("=")
        if not sep and strict:
            _fail("the connection string has a part without '='; copy it again from the portal "
                  "(Access keys) or use UseDevelopmentStorage=true", "connection_string")
        items[key.strip().lower()] = value.strip()
    if items.get("usedevelopmentstorage", "").lower() == "true":
        if "developmentstorageproxyuri" in items and strict:
            _fail("DevelopmentStorageProxyUri is not supported; use a full connection string with BlobEndpoint",
                  "connection_string")
        return _ConnectionString(DEV_BLOB_ENDPOINT, DEV_ACCOUNT, DEV_ACCOUNT_KEY, None)
    name = items.get("accountname") or None
    endpoint = items.get("blobendpoint") or None
    if endpoint is None and name is not None:
        protocol = items.get("defaultendpointsprotocol") or "https"
        endpoint = f"{protocol}://{name}.blob.{items.get('endpointsuffix') or 'core.windows.net'}"
    if endpoint is None and strict:
        _fail("the connection string names no account; it needs AccountName or BlobEndpoint "
              "(or UseDevelopmentStorage=true)", "connection_string")
    if name is None and endpoint is not None:
        name = _account_from_url(endpoint)
    return _ConnectionString(
        endpoint, name, items.get("accountkey") or None, items.get("sharedaccesssignature") or None
    )


def split_blob_url(url: str) -> tuple[str, str, str]:
    """A blob's URL as (blob endpoint, container, blob name): the inverse of how operations name blobs.

    Emulators (an IP address or localhost) put the account in the first path segment. Raises
    CredentialsError for a URL that does not name a blob in an account.
    """
    from urllib.parse import unquote

    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        _fail(f"{_bare(url)!r} is not a blob URL; write it like https://<account>.blob.core.windows.net/<container>/<blob>")
    segments = parts.path.lstrip("/").split("/")
    account = segments.pop(0) if _is_ip_or_localhost(parts.hostname.lower()) and segments else ""
    if len(segments) < 2 or not segments[0] or not segments[-1]:
        _fail(f"{_bare(url)!r} names no blob; write it like https://<account>.blob.core.windows.net/<container>/<blob>")
    endpoint = f"{parts.scheme}://{parts.netloc}" + (f"/{account}" if account else "")
    return endpoint, segments[0], unquote("/".join(segments[1:]))


def split_container_url(url: str) -> tuple[str, str]:
    """A container's URL as (blob endpoint, container): the inverse of `<blob endpoint>/<container>`. Raises
    CredentialsError for a URL that does not name exactly a container in an account."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        _fail(f"{_bare(url)!r} is not a container URL; write it like https://<account>.blob.core.windows.net/"
              "<container>")
    segments = parts.path.strip("/").split("/")
    account = segments.pop(0) if _is_ip_or_localhost(parts.hostname.lower()) and segments else ""
    if len(segments) != 1 or not segments[0]:
        _fail(f"{_bare(url)!r} names no container; write it like https://<account>.blob.core.windows.net/<container>")
    return f"{parts.scheme}://{parts.netloc}" + (f"/{account}" if account else ""), segments[0]


def _account_from_url(url: str) -> str | None:
    """The account an endpoint URL names: acct.blob.<suffix>, or the first path segment for emulators."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    labels = host.split(".")
    if "blob" in labels[1:3]:
        return labels[0]
    if _is_ip_or_localhost(host):
        segment = parts.path.strip("/").split("/")[0]
        return segment or None
    return None


def _is_ip_or_localhost(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_endpoint(url: str, *, what: str, about: tuple[str, ...]) -> None:
    try:
        parts = urlsplit(url)
        _port = parts.port  # raises on a malformed port
    except ValueError:
        _fail(f"{what} is not a valid URL; write it like https://<account>.blob.core.windows.net", *about)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        _fail(f"{what} is not an http(s) URL; write it like https://<account>.blob.core.windows.net", *about)
    if parts.query or parts.fragment or "@" in parts.netloc:
        _fail(f"{what} carries a query, fragment or user info; pass the SAS token on its own "
              "and give the bare endpoint URL", *about)
    if len([s for s in parts.path.split("/") if s]) > 1:
        _fail(f"{what} has more than an account in its path; give the account endpoint, not a container or blob URL",
              *about)


# What a SAS token may hold: the characters of a URL query (RFC 3986), percent-encoded or not.
_SAS_CHARACTERS = re.compile(r"\??[A-Za-z0-9\-._~%!$&'()*+,;=:@/?]*")


def _check_secrets(key: str | None, sas: str | None, *, in_: str = "", about: tuple[str, ...] = ()) -> None:
    where = f" {in_}" if in_ else ""
    if key and sas:
        _fail(f"both an account key and a SAS token are given{where}; pass only one (az prefers the SAS)",
              *(about or ("account_key", "sas_token")))
    if key:
        try:
            base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            _fail(f"the account key{where} is not base64; copy key1 or key2 again from the storage account",
                  *(about or ("account_key",)))
    if sas and not _SAS_CHARACTERS.fullmatch(sas):
        _fail(f"the SAS token{where} holds a character a URL query cannot (a space, quote, control or non-ASCII "
              "character); copy it again, whole, from where it was generated", *(about or ("sas_token",)))
    if sas and "sig=" not in sas:
        _fail(f"the SAS token{where} has no sig= field; pass the whole query string, from sv= to sig=<signature>",
              *(about or ("sas_token",)))


def _check_auth_scheme(endpoint: str, *, secret: bool, about: tuple[str, ...], allow_plain_http: bool = False) -> None:
    parts = urlsplit(endpoint)
    if parts.scheme != "http":
        return
    if not secret:
        _fail(f"blob endpoint {endpoint} is plain http and no account key or SAS was given, but Entra ID "
              "tokens (DefaultAzureCredential) are only sent over https; use an https endpoint or pass a key or SAS",
              *about)
    if not allow_plain_http and not _is_loopback(parts.hostname or ""):
        # A SAS travels in the URL and a key signs requests an eavesdropper can replay: https, or this machine.
        _fail(f"blob endpoint {endpoint} is plain http on another machine, so the account key or SAS would be "
              "sent in clear; use an https endpoint, or for a private endpoint you trust allow plain http "
              "explicitly (the allow-plain-http option of the resource or the command line)", *about)


def _is_loopback(host: str) -> bool:
    """This machine: localhost, 127.0.0.0/8 or ::1 (Azurite and tunnels), where nothing travels in clear."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_sendable(version: str) -> None:
    """Refuse a version the installed SDK cannot send (it raises ValueError at client construction)."""
    if version in {cloud.api_version for cloud in clouds.CLOUDS.values()}:
        return  # tests/test_clouds.py proves the SDK accepts these
    from azure.storage.blob import BlobServiceClient

    try:
        BlobServiceClient("https://account.blob.core.windows.net", api_version=version).close()
    except ValueError:
        raise CloudError(f"storage API version {version!r} is not one the installed Azure SDK can send; use "
                         f"{clouds.API_VERSION} (the default) or another dated version the Storage REST API "
                         "documents.") from None


def _fail(sentence: str, *settings: str) -> NoReturn:
    raise CredentialsError(sentence.removesuffix(".") + ".", settings)


@functools.cache
def _owning_client_class() -> type[BlobServiceClient]:
    """BlobServiceClient that also closes the credential it owns when it is closed (built on first use)."""
    from azure.storage.blob import BlobServiceClient

    class OwningBlobServiceClient(BlobServiceClient):
        _vhdcore_owned_credential: Any = None

        def __exit__(self, *args: Any) -> None:
            try:
                super().__exit__(*args)
            finally:
                self._close_credential()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self._close_credential()

        def _close_credential(self) -> None:
            owned, self._vhdcore_owned_credential = self._vhdcore_owned_credential, None
            if owned is not None:
                owned.close()

    return OwningBlobServiceClient


def _borrowed(transport: Any, connection_timeout: float, read_timeout: float) -> HttpTransport[Any, Any]:
    """Wrap a caller's transport so that closing a client (done after every call) leaves it open.

    The SDK applies client timeouts only to a transport it builds itself, so they are passed per request.
    """
    from azure.core.pipeline.transport import HttpTransport

    class BorrowedTransport(HttpTransport[Any, Any]):
        def __enter__(self) -> BorrowedTransport:
            return self

        def __exit__(self, *args: object) -> None:
            pass

        def open(self) -> None:
            pass

        def close(self) -> None:
            pass

        def send(self, request: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("connection_timeout", connection_timeout)
            kwargs.setdefault("read_timeout", read_timeout)
            return transport.send(request, **kwargs)

    return BorrowedTransport()
