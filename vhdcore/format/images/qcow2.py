"""QCOW2 (qemu), versions 2 and 3: header, L1 table, L2 tables; big-endian.

Layout (qemu docs/interop/qcow2.txt): the header names the cluster size (2^cluster_bits), the virtual
size and the L1 table; each L1 entry points at an L2 table of cluster_size / 8 entries, each entry
mapping one cluster. An L2 entry's bits 9-55 are the cluster's host offset (0: not allocated), bit 0
(version 3) marks a zero cluster, bit 62 a compressed one. Every L2 table is read before anything is
sent, so a compressed cluster anywhere refuses the image up front. Refused as well: encryption,
backing files, external data files, extended L2 entries (subclusters) and persistent dirty bitmaps.

What qemu refuses when it opens or reads an image is refused here too, with qemu's limits (an L1 table of
at most 32 MiB, a refcount table of at most 8 MiB, 65536 snapshots); and more: every table and cluster
must lie inside the file, the header cluster, the refcount structures, the L1 and L2 tables and the data
clusters must not overlap, and no cluster may be mapped twice. The virtual size is qemu's: the header's
size rounded down to whole 512-byte sectors.
"""

from __future__ import annotations

import bisect
import functools
import struct
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from operator import and_, mul, not_

from ...errors import CorruptImageError, UnsupportedImageError
from ..layout import Layout, at
from ..sizes import SECTOR
from .claims import Claims, by_guest, corrupt
from .source import ExtentMap, ImageFile, Parsed, swept_tables, table_batches

MAGIC = b"QFI\xfb"
OFFSET_MASK = 0x00FFFFFFFFFFFE00  # bits 9-55 of L1, L2 and refcount table entries
COMPRESSED = 1 << 62
ZERO_CLUSTER = 1
INCOMPAT_DIRTY, INCOMPAT_CORRUPT, INCOMPAT_DATA_FILE, INCOMPAT_COMPRESSION, INCOMPAT_EXTL2 = 1, 2, 4, 8, 16
AUTOCLEAR_BITMAPS, AUTOCLEAR_DATA_FILE_RAW = 1, 2
COMPRESSION_ZLIB, COMPRESSION_ZSTD = 0, 1
# qemu's limits (block/qcow2.h)
MIN_CLUSTER_BITS, MAX_CLUSTER_BITS = 9, 21
MAX_L1_BYTES = 32 << 20
MAX_REFTABLE_BYTES = 8 << 20
MAX_SNAPSHOTS = 65536
MAX_SNAPSHOT_EXTRA = 1024
MAX_SNAPSHOTS_BYTES = 1024 * MAX_SNAPSHOTS
MAX_BACKING_FORMAT = 16
# Header extensions (qemu's magics)
EXT_END, EXT_BACKING_FORMAT, EXT_CRYPTO, EXT_BITMAPS = 0, 0xE2792ACA, 0x0537BE77, 0x23852875
_L2_MEANING = OFFSET_MASK | COMPRESSED | ZERO_CLUSTER  # the rest of an L2 entry qemu ignores when reading
_REFTABLE_MASK = 0xFFFFFFFFFFFFFE00
_INT64_MAX = (1 << 63) - 1
_INT_MAX = (1 << 31) - 1
_FIX = "copy it again from its source (qemu-img check may say more)"


@dataclass(frozen=True)
class Header(Layout, byte_order=">"):
    """The version 2 header (72 bytes); version 3 adds V3Fields right after it."""

    magic: bytes = at("4s")
    version: int = at("I")
    backing_file_offset: int = at("Q")
    backing_file_size: int = at("I")
    cluster_bits: int = at("I")
    size: int = at("Q")
    crypt_method: int = at("I")
    l1_size: int = at("I")
    l1_table_offset: int = at("Q")
    refcount_table_offset: int = at("Q")
    refcount_table_clusters: int = at("I")
    nb_snapshots: int = at("I")
    snapshots_offset: int = at("Q")


@dataclass(frozen=True)
class V3Fields(Layout, byte_order=">"):
    incompatible_features: int = at("Q")
    compatible_features: int = at("Q")
    autoclear_features: int = at("Q")
    refcount_order: int = at("I")
    header_length: int = at("I")


