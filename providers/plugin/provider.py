"""The plugin's provider: the engine's requests for `blank-vhd:index:*` resources, answered by the same providers the
dynamic resources use (providers.provider, providers.image_provider, providers.container_provider).

Per request, the door builds the core provider the dynamic door would unpickle (its naming state from the URN
instead of the pickle, its configuration from the provider config instead of stack config), converts the property
maps (wire.py), and runs the core, which is synchronous, on a thread of its own: the engine sends many requests at
once. Warnings and upload progress go to the engine's log, attached to the resource (common.WARNINGS, PROGRESS).
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from pulumi.output import Unknown
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.provider import (
    CheckFailure,
    CheckRequest,
    CheckResponse,
    ConfigureRequest,
    ConfigureResponse,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DiffRequest,
    DiffResponse,
    GetSchemaRequest,
    GetSchemaResponse,
    PropertyDiff,
    PropertyDiffKind,
    Provider,
    ReadRequest,
    ReadResponse,
    UpdateRequest,
    UpdateResponse,
)

from vhdcore import KEPT_CLIENTS, InputError, KeptClients, __version__

from ..common import LOCATION_FIELDS, PROGRESS, WARNINGS, ProviderConfig, Report
from ..schema import BY_TOKEN, CONFIG, ResourceDecl, camel, door_text, package_schema
from . import wire

if TYPE_CHECKING:
    from ..common import StorageProvider
    from ..disks import FoundContainers

T = TypeVar("T")

# The core provider of each resource: the classes the dynamic resources pickle, imported on first use.
CORE = {
    "blank-vhd:index:BlankVhd": ("providers.provider", "BlankVhdProvider"),
    "blank-vhd:index:VhdImage": ("providers.image_provider", "VhdImageProvider"),
    "blank-vhd:index:BlobContainer": ("providers.container_provider", "BlobContainerProvider"),
    "blank-vhd:index:ManagedDiskImage": ("providers.managed_disk_provider", "ManagedDiskImageProvider"),
}
# The input a resource draws a name for when the program leaves it out.
NAMED_BY = {"blank-vhd:index:BlankVhd": "blob_name", "blank-vhd:index:VhdImage": "blob_name",
            "blank-vhd:index:ManagedDiskImage": "disk_name"}
# A checked input of the plugin's own, never shown (the engine hides names starting with "__"): the program left
# blob_name out, so the core drew it. The dynamic door keeps this in the pickled provider instead.
AUTO_NAMED = "__autoNamed"
_AUTO_NAMED = wire.snake(AUTO_NAMED)  # as the plain bags name it
# Enough threads for the engine's parallelism (8 by default here, `--parallel` more); the core mostly waits on storage.
WORKERS = 64

EngineLog = Callable[[str, str, str], None]  # severity ("warning", "info"), message, URN


class BlankVhdPlugin(Provider):
    """One engine run's provider (the engine starts a plugin process per run). What it learns in the run is kept for
    the rest of it: the storage clients, open between calls (vhdcore.KeptClients), and the containers check found
    (disks.FoundContainers)."""

    def __init__(self, log: EngineLog | None = None) -> None:
        self.config = ProviderConfig()
        self._log = log
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="blank-vhd")
        self._clients = KeptClients()
        self._containers: FoundContainers | None = None  # made with the core modules, on first use

    # --- the package and its configuration --------------------------------------------------------------------------

    async def get_schema(self, request: GetSchemaRequest) -> GetSchemaResponse:
        return GetSchemaResponse(schema=json.dumps(package_schema(__version__)))

    async def check_config(self, request: CheckRequest) -> CheckResponse:
        """The provider config: each key a string, and at most one place for the account. What a key's value means
        is checked with each resource (it may combine with the resource's inputs); keys this package does not
        declare are left alone, for a project named blank-vhd keeps its own config in the same namespace."""
        failures = []
        for prop in CONFIG:
            value = request.new_inputs.get(prop.camel)
            inner = wire.plain_value(value) if value is not None else None
            if inner is not None and not isinstance(inner, (str, Unknown)):
                # No value quoted: the key may be a secret one.
                failures.append(CheckFailure("" if prop.secret else prop.camel, (
                    f"provider config {prop.camel} is not a string; set it with pulumi config set "
                    f"blank-vhd:{prop.camel} <value>{' --secret' if prop.secret else ''}.")))
        located = [p.camel for p in CONFIG if p.name in LOCATION_FIELDS and request.new_inputs.get(p.camel) is not None
                   and request.new_inputs[p.camel].value is not None]
        if len(located) > 1:
            failures.append(CheckFailure("", (
                f"provider config {' and '.join(located)} are both set; give only one of them to say which storage "
                "account the resources use.")))
        secret = {p.camel for p in CONFIG if p.secret}
        inputs = {key: value.with_secret(True) if key in secret else value for key, value in request.new_inputs.items()}
        return CheckResponse(inputs=inputs, failures=failures)

    async def diff_config(self, request: DiffRequest) -> DiffResponse:
        """A new key or credential is an update of the provider, never a replacement: each resource's own diff
        decides whether it moves (it compares the account it resolves to with the one its state records)."""
        olds, news = request.old_state, request.new_inputs
        changed = sorted(p.camel for p in CONFIG if olds.get(p.camel) != news.get(p.camel))
        # No detailed diff: the SDK's DiffConfig (3.272.0) reads it by attribute names PropertyDiff does not have.
        return DiffResponse(changes=bool(changed), diffs=changed)

    async def configure(self, request: ConfigureRequest) -> ConfigureResponse:
        self.config = wire.provider_config(request.args)
        # No preview of create or update: the core writes when it runs. Secrets arrive marked, and leave marked.
        return ConfigureResponse(accept_secrets=True, supports_preview=False, accept_resources=False,
                                 accept_outputs=False)

    # --- resources ----------------------------------------------------------------------------------------------------

    async def check(self, request: CheckRequest) -> CheckResponse:
        decl = _declared(request.type)
        olds, _ = wire.plain(request.old_inputs)
        news, secret = wire.plain(request.new_inputs)
        olds.pop(_AUTO_NAMED, None)
        news.pop(_AUTO_NAMED, None)
        named_by = NAMED_BY.get(decl.token)
        drawn = named_by is not None and news.get(named_by) is None
        core = self._core(request.type, request.urn, auto_named=drawn)
        result = await self._run(request.urn, core.check, olds, news)
        inputs = wire.wire(result.inputs or {}, secret)
        if drawn:
            inputs[AUTO_NAMED] = PropertyValue(True)
        failures = [CheckFailure(camel(f.property) if f.property else "", door_text(f.reason))
                    for f in result.failures or []]
        return CheckResponse(inputs=inputs, failures=failures)

    async def diff(self, request: DiffRequest) -> DiffResponse:
        olds, _ = wire.plain(request.old_state)
        news, _ = wire.plain(request.new_inputs)
        drawn = news.pop(_AUTO_NAMED, None) is True
        core = self._core(request.type, request.urn, auto_named=drawn)
        result = await self._run(request.urn, core.diff, request.resource_id, olds, news)
        if result.changes is False:
            return DiffResponse(changes=False)
        replaces = [camel(key) for key in result.replaces or []]
        diffs = [camel(key) for key in getattr(result, "diffs", [])]
        inputs = {p.camel for p in _declared(request.type).inputs}
        detailed = {key: PropertyDiff(PropertyDiffKind.UPDATE_REPLACE if key in replaces else PropertyDiffKind.UPDATE,
                                      key in inputs) for key in diffs}
        return DiffResponse(changes=True, replaces=replaces, diffs=diffs, detailed_diff=detailed,
                            delete_before_replace=bool(result.delete_before_replace))

    async def create(self, request: CreateRequest) -> CreateResponse:
        props, secret = wire.plain(request.properties)
        drawn = props.pop(_AUTO_NAMED, None) is True
        core = self._core(request.type, request.urn, auto_named=drawn)
        result = await self._run(request.urn, core.create, props)
        return CreateResponse(resource_id=result.id, properties=wire.wire(result.outs or {}, secret))

    async def update(self, request: UpdateRequest) -> UpdateResponse:
        olds, old_secret = wire.plain(request.olds)
        news, secret = wire.plain(request.news)
        drawn = news.pop(_AUTO_NAMED, None) is True
        core = self._core(request.type, request.urn, auto_named=drawn)
        result = await self._run(request.urn, core.update, request.resource_id, olds, news)
        return UpdateResponse(properties=wire.wire(result.outs or {}, secret | old_secret))

    async def read(self, request: ReadRequest) -> ReadResponse:
        """Refresh (the state's outputs and inputs are given), or `pulumi import` and get (only the id is: the core
        finds the resource by its URL, with the provider config's account)."""
        props, secret = wire.plain(request.properties)
        old_inputs, input_secret = wire.plain(request.inputs)
        drawn = old_inputs.pop(_AUTO_NAMED, None) is True
        core = self._core(request.type, request.urn, auto_named=drawn)
        result = await self._run(request.urn, core.read, request.resource_id, props)
        if not result.id:
            return ReadResponse(resource_id="", properties={}, inputs={})  # gone: the engine drops it
        marked = secret | input_secret
        inputs = wire.wire(result.inputs if result.inputs is not None else old_inputs, marked)
        if drawn:
            inputs[AUTO_NAMED] = PropertyValue(True)
        return ReadResponse(resource_id=result.id, properties=wire.wire(result.outs or {}, marked), inputs=inputs)

    async def delete(self, request: DeleteRequest) -> None:
        props, _ = wire.plain(request.properties)
        core = self._core(request.type, request.urn, auto_named=False)
        await self._run(request.urn, core.delete, request.resource_id, props)

    # --- plumbing -----------------------------------------------------------------------------------------------------

    def _core(self, token: str, urn: str, *, auto_named: bool) -> StorageProvider:
        """The core provider for one request: what the dynamic door unpickles, with the resource's name as the
        auto-name prefix (when the program left blob_name out) and its URN as its identity."""
        _declared(token)
        module, name = CORE[token]
        cls = getattr(importlib.import_module(module), name)
        core: StorageProvider
        if token == "blank-vhd:index:BlobContainer":
            core = cls()
        else:
            core = cls(auto_name_prefix=urn.rpartition("::")[2] if auto_named else None, identity=urn)
        core.config = self.config
        from ..disks import DiskProvider, FoundContainers  # with the core modules, on first use

        if isinstance(core, DiskProvider):
            # A BlobContainer this update makes has its name known at preview (the engine echoes the inputs of what it
            # will create), so a missing container only warns here: the create still refuses it, nothing written.
            core.missing_container_fails = False
            if self._containers is None:
                self._containers = FoundContainers()
            core.found_containers = self._containers
        return core

    async def _run(self, urn: str, call: Callable[..., T], *args: Any) -> T:
        """`call` on a worker thread, with warnings and progress sent to the engine's log for `urn`, on the clients
        this run keeps."""
        context = contextvars.copy_context()
        context.run(KEPT_CLIENTS.set, self._clients)
        if self._log is not None:
            log = self._log
            context.run(WARNINGS.set, _reporter(log, "warning", urn))
            context.run(PROGRESS.set, _reporter(log, "info", urn))
        return await asyncio.get_running_loop().run_in_executor(self._pool, context.run, call, *args)


def _reporter(log: EngineLog, severity: str, urn: str) -> Report:
    return lambda message: log(severity, door_text(message), urn)


def _declared(token: str) -> ResourceDecl:
    decl = BY_TOKEN.get(token)
    if decl is None:
        raise InputError(f"blank-vhd has no resource type {token!r}; the types are {', '.join(BY_TOKEN)}.")
    return decl


__all__ = ["AUTO_NAMED", "CORE", "BlankVhdPlugin", "EngineLog"]
