"""The BlankVhd dynamic provider: every Azure call goes through vhdcore.azure.

This module is pickled by reference into each resource's `__provider` (module + class name), so
the provider process runs the code on disk: never rename or move it without keeping a shim.
Its top level declares no resources and does not import the Azure SDK (the program process imports
this module too); vhdcore.azure loads it on the first storage call, in the provider process.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

from vhdcore import azure
from vhdcore.azure.credentials import StorageTarget
from vhdcore.azure.names import MARKER_KEY, metadata_value
from vhdcore.errors import BlobExistsError, ContainerNotFoundError, RefusedError, ShrinkRefusedError
from vhdcore.format.sizes import FOOTER_SIZE, GiB
from vhdcore.format.unique_id import UniqueId

from .common import NamingProvider, changed, given, warn
from .vhd_inputs import (
    LEGACY_PREFIX,
    REPLACE_ON_CHANGE,
    UNFINISHED_LENGTH,
    DiskInputs,
    DiskState,
    changed_inputs,
    check_inputs,
    shrinks,
    size_gb_of,
    unfinished_grow,
)

__all__ = ["BlankVhdProvider"]


class BlankVhdProvider(NamingProvider):
    """CRUD for one blank fixed VHD; `id` is the blob URL (no SAS).

    Pickled with `auto_name_prefix` and `identity` only (NamingProvider). check() names an unnamed blob after
    both; the suffix derived from the identity is the same in an interrupted create and its retry, and create
    records the identity in the blob's metadata, so the retry finishes or takes over what the interrupted create
    left instead of refusing it (vhdcore.azure.page_blob, `owner`). States written before 0.2 have no identity:
    their names are random.
    """

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, failures = check_inputs(
            olds, news, name_prefix=self.auto_name_prefix, identity=self.identity, cloud=self.cloud_for(news)
        )
        failures += self.check_account(news)
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # olds are the state's outputs (they repeat every input); news the checked inputs.
        changes = changed_inputs(olds, news)
        repair = olds.get("azure_ready") is False  # a refresh found a footer Azure would refuse
        # The disk stays in the account the state records, even if only config or AZURE_STORAGE_* moved.
        moved = self.account_replaces(olds, news)
        if not changes and not repair and not moved:
            return DiffResult(changes=False)  # also when only __provider differs
        replaces = [key for key in REPLACE_ON_CHANGE if key in changes] + moved
        if "size_gb" in changes and shrinks(olds, news):
            replaces.append("size_gb")
        # A replacement deletes the old disk first (BlankVhd also sets the resource option, so that
        # `pulumi up --replace`, which asks no diff, does the same): the new disk may reuse its name (an
        # explicit blob_name, or the auto-name derived from the resource's identity), and a create must never
        # take the disk that is being replaced for its own earlier attempt.
        return changed(olds, news, replaces, delete_before_replace=True, inputs_unchanged=not changes)

    def create(self, props: dict[str, Any]) -> CreateResult:
        disk = DiskInputs.from_props(props)
        target = self.target(disk.account)
        if disk.adopt_existing:
            found = azure.inspect_blank_vhd(target, container=disk.container_name, name=disk.blob_name)
            if found is not None:
                _check_adoptable(found, disk)
                return CreateResult(found.url, _from_inspection(disk, found, target, adopted=True).to_outputs())
        try:
            # With our identity as owner, what an interrupted create of this same resource left (its process
            # killed with `pulumi up`, or still running) is finished or taken over; anything else is refused.
            blob = azure.create_blank_vhd(target, container=disk.container_name, name=disk.blob_name,
                                          size=disk.size_bytes, metadata=disk.metadata, owner=self.identity)
        except BlobExistsError as exc:
            # vhdcore says what the blob is, in parentheses after "left untouched"; the rest names it by URL.
            said, exists, what = exc.what.partition("already exists and was left untouched")
            raise BlobExistsError(
                f"blob {disk.blob_name!r} already exists in container {disk.container_name!r} and was left "
                f"untouched{what}" if exists else said, f"choose another blob_name, delete that blob, or set "
                f"adopt_existing=True to take it over if it is a valid {disk.size_gb} GiB fixed VHD",
                status=exc.status, code=exc.code,
            ) from None
        for warning in blob.warnings:
            warn(warning)
        return CreateResult(blob.url, _from_blob(disk, blob, target, adopted=False).to_outputs())

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Only in-place changes get here: a bigger size, new metadata, new credentials or flags, or a
        # footer to repair. Each step is safe to repeat, so a failed update is finished by the next `up`.
        old = DiskState.from_outputs(olds)
        disk = DiskInputs.from_props(news)
        target = self.target(disk.account, endpoint=old.blob_endpoint or None)  # never moves: diff replaces then
        container, name = disk.container_name, disk.blob_name
        state: DiskState | None = None
        if not old.azure_ready:
            state = _from_inspection(disk, self._repair(target, old, disk), target, adopted=old.adopted)
        if disk.size_bytes > (state or old).size_bytes:
            blob = azure.grow_blank_vhd(target, container=container, name=name, size=disk.size_bytes,
                                        unique_id=old.unique_id)
            state = _from_blob(disk, blob, target, adopted=old.adopted)
        if old.inputs.metadata != disk.metadata:
            blob = azure.set_blank_vhd_metadata(target, container=container, name=name, metadata=disk.metadata,
                                                unique_id=old.unique_id)
            state = state or _from_blob(disk, blob, target, adopted=old.adopted)
        if state is None:
            state = _from_inspection(disk, _inspect(target, disk), target, adopted=old.adopted)
        return UpdateResult(state.to_outputs())

    def _repair(self, target: StorageTarget, old: DiskState, disk: DiskInputs) -> azure.BlobInspection:
        """Mend what a refresh found broken: a footer damaged or zeroed out of band is rewritten in place (the
        state knows the disk's size and unique id), an unfinished grow is finished; else say what to do."""
        container, name = disk.container_name, disk.blob_name
        if old.blob_length == old.size_bytes + FOOTER_SIZE and old.unique_id is not None:
            # Only a disk this tool made, of exactly that length and unique id: vhdcore refuses anything else.
            azure.repair_blank_vhd_footer(target, container=container, name=name, size=old.size_bytes,
                                          unique_id=old.unique_id)
        else:
            try:
                azure.grow_blank_vhd(target, container=container, name=name, size=disk.size_bytes,
                                     unique_id=old.unique_id)
            except ShrinkRefusedError:
                raise RefusedError(*_sentence(unfinished_grow(container, name, old.blob_length,
                                                             disk.size_gb))) from None
        found = _inspect(target, disk)
        if not found.report.azure_ready:
            problems = found.report.problems or ["its footer is not valid"]
            raise RefusedError(
                f"blob {name!r} in container {container!r} still has a footer Azure would refuse "
                f"({problems[0].rstrip('.')}) after the repair", "run `pulumi refresh`, then `pulumi up` again",
            )
        return found

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        if not given(props, "container_name"):
            return self._read_by_url(id_)  # BlankVhd.get(): the id (the blob URL) is all there is
        disk = DiskInputs.from_props(props)
        old = DiskState.from_outputs(props)
        endpoint = old.blob_endpoint or None  # where the disk is, whatever config or env say now
        try:
            found = self.with_fallback(
                disk.account,
                lambda t: azure.inspect_blank_vhd(t, container=disk.container_name, name=disk.blob_name),
                endpoint=endpoint,
            )
        except ContainerNotFoundError:
            found = None  # the container went, and the blob with it
        if found is None:
            return ReadResult(None, {})  # deleted out of band: the engine drops it from the state
        if found.report.azure_ready and old.unique_id is not None and found.unique_id != old.unique_id:
            warn(
                f"blob {disk.blob_name!r} in container {disk.container_name!r} now holds another disk (unique id "
                f"{found.unique_id}, not {old.unique_id}); it is dropped from the state and left untouched."
            )
            return ReadResult(None, {})
        state = _from_inspection(disk, found, self.target(disk.account, endpoint=endpoint), adopted=old.adopted,
                                 known_id=old.unique_id)
        # Inputs as they really are, so the next preview diffs the program against reality.
        inputs = {**disk.to_props(), "size_gb": size_gb_of(state.size_bytes)}
        if given(props, LEGACY_PREFIX):
            inputs[LEGACY_PREFIX] = props[LEGACY_PREFIX]
        if not found.report.azure_ready and found.blob_length - FOOTER_SIZE > state.size_bytes:
            # Longer than the disk, no footer at the end: check refuses, at preview, a size that cannot finish it.
            # (Not diff: the engine also diffs inside `pulumi refresh`, which must not fail.)
            inputs[UNFINISHED_LENGTH] = found.blob_length
        return ReadResult(found.url, state.to_outputs(), inputs)

    def _read_by_url(self, url: str) -> ReadResult:
        at = self.find_by_url("BlankVhd", url)
        found = at.found
        footer = found.report.footer
        ready = found.report.azure_ready and footer is not None
        size = footer.current_size if ready and footer is not None else found.blob_length - FOOTER_SIZE
        disk = DiskInputs(max(size // GiB, 0), at.container, at.name, at.account, at.user_metadata, False, False)
        state = _from_inspection(disk, found, self.target(at.account), adopted=False)
        return ReadResult(found.url, {**state.to_outputs(), "size_bytes": size, "size_gb": size_gb_of(size)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        old = DiskState.from_outputs(props)
        disk = old.inputs
        endpoint = old.blob_endpoint or None
        container, name = disk.container_name, disk.blob_name
        with contextlib.suppress(ContainerNotFoundError):  # the blob went with its container: done
            if old.adopted:
                found = self.with_fallback(
                    disk.account, lambda t: azure.inspect_blank_vhd(t, container=container, name=name),
                    endpoint=endpoint,
                )
                if found is None:
                    return
                if metadata_value(found.metadata, MARKER_KEY) is None:
                    # Taken over, not created, and not made by this tool: never ours to delete.
                    warn(
                        f"blob {disk.blob_name!r} in container {disk.container_name!r} was left in place because it "
                        "was adopted (adopt_existing), not created by this stack; delete it yourself if it is no "
                        "longer needed."
                    )
                    return
            self.with_fallback(
                disk.account,
                lambda t: azure.delete_blank_vhd(t, container=container, name=name, unique_id=old.unique_id),
                endpoint=endpoint,
            )


def _sentence(text: str) -> tuple[str, str]:
    """A "what; fix." sentence split into its halves, for a StorageError."""
    what, _, fix = text.rstrip(".").partition("; ")
    return what, fix


def _inspect(target: StorageTarget, disk: DiskInputs) -> azure.BlobInspection:
    found = azure.inspect_blank_vhd(target, container=disk.container_name, name=disk.blob_name)
    if found is None:
        raise RefusedError(
            f"blob {disk.blob_name!r} in container {disk.container_name!r} is gone",
            "run `pulumi refresh` to drop it from the state, then `pulumi up` to create it again",
        )
    return found


def _check_adoptable(found: azure.BlobInspection, disk: DiskInputs) -> None:
    where = f"blob {disk.blob_name!r} in container {disk.container_name!r}"
    if not found.report.azure_ready:
        problems = found.report.problems or [f"it is a {found.blob_type}, not a page blob"]
        raise RefusedError(
            f"{where} already exists but is not a valid fixed VHD ({problems[0].rstrip('.')}), so it cannot be "
            "adopted and was left untouched", "delete it or choose another blob_name",
        )
    footer = found.report.footer
    assert footer is not None  # azure_ready implies a footer
    if footer.current_size != disk.size_bytes:
        size = size_gb_of(footer.current_size)
        raise RefusedError(
            f"{where} already exists as a {size:g} GiB VHD, not the declared {disk.size_gb} GiB, so it was not "
            "adopted and was left untouched", f"set size_gb to {size:g} to adopt it, or choose another blob_name",
        )


def _from_blob(disk: DiskInputs, blob: azure.BlankVhdBlob, target: StorageTarget, *, adopted: bool) -> DiskState:
    return DiskState(disk, blob.url, target.blob_endpoint, blob.size, blob.blob_length, blob.unique_id,
                     azure_ready=True, adopted=adopted)


def _from_inspection(
    disk: DiskInputs, found: azure.BlobInspection, target: StorageTarget, *, adopted: bool,
    known_id: UniqueId | None = None,
) -> DiskState:
    ready = found.report.azure_ready
    footer = found.report.footer
    # A footer Azure refuses says nothing reliable about the size or id: keep the declared ones and flag it.
    size = footer.current_size if ready and footer is not None else disk.size_bytes
    unique_id = found.unique_id if ready else known_id
    return DiskState(disk, found.url, target.blob_endpoint, size, found.blob_length, unique_id,
                     azure_ready=ready, adopted=adopted)
