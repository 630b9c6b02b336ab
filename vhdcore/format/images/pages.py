"""The virtual disk's data as runs of 512-byte pages that hold a non-zero byte, and its content fingerprint.

Page blobs store 512-byte pages and read unwritten ones as zeros, so only pages holding a non-zero byte
need to be sent or written. One pass reads what the allocation map stores (never the holes), finds
those pages and hashes them:

    scan = Scan(image)
    for run in scan:            # PageRun(offset, data): offset and len(data) multiples of 512, <= 4 MiB
        ...
    scan.fingerprint            # after the loop: "sha256:<64 hex>"

The fingerprint is a function of the virtual disk's content only (its size, and every non-zero page with
its offset), not of the container: a raw file and a qcow2 of the same disk have the same fingerprint,
and so does the fixed VHD made from them.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .source import CHUNK, DiskImage

PAGE = 512
_ZEROS = bytes(CHUNK)
_ZERO_PAGE = bytes(PAGE)
_BLOCK = 64 << 10  # looked at as a whole before its pages
_VERSION = b"blank-vhd fingerprint 1\0"


@dataclass(frozen=True)
class PageRun:
    """Consecutive non-zero pages of the virtual disk: `data` belongs at guest byte `offset`."""

    offset: int
    data: bytes

    @property
    def end(self) -> int:
        return self.offset + len(self.data)


def nonzero_pages(data: bytes) -> list[tuple[int, int]]:
    """[start, end) byte ranges of `data` (a multiple of 512 bytes long) made of pages holding a non-zero byte."""
    size = len(data)
    if data == _ZEROS[:size]:
        return []
    found: list[tuple[int, int]] = []
    start = -1
    for block in range(0, size, _BLOCK):
        piece = data[block : block + _BLOCK]
        if piece == _ZEROS[: len(piece)]:
            if start >= 0:
                found.append((start, block))
                start = -1
            continue
        if piece.find(_ZERO_PAGE) < 0:  # no 512 zero bytes anywhere in it, so no zero page either
            if start < 0:
                start = block
            continue
        for page in range(block, block + len(piece), PAGE):
            if data[page : page + PAGE] != _ZERO_PAGE:
                if start < 0:
                    start = page
            elif start >= 0:
                found.append((start, page))
                start = -1
    if start >= 0:
        found.append((start, size))
    return found


class Fingerprint:
    """SHA-256 over the disk size, the non-zero pages' data, and their offsets as maximal runs.

    Runs must be added in increasing offset order; how they were split (by chunk or by format) does not
    change the result.
    """

    def __init__(self, virtual_size: int) -> None:
        self.virtual_size = virtual_size
        self._data = hashlib.sha256()
        self._map = hashlib.sha256()
        self._run: tuple[int, int] | None = None  # the maximal run being extended

    def add(self, offset: int, data: bytes | memoryview) -> None:
        self._data.update(data)
        end = offset + len(data)
        if self._run is not None and self._run[1] == offset:
            self._run = (self._run[0], end)
            return
        self._flush()
        self._run = (offset, end)

    def _flush(self) -> None:
        if self._run is not None:
            self._map.update(struct.pack(">QQ", *self._run))
            self._run = None

    def hexdigest(self) -> str:
        self._flush()
        final = hashlib.sha256(_VERSION + struct.pack(">Q", self.virtual_size))
        final.update(self._map.digest() + self._data.digest())
        return f"sha256:{final.hexdigest()}"


class Scan:
    """One pass over an image's stored data, yielding its non-zero page runs (each at most `limit` bytes).

    Counters (bytes read from the allocation map so far, non-zero bytes found) are live during the
    loop, and `progress(scan)` is called after each chunk; `fingerprint` is complete once the loop has finished.
    """

    def __init__(self, image: DiskImage, *, limit: int = CHUNK, progress: Callable[[Scan], None] | None = None) -> None:
        self.image = image
        self.limit = limit
        self.progress = progress  # called after each chunk read
        self.total = image.allocated_bytes
        self.scanned = 0
        self.data_bytes = 0
        self.runs = 0
        self._fingerprint = Fingerprint(image.virtual_size)
        self._done = False

    def __iter__(self) -> Iterator[PageRun]:
        for offset, data in self.image.chunks(self.limit):
            padded = data + bytes(-len(data) % PAGE) if len(data) % PAGE else data  # a disk's odd last page
            for start, end in nonzero_pages(padded):
                run = PageRun(offset + start, padded[start:end])
                self._fingerprint.add(run.offset, run.data)
                self.data_bytes += len(run.data)
                self.runs += 1
                yield run
            self.scanned += len(data)
            if self.progress is not None:
                self.progress(self)
        self._done = True

    @property
    def fingerprint(self) -> str:
        if not self._done:
            raise RuntimeError("the fingerprint is known only after the whole scan")
        return self._fingerprint.hexdigest()


def fingerprint(image: DiskImage) -> str:
    """The content fingerprint of an image: reads its stored data once."""
    scan = Scan(image)
    for _ in scan:
        pass
    return scan.fingerprint
