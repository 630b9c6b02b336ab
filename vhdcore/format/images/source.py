"""What every image format shares: the container file, the extent map, and the reader built on them.

A format parser reads only metadata (headers, block tables) and returns the allocation map as extents:
(guest offset, length, host offset) triples in guest order. Everything else (reading, scanning for data,
the checks that every mapped range lies inside the file) is done here, once for all formats.
"""

from __future__ import annotations

import bisect
import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from ...errors import CorruptImageError, ImageError

SECTOR = 512
CHUNK = 4 << 20  # the largest Put Page; reads never cross a multiple of it in guest space


class Extent(NamedTuple):
    """`length` bytes of the virtual disk at `guest` are stored at `host` in the image file."""

    guest: int
    length: int
    host: int


class ImageFile:
    """The container file, read with pread only (no shared position), counting every byte read."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        try:
            self.fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise ImageError(f"cannot open image {self.path}: {exc.strerror}; check the path and "
                             "permissions.") from None
        info = os.fstat(self.fd)
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISBLK(info.st_mode)):
            os.close(self.fd)
            raise ImageError(f"image {self.path} is not a regular file or block device; give the image file's path.")
        self.stat = info
        self.size = os.lseek(self.fd, 0, os.SEEK_END)  # st_size is 0 for block devices
        self.bytes_read = 0

    def pread(self, offset: int, length: int) -> bytes:
        """Up to `length` bytes at `offset` (fewer at the end of the file)."""
        try:
            data = os.pread(self.fd, length, offset)
        except OSError as exc:
            raise ImageError(f"cannot read image {self.path} at byte {offset}: {exc.strerror}; check the file and "
                             "the disk it is on.") from None
        self.bytes_read += len(data)
        return data

    def exact(self, offset: int, length: int, what: str) -> bytes:
        """Exactly `length` bytes at `offset`, or CorruptImageError naming `what` was cut off."""
        if offset < 0 or offset + length > self.size:
            raise truncated(self.path, what, offset, length, self.size)
        data = self.pread(offset, length)
        if len(data) != length:
            raise truncated(self.path, what, offset, length, self.size)
        return data

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def truncated(path: str, what: str, offset: int, length: int, size: int) -> CorruptImageError:
    return CorruptImageError(
        f"image {path} is truncated or corrupt: its {what} at byte {offset} ({length} bytes) lies past the end of the "
        f"{size}-byte file; copy the image again from its source."
    )


@dataclass
class ExtentMap:
    """Extents as a parser finds them, in guest order; contiguous ones (guest and host) are merged."""

    virtual_size: int
    extents: list[Extent] = field(default_factory=list)

    def add(self, guest: int, length: int, host: int) -> None:
        length = min(length, self.virtual_size - guest)  # the last block or cluster may pass the disk's end
        if length <= 0:
            return
        if self.extents:
            last = self.extents[-1]
            if last.guest + last.length == guest and last.host + last.length == host:
                self.extents[-1] = Extent(last.guest, last.length + length, last.host)
                return
        self.extents.append(Extent(guest, length, host))


def data_extents(image: ImageFile, limit: int, *, base: int = 0) -> list[Extent]:
    """Where the file system holds data in host bytes [base, base + limit), as guest extents starting at 0.

    SEEK_DATA/SEEK_HOLE read no data; where the file system cannot answer, all of it counts as data.
    """
    found = ExtentMap(limit)
    pos, end = base, base + limit
    try:
        while pos < end:
            start = os.lseek(image.fd, pos, os.SEEK_DATA)
            if start >= end:
                break
            stop = min(os.lseek(image.fd, start, os.SEEK_HOLE), end)
            pos = stop
            # Whole 512-byte pages (file systems answer in blocks; this only matters at an odd end of file).
            start -= (start - base) % SECTOR
            stop = min(stop + -(stop - base) % SECTOR, end)
            found.add(start - base, stop - start, start)
    except OSError as exc:
        if exc.errno != errno.ENXIO:  # ENXIO: no data past pos; anything else: no SEEK_DATA here
            return [Extent(0, limit, base)] if limit > 0 else []
    return found.extents


def without_holes(image: ImageFile, extents: list[Extent], virtual_size: int) -> list[Extent]:
    """Drop the parts of extents whose host bytes are holes in the image file (they read as zeros)."""
    refined = ExtentMap(virtual_size)
    for extent in extents:
        for piece in data_extents(image, extent.length, base=extent.host):
            refined.add(extent.guest + piece.guest, piece.length, piece.host)
    return refined.extents


@dataclass(frozen=True)
class Parsed:
    """What a format parser found: the format, its variant (for people), the disk size and the extents."""

    format: str
    variant: str
    virtual_size: int
    extents: list[Extent]
    holes_known: bool = False  # extents already come from SEEK_DATA (raw, fixed VHD)


class DiskImage:
    """A disk image opened for reading: the virtual disk's size, its allocation map, and its bytes.

    Reads go straight to the host offsets the map gives (pread); ranges outside the map read as zeros.
    `file.bytes_read` counts every byte read from the image file, metadata included.
    """

    def __init__(self, file: ImageFile, parsed: Parsed) -> None:
        self.file = file
        self.path = file.path
        self.format = parsed.format
        self.variant = parsed.variant
        self.virtual_size = parsed.virtual_size
        self.extents: tuple[Extent, ...] = tuple(parsed.extents)
        self._starts = [e.guest for e in self.extents]
        self.metadata_bytes_read = file.bytes_read

    @property
    def allocated_bytes(self) -> int:
        """Bytes of the virtual disk that the image stores (what a full read of the data reads)."""
        return sum(e.length for e in self.extents)

    @property
    def file_size(self) -> int:
        return self.file.size

    @property
    def kind(self) -> str:
        return f"{self.format} ({self.variant})" if self.variant and self.variant != self.format else self.format

    def identity(self) -> str:
        """A cheap key for "the same image file, unchanged": format, size, allocation map, file size and
        modification time (no data read). Resuming an upload requires it to match."""
        digest = hashlib.sha256(f"{self.format}|{self.variant}|{self.virtual_size}|{self.file.size}|"
                                f"{self.file.stat.st_mtime_ns}".encode())
        for extent in self.extents:
            digest.update(b"%d,%d,%d;" % extent)
        return digest.hexdigest()[:32]

    def unchanged(self) -> bool:
        """Whether the image file still has the size and modification time it had when it was opened."""
        try:
            now = os.stat(self.path)
        except OSError:
            return False
        was = self.file.stat
        return (now.st_mtime_ns, now.st_ino, now.st_dev) == (was.st_mtime_ns, was.st_ino, was.st_dev) and (
            not stat.S_ISREG(now.st_mode) or now.st_size == was.st_size)

    def read(self, offset: int, length: int) -> bytes:
        """`length` bytes of the virtual disk at `offset` (zeros where nothing is stored)."""
        if offset < 0 or length < 0 or offset + length > self.virtual_size:
            raise ValueError(f"read of {length} bytes at {offset} is outside the {self.virtual_size}-byte disk")
        out = bytearray(length)
        i = max(bisect.bisect_right(self._starts, offset) - 1, 0)
        end = offset + length
        while i < len(self.extents) and self.extents[i].guest < end:
            extent = self.extents[i]
            lo, hi = max(offset, extent.guest), min(end, extent.guest + extent.length)
            if lo < hi:
                out[lo - offset : hi - offset] = self._host(extent.host + lo - extent.guest, hi - lo)
            i += 1
        return bytes(out)

    def windows(self, limit: int = CHUNK, align: int = SECTOR) -> Iterator[tuple[int, bytes, int]]:
        """The stored data as whole `align`-byte pages: (guest offset, bytes, bytes read from the file) per
        `limit`-aligned window of the disk that holds any extent, from the first page with stored bytes to
        the last, with the gaps between extents filled with zeros (never read). Offsets and lengths are
        multiples of `align` (the disk's end is padded with zeros to a whole page)."""
        end_of_disk = -(-self.virtual_size // align) * align
        window: list[Extent] = []
        current = -1
        for extent in self.extents:
            pos, end = extent.guest, extent.guest + extent.length
            while pos < end:
                index = pos // limit
                stop = min(end, (index + 1) * limit)
                if index != current and window:
                    yield self._window(window, align, end_of_disk)
                    window = []
                current = index
                window.append(Extent(pos, stop - pos, extent.host + pos - extent.guest))
                pos = stop
        if window:
            yield self._window(window, align, end_of_disk)

    def _window(self, pieces: list[Extent], align: int, end_of_disk: int) -> tuple[int, bytes, int]:
        start = pieces[0].guest - pieces[0].guest % align
        last = pieces[-1].guest + pieces[-1].length
        stop = min(last + -last % align, end_of_disk)
        if len(pieces) == 1 and pieces[0].guest == start and pieces[0].length == stop - start:
            return start, self._host(pieces[0].host, pieces[0].length), pieces[0].length  # no copy needed
        buffer = bytearray(stop - start)
        for piece in pieces:
            at = piece.guest - start
            buffer[at : at + piece.length] = self._host(piece.host, piece.length)
        return start, bytes(buffer), sum(piece.length for piece in pieces)

    def _host(self, offset: int, length: int) -> bytes:
        data = self.file.pread(offset, length)
        if len(data) != length:  # the file shrank after it was opened
            raise truncated(self.path, "data", offset, length, self.file.size)
        return data

    @property
    def bytes_read(self) -> int:
        return self.file.bytes_read

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> DiskImage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"DiskImage({self.path!r}, {self.kind}, virtual_size={self.virtual_size}, "
                f"allocated={self.allocated_bytes}, extents={len(self.extents)})")
