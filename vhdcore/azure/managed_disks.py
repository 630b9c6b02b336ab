"""An image into a managed disk by Azure's direct upload, from the control plane to the last page: create the disk
for upload (or find the one an earlier run left), grant write access, send the image into the disk's SAS (and the
VM guest state into its own), revoke access.

A re-run finds the disk still waiting for its upload (ReadyToUpload, or ActiveUpload after a grant), grants
again, reads back what is on it and sends the rest. The requests of each path: docs/managed-disks.md.

A disk is never made usable holding partial data: access is revoked only after every page and the footer are
written (Azure itself refuses a revoke while the blob has no VHD footer). A failure before that leaves the disk in
its upload state, billed as a Standard HDD of its size and usable by no VM, and the error says so and how to finish
or remove it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from ..errors import ImageError, InputError, RefusedError, StorageError, VhdError
from ..format.images import DiskImage, ReadableImage, open_image, upload_disk_size
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
    set_disk_tags,
)
from .credentials import ClientOptions
from .names import FINGERPRINT_TAG, SHA256_TAG
from .upload import DEFAULT_CONNECTIONS, UploadProgress, upload_image_to_sas

Notes = Callable[[str], None]


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
    image: ReadableImage,
    spec: DiskSpec,
    *,
    guest_state: str | None = None,
    fingerprint: str | None = None,
    sha256: str | None = None,
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

    `image` is any image vhdcore.sources.open_source opened (a file or a URL, compressed or not). The disk is tagged
    with what identifies it: `fingerprint`, the image's content fingerprint when the caller took it already (a
    Pulumi preview; the image read must match it, or the disk is left unfinished), and `sha256`, the published
    SHA-256 of an image from a URL or a compressed file (the one the image was opened with, which it checks on every
    pass, or the one a pass computed). Given neither, the fingerprint is taken here, which reads the image once more.
    A resumed disk whose tags say otherwise is tagged with what this run verified once it is finished. Everything
    is checked before the first request; a disk of that name that is not an unfinished upload of this size is
    refused and left as it is.
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
            return _fill(target, address, image, spec, sized.upload_size, state_image, fingerprint, sha256,
                         access_seconds, verify, max_connections, options, progress, say, timestamp)
        finally:
            if owned is not None:
                owned.close()
    finally:
        if state_image is not None:
            state_image.close()


def _fill(target: ComputeTarget, address: DiskAddress, image: ReadableImage, spec: DiskSpec, upload_size: int,
          state_image: DiskImage | None, fingerprint: str | None, sha256: str | None, access_seconds: int, verify: bool,
          max_connections: int, options: ClientOptions | None, progress: Callable[[UploadProgress], None] | None,
          say: Notes, timestamp: datetime | float | None) -> ManagedDiskUpload:
    found = get_disk(target, address)
    created = found is None
    if found is None:
        # The disk records which image it holds as a tag, so that `pulumi import` by its id (a ManagedDiskImage)
        # knows it; a caller that knows neither the fingerprint nor the checksum pays one more read of the image.
        if fingerprint is None and sha256 is None:
            say(f"reading image {image.path} once more, to record its content fingerprint on the disk (its published "
                "SHA-256, when given, spares this pass)")
            fingerprint = image_fingerprint(image)
        which = _image_tags(fingerprint, sha256)
        found = create_upload_disk(target, address, replace(spec, tags={**spec.tags, **which}), upload_size)
    else:
        _check_resumable(found, address, spec, upload_size, fingerprint)
        # The fingerprint the disk was tagged with at its create: the image read must have it, else no footer.
        fingerprint = fingerprint or found.tags.get(FINGERPRINT_TAG)
        say(f"managed disk {address.id} is waiting for its upload ({found.state}): granting access again to resume it")
        recorded = found.tags.get(SHA256_TAG)
        if sha256 is not None and recorded not in (None, sha256):
            # A checksum given wrongly the first time: the pages on the disk are compared with this image all the
            # same, and the tag is set right once the upload is verified.
            say(f"managed disk {address.id} was created for an image of published SHA-256 {recorded}, not {sha256}: "
                "what is on it is read back and compared with this image, and its tag corrected once it is finished")
    where = f"managed disk {address.id}"
    try:
        access = grant_write(target, address, seconds=access_seconds, guest_state=state_image is not None)
        done = upload_image_to_sas(access.disk_sas, image, size=upload_size - FOOTER_SIZE, fingerprint=fingerprint,
                                   verify=verify, max_connections=max_connections, options=options, progress=progress,
                                   notes=say, what=where, timestamp=timestamp)
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
    verified = done.fingerprint if sha256 is None or FINGERPRINT_TAG in found.tags else None
    _retag(target, address, found, _image_tags(verified, sha256), say)
    return ManagedDiskUpload(
        id=address.id if not found.id else found.id, name=address.name, resource_group=address.resource_group,
        location=found.location, sku=found.sku, state="Unattached", upload_size=upload_size,
        size=upload_size - FOOTER_SIZE, fingerprint=done.fingerprint, image_format=image.format,
        image_size=image.virtual_size, data_bytes=done.data_bytes, bytes_sent=done.bytes_sent + state_sent,
        created=created, resumed=done.resumed, guest_state_bytes=state_image.file_size if state_image else 0)


def _image_tags(fingerprint: str | None, sha256: str | None) -> dict[str, str]:
    """The tags that say which image a disk holds."""
    tags = {FINGERPRINT_TAG: fingerprint} if fingerprint is not None else {}
    if sha256 is not None:
        tags[SHA256_TAG] = sha256
    return tags


def _retag(target: ComputeTarget, address: DiskAddress, found: ManagedDisk, verified: dict[str, str],
           say: Notes) -> None:
    """Record which image this run verified where the disk's tags say otherwise (a resumed disk created with a
    wrong checksum, or by another tool); a new disk already has it, so this sends nothing then."""
    if all(found.tags.get(tag) == value for tag, value in verified.items()):
        return
    try:
        set_disk_tags(target, address, {**found.tags, **verified})
    except VhdError as exc:
        shown = " ".join(f"tags.{tag}={value}" for tag, value in verified.items())
        raise exc.amended(f", after the disk was finished and made usable: only its tags are stale; set them with "
                          f"`az disk update --set {shown}`") if isinstance(exc, StorageError) else exc from None
    say(f"managed disk {address.id} now records the image it holds: {', '.join(verified.values())}")


def _check_resumable(found: ManagedDisk, address: DiskAddress, spec: DiskSpec, upload_size: int,
                     fingerprint: str | None) -> None:
    """A disk of that name may be resumed only while it waits for its upload, at this upload size and create option,
    and for an image of this content fingerprint when its tag records one (the content already on it is compared by
    the upload)."""
    left = "so it was left as it is"
    recorded = found.tags.get(FINGERPRINT_TAG)
    if fingerprint is not None and recorded not in (None, fingerprint):
        raise RefusedError(f"managed disk {address.id} is waiting for the upload of another image (content fingerprint "
                           f"{recorded}, this image's is {fingerprint}), {left}",
                           "upload the image it was created for, or delete that disk and run again")
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
            "and resume it (it reads back what is there), or delete the disk with `az disk delete -g "
            f"{address.resource_group} -n {address.name} --subscription {address.subscription}`")
    if isinstance(exc, (StorageError, ImageError)):
        return exc.amended(more)
    return type(exc)(f"{str(exc).removesuffix('.')}{more}.")


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