@dataclass(frozen=True)
class SnapshotHeader(Layout, byte_order=">"):
    l1_table_offset: int = at("Q")
    l1_size: int = at("I")
    id_str_size: int = at("H")
    name_size: int = at("H")
    date_sec: int = at("I")
    date_nsec: int = at("I")
    vm_clock_nsec: int = at("Q")
    vm_state_size: int = at("I")
    extra_data_size: int = at("I")


assert Header.struct_size() == 72 and V3Fields.struct_size() == 32 and SnapshotHeader.struct_size() == 40
_V3_END = Header.struct_size() + V3Fields.struct_size()  # 104: the compression type byte follows, if present


class _Reader:
    """One qcow2 file being parsed: its path, header and cluster geometry, for the checks and their messages."""

    def __init__(self, image: ImageFile, header: Header) -> None:
        self.image, self.path, self.header = image, image.path, header
        # Shifted only once the field is known to be sane: 1 << 0xdb09e7f4 is a 459 MB integer.
        self.cluster = 1 << header.cluster_bits if MIN_CLUSTER_BITS <= header.cluster_bits <= MAX_CLUSTER_BITS else 0

    def corrupt(self, what: str, problem: str) -> CorruptImageError:
        return corrupt(self.path, "qcow2", what, problem, _FIX)

    def field(self, name: str, problem: str) -> CorruptImageError:
        value = getattr(self.header, name)
        return self.corrupt(f"its header's {name} (byte {Header.offset_of(name)}) is {value}, which", problem)

    def validate_table(self, name: str, offset_field: str, offset: int, entries: int, entry_bytes: int,
                       max_bytes: int) -> None:
        """qemu's qcow2_validate_table: at most `max_bytes`, cluster-aligned, no overflow (even when empty)."""
        if entries > max_bytes // entry_bytes:
            raise self.corrupt(f"its {name} ({entries} entries)", f"is larger than qemu's limit of {max_bytes} bytes")
        if _INT64_MAX - entries * entry_bytes < offset or offset % self.cluster:
            raise self.field(offset_field, f"is not a {self.cluster}-byte aligned offset for its {name}")


