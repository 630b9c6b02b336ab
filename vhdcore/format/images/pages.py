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
import sys
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain, repeat
from operator import add, itemgetter, sub

from ..sizes import MAX_PUT_PAGE, PAGE
from .readable import ReadableImage

_ZEROS_VIEW = memoryview(bytes(MAX_PUT_PAGE))
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


def nonzero_pages(data: bytes | bytearray) -> list[tuple[int, int]]:
    """[start, end) byte ranges of `data` (a multiple of 512 bytes long) made of pages holding a non-zero byte."""
    found: list[tuple[int, int]] = []
    _nonzero_within(data, 0, len(data), found)
    return found


def _nonzero_within(data: bytes | bytearray, start: int, end: int, found: list[tuple[int, int]]) -> None:
    """Add the runs of pages of data[start:end] (whole pages) that hold a non-zero byte to `found`, merged with its
    last run where they touch. Looked at in place (startswith and find with offsets compare memory without
    copying it): a window costs one comparison per 64 KiB of data, and one per page only where zero pages are."""
    if _BLOCK < end - start <= MAX_PUT_PAGE and data.startswith(_ZEROS_VIEW[: end - start], start):
        return  # (a range of one block is looked at as a whole just below)
    first = -1  # where the run being found starts
    for block in range(start, end, _BLOCK):
        stop = min(block + _BLOCK, end)
        if data.startswith(_ZEROS_VIEW[: stop - block], block):
            if first >= 0:
                _add_run(found, first, block)
                first = -1
        elif data.find(_ZERO_PAGE, block, stop) < 0:  # no 512 zero bytes anywhere in it, so no zero page either
            if first < 0:
                first = block
        else:
            for page in range(block, stop, PAGE):
                if data.startswith(_ZERO_PAGE, page):
                    if first >= 0:
                        _add_run(found, first, page)
                        first = -1
                elif first < 0:
                    first = page
    if first >= 0:
        _add_run(found, first, end)


def _add_run(found: list[tuple[int, int]], start: int, end: int) -> None:
    if found and found[-1][1] == start:
        found[-1] = (found[-1][0], end)
    else:
        found.append((start, end))


class Fingerprint:
    """SHA-256 over the disk size, the non-zero pages' data, and their offsets as maximal runs.

    Runs must be added in increasing offset order; how they were split (by chunk or by format) does not
    change the result.
    """

    def __init__(self, virtual_size: int) -> None:
        self.virtual_size = virtual_size
        self._data = hashlib.sha256()
        self._map = hashlib.sha256()
        self._runs = array("Q")  # finished runs (start, end), hashed as big-endian 64-bit numbers 8,192 at a time
        self._start = self._end = -1  # the maximal run being extended

    def add(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        """`data` at guest byte `offset` (past everything added before)."""
        self.add_runs(offset, memoryview(data), [(0, len(data))])

    def add_runs(self, offset: int, data: memoryview, runs: list[tuple[int, int]]) -> None:
        """The runs [start, end) of `data` (increasing, apart from one another) at guest byte offset + start: a
        window's runs at once, so that a million scattered pages cost a few C loops per window, not calls each."""
        if len(runs) > 4:  # many (small, mostly): one copy and one call cost less than a call each
            self._data.update(b"".join([data[start:end] for start, end in runs]))
        else:
            for start, end in runs:
                self._data.update(data[start:end])
        finished = self._runs
        first = offset + runs[0][0]
        if first != self._end:  # not the continuation of the run being extended: that one is finished
            if self._end >= 0:
                finished.append(self._start)
                finished.append(self._end)
            self._start = first
        if len(runs) > 1:
            finished.append(self._start)
            finished.append(offset + runs[0][1])
            finished.extend(map(add, chain.from_iterable(runs[1:-1]), repeat(offset)))
            self._start = offset + runs[-1][0]
        self._end = offset + runs[-1][1]
        if len(finished) >= 8192:
            self._map.update(_big_endian(finished))
            del finished[:]

    def hexdigest(self) -> str:
        runs = self._map.copy()
        last = array("Q", self._runs)
        if self._end >= 0:
            last.extend((self._start, self._end))
        runs.update(_big_endian(last))
        final = hashlib.sha256(_VERSION + struct.pack(">Q", self.virtual_size))
        final.update(runs.digest() + self._data.digest())
        return f"sha256:{final.hexdigest()}"


def _big_endian(numbers: array[int]) -> array[int]:
    """`numbers` in big-endian byte order (in place)."""
    if sys.byteorder == "little":
        numbers.byteswap()
    return numbers


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
        for offset, data, runs in self.windows():
            if isinstance(data, bytes):  # a slice of bytes is bytes already
                for start, end in runs:
                    yield PageRun(offset + start, data[start:end])
            else:
                view = memoryview(data)
                for start, end in runs:
                    yield PageRun(offset + start, bytes(view[start:end]))

    def windows(self) -> Iterator[tuple[int, bytes | bytearray, list[tuple[int, int]]]]:
        """The same pass, a window at a time: its guest offset, its bytes (valid only until the next window is
        asked for: a reader may reuse its buffer) and the [start, end) runs of pages in them to send or write.
        For a consumer that copies nothing (convert writes the runs straight from the buffer); iterating the
        scan copies each run into a PageRun of its own."""
        coarse = self.granularity
        fingerprint = self._fingerprint
        for offset, data, read, spans in self.image.windows(self.limit, coarse):
            fine = _nonzero_pages_within(data, spans)
            if fine:
                fingerprint.add_runs(offset, memoryview(data), fine)
                self.data_bytes += (fine[0][1] - fine[0][0] if len(fine) == 1 else
                                    sum(map(sub, map(itemgetter(1), fine), map(itemgetter(0), fine))))
                runs = fine if coarse == PAGE else widened(fine, coarse)
                self.runs += len(runs)
                yield offset, data, runs
            self.scanned += read
            if self.progress is not None:
                self.progress(self)
        self._done = True

    @property
    def fingerprint(self) -> str:
        if not self._done:
            raise RuntimeError("the fingerprint is known only after the whole scan")
        return self._fingerprint.hexdigest()


def _nonzero_pages_within(data: bytes | bytearray, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """nonzero_pages(data), looking only inside `spans` (whole pages; the rest of data is zeros): a window of a
    hundred scattered 512-byte clusters costs a hundred small looks, not a look at each of its 8192 pages."""
    found: list[tuple[int, int]] = []
    for start, end in spans:
        if end - start == PAGE:  # one page (a small cluster, scattered): looked at here, without a call
            if not data.startswith(_ZERO_PAGE, start):
                if found and found[-1][1] == start:
                    found[-1] = (found[-1][0], end)
                else:
                    found.append((start, end))
        else:
            _nonzero_within(data, start, end, found)
    return found


def widened(runs: list[tuple[int, int]], page: int) -> list[tuple[int, int]]:
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
