"""From an image to the fixed VHD it becomes: its size (whole MiB), and a local sparse fixed VHD file."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ...errors import SizeError
from ..footer import Footer, fixed_footer
from ..local_disk import create_fixed_vhd
from ..sizes import FOOTER_SIZE, MAX_DISK_SIZE, MAX_UPLOAD_DISK, MIN_UPLOAD_DISK, MiB, check_disk_size
from .pages import Scan
from .readable import ReadableImage

Progress = Callable[[Scan], None]


@dataclass(frozen=True)
class DiskSize:
    """The fixed disk an image becomes: `size` bytes (whole MiB), and why it differs from the image, if it does."""

    image_size: int
    size: int
    note: str | None

    @property
    def upload_size(self) -> int:
        """The fixed VHD's length, footer included: what a managed disk for direct upload is created with."""
        return self.size + FOOTER_SIZE


def disk_size(image: ReadableImage, requested: int | None = None, *, field: str = "--size") -> DiskSize:
    """The image's virtual size rounded up to whole MiB (Azure's rule), or `requested` if that is at least as big."""
    virtual = image.virtual_size
    rounded = -(-virtual // MiB) * MiB
    if rounded > MAX_DISK_SIZE:
        raise SizeError(f"image {image.path} holds a {virtual}-byte disk, more than the 8191GiB a page blob can hold "
                        "as a fixed VHD; shrink the disk inside the image first.")
    if requested is not None:
        check_disk_size(requested, field=field)
        if requested < rounded:
            raise SizeError(f"{field} {requested} is smaller than the image's {virtual}-byte disk"
                            f"{' rounded up to whole MiB' if rounded != virtual else ''}, and a disk cannot lose its "
                            f"end; give {rounded} bytes ({rounded // MiB}MiB) or more, or leave it out.")
        # Asked for: nothing to tell on the way, unless it is exactly the rounding the caller may not expect.
        return DiskSize(virtual, requested, _rounding_note(virtual, rounded) if requested == rounded else None)
    return DiskSize(virtual, rounded, _rounding_note(virtual, rounded))


def upload_disk_size(image: ReadableImage) -> DiskSize:
    """The disk an image becomes in a managed disk filled by Azure's direct upload: its virtual size rounded up to whole
    MiB, and at least the 20 MiB such a disk holds (the added bytes read as zeros), at most 32 TiB."""
    virtual = image.virtual_size
    rounded = -(-virtual // MiB) * MiB
    if rounded > MAX_UPLOAD_DISK:
        raise SizeError(f"image {image.path} holds a {virtual}-byte disk, more than the 32 TiB a managed disk can be "
                        "uploaded into; shrink the disk inside the image first.")
    if rounded >= MIN_UPLOAD_DISK:
        return DiskSize(virtual, rounded, _rounding_note(virtual, rounded))
    return DiskSize(virtual, MIN_UPLOAD_DISK, (
        f"the image's {virtual}-byte disk is smaller than the 20 MiB a managed disk for direct upload holds, so it "
        f"becomes a {MIN_UPLOAD_DISK}-byte fixed VHD (the {MIN_UPLOAD_DISK - virtual} bytes added read as zeros)"))


def _rounding_note(virtual: int, rounded: int) -> str | None:
    if rounded == virtual:
        return None
    return (f"the image's {virtual}-byte disk is not a whole number of MiB, which Azure requires, so it becomes a "
            f"{rounded}-byte fixed VHD (rounded up; the {rounded - virtual} bytes added read as zeros)")


@dataclass(frozen=True)
class Converted:
    path: str
    footer: Footer
    data_bytes: int
    fingerprint: str


def convert_to_fixed_vhd(
    image: ReadableImage,
    dest: str | os.PathLike[str],
    *,
    size: int | None = None,
    force: bool = False,
    timestamp: datetime | float | None = None,
    unique_id: bytes | None = None,
    progress: Progress | None = None,
) -> Converted:
    """Write `image` as a sparse fixed VHD at `dest`: only non-zero pages are written, the rest stays holes.

    Built under a temporary name and linked into place (create_fixed_vhd): a failure leaves nothing at `dest`,
    and without `force` an existing file is never replaced.
    """
    target = disk_size(image, size)
    footer = fixed_footer(target.size, timestamp=timestamp, unique_id=unique_id)
    scan = Scan(image, progress=progress)

    def fill(fd: int) -> None:
        pwrite = os.pwrite
        for offset, data, runs in scan.windows():  # written from the reader's buffer: no copy per run
            view = memoryview(data)
            for start, end in runs:
                pwrite(fd, view[start:end], offset + start)
            view.release()

    create_fixed_vhd(dest, footer, force=force, fill=fill)
    return Converted(os.fspath(dest), footer, scan.data_bytes, scan.fingerprint)
