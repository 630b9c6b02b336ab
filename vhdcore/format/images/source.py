"""What every image format shares: the container file, the extent map, and the reader built on them.

A format parser reads only metadata (headers, block tables) and returns the allocation map as extents:
(guest offset, length, host offset) triples in guest order. Everything else (reading, scanning for data,
the file's holes) is done here, once for all formats. What a parser may trust is checked as it reads
(claims.Claims): every mapped range lies inside the file and overlaps no table and no other range.

Cost follows what the file holds: extents are three arrays of 64-bit integers (24 bytes each, merged when
adjacent), tables are read in bounded chunks (table_batches), many small tables in file order whatever order
their directory gives (swept_tables), and the file's holes are found once for the whole file (DataRuns), not
once per extent.
"""

from __future__ import annotations

import bisect
import errno
import functools
import os
import stat
import struct
import sys
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, compress, islice, repeat
from operator import add, and_, eq, floordiv, ge, gt, lshift, lt, mod, mul, ne, not_, or_, sub
from typing import Literal, NamedTuple, overload

from ...errors import CorruptImageError, ImageError
from ..sizes import MAX_PUT_PAGE, PAGE, SECTOR
from .readable import Window

_TABLE_CHUNK = 1 << 20  # tables are read this many bytes at a time


class Extent(NamedTuple):
    """`length` bytes of the virtual disk at `guest` are stored at `host` in the image file."""

    guest: int
    length: int
    host: int


