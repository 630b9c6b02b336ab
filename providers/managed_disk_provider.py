"""The ManagedDiskImage provider, the core both front doors run: an Azure managed disk filled from a disk image by
direct upload (vhdcore's upload_to_managed_disk), identified by the disk's resource id.

This module is pickled by reference into each ManagedDiskImage's `__provider` (module + class name): never rename or
move it without keeping a shim. Its top level declares no resources and imports no Azure SDK.

The resource owns its disk (it creates, fills and deletes it) rather than filling a `compute.Disk` declared elsewhere:
a disk created for upload must be written and revoked before any VM may use it, and only the code that created it
with the image's upload size knows when that is (README, "Managed disks").
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

import vhdcore
from vhdcore import (
    ComputeTarget,
    DiskAddress,
    DiskSpec,
    InputError,
    InvalidDiskError,
    VhdError,
    owner_tag,
)

from .common import NamingProvider, changed, given, is_unknown, no_change, progress_line, warn

__all__ = ["ManagedDiskImageProvider"]

FINGERPRINT_TAG = "vhdcore_fingerprint"  # the disk's tag recording the image it was filled with
STAMP = "source_stamp"
# A change of these makes another disk: replace (the disk's identity, its place, or what Azure fixes at create).
REPLACE_ON_CHANGE = ("resource_group_name", "location", "disk_name", "sku", "os_type", "hyperv_generation",
                     "security_type", "subscription_id", "resource_manager_endpoint")
# A change of these alone changes nothing in Azure: the disk is what the fingerprint says.
CONTENT_ONLY = ("source", "format", "guest_state", "verify")
INPUTS = (*REPLACE_ON_CHANGE, *CONTENT_ONLY)
# What only an upload knows: not on a disk read by its id.
UPLOAD_ONLY = ("source", STAMP, "format", "guest_state", "image_format", "image_size", "data_bytes", "verify")


class ManagedDiskImageProvider(NamingProvider):
    """CRUD for one managed disk filled from an image; `id` is the disk's resource id."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = dict(news)
        failures: list[CheckFailure] = []
        imported = news.get("source") is None and given(news, "fingerprint") and \
            olds.get("fingerprint") == news["fingerprint"]
        for key in ("source", "resource_group_name", "location"):
            value = news.get(key)
            if value is None and not (key == "source" and imported):
                failures.append(CheckFailure(key, f"{key} is required."))
            elif value is not None and not is_unknown(value) and (not isinstance(value, str) or not value):
                failures.append(CheckFailure(key, f"{key} {value!r} is not a non-empty string."))
        inputs.setdefault("sku", "Standard_LRS")
        inputs["verify"] = bool(news.get("verify")) and not is_unknown(news.get("verify"))
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
            failures += self._check_image(olds, news, inputs)
        if not given(news, "disk_name") and given(inputs, "fingerprint"):
            same = given(olds, "disk_name") and olds.get("fingerprint") == inputs["fingerprint"]
            inputs["disk_name"] = olds["disk_name"] if same else _auto_name(self.auto_name_prefix, self.identity,
                                                                            str(inputs["fingerprint"]))
        if given(inputs, "disk_name"):
            try:
                DiskAddress(subscription, str(inputs["resource_group_name"]), str(inputs["disk_name"])).validate()
            except VhdError as exc:
                failures.append(CheckFailure("disk_name", str(exc)))
        return CheckResult(inputs, failures)

    def _check_image(self, olds: dict[str, Any], news: dict[str, Any], inputs: dict[str, Any]) -> list[CheckFailure]:
        """Open the image (a refusal fails the preview), size it for a managed disk and take its fingerprint, unless the
        state holds the fingerprint of this very file, untouched since."""
        source, fmt = str(news["source"]), news.get("format")
        try:
            with vhdcore.open_image(source, str(fmt) if fmt is not None else None) as image:
                info = image.file.stat
                stamp = f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}"
                same = all(olds.get(k) == news.get(k) for k in ("source", "format")) and olds.get(STAMP) == stamp \
                    and given(olds, "fingerprint")
                inputs["fingerprint"] = olds["fingerprint"] if same else vhdcore.fingerprint(image)
                inputs[STAMP] = stamp
                vhdcore.upload_disk_size(image)
        except VhdError as exc:
            return [CheckFailure("source", str(exc))]
        return []

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = [k for k in (*INPUTS, "fingerprint") if olds.get(k) != news.get(k) and
                   not (k == "verify" and bool(olds.get(k)) == bool(news.get(k)))]
        real = [k for k in changes if k not in CONTENT_ONLY]
        if not real:
            return no_change()
        replaces = [k for k in (*REPLACE_ON_CHANGE, "fingerprint") if k in real]
        if "fingerprint" in real and not is_unknown(news.get("fingerprint")):
            warn(f"the image {news.get('source')} has new content (fingerprint {olds.get('fingerprint')} is now "
                 f"{news.get('fingerprint')}), so the managed disk will be replaced by a new one; data written to the "
                 "old disk is lost.")
        return changed(olds, news, real, replaces, delete_before_replace=self.auto_name_prefix is None)

    def create(self, props: dict[str, Any]) -> CreateResult:
        address = _address(props)
        spec = _spec(props)  # the disk's fingerprint tag is set by upload_to_managed_disk
        with vhdcore.open_image(str(props["source"]), props.get("format")) as image:
            progress_line(f"uploading {props['source']} into managed disk {address.id}")
            done = vhdcore.upload_to_managed_disk(
                _compute(props), address, image, spec, guest_state=props.get("guest_state"),
                fingerprint=str(props["fingerprint"]), verify=bool(props.get("verify")),
                notes=lambda text: progress_line(f"{props['source']}: {text}"))
            progress_line(f"uploaded {props['source']} into managed disk {address.id}: {done.bytes_sent} bytes sent")
            outs = {**props, "subscription_id": address.subscription, "disk_id": done.id,
                    "fingerprint": done.fingerprint, "upload_size_bytes": done.upload_size, "size_bytes": done.size,
                    "disk_state": done.state, "bytes_sent": done.bytes_sent, "image_format": image.format,
                    "image_size": image.virtual_size, "data_bytes": done.data_bytes}
        return CreateResult(done.id, outs)

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
        recorded = found.tags.get(FINGERPRINT_TAG)
        inputs = {"resource_group_name": address.resource_group, "location": found.location,
                  "disk_name": address.name, "sku": found.sku, "subscription_id": address.subscription}
        for key, value in (("os_type", found.os_type), ("hyperv_generation", found.hyper_v_generation),
                           ("security_type", found.security_type)):
            if value:
                inputs[key] = value
        outs = {**props, **inputs, "disk_id": found.id or address.id, "disk_state": found.state,
                "upload_size_bytes": found.upload_size, "size_bytes": found.size_bytes}
        if not given(props, "source"):
            # `pulumi import` or get: the id is all there is; the disk's tag says which image filled it.
            if not recorded or found.awaiting_upload:
                raise InvalidDiskError(
                    f"ManagedDiskImage: managed disk {id_} "
                    + ("is still waiting for its upload" if found.awaiting_upload else
                       f"records no image fingerprint (no {FINGERPRINT_TAG} tag: a disk this tool did not fill)"),
                    "import a ManagedDiskImage's disk that finished, or re-run the upload that was interrupted")
            inputs["fingerprint"] = recorded
            outs.update(fingerprint=recorded, bytes_sent=0, image_size=0, data_bytes=0, image_format="")
            return ReadResult(found.id or id_, {k: v for k, v in outs.items() if k not in UPLOAD_ONLY or
                                                k in ("image_size", "data_bytes", "image_format")}, inputs)
        state_inputs = {k: props[k] for k in (*INPUTS, "fingerprint", STAMP) if given(props, k)}
        if recorded and recorded != props.get("fingerprint"):
            state_inputs["fingerprint"] = recorded  # the disk holds another image: the next diff replaces it
        return ReadResult(found.id or id_, outs, state_inputs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        # Refused in one sentence (DiskAttachedError) while a VM holds the disk.
        deleted = vhdcore.delete_disk(_compute(props), DiskAddress.from_id(id_))
        if not deleted:
            warn(f"managed disk {id_} was already gone")


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
    """`<resource>-<8 hex>`, the hex from the resource's identity and the image's fingerprint (as VhdImage's blob
    names): a killed `pulumi up` finds its waiting disk again; a new image gets a new disk beside the old one."""
    tag = owner_tag(f"{identity}|{fingerprint}") if identity else fingerprint.removeprefix("sha256:")
    name = re.sub(r"[^A-Za-z0-9_-]", "-", prefix or "disk")[:71]
    return f"{name}-{tag[:8]}"