def parse(image: ImageFile) -> Parsed:
    path = image.path
    header = Header.unpack(image.exact(0, Header.struct_size(), "qcow2 header"))
    if header.magic != MAGIC:
        raise CorruptImageError(f"image {path} does not start with the qcow2 magic: it is not a qcow2; give the right "
                                "--format.")
    if header.version not in (2, 3):
        raise UnsupportedImageError(f"image {path} is a qcow2 of version {header.version} (byte 4), which neither "
                                    "this tool nor qemu reads; convert it with a tool that does.")
    q = _Reader(image, header)
    if not MIN_CLUSTER_BITS <= header.cluster_bits <= MAX_CLUSTER_BITS:
        raise q.field("cluster_bits", f"is outside {MIN_CLUSTER_BITS}..{MAX_CLUSTER_BITS}")
    cluster = q.cluster
    incompatible, autoclear, refcount_order, header_length = 0, 0, 4, Header.struct_size()
    if header.version == 3:
        v3 = V3Fields.unpack(image.exact(Header.struct_size(), V3Fields.struct_size(), "qcow2 version 3 header"))
        incompatible, autoclear, refcount_order = v3.incompatible_features, v3.autoclear_features, v3.refcount_order
        header_length = v3.header_length
        if header_length < _V3_END:
            raise q.corrupt(f"its header_length (byte {_V3_END - 4}) is {header_length}, which",
                            f"is shorter than a version 3 header ({_V3_END} bytes)")
    if header_length > cluster:
        raise q.corrupt(f"its header_length (byte {_V3_END - 4}) is {header_length}, which",
                        f"is longer than a cluster ({cluster} bytes)")
    if header.backing_file_offset > cluster:
        raise q.field("backing_file_offset", "lies outside the header cluster")
    compression = image.exact(_V3_END, 1, "qcow2 compression type")[0] if header_length > _V3_END else 0
    if compression not in (COMPRESSION_ZLIB, COMPRESSION_ZSTD) or \
            bool(compression) != bool(incompatible & INCOMPAT_COMPRESSION):
        raise q.corrupt(f"its compression type (byte {_V3_END}) is {compression}, which",
                        "is unknown or disagrees with the compression-type feature bit")
    _features(q, incompatible)
    if autoclear & AUTOCLEAR_DATA_FILE_RAW:
        raise q.corrupt(f"its autoclear features (byte {Header.struct_size() + 16}) are {autoclear:#x}, which",
                        "mark a raw external data file, but the image has no external data file")
    if refcount_order > 6:
        raise q.corrupt(f"its refcount_order (byte {_V3_END - 8}) is {refcount_order}, which",
                        "is wider than 64 bits")
    if header.crypt_method:
        method = {1: "AES", 2: "LUKS"}.get(header.crypt_method, str(header.crypt_method))
        raise UnsupportedImageError(f"image {path} is an encrypted qcow2 ({method}); decrypt it first, e.g. qemu-img "
                                    "convert with --object secret and --image-opts to an unencrypted qcow2 or raw.")
    if header.refcount_table_clusters == 0:
        raise q.field("refcount_table_clusters", "leaves the image without a refcount table")
    q.validate_table("refcount table", "refcount_table_offset", header.refcount_table_offset,
                     header.refcount_table_clusters, cluster, MAX_REFTABLE_BYTES)
    q.validate_table("snapshot table", "snapshots_offset", header.snapshots_offset, header.nb_snapshots,
                     SnapshotHeader.struct_size(), SnapshotHeader.struct_size() * MAX_SNAPSHOTS)
    q.validate_table("L1 table", "l1_table_offset", header.l1_table_offset, header.l1_size, 8, MAX_L1_BYTES)
    entries_per_l2 = cluster // 8
    needed = -(-header.size // (cluster * entries_per_l2))
    if needed > _INT_MAX:
        raise q.field("size", "is too big for qemu")
    if header.l1_size < needed:
        raise q.field("l1_size", f"cannot map the {header.size}-byte disk ({needed} entries needed)")
    ext_end = header.backing_file_offset or cluster
    _extensions(q, header_length, ext_end, header.crypt_method, autoclear)
    if header.backing_file_offset:
        raise UnsupportedImageError(
            f"image {path} is a qcow2 with a backing file, which holds only changes to it; flatten it first: "
            "qemu-img convert -O qcow2 of this image to a new file (or qemu-img rebase -b '').")

    virtual_size = header.size // SECTOR * SECTOR  # what qemu reads: whole sectors
    l1_indices, l2_offsets = array("q"), array("q")  # every table is claimed before any data cluster
    for indices, values in table_batches(image, header.l1_table_offset, needed, ">Q", "qcow2 L1 table",
                                         mask=OFFSET_MASK):
        offsets = list(map(and_, values, repeat(OFFSET_MASK)))  # none 0: the mask kept only entries with one
        if any(map(and_, offsets, repeat(cluster - 1))):
            i, table_offset = next((i, o) for i, o in zip(indices, offsets, strict=True) if o % cluster)
            raise q.corrupt(f"its L1 entry {i} (byte {header.l1_table_offset + 8 * i})",
                            f"points at unaligned offset {table_offset} for an L2 table")
        l1_indices.extend(indices)
        l2_offsets.extend(offsets)
    found = ExtentMap(virtual_size)
    claims = Claims(image, "qcow2", cluster)
    try:
        claims.table(0, max(header_length, ext_end), "header")
        reftable_bytes = header.refcount_table_clusters * cluster
        claims.table(header.refcount_table_offset, reftable_bytes, "refcount table")
        claims.table(header.l1_table_offset, 8 * header.l1_size, "L1 table")
        if header.nb_snapshots:
            _snapshots(q, claims)
        for indices, values in table_batches(image, header.refcount_table_offset, reftable_bytes // 8, ">Q",
                                             "qcow2 refcount table", mask=_REFTABLE_MASK):
            blocks = list(map(and_, values, repeat(OFFSET_MASK)))
            bad = next(compress(range(len(blocks)), map(and_, blocks, repeat(cluster - 1))), len(blocks))
            claims.tables(list(compress(blocks[:bad], blocks)), cluster, "refcount block",
                          list(compress(indices[:bad], blocks)))  # those before an unaligned one, if any
            if bad < len(blocks):
                i = indices[bad]
                raise q.corrupt(f"its refcount table entry {i} (byte {header.refcount_table_offset + 8 * i})",
                                f"points at unaligned offset {blocks[bad]}")
        claims.tables(l2_offsets, cluster, "L2 table of L1 entry", l1_indices)
        _data_clusters(q, claims, found, l1_indices, l2_offsets, virtual_size)
    finally:
        claims.close()
    return Parsed("qcow2", f"v{header.version}", virtual_size, found)


def _features(q: _Reader, incompatible: int) -> None:
    path = q.path
    unknown = incompatible & ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE | INCOMPAT_COMPRESSION |
                               INCOMPAT_EXTL2)
    if unknown:
        raise UnsupportedImageError(f"image {path} is a qcow2 with incompatible features {unknown:#x} this tool does "
                                    "not know; convert it with qemu-img convert -O qcow2 first.")
    if incompatible & INCOMPAT_CORRUPT:
        raise CorruptImageError(f"image {path} is a qcow2 that qemu marked corrupt; repair it with qemu-img check "
                                "-r all first.")
    if incompatible & INCOMPAT_DATA_FILE:
        raise UnsupportedImageError(f"image {path} is a qcow2 with an external data file, which this tool does not "
                                    "read; convert it with qemu-img convert -O qcow2 to a self-contained file first.")
    if incompatible & INCOMPAT_EXTL2:
        raise UnsupportedImageError(f"image {path} is a qcow2 with extended L2 entries (subclusters), which this tool "
                                    "does not read; convert it with qemu-img convert -O qcow2 first.")


