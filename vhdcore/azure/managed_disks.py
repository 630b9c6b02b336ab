"""An image into a managed disk by Azure's direct upload, from the control plane to the last page: create the disk
for upload (or find the one an earlier run left), grant write access, send the image into the disk's SAS (and the
VM guest state into its own), revoke access.

Requests on the happy path (compute.py, upload.py's SAS mode): a token, GET disk (404), PUT disk (202, its status
polled until Succeeded, then GET), POST beginGetAccess (202, polled, then its Location: the SAS), HEAD blob, Get
Page Ranges, one Put Page per run of non-zero 4 KiB pages, HEAD, Put Page of the footer, POST endGetAccess (202,
polled). A re-run finds the disk still waiting for its upload (ReadyToUpload, or ActiveUpload after a grant),
grants again, reads back what is on it and sends the rest.

A disk is never made usable holding partial data: access is revoked only after every page and the footer are
written (Azure itself refuses a revoke while the blob has no VHD footer). A failure before that leaves the disk in
its upload state, billed as a Standard HDD of its size and usable by no VM, and the error says so and how to finish
or remove it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from ..errors import InputError, RefusedError, StorageError, VhdError
from ..format.images import DiskImage, open_image, upload_disk_size
from ..format.images import fingerprint as image_fingerprint
from ..format.sizes import FOOTER_SIZE
from .compute import (
    DEFAULT_ACCESS_SECONDS,
    ComputeTarget,
    DiskAddress,
    DiskSpec,
    ManagedDisk,
    create_upload_disk,
    get_disk,
    grant_write,
    revoke_access,
)
from .credentials import ClientOptions
from .upload import DEFAULT_CONNECTIONS, UploadProgress, upload_image_to_sas

Notes = Callable[[str], None]
# The disk's tag that records the content fingerprint of the image it was filled with (what an import reads).
FINGERPRINT_TAG = "vhdcore_fingerprint"


@dataclass(frozen=True)
class ManagedDiskUpload:
    """A managed disk filled from an image and made usable, and what this run did to get there."""

    id: str
    name: str
    resource_group: str
    location: str
    sku: str
    state: str  # Unattached: usable
    upload_size: int
    size: int
    fingerprint: str
    image_format: str
    image_size: int
    data_bytes: int
    bytes_sent: int  # Put Page bodies this run (footer included; the guest state's too)
    created: bool  # this run created the disk (False: an earlier run's was resumed)
    resumed: bool  # pages an earlier run wrote were found, read back and kept
    guest_state_bytes: int  # of the VM guest state file, 0 without one


def upload_to_managed_disk(
    compute: ComputeTarget,
    address: DiskAddress,
    image: DiskImage,
    spec: DiskSpec,
    *,
    guest_state: str | None = None,
    fingerprint: str | None = None,
    access_seconds: int = DEFAULT_ACCESS_SECONDS,
    verify: bool = False,
    max_connections: int = DEFAULT_CONNECTIONS,
    options: ClientOptions | None = None,
    progress: Callable[[UploadProgress], None] | None = None,
    notes: Notes | None = None,
    timestamp: datetime | float | None = None,
) -> ManagedDiskUpload:
    """Create managed disk `address` for upload (or resume the one an earlier run left), fill it with `image` (and its
    VM guest state, a fixed VHD file, for a disk whose spec names a security type), and make it usable.

    `fingerprint`: the image's, when the caller took it already (a Pulumi preview); the image read must match it, or
    the disk is left unfinished. Everything is checked before the first request; a disk of that name that is not an
    unfinished upload of this size is refused and left as it is.
    """
    address.validate()
    spec.validate()
    say = notes or (lambda _text: None)
    sized = upload_disk_size(image)
    if sized.note:
        say(sized.note)
    if (guest_state is None) != (spec.security_type is None):
        raise InputError("a VM guest state file goes with a security type (TrustedLaunch or ConfidentialVM_...), and "
                         "each needs the other; give both --security-type and --guest-state, or neither.")
    state_image = _guest_state(guest_state) if guest_state is not None else None
    try:
        credential = compute.credential
        owned = None
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = owned = DefaultAzureCredential()
        target = ComputeTarget(compute.endpoint, credential)
        try:
            return _fill(target, address, image, spec, sized.upload_size, state_image, fingerprint, access_seconds,
                         verify, max_connections, options, progress, say, timestamp)
        finally:
            if owned is not None:
                owned.close()
    finally:
        if state_image is not None:
            state_image.close()


def _fill(target: ComputeTarget, address: DiskAddress, image: DiskImage, spec: DiskSpec, upload_size: int,
          state_image: DiskImage | None, fingerprint: str | None, access_seconds: int, verify: bool,
          max_connections: int, options: ClientOptions | None, progress: Callable[[UploadProgress], None] | None,
          say: Notes, timestamp: datetime | float | None) -> ManagedDiskUpload:
    found = get_disk(target, address)
    created = found is None
    if found is None:
        # The disk records the image's content fingerprint as a tag, so that `pulumi import` by its id (a
        # ManagedDiskImage) knows which image it holds; a caller that did not take it pays one more read of the
        # image's stored data.
        fingerprint = fingerprint or image_fingerprint(image)
        tagged = replace(spec, tags={**spec.tags, FINGERPRINT_TAG: fingerprint})
        found = create_upload_disk(target, address, tagged, upload_size)
    else:
        _check_resumable(found, address, spec, upload_size)
        say(f"managed disk {address.id} is waiting for its upload ({found.state}): granting access again to resume it")
    where = f"managed disk {address.id}"
    try:
        access = grant_write(target, address, seconds=access_seconds, guest_state=state_image is not None)
        done = upload_image_to_sas(access.disk_sas, image, size=upload_size - FOOTER_SIZE, verify=verify,
                                   max_connections=max_connections, options=options, progress=progress, notes=say,
                                   what=where, timestamp=timestamp)
        if fingerprint is not None and done.fingerprint != fingerprint:
            raise InputError(f"image {image.path} changed after its fingerprint was taken ({fingerprint}, now "
                             f"{done.fingerprint}); run again to upload the image as it is now.")
        state_sent = 0
        if state_image is not None:
            assert access.guest_state_sas is not None
            state = upload_image_to_sas(access.guest_state_sas, state_image, size=state_image.virtual_size,
                                        footer=_own_footer(state_image), max_connections=max_connections,
                                        options=options, notes=say, what=f"the VM guest state of {where}")
            state_sent = state.bytes_sent
    except VhdError as exc:
        raise _unfinished(exc, address, upload_size) from None
    revoke_access(target, address)
    return ManagedDiskUpload(
        id=address.id if not found.id else found.id, name=address.name, resource_group=address.resource_group,
        location=found.location, sku=found.sku, state="Unattached", upload_size=upload_size,
        size=upload_size - FOOTER_SIZE, fingerprint=done.fingerprint, image_format=image.format,
        image_size=image.virtual_size, data_bytes=done.data_bytes, bytes_sent=done.bytes_sent + state_sent,
        created=created, resumed=done.resumed, guest_state_bytes=state_image.file_size if state_image else 0)


def _check_resumable(found: ManagedDisk, address: DiskAddress, spec: DiskSpec, upload_size: int) -> None:
    """A disk of that name may be resumed only while it waits for its upload, at this upload size and create option."""
    left = "so it was left as it is"
    if not found.awaiting_upload:
        attached = f", attached to {found.managed_by}" if found.managed_by else ""
        raise RefusedError(f"managed disk {address.id} already exists and is not waiting for an upload (state "
                           f"{found.state}{attached}), {left}", "choose another disk name, or delete that disk first")
    if found.upload_size != upload_size:
        raise RefusedError(f"managed disk {address.id} is waiting for an upload of {found.upload_size} bytes, but this "
                           f"image's fixed VHD is {upload_size} bytes, {left}",
                           "upload the image it was created for, or delete that disk and run again")
    if found.create_option != spec.create_option:
        raise RefusedError(f"managed disk {address.id} was created with option {found.create_option}, not "
                           f"{spec.create_option} (a VM guest state goes with a security type), {left}",
                           "give the same --security-type as when it was created, or delete that disk first")


def _unfinished(exc: VhdError, address: DiskAddress, upload_size: int) -> VhdError:
    """The error of a failed upload, saying what it leaves and what that costs."""
    gib = upload_size / (1 << 30)
    more = (f"; managed disk {address.id} was left waiting for its upload (not usable by any VM, billed as a Standard "
            f"HDD of {gib:.3g} GiB until it is finished or deleted): run the same command again to grant access again "
            "and resume it, or delete the disk")
    if isinstance(exc, StorageError):
        return exc.amended(more)
    error = type(exc)(f"{str(exc).removesuffix('.')}{more}.")
    return error


def _guest_state(path: str) -> DiskImage:
    """The VM guest state file, which must be a fixed VHD: it is sent byte for byte (its own footer last)."""
    image = open_image(path)
    if (image.format, image.variant) != ("vhd", "fixed") or image.file_size != image.virtual_size + FOOTER_SIZE:
        image.close()
        raise InputError(f"VM guest state {path} is not a fixed VHD ({image.format} {image.variant or ''}); give the "
                         "guest state file Azure exports (a fixed VHD), as it is.")
    return image


def _own_footer(image: DiskImage) -> bytes:
    """A fixed VHD file's own footer: its last 512 bytes (open_image checked them)."""
    return image.file.exact(image.virtual_size, FOOTER_SIZE, "footer")