@dataclass(frozen=True)
class FileStamp:
    """Which version of a local file this is, by its metadata alone (no data read): its size, modification and
    change times (ns) and inode. Any write to the file changes one of them, even when the modification time is
    set back afterwards (the change time cannot be). A local image's stamp (ReadableImage.stamp): an upload checks
    the file against the stamp it was opened with once it has read it (`unchanged`), and VhdImage keeps it beside
    the fingerprint, so that an untouched file is not read again at every preview."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int

    @classmethod
    def of(cls, info: os.stat_result) -> FileStamp:
        return cls(info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)

    @classmethod
    def of_path(cls, path: str) -> FileStamp:
        """The stamp of the file at `path` now; OSError if it cannot be read."""
        return cls.of(os.stat(path))

    def __str__(self) -> str:
        """As a VhdImage state records it (source_stamp)."""
        return f"{self.size}:{self.mtime_ns}:{self.ctime_ns}:{self.inode}"


class ImageFile:
    """The container file, read with pread only (no shared position), counting every byte read.

    `reading` names the structure read last (what, byte offset), so that an unexpected failure while
    parsing can still say where it happened.
    """

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
        self.stamp = FileStamp.of(info)
        self.size = os.lseek(self.fd, 0, os.SEEK_END)  # st_size is 0 for block devices
        self.bytes_read = 0
        self.reading: tuple[str, int] = ("start", 0)

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
        self.reading = (what, offset)
        if offset < 0 or length < 0 or offset + length > self.size:
            raise truncated(self.path, what, offset, length, self.size)
        data = self.pread(offset, length)
        if len(data) != length:
            raise truncated(self.path, what, offset, length, self.size)
        return data

    def padded(self, offset: int, length: int, what: str) -> bytes:
        """`length` bytes at `offset`, zeros past the end of the file (as qemu reads structures it probes)."""
        self.reading = (what, offset)
        data = self.pread(offset, length) if 0 <= offset < self.size else b""
        return data + bytes(length - len(data))

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def truncated(path: str, what: str, offset: int, length: int, size: int) -> CorruptImageError:
    return CorruptImageError(
        f"image {path} is truncated or corrupt: its {what} at byte {offset} ({length} bytes) lies past the end of the "
        f"{size}-byte file; copy the image again from its source."
    )


def table_entries(image: ImageFile, offset: int, count: int, code: str, what: str, *, empty: tuple[int, ...] = (0,),
                  mask: int = -1, marks: Callable[[bytes], bytes] | None = None) -> Iterator[tuple[int, int]]:
    """(index, value) of the entries of a table that mean something (see table_batches)."""
    for indices, values in table_batches(image, offset, count, code, what, empty=empty, mask=mask, marks=marks):
        yield from zip(indices, values, strict=True)


def table_batches(image: ImageFile, offset: int, count: int, code: str, what: str, *, empty: tuple[int, ...] = (0,),
                  mask: int = -1, marks: Callable[[bytes], bytes] | None = None
                  ) -> Iterator[tuple[list[int], list[int]]]:
    """The entries of a table of `count` integers (struct `code`, byte order included, e.g. ">Q") at `offset` that
    mean something, a chunk at a time as (indices, values): those whose bits under `mask` differ from every value
    in `empty` (empty values may differ in one byte only, as VDI's free and zero markers do), or that `marks`
    (one byte per entry of a chunk, non-zero: keep it) keeps.

    Read a bounded chunk at a time, and sifted with operations that run in C (translate, big integers,
    itertools.compress): a table costs its own size in time and a chunk in memory, and no Python code runs per
    entry here. An attacker's table of entries that are empty in meaning but not in bytes costs no more than a
    blank one."""
    sifted = _Sifted(code, empty, mask, marks)
    per_chunk = _TABLE_CHUNK // sifted.width
    for first in range(0, count, per_chunk):
        n = min(per_chunk, count - first)
        indices, values = sifted(image.exact(offset + first * sifted.width, n * sifted.width, what))
        if indices:
            yield list(map(add, indices, repeat(first))) if first else indices, values


class _Sifted:
    """The entries of a chunk of a table that mean something (see table_batches), as (indices, values)."""

    def __init__(self, code: str, empty: tuple[int, ...], mask: int, marks: Callable[[bytes], bytes] | None) -> None:
        self.code, self.width = code, struct.calcsize(code)
        self.typecode = {2: "H", 4: "I", 8: "Q"}[self.width]  # the entry as an unsigned array item
        full = (1 << 8 * self.width) - 1
        mask &= full
        self.order: Literal["little", "big"] = "big" if code[0] == ">" else "little"
        self.blank = _blank(self.width, self.order, empty[0] & mask) if mask == full and marks is None else None
        self.sift = marks or _sifter(self.width, self.order, empty, mask)

    def __call__(self, raw: bytes) -> tuple[list[int], list[int]]:
        if self.blank is not None and self.blank.startswith(raw):
            return [], []
        width, code = self.width, self.code
        n = len(raw) // width
        kept = self.sift(raw)
        ones = n - kept.count(0)
        if ones == n:
            return list(range(n)), list(struct.unpack(f"{code[0]}{n}{code[1:]}", raw))
        if ones * 16 > n:
            values = struct.unpack(f"{code[0]}{n}{code[1:]}", raw)
            return list(compress(range(n), kept)), list(compress(values, kept))
        indices: list[int] = []
        i = kept.find(1)
        while i >= 0:  # a few: found one by one, without making an int of every entry
            indices.append(i)
            i = kept.find(1, i + 1)
        entries = array(self.typecode, raw)  # one copy of the chunk costs less than an int.from_bytes each
        if self.order != sys.byteorder:
            entries.byteswap()
        return indices, list(map(entries.__getitem__, indices))


def swept_tables(image: ImageFile, indices: Sequence[int], offsets: Sequence[int], table_bytes: int, code: str,
                 what: str, *, limit: int, empty: tuple[int, ...] = (0,),
                 mask: int = -1) -> Iterator[tuple[list[int], list[int]]]:
    """The entries that mean something (see table_batches) of many tables of `table_bytes` bytes (a qcow2's L2
    tables, a VMDK's grain tables) at `offsets`, the tables of directory entries `indices` (increasing), already
    claimed (inside the file, apart). Yields (entry numbers, values) in increasing entry number, an entry's number
    being its table's directory index times the entries per table plus its place in the table; only those below
    `limit` (the entries inside the disk).

    The tables are read in file order, whatever order the directory gives them: tables next to each other (or
    a few KiB apart) in one read of up to 1 MiB, sifted together, so a million small tables an attacker
    scattered over the file cost their bytes and a few operations in C each, not a read and a test each. What
    they map is put back in directory order a table at a time (16 bytes per entry and per table, held until the
    end); where the directory follows the file, as qemu and VMware write it, it streams."""
    width = struct.calcsize(code)
    per = table_bytes // width
    n = len(offsets)
    order: Sequence[int] = range(n)  # the tables in file order (positions in the directory)
    placed = offsets  # their offsets, in that order
    reordered = None
    if not all(map(lt, offsets, islice(offsets, 1, None))):
        order = _file_order(offsets, table_bytes, image.size)
        placed = array("q", map(offsets.__getitem__, order))
        reordered = _Reordered(n)
    sifted = _Sifted(code, empty, mask, None)
    for k0, k1 in _reads(placed, table_bytes):
        at, first = placed[k0], indices[order[k0]]
        length = placed[k1 - 1] + table_bytes - at
        raw = image.exact(at, length, f"{what} {first}")
        if length != (k1 - k0) * table_bytes:  # gaps between the tables: their bytes only
            view = memoryview(raw)
            raw = b"".join([view[o - at : o - at + table_bytes] for o in placed[k0:k1]])
        positions, values = sifted(raw)
        if not positions:
            continue
        if reordered is None and indices[k1 - 1] - first == k1 - 1 - k0:  # consecutive in the directory too
            numbers = list(map(add, positions, repeat(first * per)))
            places = None
        else:
            places = list(map(order[k0:k1].__getitem__, map(floordiv, positions, repeat(per))))  # in the directory
            numbers = list(map(add, map(mul, map(indices.__getitem__, places), repeat(per)),
                               map(mod, positions, repeat(per))))
        if max(numbers) >= limit:  # entries of the last table past the disk's end, which qemu never reads
            inside = list(map(lt, numbers, repeat(limit)))
            numbers, values = list(compress(numbers, inside)), list(compress(values, inside))
            places = list(compress(places, inside)) if places is not None else None
        if not numbers:
            continue
        if reordered is None:
            yield numbers, values
        else:
            assert places is not None
            reordered.add(numbers, values, places)
    if reordered is not None:
        yield from reordered.batches()


def _file_order(offsets: Sequence[int], table_bytes: int, file_size: int) -> array[int]:
    """The positions of `offsets` (of tables of `table_bytes` bytes apart from one another, so each starts in a
    table-sized piece of the file of its own) in increasing offset: counted into a slot per such piece where the
    tables fill a quarter of the file or more (4 bytes a slot, 16 a table at most), else sorted (40 bytes a table,
    for a while, and n log n)."""
    n = len(offsets)
    slots = file_size // table_bytes + 1
    if slots <= 4 * n:
        where = array("i", [-1]) * slots
        deque(map(where.__setitem__, map(floordiv, offsets, repeat(table_bytes)), range(n)), maxlen=0)
        order = array("q", compress(where, map(ge, where, repeat(0))))
    else:
        bits = n.bit_length()  # sorted by offset, the position in the low bits
        order = array("q", map(and_, sorted(map(or_, map(lshift, offsets, repeat(bits)), range(n))),
                               repeat((1 << bits) - 1)))
    if len(order) != n:
        raise AssertionError("tables to be read in file order overlap: they were to be claimed apart first")
    return order


_GAP = 8 << 10  # tables at most this far apart are read together: copying the bytes between costs less than a read


def _reads(placed: Sequence[int], table_bytes: int) -> Iterator[tuple[int, int]]:
    """Tables k0..k1-1 (in file order, at offsets `placed`) to read as one: each at most _GAP bytes past the one
    before, at most max(1 MiB, a table) in all."""
    n = len(placed)
    most = max(_TABLE_CHUNK, table_bytes) - table_bytes
    k0 = 0
    for stop in chain(compress(range(1, n), map(gt, islice(placed, 1, None),
                                                map(add, placed, repeat(table_bytes + _GAP)))), (n,)):
        while k0 < stop:
            k1 = bisect.bisect_right(placed, placed[k0] + most, k0 + 1, stop)
            yield k0, k1
            k0 = k1


class _Reordered:
    """Entries found in tables read in file order, put back in directory order: each table's entries are kept
    together (their numbers are consecutive, apart from every other table's), and where they start and end is
    kept by the table's place in the directory, so the tables are taken back in directory order without a sort."""

    def __init__(self, tables: int) -> None:
        self.numbers, self.values = array("q"), array("Q")
        self.starts = array("q", bytes(8 * tables))  # per table (its place in the directory): where its entries
        self.ends = array("q", bytes(8 * tables))  # start and end in numbers and values (none: both 0)

    def add(self, numbers: list[int], values: list[int], places: list[int]) -> None:
        """Entries of the tables read as one, table after table (`places`: each entry's table)."""
        firsts = [0, *compress(range(1, len(numbers)), map(ne, islice(places, 1, None), places))]
        base = len(self.numbers)
        tables = list(map(places.__getitem__, firsts))
        deque(map(self.starts.__setitem__, tables, map(add, firsts, repeat(base))), maxlen=0)
        deque(map(self.ends.__setitem__, tables, map(add, chain(islice(firsts, 1, None), (len(numbers),)),
                                                    repeat(base))), maxlen=0)
        self.numbers.extend(numbers)
        self.values.extend(values)

    def batches(self) -> Iterator[tuple[list[int], list[int]]]:
        starts, ends = self.starts, self.ends
        held = array("q", compress(range(len(ends)), ends))  # the tables with entries, in directory order
        entries = chain.from_iterable(map(range, map(starts.__getitem__, held), map(ends.__getitem__, held)))
        while batch := list(islice(entries, 1 << 16)):
            yield list(map(self.numbers.__getitem__, batch)), list(map(self.values.__getitem__, batch))


@functools.lru_cache(maxsize=32)
def _blank(width: int, order: Literal["little", "big"], value: int) -> bytes:
    """A chunk of entries that all hold `value` (compared with bytes.startswith: no copy)."""
    return value.to_bytes(width, order) * (_TABLE_CHUNK // width)


@functools.lru_cache(maxsize=32)
def _sifter(width: int, order: str, empty: tuple[int, ...], mask: int) -> Callable[[bytes], bytes]:
    """One byte per entry, 1 where the entry's bits under `mask` match no value in `empty`."""
    def column(j: int) -> int:  # byte j of an entry (in file order) holds bits 8*column(j).. of the value
        return j if order == "little" else width - 1 - j

    tables: list[tuple[int, bytes]] = []
    varying = [j for j in range(width) if len({(e >> 8 * column(j)) & 0xFF for e in empty}) > 1]
    assert len(varying) <= 1, "empty values may differ in one byte only"
    for j in range(width):
        m = (mask >> 8 * column(j)) & 0xFF
        allowed = {(e >> 8 * column(j)) & m for e in empty}
        table = bytes(0 if b & m in allowed else 1 for b in range(256))
        if any(table):
            tables.append((j, table))

    def sift(raw: bytes) -> bytes:
        combined = 0
        n = len(raw) // width
        for j, table in tables:
            combined |= int.from_bytes(raw[j::width].translate(table), "big")
        return combined.to_bytes(n, "big")

    return sift


class ExtentMap(Sequence[Extent]):
    """Extents in guest order, as a parser adds them: clipped to the disk, merged when contiguous in guest and
    host, and stored as three arrays of 64-bit integers (24 bytes an extent, whatever their number)."""

    def __init__(self, virtual_size: int) -> None:
        self.virtual_size = virtual_size
        self.guests = array("q")  # sorted: bisect finds the extent holding a guest offset
        self.lengths = array("q")
        self.hosts = array("q")
        self.stored = 0  # bytes of the disk the extents hold
        self.host_end = 0  # the largest host offset + length
        self._end = self._host_end = -1  # where the last extent ends, in guest and host

    def add(self, guest: int, length: int, host: int) -> None:
        self.add_batch([guest], length, [host])

    def add_batch(self, guests: Sequence[int], length: int, hosts: Sequence[int]) -> None:
        """Extents of `length` bytes at each guest offset (increasing) and its host offset. Where they merge is
        found with operations that run in C (each offset compared with the one before, shifted by `length`), so
        a batch of scattered clusters costs no Python code per cluster."""
        if length <= 0:
            return
        inside = bisect.bisect_right(guests, self.virtual_size - length)  # those that end inside the disk
        if inside:
            self._add_whole(guests[:inside] if inside < len(guests) else guests, length,
                            hosts[:inside] if inside < len(hosts) else hosts)
        for guest, host in zip(guests[inside:], hosts[inside:], strict=True):  # past the disk's end: cut
            if guest < self.virtual_size:
                self._add_whole([guest], self.virtual_size - guest, [host])

    def _add_whole(self, guests: Sequence[int], length: int, hosts: Sequence[int]) -> None:
        n = len(guests)
        joins = list(map(and_, map(eq, islice(guests, 1, None), map(add, guests, repeat(length))),
                         map(eq, islice(hosts, 1, None), map(add, hosts, repeat(length)))))
        if any(joins):  # runs of contiguous ones: an extent each
            firsts = [0, *compress(range(1, n), map(not_, joins))]
            starts: Iterable[int] = map(guests.__getitem__, firsts)
            places: Iterable[int] = map(hosts.__getitem__, firsts)
            sizes = list(map(mul, map(sub, chain(islice(firsts, 1, None), (n,)), firsts), repeat(length)))
        else:
            starts, places, sizes = guests, hosts, [length] * n
        if guests[0] == self._end and hosts[0] == self._host_end:  # the first goes on from the last extent
            self.lengths[-1] += sizes[0]
            starts, places, sizes = islice(starts, 1, None), islice(places, 1, None), sizes[1:]
        self.guests.extend(starts)
        self.hosts.extend(places)
        self.lengths.extend(sizes)
        self.stored += n * length
        self.host_end = max(self.host_end, max(hosts) + length)
        self._end, self._host_end = guests[-1] + length, hosts[-1] + length

    def __len__(self) -> int:
        return len(self.guests)

    @overload
    def __getitem__(self, index: int) -> Extent: ...

    @overload
    def __getitem__(self, index: slice) -> list[Extent]: ...

    def __getitem__(self, index: int | slice) -> Extent | list[Extent]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return Extent(self.guests[index], self.lengths[index], self.hosts[index])

    def __iter__(self) -> Iterator[Extent]:
        return map(Extent, self.guests, self.lengths, self.hosts)


class DataRuns:
    """Where the file system holds data in the image file (SEEK_DATA/SEEK_HOLE, which read no data), found once
    for the whole file and kept as two arrays; whole 512-byte pages. Where the file system cannot answer, all
    of the file counts as data."""

    def __init__(self, image: ImageFile) -> None:
        self.starts, self.ends = array("q"), array("q")
        pos, size = 0, image.size
        try:
            while pos < size:
                start = os.lseek(image.fd, pos, os.SEEK_DATA)
                if start >= size:
                    break
                stop = min(os.lseek(image.fd, start, os.SEEK_HOLE), size)
                pos = stop
                start -= start % SECTOR  # file systems answer in blocks; this matters only at an odd end of file
                stop = min(stop + -stop % SECTOR, size)
                if self.ends and start <= self.ends[-1]:
                    self.ends[-1] = max(self.ends[-1], stop)
                else:
                    self.starts.append(start)
                    self.ends.append(stop)
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # ENXIO: no data past pos; anything else: no SEEK_DATA here
                self.starts, self.ends = array("q", [0]), array("q", [size])
        self.whole = list(self.starts) == [0] and list(self.ends) == [size]  # no holes at all

    def within(self, host: int, length: int) -> Iterator[tuple[int, int]]:
        """The (start, end) host ranges of data inside [host, host + length)."""
        end = host + length
        i = max(bisect.bisect_right(self.starts, host) - 1, 0)
        while i < len(self.starts) and self.starts[i] < end:
            lo, hi = max(self.starts[i], host), min(self.ends[i], end)
            if lo < hi:
                yield lo, hi
            i += 1


def data_extents(image: ImageFile, limit: int) -> ExtentMap:
    """Where the file system holds data in the file's first `limit` bytes, as extents (guest = host)."""
    found = ExtentMap(limit)
    for start, end in DataRuns(image).within(0, limit):
        found.add(start, end - start, start)
    return found


def without_holes(image: ImageFile, extents: ExtentMap) -> ExtentMap:
    """Drop the parts of extents whose host bytes are holes in the image file (they read as zeros)."""
    runs = DataRuns(image)
    if runs.whole:
        return extents
    refined = ExtentMap(extents.virtual_size)
    for extent in extents:
        for lo, hi in runs.within(extent.host, extent.length):
            refined.add(extent.guest + lo - extent.host, hi - lo, lo)
    return refined


@dataclass(frozen=True)
class Parsed:
    """What a format parser found: the format, its variant (for people), the disk size and the extents."""

    format: str
    variant: str
    virtual_size: int
    extents: ExtentMap
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
        self.extents: Sequence[Extent] = parsed.extents
        self._map = parsed.extents
        self._starts = parsed.extents.guests
        self._stored = parsed.extents.stored
        self.metadata_bytes_read = file.bytes_read

    @property
    def allocated_bytes(self) -> int:
        """Bytes of the virtual disk that the image stores (what a full read of the data reads)."""
        return self._stored

    @property
    def file_size(self) -> int:
        return self.file.size

    @property
    def kind(self) -> str:
        return f"{self.format} ({self.variant})" if self.variant and self.variant != self.format else self.format

    def stamp(self) -> str:
        """Which version of the image this is, without reading its data: its file's stamp when it was opened."""
        return str(self.file.stamp)

    def unchanged(self) -> bool:
        """Whether the image file at `path` still has the stamp it was opened with."""
        try:
            return FileStamp.of_path(self.path) == self.file.stamp
        except OSError:
            return False

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

    def windows(self, limit: int = MAX_PUT_PAGE, align: int = PAGE) -> Iterator[Window]:
        """The stored data as whole `align`-byte pages, per `limit`-aligned window of the disk that holds any
        extent: its guest offset, its bytes (the whole window, the disk's end padded with zeros to a whole page;
        zeros wherever no extent is, never read), the bytes read from the file, and where in the window the
        stored bytes are (whole 512-byte pages, merged; anything else in it is zeros).

        One buffer serves every window (a window's bytes are valid until the next is asked for): the bytes of
        the extents are read straight into it, and only what the last window wrote is zeroed again, so neither
        an allocation nor a page fault is paid per window, and a window of a few scattered clusters costs those
        clusters. Works on the extent arrays directly: a window of thousands of small extents (512-byte
        clusters in scrambled order) costs a preadv each and little else."""
        guests, lengths, hosts = self._map.guests, self._map.lengths, self._map.hosts
        count = len(guests)
        end_of_disk = -(-self.virtual_size // align) * align
        buffer = bytearray(limit)
        whole = memoryview(buffer)
        zeros = memoryview(bytes(limit))
        written: list[tuple[int, int]] = []  # the spans the buffer holds data in, to be zeroed before reuse
        i, skip = 0, 0  # the next extent, and how much of it earlier windows took
        while i < count:
            start = guests[i] + skip
            window = start - start % limit
            window_end = window + limit
            j = bisect.bisect_left(guests, window_end, i + 1)  # extents i..j-1 start before the window's end
            size = min(limit, end_of_disk - window)
            if size < limit:  # the disk's last window, shorter: a buffer of its own
                data, view = bytearray(size), False
            else:
                data, view = buffer, True
                for low, high in written:
                    whole[low:high] = zeros[: high - low]
            end = guests[j - 1] + lengths[j - 1]
            if j == i + 1 and end <= window + size:  # one extent, inside the window (scattered blocks): read here
                at = start - window
                read = self._read_into(whole if view else memoryview(data), at, end - start, hosts[i] + skip)
                spans = [(at - at % SECTOR, min(end - window + -(end - window) % SECTOR, size))]
            else:
                read, spans = self._gather(whole if view else memoryview(data), i, j, skip, window, size)
            written = spans if data is buffer else []
            yield Window(window, data, read, spans)
            if end > window_end:  # the last extent goes on into the next window
                i, skip = j - 1, window_end - guests[j - 1]
            else:
                i, skip = j, 0

    def _read_into(self, view: memoryview, at: int, length: int, host: int) -> int:
        """`length` bytes of the file at `host`, read into view[at:]."""
        try:
            got = os.preadv(self.file.fd, [view[at : at + length]], host)
        except OSError as exc:
            raise ImageError(f"cannot read image {self.path}: {exc.strerror}; check the file and the disk it is "
                             "on.") from None
        self.file.bytes_read += got
        if got != length:  # the file shrank after it was opened
            raise truncated(self.path, "data", host, length, self.file.size)
        return got

    def _gather(self, view: memoryview, i: int, j: int, skip: int, window: int,
                size: int) -> tuple[int, list[tuple[int, int]]]:
        """Extents i..j-1 (the first from `skip` on, the last up to the window's end) read into `view` (the
        window at guest byte `window`, `size` bytes): the bytes read, and where they are (whole pages, merged).
        One preadv per extent and little else."""
        guests, lengths, hosts = self._map.guests, self._map.lengths, self._map.hosts
        preadv, fd = os.preadv, self.file.fd
        overrun = guests[j - 1] + lengths[j - 1] - (window + size)  # the last extent goes on past the window
        expected, got = 0, 0
        spans: list[tuple[int, int]] = []
        span_start, span_end = -1, -1
        try:
            for k in range(i, j):  # read straight into the buffer: no bytes object per extent
                at, n, host = guests[k] - window, lengths[k], hosts[k]
                if k == i and skip:
                    at, n, host = at + skip, n - skip, host + skip
                if k == j - 1 and overrun > 0:
                    n -= overrun
                got += preadv(fd, [view[at : at + n]], host)
                expected += n
                low, high = at - at % SECTOR, at + n + -(at + n) % SECTOR  # whole pages
                if low > span_end:
                    if span_end >= 0:
                        spans.append((span_start, span_end))
                    span_start = low
                span_end = high if high < size else size
            spans.append((span_start, span_end))
        except OSError as exc:
            raise ImageError(f"cannot read image {self.path}: {exc.strerror}; check the file and the disk it is "
                             "on.") from None
        self.file.bytes_read += got
        if got != expected:  # the file shrank after it was opened
            raise truncated(self.path, "data", hosts[i], expected, self.file.size)
        return got, spans

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
