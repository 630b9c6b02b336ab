"""The ManagedDiskImage provider, the core both front doors run: an Azure managed disk filled from a disk image by
direct upload (vhdcore's upload_to_managed_disk), identified by the disk's resource id.

This module is pickled by reference into each ManagedDiskImage's `__provider` (module + class name): never rename or
move it without keeping a shim. Its top level declares no resources and imports no Azure SDK.

The resource owns its disk (it creates, fills and deletes it) rather than filling a `compute.Disk` declared elsewhere:
a disk created for upload must be written and revoked before any VM may use it, and only the code that created it
with the image's upload size knows when that is (docs/managed-disks.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

import vhdcore
from vhdcore import (
    FINGERPRINT_TAG,
    OWNER_TAG,
    SHA256_TAG,
    ChecksumMismatchError,
    ComputeTarget,
    DiskAddress,
    DiskSpec,
    InputError,
    InvalidDiskError,
    StorageError,
    VhdError,
    owner_tag,
)

from .common import NamingProvider, changed, flag, given, is_unknown, no_change, progress_line, warn
from .image_source import (
    FINGERPRINT,
    SHA256,
    SOURCE_ONLY,
    STAMP,
    check_source_inputs,
    deciding_version,
    identify,
    is_published,
    name_tag,
    open_for_upload,
    shown,
    version_key,
)

__all__ = ["ManagedDiskImageProvider"]

# A change of these makes another disk: replace (the disk's identity, its place, or what Azure fixes at create).
REPLACE_ON_CHANGE = ("resource_group_name", "location", "disk_name", "sku", "os_type", "hyperv_generation",
                     "security_type", "subscription_id", "resource_manager_endpoint")
# A change of these alone changes nothing in Azure: the disk is what the image's version says.
CONTENT_ONLY = (*SOURCE_ONLY, "guest_state", "verify")
INPUTS = (*REPLACE_ON_CHANGE, *CONTENT_ONLY, SHA256)
# What only an upload knows: not on a disk read by its id.
UPLOAD_ONLY = ("source", STAMP, "format", "compression", "guest_state", "image_format", "image_size", "data_bytes",
               "verify")
# Which tag records which input of the image's version (vhdcore.azure.managed_disks tags every disk it creates).
TAGS = ((FINGERPRINT_TAG, FINGERPRINT), (SHA256_TAG, SHA256))


class ManagedDiskImageProvider(NamingProvider):
    """CRUD for one managed disk filled from an image; `id` is the disk's resource id."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = dict(news)
        # `pulumi import` checks the inputs read() returned: the disk's tags say which image filled it, not where
        # it came from (the program that declares it names the source).
        imported = news.get("source") is None and given(news, FINGERPRINT) and \
            olds.get(FINGERPRINT) == news[FINGERPRINT]
        failures = check_source_inputs(news, inputs, require_source=not imported)
        for key in ("resource_group_name", "location"):
            value = news.get(key)
            if value is None:
                failures.append(CheckFailure(key, f"{key} is required."))
            elif not is_unknown(value) and (not isinstance(value, str) or not value):
                failures.append(CheckFailure(key, f"{key} {value!r} is not a non-empty string."))
        inputs.setdefault("sku", "Standard_LRS")
        inputs["verify"] = flag(news, "verify")
        if any(is_unknown(news.get(k)) for k in INPUTS) or failures:
            return CheckResult(inputs, failures)
        subscription = news.get("subscription_id") or os.environ.get("AZURE_SUBSCRIPTION_ID")
        if not subscription:
            return CheckResult(inputs, [CheckFailure("subscription_id", "no subscription given; set subscription_id "
                                                     "or AZURE_SUBSCRIPTION_ID.")])
        inputs["subscription_id"] = subscription
        try:
            spec = _spec(inputs)
            spec.validate()
            ComputeTarget.resolve(inputs.get("resource_manager_endpoint"))
            if (inputs.get("guest_state") is None) != (inputs.get("security_type") is None):
                raise InputError("guest_state and security_type go together: give both (a Trusted Launch or "
                                 "Confidential VM disk with its VM guest state) or neither.")
        except VhdError as exc:
            return CheckResult(inputs, [CheckFailure("", str(exc))])
        if not imported:
            failures += identify(olds, inputs, _sized)
        # The version that names the disk and decides replacement: the content fingerprint of a local image, the
        # published SHA-256 of a URL or a compressed file (its fingerprint is learned by the upload).
        key = version_key(inputs)
        if not given(news, "disk_name") and inputs.get(key):
            same = given(olds, "disk_name") and olds.get(key) == inputs[key]
            version = f"sha256:{inputs[key]}" if key == SHA256 else str(inputs[key])
            inputs["disk_name"] = olds["disk_name"] if same else _auto_name(self.auto_name_prefix, self.identity,
                                                                            version)
        if given(inputs, "disk_name"):
            try:
                DiskAddress(subscription, str(inputs["resource_group_name"]), str(inputs["disk_name"])).validate()
            except VhdError as exc:
                failures.append(CheckFailure("disk_name", str(exc)))
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = [k for k in (*INPUTS, FINGERPRINT) if olds.get(k) != news.get(k) and
                   not (k == "verify" and flag(olds, k) == flag(news, k))]
        key = deciding_version(olds, news, changes)
        real = [k for k in changes if k not in CONTENT_ONLY]
        if not real:
            return no_change()
        replaces = [k for k in (*REPLACE_ON_CHANGE, key) if k in real]
        if key in real and not is_unknown(news.get(key)):
            what = "fingerprint" if key == FINGERPRINT else "source_sha256"
            warn(f"the image {shown(news.get('source'))} has new content ({what} {olds.get(key)} is now "
                 f"{news.get(key)}), so the managed disk will be replaced by a new one; data written to the old disk "
                 "is lost.")
        return changed(olds, news, real, replaces, delete_before_replace=self.auto_name_prefix is None)

    def create(self, props: dict[str, Any]) -> CreateResult:
        address = _address(props)
        # The tag of the image's version is set by upload_to_managed_disk; the owner's tells this resource's disk.
        spec = _spec(props, {OWNER_TAG: owner_tag(self.identity)} if self.identity else None)
        published = is_published(props.get("source"), props.get("compression"))
        source = shown(props["source"])
        with open_for_upload(props) as image:
            progress_line(f"uploading {source} into managed disk {address.id}")
            try:
                done = vhdcore.upload_to_managed_disk(
                    _compute(props), address, image, spec, guest_state=props.get("guest_state"),
                    fingerprint=None if published else str(props[FINGERPRINT]),
                    sha256=str(props[SHA256]) if published else None, verify=flag(props, "verify"),
                    notes=lambda text: progress_line(f"{source}: {text}"))
            except ChecksumMismatchError as exc:
                # As VhdImage's blob: under an auto-name (which follows source_sha256) the corrected run makes
                # another disk, so the one this run left waiting for its upload (billed) goes now; under a
                # disk_name the corrected run resumes it by content.
                if published and self._auto_named(props):
                    raise self._without_unfinished(_compute(props), address, exc) from None
                raise
            progress_line(f"uploaded {source} into managed disk {address.id}: {done.bytes_sent} bytes sent")
            outs = {**props, "subscription_id": address.subscription, "disk_id": done.id,
                    FINGERPRINT: done.fingerprint, "upload_size_bytes": done.upload_size, "size_bytes": done.size,
                    "disk_state": done.state, "bytes_sent": done.bytes_sent, "image_format": image.format,
                    "image_size": image.virtual_size, "data_bytes": done.data_bytes}
        return CreateResult(done.id, outs)

    def _auto_named(self, props: Mapping[str, Any]) -> bool:
        """Whether the disk bears the auto-name of this resource and this source_sha256 (check() gave it)."""
        return self.auto_name_prefix is not None and props.get("disk_name") == _auto_name(
            self.auto_name_prefix, self.identity, f"sha256:{props.get(SHA256)}")

    def _without_unfinished(self, compute: ComputeTarget, address: DiskAddress,
                            exc: ChecksumMismatchError) -> ChecksumMismatchError:
        """`exc`, after deleting the disk this create left under the auto-name: only one still waiting for its upload
        and tagged with this resource as its owner. What is not that stays, as the upload's error says."""
        where = f"managed disk {address.id}"
        try:
            found = vhdcore.get_disk(compute, address)
            if found is None or not found.awaiting_upload or self.identity is None or \
                    found.tags.get(OWNER_TAG) != owner_tag(self.identity):
                return exc  # nothing was made (the checksum was known before the create), or it is not ours to delete
            vhdcore.delete_disk(compute, address)
        except VhdError as failed:
            why = failed.what if isinstance(failed, StorageError) else str(failed).rstrip(".")
            return ChecksumMismatchError(
                f"{exc.what}; the unfinished disk, {where}, that this update made could not be deleted ({why}), so it "
                "is left waiting for its upload (billed, usable by no VM): delete it with `az disk delete -g "
                f"{address.resource_group} -n {address.name} --subscription {address.subscription}` before fixing "
                "source_sha256", exc.fix, expected=exc.expected, found=exc.found)
        return ChecksumMismatchError(
            f"{exc.what}; the unfinished disk, {where}, that this update made was deleted, so fixing source_sha256 "
            "leaves nothing behind", exc.fix, expected=exc.expected, found=exc.found)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Only what changes nothing in Azure reaches here (the file's name, its format's spelling, verify).
        return UpdateResult({**olds, **news})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        address = DiskAddress.from_id(id_)
        found = vhdcore.get_disk(_compute(props), address)
        if found is None:
            if not given(props, "source"):
                raise InvalidDiskError(f"ManagedDiskImage: no managed disk {id_}", "check the disk's resource id")
            return ReadResult(None, {})
        recorded = {key: found.tags[tag] for tag, key in TAGS if found.tags.get(tag)}
        inputs = {"resource_group_name": address.resource_group, "location": found.location,
                  "disk_name": address.name, "sku": found.sku, "subscription_id": address.subscription}
        for key, value in (("os_type", found.os_type), ("hyperv_generation", found.hyper_v_generation),
                           ("security_type", found.security_type)):
            if value:
                inputs[key] = value
        outs = {**props, **inputs, "disk_id": found.id or address.id, "disk_state": found.state,
                "upload_size_bytes": found.upload_size, "size_bytes": found.size_bytes}
        if not given(props, "source"):
            # `pulumi import` or get: the id is all there is; the disk's tags say which image filled it.
            if not recorded or found.awaiting_upload:
                raise InvalidDiskError(
                    f"ManagedDiskImage: managed disk {id_} "
                    + ("is still waiting for its upload" if found.awaiting_upload else
                       f"has neither a {FINGERPRINT_TAG} nor a {SHA256_TAG} tag saying which image it holds (a disk "
                       "this tool did not fill)"),
                    "import a ManagedDiskImage's disk that finished, or re-run the upload that was interrupted")
            # An image from a URL or a compressed file is known by its published SHA-256; its fingerprint, learned
            # by the upload, is not on the disk.
            inputs[FINGERPRINT] = recorded.get(FINGERPRINT, "")
            if SHA256 in recorded:
                inputs[SHA256] = recorded[SHA256]
            outs.update(inputs, bytes_sent=0, image_size=0, data_bytes=0, image_format="")
            return ReadResult(found.id or id_, {k: v for k, v in outs.items() if k not in UPLOAD_ONLY or
                                                k in ("image_size", "data_bytes", "image_format")}, inputs)
        state_inputs = {k: props[k] for k in (*INPUTS, FINGERPRINT, STAMP) if given(props, k)}
        for key, value in recorded.items():
            if given(props, key) and value != props[key]:
                state_inputs[key] = value  # the disk holds another image: the next diff replaces it
        return ReadResult(found.id or id_, outs, state_inputs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        # Refused in one sentence (DiskAttachedError) while a VM holds the disk.
        deleted = vhdcore.delete_disk(_compute(props), DiskAddress.from_id(id_))
        if not deleted:
            warn(f"managed disk {id_} was already gone")


def _sized(image: vhdcore.SourceImage) -> list[CheckFailure]:
    """A local image must fit a managed disk (at most 32 TiB)."""
    try:
        vhdcore.upload_disk_size(image)
    except VhdError as exc:
        return [CheckFailure("source", str(exc))]
    return []


def _compute(props: Mapping[str, Any]) -> ComputeTarget:
    return ComputeTarget.resolve(props.get("resource_manager_endpoint"))


def _address(props: Mapping[str, Any]) -> DiskAddress:
    subscription = props.get("subscription_id") or os.environ.get("AZURE_SUBSCRIPTION_ID") or ""
    return DiskAddress(str(subscription), str(props["resource_group_name"]), str(props["disk_name"]))


def _spec(props: Mapping[str, Any], tags: dict[str, str] | None = None) -> DiskSpec:
    def text(key: str) -> str | None:
        return str(props[key]) if given(props, key) else None

    return DiskSpec(str(props["location"]), str(props.get("sku") or "Standard_LRS"), text("os_type"),
                    text("hyperv_generation"), text("security_type"), tags or {})


def _auto_name(prefix: str | None, identity: str | None, fingerprint: str) -> str:
    """`<resource>-<8 hex>`, the resource name cut to what a disk name allows (80 letters, digits, `_` or `-`), the
    hex from the resource's identity and the image's version, as VhdImage's blob names (image_source.name_tag)."""
    name = re.sub(r"[^A-Za-z0-9_-]", "-", prefix or "disk")[:71]
    return f"{name}-{name_tag(identity, fingerprint)}"
