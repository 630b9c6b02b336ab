"""The BlankVhd dynamic provider: every Azure call goes through vhdcore.page_blob.

This module is pickled by reference into each resource's `__provider` (module + class name), so
the provider process runs the code on disk: never rename or move it without keeping a shim.
Its top level declares no resources.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

from vhdcore.credentials import StorageTarget
from vhdcore.errors import VhdError
from vhdcore.page_blob import (
    MARKER_KEY,
    BlankVhdBlob,
    BlobExistsError,
    BlobInspection,
    ContainerNotFoundError,
    ShrinkRefusedError,
    create_blank_vhd,
    delete_blank_vhd,
    grow_blank_vhd,
    inspect_blank_vhd,
    set_blank_vhd_metadata,
)
from vhdcore.sizes import FOOTER_SIZE, GiB

from .common import StorageProvider, changed, flag, given, warn
from .vhd_inputs import (
    AUTO_NAME_PREFIX,
    INPUTS,
    REPLACE_ON_CHANGE,
    UNFINISHED_LENGTH,
    changed_inputs,
    check_inputs,
    shrinks,
    size_gb_of,
    unfinished_grow,
)

__all__ = ["AUTO_NAME_PREFIX", "BlankVhdProvider"]


class BlankVhdProvider(StorageProvider):
    """CRUD for one blank fixed VHD; `id` is the blob URL (no SAS)."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, failures = check_inputs(olds, news)
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
        # An explicit name would collide with the old blob (same name, maybe same place): delete it first,
        # unless the new disk is known to go to another account. An auto-named disk gets a fresh name on
        # replacement, so the new one is made first.
        elsewhere = bool(moved) and self.endpoint(news) is not None
        explicit_name = not given(news, AUTO_NAME_PREFIX) and not elsewhere
        return changed(olds, news, replaces, delete_before_replace=explicit_name, inputs_unchanged=not changes)

    def create(self, props: dict[str, Any]) -> CreateResult:
        target = self.target(props)
        container, name, size = _where(props)
        if flag(props, "adopt_existing"):
            found = inspect_blank_vhd(target, container=container, name=name)
            if found is not None:
                _check_adoptable(found, container=container, name=name, size=size)
                return CreateResult(found.url, _from_inspection(props, found, target, adopted=True))
        try:
            blob = create_blank_vhd(target, container=container, name=name, size=size, metadata=props.get("metadata"))
        except BlobExistsError:
            raise BlobExistsError(
                f"blob {name!r} already exists in container {container!r} and was left untouched",
                f"choose another blob_name, delete that blob, or set adopt_existing=True to take it over "
                f"if it is a valid {size // GiB} GiB fixed VHD",
            ) from None
        return CreateResult(blob.url, _from_blob(props, blob, target, adopted=False))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Only in-place changes get here: a bigger size, new metadata, new credentials or flags, or a
        # footer to repair. Each step is safe to repeat, so a failed update is finished by the next `up`.
        target = self.target(news, endpoint=olds.get("blob_endpoint"))  # never moves: diff replaces then
        container, name, size = _where(news)
        adopted = flag(olds, "adopted")
        unique_id = olds.get("unique_id")
        outs = None
        if olds.get("azure_ready") is False:
            outs = _from_inspection(news, self._repair(target, olds, news), target, adopted=adopted)
        elif size > olds.get("size_bytes", 0):
            blob = grow_blank_vhd(target, container=container, name=name, size=size, unique_id=unique_id)
            outs = _from_blob(news, blob, target, adopted=adopted)
        if (olds.get("metadata") or {}) != (news.get("metadata") or {}):
            blob = set_blank_vhd_metadata(
                target, container=container, name=name, metadata=news.get("metadata"), unique_id=unique_id
            )
            outs = outs or _from_blob(news, blob, target, adopted=adopted)
        if outs is None:
            outs = _from_inspection(news, _inspect(target, container, name), target, adopted=adopted)
        return UpdateResult(outs)

    def _repair(self, target: StorageTarget, olds: Mapping[str, Any], news: Mapping[str, Any]) -> BlobInspection:
        """Finish what a refresh found broken, where grow can (an unfinished grow); else say what to do."""
        container, name, size = _where(news)
        where = f"blob {name!r} in container {container!r}"
        try:
            grow_blank_vhd(target, container=container, name=name, size=size, unique_id=olds.get("unique_id"))
        except ShrinkRefusedError:
            raise VhdError(unfinished_grow(container, name, int(olds["blob_length"]), news["size_gb"])) from None
        found = _inspect(target, container, name)
        if not found.report.azure_ready:
            problems = found.report.problems or ["its footer is not valid"]
            raise VhdError(
                f"{where} still has a footer Azure would refuse ({problems[0].rstrip('.')}), which this provider "
                "does not rewrite; replace the disk with `pulumi up --replace` (its data is lost)."
            )
        return found

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        container, name, _ = _where(props)
        endpoint = props.get("blob_endpoint")  # where the disk is, whatever config or env say now
        try:
            found = self.with_fallback(
                props, lambda t: inspect_blank_vhd(t, container=container, name=name), endpoint=endpoint
            )
        except ContainerNotFoundError:
            found = None  # the container went, and the blob with it
        if found is None:
            return ReadResult(None, {})  # deleted out of band: the engine drops it from the state
        claimed = props.get("unique_id")
        if found.report.azure_ready and claimed and found.unique_id != claimed:
            warn(
                f"blob {name!r} in container {container!r} now holds another disk (unique id {found.unique_id}, "
                f"not {claimed}); it is dropped from the state and left untouched."
            )
            return ReadResult(None, {})
        outs = _from_inspection(props, found, self.target(props, endpoint=endpoint), adopted=flag(props, "adopted"))
        # Inputs as they really are, so the next preview diffs the program against reality.
        inputs = {key: props[key] for key in (*INPUTS, AUTO_NAME_PREFIX) if given(props, key)}
        inputs["size_gb"] = outs["size_gb"]
        if not found.report.azure_ready and found.blob_length - FOOTER_SIZE > outs["size_bytes"]:
            # Longer than the disk, no footer at the end: check refuses, at preview, a size that cannot finish it.
            # (Not diff: the engine also diffs inside `pulumi refresh`, which must not fail.)
            inputs[UNFINISHED_LENGTH] = found.blob_length
        return ReadResult(found.url, outs, inputs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        container, name, _ = _where(props)
        endpoint = props.get("blob_endpoint")
        with contextlib.suppress(ContainerNotFoundError):  # the blob went with its container: done
            if flag(props, "adopted"):
                found = self.with_fallback(
                    props, lambda t: inspect_blank_vhd(t, container=container, name=name), endpoint=endpoint
                )
                if found is None:
                    return
                if not any(key.lower() == MARKER_KEY for key in found.metadata):
                    # Taken over, not created, and not made by this tool: never ours to delete.
                    warn(
                        f"blob {name!r} in container {container!r} was left in place because it was adopted "
                        "(adopt_existing), not created by this stack; delete it yourself if it is no longer needed."
                    )
                    return
            self.with_fallback(
                props,
                lambda t: delete_blank_vhd(t, container=container, name=name, unique_id=props.get("unique_id")),
                endpoint=endpoint,
            )


def _where(props: Mapping[str, Any]) -> tuple[str, str, int]:
    """Container, blob name and disk size in bytes (size_gb arrives as a float)."""
    return str(props["container_name"]), str(props["blob_name"]), int(props["size_gb"]) * GiB


def _inspect(target: StorageTarget, container: str, name: str) -> BlobInspection:
    found = inspect_blank_vhd(target, container=container, name=name)
    if found is None:
        raise VhdError(
            f"blob {name!r} in container {container!r} is gone; run `pulumi refresh` to drop it from the state, "
            "then `pulumi up` to create it again."
        )
    return found


def _check_adoptable(found: BlobInspection, *, container: str, name: str, size: int) -> None:
    where = f"blob {name!r} in container {container!r}"
    if not found.report.azure_ready:
        problems = found.report.problems or [f"it is a {found.blob_type}, not a page blob"]
        raise VhdError(
            f"{where} already exists but is not a valid fixed VHD ({problems[0].rstrip('.')}), so it cannot be "
            "adopted and was left untouched; delete it or choose another blob_name."
        )
    footer = found.report.footer
    assert footer is not None  # azure_ready implies a footer
    if footer.current_size != size:
        raise VhdError(
            f"{where} already exists as a {size_gb_of(footer.current_size):g} GiB VHD, not the declared "
            f"{size // GiB} GiB, so it was not adopted and was left untouched; set size_gb to "
            f"{size_gb_of(footer.current_size):g} to adopt it, or choose another blob_name."
        )


def _outputs(props: Mapping[str, Any], target: StorageTarget, **computed: Any) -> dict[str, Any]:
    # Echo every input (credentials keep their names, so the engine keeps them secret), then the
    # computed values; diff() compares the next inputs against these.
    outs = {key: props[key] for key in (*INPUTS, AUTO_NAME_PREFIX) if given(props, key)}
    outs["size_gb"] = size_gb_of(computed["size_bytes"])
    outs["blob_endpoint"] = target.blob_endpoint
    outs.update(computed)
    return outs


def _from_blob(props: Mapping[str, Any], blob: BlankVhdBlob, target: StorageTarget, *, adopted: bool) -> dict[str, Any]:
    return _outputs(
        props, target, url=blob.url, size_bytes=blob.size, blob_length=blob.blob_length,
        unique_id=blob.unique_id, azure_ready=True, adopted=adopted,
    )


def _from_inspection(
    props: Mapping[str, Any], found: BlobInspection, target: StorageTarget, *, adopted: bool
) -> dict[str, Any]:
    ready = found.report.azure_ready
    footer = found.report.footer
    # A footer Azure refuses says nothing reliable about the size: keep the declared one and flag it.
    size = footer.current_size if ready and footer is not None else int(props["size_gb"]) * GiB
    return _outputs(
        props, target, url=found.url, size_bytes=size, blob_length=found.blob_length,
        unique_id=found.unique_id if ready else props.get("unique_id"), azure_ready=ready, adopted=adopted,
    )
