"""What both disk providers (BlankVhd, VhdImage) do alike: look at check (so at preview) for the container a new disk
goes into, find the disk a state records again (read, refresh) and remove it (delete), with one set of rules and
messages.

A disk is ours to delete only with the unique id its state records (vhdcore refuses any other); a disk taken over
(adopt_existing, `pulumi import`, `get`) that this tool did not make is never deleted at all.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from pulumi.dynamic import CheckFailure, ConfigureRequest

import vhdcore
from vhdcore import ClientOptions, ContainerNotFoundError, StorageError, StorageTarget, VhdError

from .common import PLACE_FIELDS, Account, NamingProvider, StoredDisk, in_dynamic_provider_process, is_unknown, warn
from .schema import ACCOUNT_FIELDS

if TYPE_CHECKING:
    from vhdcore import BlobInspection


class DiskPlace(Protocol):
    """Where a disk's inputs say it is."""

    @property
    def container_name(self) -> str: ...
    @property
    def blob_name(self) -> str: ...
    @property
    def account(self) -> Account: ...


class DiskRecord(StoredDisk, Protocol):
    """A disk resource's state: where it is, and what storage held when it was last written or read."""

    @property
    def inputs(self) -> DiskPlace: ...


# The look for a disk's container at check: one request, no write. Kept short, because a preview waits for it and a
# failure to look only warns; the create asks again with the full retries.
_LOOK_OPTIONS = ClientOptions(retry_total=1, initial_backoff=0.5, retry_connect=0, connection_timeout=5.0,
                              read_timeout=10.0)


class FoundContainers:
    """The containers check found, by account (the target: its endpoint and credentials) and name, for a process that
    serves one engine run (the plugin's): the next disk for the same container is not asked about again. Only what
    was found is kept; a container deleted after it was found makes the create fail in one sentence (Put Blob's
    ContainerNotFound), before anything is written. Safe to share between threads."""

    def __init__(self) -> None:
        self._found: set[tuple[StorageTarget, str]] = set()
        self._lock = threading.Lock()

    def __contains__(self, place: tuple[StorageTarget, str]) -> bool:
        with self._lock:
            return place in self._found

    def add(self, place: tuple[StorageTarget, str]) -> None:
        with self._lock:
            self._found.add(place)


# The containers the dynamic resources' provider process found in its engine run (the plugin passes its own).
_DYNAMIC_RUN_CONTAINERS = FoundContainers()


class DiskProvider(NamingProvider):
    """Base of the disk providers: `recorded` reads a state's outputs; read and delete build on `find`.

    `missing_container_fails`: whether check fails for a container that does not exist, or only warns. The plugin's
    door warns: its BlobContainer's name is known at a preview that is about to make it (the engine echoes the inputs
    of a resource it will create), where the dynamic BlobContainer's waits for the container's id.
    `found_containers`: the containers found so far in this engine run (the plugin's; the dynamic resources' provider
    process keeps its own), or None: ask every time.
    """

    missing_container_fails = True
    found_containers: FoundContainers | None = None

    def configure(self, req: ConfigureRequest) -> None:
        """The dynamic door's entry (the plugin sets `config` and `found_containers` itself): its provider process,
        which serves one engine run, keeps the containers it finds for the run, as the plugin does."""
        super().configure(req)
        if in_dynamic_provider_process():
            self.found_containers = _DYNAMIC_RUN_CONTAINERS

    def check_container(
        self, olds: Mapping[str, Any], inputs: Mapping[str, Any], failures: list[CheckFailure]
    ) -> list[CheckFailure]:
        """At check, so at preview and before anything is written: a failure if the container a disk is to be made
        in does not exist (the message says how to make one). Asked only for a disk to be made (not in the state yet,
        or moving to another container or account), once every input is known and valid, so never while a
        container declared beside it is being made (BlobContainer.container_name is unknown until it exists). One
        HEAD of the disk's blob, unless `found_containers` holds the container; an account that cannot be reached, or
        refuses, only warns (the create tells)."""
        name, blob = inputs.get("container_name"), inputs.get("blob_name")
        if failures or not isinstance(name, str) or not isinstance(blob, str):
            return []
        if self.config.unknown or any(is_unknown(inputs.get(key)) for key in ACCOUNT_FIELDS):
            return []
        if olds.get("container_name") == name and all(olds.get(key) == inputs.get(key) for key in PLACE_FIELDS):
            return []  # a disk that exists, staying where it is
        found = self.found_containers
        try:
            target = self.target(Account.from_props(inputs))
            if found is not None and (target, name) in found:
                return []
            vhdcore.require_container(target, name, blob=blob, options=_LOOK_OPTIONS)
            if found is not None:
                found.add((target, name))
        except ContainerNotFoundError as exc:
            if self.missing_container_fails:
                return [CheckFailure("container_name", str(exc))]
            warn(f"{exc.what}; unless this update makes it, creating the disk will fail: {exc.fix}.")
        except VhdError as exc:
            why = exc.what if isinstance(exc, StorageError) else str(exc).rstrip(".")
            warn(f"container {name!r} could not be checked ({why}); if it does not exist, creating the disk will fail.")
        return []

    def recorded(self, props: Mapping[str, Any]) -> DiskRecord:
        raise NotImplementedError

    def find(self, state: DiskRecord) -> BlobInspection | None:
        """The blob `state` records, as storage has it now, in the account the state records whatever the
        configuration says now; None when it is gone (deleted out of band, or its container with it) or now holds
        another disk (with a warning; it is left untouched): the read then drops it from the state."""
        place = state.inputs
        try:
            found = self.with_fallback(
                place.account,
                lambda t: vhdcore.inspect_blank_vhd(t, container=place.container_name, name=place.blob_name),
                endpoint=state.blob_endpoint or None,
            )
        except ContainerNotFoundError:
            return None  # the container went, and the blob with it
        if found is not None and found.report.azure_ready and state.unique_id is not None and \
                found.unique_id != state.unique_id:
            warn(f"blob {place.blob_name!r} in container {place.container_name!r} now holds another disk (unique id "
                 f"{found.unique_id}, not {state.unique_id}); it is dropped from the state and left untouched.")
            return None
        return found

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        state = self.recorded(props)
        place = state.inputs
        endpoint = state.blob_endpoint or None
        container, name = place.container_name, place.blob_name
        with contextlib.suppress(ContainerNotFoundError):  # the blob went with its container: done
            if state.adopted:
                found = self.with_fallback(
                    place.account, lambda t: vhdcore.inspect_blank_vhd(t, container=container, name=name),
                    endpoint=endpoint,
                )
                if found is None:
                    return
                if not found.made_by_vhdcore:
                    # Taken over, not created, and not made by this tool: never ours to delete.
                    warn(f"blob {name!r} in container {container!r} was left in place because it was adopted "
                         "(adopt_existing or an import), not made by this tool; delete it yourself if it is no longer "
                         "needed.")
                    return
            self.with_fallback(
                place.account,
                lambda t: vhdcore.delete_blank_vhd(t, container=container, name=name, unique_id=state.unique_id),
                endpoint=endpoint,
            )