def _extensions(q: _Reader, start: int, end: int, crypt_method: int, autoclear: int) -> None:
    """Walk the header extensions as qemu does (qcow2_read_extensions), refusing what it refuses."""
    offset = start
    while offset < end:
        magic, length = struct.unpack(">II", q.image.padded(offset, 8, "qcow2 header extension"))
        what = f"its header extension {magic:#010x} at byte {offset}"
        offset += 8
        if offset > end or length > end - offset:
            raise q.corrupt(what, f"is {length} bytes long, past the end of the header area (byte {end})")
        if magic == EXT_END:
            return
        if magic == EXT_BACKING_FORMAT and length >= MAX_BACKING_FORMAT:
            raise q.corrupt(what, f"names a backing format {length} bytes long (qemu allows {MAX_BACKING_FORMAT - 1})")
        if magic == EXT_CRYPTO and crypt_method != 2:
            raise q.corrupt(what, "is an encryption header in an image that is not LUKS-encrypted")
        if magic == EXT_BITMAPS and autoclear & AUTOCLEAR_BITMAPS:
            raise UnsupportedImageError(
                f"image {q.path} is a qcow2 with persistent dirty bitmaps, which this tool does not read; remove them "
                "(qemu-img bitmap --remove) or convert it with qemu-img convert -O qcow2 first.")
        offset += -(-length // 8) * 8


def _snapshots(q: _Reader, claims: Claims) -> None:
    """The internal snapshot table: each entry within qemu's limits and inside the file (the snapshots' own
    tables are never read: only the active L1 table is the disk)."""
    header, image = q.header, q.image
    start = offset = header.snapshots_offset
    for i in range(header.nb_snapshots):
        offset += -offset % 8
        raw = image.exact(offset, SnapshotHeader.struct_size(), f"qcow2 snapshot {i}")
        snapshot = SnapshotHeader.unpack(raw)
        if snapshot.extra_data_size > MAX_SNAPSHOT_EXTRA:
            raise q.corrupt(f"its snapshot {i} (byte {offset})",
                            f"has {snapshot.extra_data_size} bytes of extra data (qemu allows {MAX_SNAPSHOT_EXTRA})")
        offset += SnapshotHeader.struct_size() + snapshot.extra_data_size + snapshot.id_str_size + snapshot.name_size
        if offset - start > MAX_SNAPSHOTS_BYTES:
            raise q.corrupt(f"its snapshot table (byte {start})", f"is larger than qemu's limit of "
                            f"{MAX_SNAPSHOTS_BYTES} bytes")
        image.exact(offset - 1, 1, f"qcow2 snapshot {i}")
    claims.table(start, offset - start, "snapshot table")


class _Clusters:
    """The data clusters the L2 tables map, gathered in guest order from any number of tables and taken into the
    claims and the extent map a large batch at a time: what a table costs is its entries, not calls."""

    FLUSH = 1 << 16

    def __init__(self, q: _Reader, claims: Claims, found: ExtentMap, l1_indices: Sequence[int],
                 l2_offsets: Sequence[int], virtual_size: int) -> None:
        self.q, self.claims, self.found, self.virtual_size = q, claims, found, virtual_size
        self.l1_indices, self.l2_offsets = l1_indices, l2_offsets
        self.guests: list[int] = []
        self.hosts: list[int] = []
        # Anything but a data cluster (reserved bits 1-8, 56-61 and the COPIED flag are ignored, as qemu ignores
        # them when it reads).
        self.special = COMPRESSED | ZERO_CLUSTER | (q.cluster - 1) & OFFSET_MASK

    def where(self, guest: int) -> str:
        """Names the L2 entry that maps `guest` (only for a message)."""
        cluster = self.q.cluster
        per_l2 = cluster // 8
        i, j = divmod(guest // cluster, per_l2)
        table = self.l2_offsets[bisect.bisect_left(self.l1_indices, i)]
        return f"its L2 entry {j} of L1 entry {i} (byte {table + 8 * j}, guest byte {guest})"

    def entries(self, numbers: list[int], values: list[int]) -> None:
        """L2 entries `values` of the clusters `numbers` (each entry meaning something: see table_batches), in
        guest order. Data clusters, the usual case, are taken with operations that run in C; anything else is
        looked at one by one."""
        cluster = self.q.cluster
        specials = list(map(and_, values, repeat(self.special)))
        if any(specials):
            for k in compress(range(len(values)), specials):
                self._special(numbers[k] * cluster, values[k])
            plain = list(map(not_, specials))
            numbers, values = list(compress(numbers, plain)), list(compress(values, plain))
        self.guests.extend(map(mul, numbers, repeat(cluster)))
        self.hosts.extend(map(and_, values, repeat(OFFSET_MASK)))
        if len(self.guests) >= self.FLUSH:
            self.flush()

    def _special(self, guest: int, entry: int) -> None:
        """An L2 entry that is not a data cluster: refused, or a zero cluster (reads as zeros)."""
        q, cluster = self.q, self.q.cluster
        if entry & COMPRESSED:
            raise UnsupportedImageError(
                f"image {q.path} is a compressed qcow2 (the cluster at guest byte {guest} is compressed), which "
                "cannot be sent page by page; decompress it first: qemu-img convert -O qcow2 without -c.")
        host = entry & OFFSET_MASK
        if entry & ZERO_CLUSTER:
            if q.header.version < 3:
                raise q.corrupt(self.where(guest), "marks a zero cluster, which a version 2 image cannot have "
                                "(qemu: \"Zero cluster entry found in pre-v3 image\")")
            if host % cluster:
                raise q.corrupt(self.where(guest), f"points at unaligned offset {host}")
            return  # a zero cluster (maybe preallocated): reads as zeros
        raise q.corrupt(self.where(guest), f"points at unaligned offset {host}")

    def flush(self) -> None:
        guests, hosts = self.guests, self.hosts
        if guests:
            self.claims.spans(hosts, self.q.cluster, min(self.q.cluster, self.virtual_size - guests[-1]),
                              functools.partial(by_guest, self.where, guests))
            self.found.add_batch(guests, self.q.cluster, hosts)
        self.guests, self.hosts = [], []


def _data_clusters(q: _Reader, claims: Claims, found: ExtentMap, l1_indices: Sequence[int],
                   l2_offsets: Sequence[int], virtual_size: int) -> None:
    """Every L2 table, read in file order (swept_tables), its entries taken in guest order."""
    clusters = _Clusters(q, claims, found, l1_indices, l2_offsets, virtual_size)
    for numbers, values in swept_tables(q.image, l1_indices, l2_offsets, q.cluster, ">Q", "qcow2 L2 table of L1 entry",
                                        limit=-(-virtual_size // q.cluster), mask=_L2_MEANING):
        clusters.entries(numbers, values)
    clusters.flush()
