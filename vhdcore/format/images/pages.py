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
import mmap
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..sizes import MAX_PUT_PAGE, PAGE
from .readable import ReadableImage

_ZEROS = bytes(MAX_PUT_PAGE)
_ZERO_PAGE = bytes(PAGE)
_BLOCK = 64 << 10  # looked at as a whole before its pages
_VERSION = b"blank-vhd fingerprint 1\0"
_RUN = struct.Struct(">QQ")


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
        self._runs = bytearray()  # finished runs, packed, hashed 64 KiB at a time (a million runs: one call each
        self._start = self._end = -1  # would cost more than the rest); the maximal run being extended

    def add(self, offset: int, data: bytes | memoryview) -> None:
        self._data.update(data)
        if offset == self._end:
            self._end += len(data)
            return
        if self._end >= 0:
            self._runs += _RUN.pack(self._start, self._end)
            if len(self._runs) >= 1 << 16:
                self._map.update(self._runs)
                self._runs.clear()
        self._start, self._end = offset, offset + len(data)

    def hexdigest(self) -> str:
        runs = self._map.copy()
        runs.update(self._runs + (_RUN.pack(self._start, self._end) if self._end >= 0 else b""))
        final = hashlib.sha256(_VERSION + struct.pack(">Q", self.virtual_size))
        final.update(runs.digest() + self._data.digest())
        return f"sha256:{final.hexdigest()}"


class Scan:
    """One pass over an image's stored data, yielding its non-zero runs of `granularity`-byte pages (each run
    at most `limit` bytes, within one `limit`-aligned window).

    `granularity` is 512 (the page blob's page) or a multiple of it: 4096 makes every run start and end on a
    4 KiB boundary (a 4 KiB page with any non-zero byte is sent whole), which Azure Stack needs. The
    fingerprint and `data_bytes` always count 512-byte pages, so they do not depend on it. Counters (bytes
    read from the allocation map so far, non-zero bytes found) are live during the loop, and
    `progress(scan)` is called after each window; `fingerprint` is complete once the loop has finished.
    """

    def __init__(self, image: ReadableImage, *, limit: int = MAX_PUT_PAGE, granularity: int = PAGE,
                 progress: Callable[[Scan], None] | None = None) -> None:
        if granularity % PAGE or limit % granularity:
            raise ValueError(f"granularity {granularity} must be a multiple of {PAGE} dividing limit {limit}")
        self.image = image
        self.limit = limit
        self.granularity = granularity
        self.progress = progress  # called after each window read
        self.total = image.allocated_bytes
        self.scanned = 0
        self.data_bytes = 0
        self.runs = 0
        self._fingerprint = Fingerprint(image.virtual_size)
        self._done = False

    def __iter__(self) -> Iterator[PageRun]:
        coarse = self.granularity
        for offset, data, read, spans in self.image.windows(self.limit, coarse):
            fine = _nonzero_pages_within(data, spans)
            for start, end in fine:
                self._fingerprint.add(offset + start, data[start:end])
                self.data_bytes += end - start
            for start, end in fine if coarse == PAGE else _widened(fine, coarse):
                self.runs += 1
                yield PageRun(offset + start, data[start:end])
            self.scanned += read
            if self.progress is not None:
                self.progress(self)
        self._done = True

    @property
    def fingerprint(self) -> str:
        if not self._done:
            raise RuntimeError("the fingerprint is known only after the whole scan")
        return self._fingerprint.hexdigest()


def _nonzero_pages_within(data: bytes | mmap.mmap, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """nonzero_pages(data), looking only inside `spans` (whole pages; the rest of data is zeros): a window of a
    hundred scattered 512-byte clusters costs a hundred small looks, not a look at each of its 8192 pages."""
    if len(spans) == 1 and spans[0] == (0, len(data)):
        return nonzero_pages(data if isinstance(data, bytes) else data[:])
    found: list[tuple[int, int]] = []
    for start, end in spans:
        if end - start == PAGE:  # one page (a small cluster, scattered): looked at here, without a call
            if data[start:end] != _ZERO_PAGE:
                if found and found[-1][1] == start:
                    found[-1] = (found[-1][0], end)
                else:
                    found.append((start, end))
            continue
        for low, high in nonzero_pages(data[start:end]):
            if found and found[-1][1] == start + low:
                found[-1] = (found[-1][0], start + high)
            else:
                found.append((start + low, start + high))
    return found


def _widened(runs: list[tuple[int, int]], page: int) -> list[tuple[int, int]]:
    """Runs widened to whole `page`-byte pages (the buffer they index starts on a page boundary), merged."""
    merged: list[tuple[int, int]] = []
    for start, end in runs:
        start, end = start - start % page, end + -end % page
        if merged and merged[-1][1] >= start:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def fingerprint(image: ReadableImage) -> str:
    """The content fingerprint of an image: reads its stored data once."""
    scan = Scan(image)
    for _ in scan:
        pass
    return scan.fingerprint
