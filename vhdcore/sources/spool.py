"""A random-access format (VHDX, QCOW2, VMDK, VDI, dynamic VHD) from a stream: a sparse temporary file of its data.

These formats are read through tables that point anywhere in the file, so they need random access; a compressed
file (or a web server without ranges, or one whose checksum must cover every byte used) gives only a stream. The
stream is written to an unnamed temporary file (it has no name, so nothing is left behind even if the process is
killed), skipping every all-zero 4 KiB block: the file is as long as the image file, but the disk space it takes
is only the image file's non-zero blocks, which for these formats is the disk's stored data plus its tables (never
a full-size copy of the disk). Then the image is opened from it as from any local file, and the published bytes'
checksum is checked before that.

Before each write the temporary folder must keep SPACE_MARGIN free: a disk that fills up is refused in one line
naming the folder (set TMPDIR to use another).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import IO

from ..errors import ImageError
from ..format.images import DiskImage, Window, nonzero_pages, open_image, widened
from ..format.sizes import PAGE_BLOB_MAX, MiB
from .published import Published

BLOCK = 4096  # the file system's block: a block with any non-zero byte is written whole
SPACE_MARGIN = 256 * MiB


class SpooledImage:
    """An image opened from its sparse temporary copy; named, identified and checked as the published bytes."""

    def __init__(self, published: Published, image: DiskImage, spool: IO[bytes], spooled: int, checksum: str) -> None:
        self.published, self.image, self._spool = published, image, spool
        self.path = published.name
        self.format, self.variant = image.format, image.variant
        self.virtual_size = image.virtual_size
        self.compression = published.compression
        self.spooled_bytes = spooled  # the non-zero bytes written to the temporary file
        self.checksum: str | None = checksum

    @property
    def allocated_bytes(self) -> int:
        return self.image.allocated_bytes

    @property
    def file_size(self) -> int | None:
        return self.published.origin.size

    @property
    def kind(self) -> str:
        base = self.image.kind
        return f"{base}, {self.compression}-compressed" if self.published.compressed else base

    @property
    def bytes_read(self) -> int:
        return self.published.origin.bytes_read

    def stamp(self) -> str:
        return f"{self.published.stamp()}|{self.format}|{self.virtual_size}"

    def unchanged(self) -> bool:
        return self.published.origin.unchanged()

    def read(self, offset: int, length: int) -> bytes:
        return self.image.read(offset, length)

    def windows(self, limit: int, align: int) -> Iterator[Window]:
        return self.image.windows(limit, align)

    def close(self) -> None:
        self.image.close()
        self._spool.close()
        self.published.close()

    def __enter__(self) -> SpooledImage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SpooledImage({self.path!r}, {self.kind}, virtual_size={self.virtual_size})"


def spool(published: Published, format: str | None) -> SpooledImage:
    """Copy the stream's non-zero blocks into an unnamed sparse temporary file, check the checksum, open the image."""
    folder = tempfile.gettempdir()
    try:
        file = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 - kept open while the image is read
    except OSError as exc:
        raise ImageError(f"image {published.name} needs a temporary file for its data, and none could be made in "
                         f"{folder} ({exc.strerror}); set TMPDIR to a writable folder.") from None
    try:
        stream = published.open(limit=PAGE_BLOB_MAX, too_big=lambda limit: f"it holds more than {limit} bytes")
        try:
            fd, pos, written = file.fileno(), 0, 0  # pos: where `carry` starts in the file
            carry = b""  # less than a block, kept for the next read so that blocks stay whole
            while True:
                data = stream.read()
                if not data:
                    data, carry = carry + bytes(-len(carry) % BLOCK), b""  # the end, padded (the file is cut after)
                    if not data:
                        break
                else:
                    data, carry = carry + data, b""
                    whole = len(data) - len(data) % BLOCK
                    data, carry = data[:whole], data[whole:]
                blocks = widened(nonzero_pages(data), BLOCK)
                _room(folder, published.name, written, sum(end - start for start, end in blocks))
                for start, end in blocks:
                    os.pwrite(fd, data[start:end], pos + start)
                    written += end - start
                pos += len(data)
            os.ftruncate(fd, stream.pos)
            pos = stream.pos
            checksum = stream.finish()
        finally:
            stream.close()
        if pos == 0:
            raise ImageError(f"image {published.name} holds no data; give an image that holds a disk.")
        proc = f"/proc/self/fd/{fd}" if os.path.exists("/proc/self/fd") else f"/dev/fd/{fd}"
        try:
            image = open_image(proc, format)
        except ImageError as exc:
            raise type(exc)(str(exc).replace(proc, published.name)) from None
        image.path = image.file.path = published.name
        return SpooledImage(published, image, file, written, checksum)
    except BaseException:
        file.close()
        raise


def _room(folder: str, name: str, written: int, more: int) -> None:
    if not more:
        return
    try:
        info = os.statvfs(folder)
    except OSError:
        return
    if info.f_bavail * info.f_frsize - more < SPACE_MARGIN:
        raise ImageError(f"image {name} needs room for its data in a temporary file, and {folder} is nearly full "
                         f"({written} bytes written so far, {SPACE_MARGIN // MiB} MiB must stay free); set TMPDIR to a "
                         "folder with more free space.")


__all__ = ["SpooledImage", "spool"]
