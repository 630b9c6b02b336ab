"""The BlankVhd provider, the core both front doors run: the dynamic resource's (pickled by reference into each
resource's `__provider`: module + class name) and the plugin's (providers/plugin). Every Azure call goes through
vhdcore.

The provider process of the dynamic resources runs the code on disk: never rename or move it without keeping a shim.
Its top level declares no resources and does not import the Azure SDK (the program process imports
this module too); vhdcore.azure loads it on the first storage call, in the provider process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

import vhdcore
from vhdcore import FOOTER_SIZE, BlobExistsError, GiB, RefusedError, ShrinkRefusedError, StorageTarget, UniqueId

from .common import changed, given, no_change, warn, without_flags
from .disks import DiskProvider
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

if TYPE_CHECKING:
    from vhdcore import BlankVhdBlob, BlobInspection

__all__ = ["BlankVhdProvider"]


class BlankVhdProvider(DiskProvider):
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
        failures += self.check_container(olds, inputs, failures)
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # olds are the state's outputs (they repeat every input); news the checked inputs.
        changes = changed_inputs(olds, news)
        repair = olds.get("azure_ready") is False  # a refresh found a footer Azure would refuse
        # The disk stays in the account the state records, even if only config or AZURE_STORAGE_* moved.
        moved = self.account_replaces(olds, news)
        if not changes and not repair and not moved:
            return no_change()  # also when only __provider differs
        replaces = [key for key in REPLACE_ON_CHANGE if key in changes] + moved
        if "size_gb" in changes and shrinks(olds, news):
            replaces.append("size_gb")
        # A replacement deletes the old disk first (BlankVhd also sets the resource option, so that
        # `pulumi up --replace`, which asks no diff, does the same): the new disk may reuse its name (an
        # explicit blob_name, or the auto-name derived from the resource's identity), and a create must never
        # take the disk that is being replaced for its own earlier attempt.
        return changed(olds, news, changes, replaces, delete_before_replace=True, inputs_unchanged=not changes,
                       also=["azure_ready"] if repair else [])

    def create(self, props: dict[str, Any]) -> CreateResult:
        disk = DiskInputs.from_props(props)
        target = self.target(disk.account)
        if disk.adopt_existing:
            found = vhdcore.inspect_blank_vhd(target, container=disk.container_name, name=disk.blob_name)
            if found is not None:
                _check_adoptable(found, disk)
                return CreateResult(found.url, _from_inspection(disk, found, target, adopted=True).to_outputs())
        try:
            # With our identity as owner, what an interrupted create of this same resource left (its process
            # killed with `pulumi up`, or still running) is finished or taken over; anything else is refused.
            blob = vhdcore.create_blank_vhd(target, container=disk.container_name, name=disk.blob_name,
                                            size=disk.size_bytes, metadata=disk.metadata, owner=self.identity)
        except BlobExistsError as exc:
            # Azure's BlobAlreadyExists: name the blob as the inputs do, keep what vhdcore found it to be (`notes`).
            what = f"blob {disk.blob_name!r} already exists in container {disk.container_name!r} and was left " \
                   f"untouched{''.join(exc.notes)}" if exc.code == "BlobAlreadyExists" else exc.what
            raise BlobExistsError(
                what, f"choose another blob_name, delete that blob, or set adopt_existing to true to take it over if "
                f"it is a valid {disk.size_gb} GiB fixed VHD", status=exc.status, code=exc.code,
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
            blob = vhdcore.grow_blank_vhd(target, container=container, name=name, size=disk.size_bytes,
                                          unique_id=old.unique_id)
            state = _from_blob(disk, blob, target, adopted=old.adopted)
        if old.inputs.metadata != disk.metadata:
            blob = vhdcore.set_blank_vhd_metadata(target, container=container, name=name, metadata=disk.metadata,
                                                  unique_id=old.unique_id)
            state = state or _from_blob(disk, blob, target, adopted=old.adopted)
        if state is None:
            state = _from_inspection(disk, _inspect(target, disk), target, adopted=old.adopted)
        return UpdateResult(state.to_outputs())

    def _repair(self, target: StorageTarget, old: DiskState, disk: DiskInputs) -> BlobInspection:
        """Mend what a refresh found broken: a footer damaged or zeroed out of band is rewritten in place (the
        state knows the disk's size and unique id), an unfinished grow is finished; else say what to do."""
        container, name = disk.container_name, disk.blob_name
        if old.blob_length == old.size_bytes + FOOTER_SIZE and old.unique_id is not None:
            # Only a disk this tool made, of exactly that length and unique id: vhdcore refuses anything else.
            vhdcore.repair_blank_vhd_footer(target, container=container, name=name, size=old.size_bytes,
                                            unique_id=old.unique_id)
        else:
            try:
                vhdcore.grow_blank_vhd(target, container=container, name=name, size=disk.size_bytes,
                                       unique_id=old.unique_id)
            except ShrinkRefusedError:
                raise RefusedError(*unfinished_grow(container, name, old.blob_length, disk.size_gb)) from None
        found = _inspect(target, disk)
        if not found.report.azure_ready:
            problems = found.report.problems or ["its footer is not valid"]
            raise RefusedError(
                f"blob {name!r} in container {container!r} still has a footer Azure would refuse "
                f"({problems[0].rstrip('.')}) after the repair", "run `pulumi refresh`, then `pulumi up` again",
            )
        return found

    def recorded(self, props: Mapping[str, Any]) -> DiskState:
        return DiskState.from_outputs(props)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        if not given(props, "container_name"):
            return self._read_by_url(id_)  # BlankVhd.get() or `pulumi import`: the id (the blob URL) is all there is
        old = self.recorded(props)
        disk = old.inputs
        found = self.find(old)
        if found is None:
            return ReadResult(None, {})  # deleted out of band: the engine drops it from the state
        endpoint = old.blob_endpoint or None  # where the disk is, whatever config or env say now
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
        """A disk known only by its URL: its outputs, and its inputs as check returns them, so that `pulumi import`
        prints code declaring it as it is. It was not made by this resource, so it counts as adopted: destroy
        leaves it in place unless this tool made it."""
        at = self.find_by_url("BlankVhd", url)
        found = at.found
        footer = found.report.footer
        ready = found.report.azure_ready and footer is not None
        size = footer.current_size if ready and footer is not None else found.blob_length - FOOTER_SIZE
        disk = DiskInputs(max(size // GiB, 0), at.container, at.name, at.account, found.user_metadata,
                          adopt_existing=False, allow_shrink_by_replace=False)
        state = _from_inspection(disk, found, self.target(at.account, endpoint=at.endpoint), adopted=True)
        # A size that is not whole GiB is shown as it is: check refuses it with the reason, never rounds it. The
        # flags are left out (check sets them false): the code `pulumi import` prints declares only what is set.
        inputs = {**without_flags(disk.to_props()), "size_gb": size_gb_of(size)}
        return ReadResult(found.url, {**state.to_outputs(), "size_bytes": size, "size_gb": size_gb_of(size)}, inputs)


def _inspect(target: StorageTarget, disk: DiskInputs) -> BlobInspection:
    found = vhdcore.inspect_blank_vhd(target, container=disk.container_name, name=disk.blob_name)
    if found is None:
        raise RefusedError(
            f"blob {disk.blob_name!r} in container {disk.container_name!r} is gone",
            "run `pulumi refresh` to drop it from the state, then `pulumi up` to create it again",
        )
    return found


def _check_adoptable(found: BlobInspection, disk: DiskInputs) -> None:
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


def _from_blob(disk: DiskInputs, blob: BlankVhdBlob, target: StorageTarget, *, adopted: bool) -> DiskState:
    return DiskState(disk, blob.url, target.blob_endpoint, blob.size, blob.blob_length, blob.unique_id,
                     azure_ready=True, adopted=adopted)


def _from_inspection(
    disk: DiskInputs, found: BlobInspection, target: StorageTarget, *, adopted: bool,
    known_id: UniqueId | None = None,
) -> DiskState:
    ready = found.report.azure_ready
    footer = found.report.footer
    # A footer Azure refuses says nothing reliable about the size or id: keep the declared ones and flag it.
    size = footer.current_size if ready and footer is not None else disk.size_bytes
    unique_id = found.unique_id if ready else known_id
    return DiskState(disk, found.url, target.blob_endpoint, size, found.blob_length, unique_id,
                     azure_ready=ready, adopted=adopted)
