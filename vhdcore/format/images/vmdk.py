"""VMDK (VMware), the single-file hosted sparse extent ("monolithicSparse"); little-endian.

Layout (VMware Virtual Disk Format 5.0): a 512-byte sparse extent header ("KDMV"), an embedded text
descriptor, a grain directory (GD) of u32 sector offsets of grain tables (GT), each GT mapping
`num_gtes_per_gt` grains: 0 not allocated, 1 a zeroed grain (with the zeroed-grain flag), else the
grain's sector offset. Refused: compressed extents (streamOptimized), differencing disks (parentCID
set, or a parentFileNameHint), descriptor files with separate extents (monolithicFlat,
twoGbMaxExtent*), and ESX COWD/SESparse.

What qemu refuses when it opens the file is refused here too, with qemu's limits (at most 512 entries a
grain table, at most 32M grain-directory entries, grains of at most 1 GiB, a file at least as long as
the header's overhead, a descriptor at byte 512 naming the CID and parentCID); and more: every grain table
and grain must lie inside the file, grains after the overhead, and nothing may overlap or be mapped twice.
"""

from __future__ import annotations

import bisect
import functools
import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import mul

from ...errors import CorruptImageError, UnsupportedImageError
from ..layout import Layout, at
from ..sizes import SECTOR
from .claims import Claims, by_guest, corrupt
from .source import ExtentMap, ImageFile, Parsed, swept_tables, table_batches

MAGIC = b"KDMV"
DESCRIPTOR_MAGIC = b"# Disk DescriptorFile"
COWD_MAGIC = b"COWD"
FLAG_REDUNDANT_GD = 1 << 1
FLAG_ZEROED_GRAIN_GTE = 1 << 2
FLAG_COMPRESSED = 1 << 16
FLAG_MARKERS = 1 << 17
GD_AT_END = 0xFFFFFFFFFFFFFFFF
ZEROED_GRAIN = 1
MAX_GTES_PER_GT = 512  # qemu's limit ("L2 table size too big")
MAX_GD_ENTRIES = 32 << 20  # qemu's limit ("L1 size too big")
MAX_GRAIN_SECTORS = 1 << 16  # qemu allows up to 1 GiB; VMware writes 64 KiB
DESCRIPTOR_AT, DESCRIPTOR_SIZE = SECTOR, 20 * SECTOR  # where and how much qemu reads of the descriptor
_NO_PARENT = "ffffffff"
_CONVERT = "convert it first: qemu-img convert -O vmdk -o subformat=monolithicSparse (or -O raw)"


@dataclass(frozen=True)
class SparseExtentHeader(Layout, byte_order="<"):
    magic: bytes = at("4s")
    version: int = at("I")
    flags: int = at("I")
    capacity: int = at("Q")  # sectors
    grain_size: int = at("Q")  # sectors
    descriptor_offset: int = at("Q")  # sectors
    descriptor_size: int = at("Q")  # sectors
    num_gtes_per_gt: int = at("I")
    rgd_offset: int = at("Q")  # sectors
    gd_offset: int = at("Q")  # sectors
    overhead: int = at("Q")  # sectors
    unclean_shutdown: int = at("B")
    single_end_line_char: bytes = at("c")
    non_end_line_char: bytes = at("c")
    double_end_line_char1: bytes = at("c")
    double_end_line_char2: bytes = at("c")
    compress_algorithm: int = at("H")
    pad: bytes = at("433s")


assert SparseExtentHeader.struct_size() == 512


def is_vmdk(head: bytes) -> bool:
    return head.startswith((MAGIC, COWD_MAGIC, DESCRIPTOR_MAGIC))


def parse(image: ImageFile) -> Parsed:
    path = image.path
    head = image.exact(0, min(image.size, SECTOR), "VMDK header")
    if head.startswith(DESCRIPTOR_MAGIC):
        raise UnsupportedImageError(
            f"image {path} is a VMDK descriptor whose data is in separate extent files (monolithicFlat, "
            f"twoGbMaxExtent*, or a snapshot); {_CONVERT}.")
    if head.startswith(COWD_MAGIC):
        raise UnsupportedImageError(f"image {path} is an ESX COWD (snapshot) VMDK, which this tool does not read; "
                                    f"{_CONVERT}.")
    header = SparseExtentHeader.unpack(image.exact(0, SECTOR, "VMDK header"))
    if header.magic != MAGIC:
        raise CorruptImageError(f"image {path} does not start with the VMDK magic: it is not a VMDK; give the right "
                                "--format.")
    grain, per_gt, capacity = header.grain_size, header.num_gtes_per_gt, header.capacity
    if header.version not in (1, 2, 3) or grain < 1 or grain & (grain - 1) or grain > MAX_GRAIN_SECTORS \
            or not 1 <= per_gt <= MAX_GTES_PER_GT or not 0 < capacity < 1 << 40 or not header.gd_offset:
        raise CorruptImageError(f"image {path} has a VMDK header with version {header.version}, grain size {grain} "
                                f"and {per_gt} entries per grain table, which the format does not allow: it is "
                                "corrupt; copy it again from its source.")
    if header.flags & FLAG_COMPRESSED or header.compress_algorithm or header.gd_offset == GD_AT_END \
            or header.flags & FLAG_MARKERS:
        raise UnsupportedImageError(
            f"image {path} is a compressed VMDK (streamOptimized, as exported in OVAs), which cannot be sent page by "
            f"page; {_CONVERT}.")
    tables = -(-capacity // (grain * per_gt))
    if tables > MAX_GD_ENTRIES:
        raise corrupt(path, "VMDK", f"its header (capacity {capacity} sectors at byte "
                      f"{SparseExtentHeader.offset_of('capacity')})",
                      f"needs {tables} grain-directory entries, more than qemu allows ({MAX_GD_ENTRIES})")
    overhead = header.overhead * SECTOR
    if overhead > image.size:
        raise corrupt(path, "VMDK", f"its header's overhead (byte {SparseExtentHeader.offset_of('overhead')}) is "
                      f"{header.overhead} sectors, but", f"the file holds only {image.size} bytes (truncated)")
    if header.descriptor_size:
        descriptor = image.exact(header.descriptor_offset * SECTOR, header.descriptor_size * SECTOR,
                                 "VMDK embedded descriptor").split(b"\0", 1)[0].decode("utf-8", "replace")
        _check_descriptor(path, descriptor)
    _check_qemu_descriptor(image)
    gt_bytes = 4 * per_gt
    size = capacity * SECTOR
    gd_at = header.gd_offset * SECTOR
    empty = (0, ZEROED_GRAIN) if header.flags & FLAG_ZEROED_GRAIN_GTE else (0,)
    found = ExtentMap(size)
    gd_indices, gt_offsets = array("q"), array("q")  # every table is claimed before any grain
    for indices, values in table_batches(image, gd_at, tables, "<I", "VMDK grain directory"):
        gd_indices.extend(indices)
        gt_offsets.extend(map(mul, values, repeat(SECTOR)))
    claims = Claims(image, "VMDK", SECTOR)
    try:
        claims.table(0, SECTOR, "header")
        if header.descriptor_size:
            claims.table(header.descriptor_offset * SECTOR, header.descriptor_size * SECTOR, "descriptor")
        claims.table(gd_at, 4 * tables, "grain directory")
        if header.flags & FLAG_REDUNDANT_GD:  # qemu reads it (and fails on one it cannot read)
            claims.table(header.rgd_offset * SECTOR, 4 * tables, "redundant grain directory")
        claims.tables(gt_offsets, gt_bytes, "grain table of grain-directory entry", gd_indices)
        _grains(image, claims, found, header, gd_indices, gt_offsets, empty)
    finally:
        claims.close()
    return Parsed("vmdk", "monolithicSparse", size, found)


class _Grains:
    """The grains the grain tables map, gathered in guest order from any number of tables and taken into the
    claims and the extent map a large batch at a time: what a table costs is its entries, not calls."""

    FLUSH = 1 << 16

    def __init__(self, claims: Claims, found: ExtentMap, header: SparseExtentHeader, gd_indices: Sequence[int],
                 gt_offsets: Sequence[int], path: str) -> None:
        self.claims, self.found, self.path = claims, found, path
        self.grain_bytes, self.per_gt = header.grain_size * SECTOR, header.num_gtes_per_gt
        self.size, self.overhead = header.capacity * SECTOR, header.overhead
        self.directory_indices, self.table_offsets = gd_indices, gt_offsets
        self.guests: list[int] = []
        self.hosts: list[int] = []

    def where(self, guest: int) -> str:
        """Names the grain table entry that maps `guest` (only for a message)."""
        d, t = divmod(guest // self.grain_bytes, self.per_gt)
        table = self.table_offsets[bisect.bisect_left(self.directory_indices, d)]
        return f"its grain table entry {t} of grain-directory entry {d} (byte {table + 4 * t}, guest byte {guest})"

    def entries(self, numbers: list[int], values: list[int]) -> None:
        """Grain table entries `values` of the grains `numbers` (each meaning something: see table_batches)."""
        self.guests.extend(map(mul, numbers, repeat(self.grain_bytes)))
        self.hosts.extend(map(mul, values, repeat(SECTOR)))
        if len(self.guests) >= self.FLUSH:
            self.flush()

    def flush(self) -> None:
        guests, hosts = self.guests, self.hosts
        if guests:
            low = min(hosts)
            if low < self.overhead * SECTOR:
                raise corrupt(self.path, "VMDK", self.where(guests[hosts.index(low)]), f"points at sector "
                              f"{low // SECTOR}, inside the metadata before the first grain (sector {self.overhead})")
            self.claims.spans(hosts, self.grain_bytes, min(self.grain_bytes, self.size - guests[-1]),
                              functools.partial(by_guest, self.where, guests))
            self.found.add_batch(guests, self.grain_bytes, hosts)
        self.guests, self.hosts = [], []


def _grains(image: ImageFile, claims: Claims, found: ExtentMap, header: SparseExtentHeader,
            gd_indices: Sequence[int], gt_offsets: Sequence[int], empty: tuple[int, ...]) -> None:
    """Every grain table, read in file order (swept_tables), its entries taken in guest order. Not allocated (0),
    or a zeroed grain (1, with the flag), reads as zeros."""
    grains = _Grains(claims, found, header, gd_indices, gt_offsets, image.path)
    for numbers, values in swept_tables(image, gd_indices, gt_offsets, 4 * header.num_gtes_per_gt, "<I",
                                        "VMDK grain table", limit=-(-header.capacity // header.grain_size),
                                        empty=empty):
        grains.entries(numbers, values)
    grains.flush()


def _check_qemu_descriptor(image: ImageFile) -> None:
    """What qemu requires of the descriptor it reads at byte 512 (vmdk_read_cid, vmdk_parent_open): a CID and a
    parentCID in hexadecimal, and no parentFileNameHint (which would make it a differencing disk)."""
    text = image.padded(DESCRIPTOR_AT, DESCRIPTOR_SIZE, "VMDK descriptor").split(b"\0", 1)[0][: DESCRIPTOR_SIZE - 1]
    if b"parentFileNameHint" in text:
        raise UnsupportedImageError(
            f"image {image.path} is a differencing VMDK (its descriptor names a parentFileNameHint), which holds only "
            "changes to a parent disk; flatten it first: qemu-img convert -O vmdk of this image to a new file.")
    for name in (b"CID", b"parentCID"):
        at = text.find(name)
        value = text[at + len(name) + 1 :] if at >= 0 else b""
        if at < 0 or not re.match(rb"[ \t\n\v\f\r]*(0[xX][0-9a-fA-F]|(?!0[xX])[0-9a-fA-F])", value):
            raise corrupt(image.path, "VMDK", f"its descriptor at byte {DESCRIPTOR_AT}",
                          f"has no hexadecimal {name.decode()} (qemu refuses it)")


def _check_descriptor(path: str, text: str) -> None:
    values = dict(re.findall(r'^\s*(\w+)\s*=\s*"?([^"\r\n]*)"?\s*$', text, re.MULTILINE))
    if values.get("parentCID", _NO_PARENT).strip().lower() != _NO_PARENT:
        raise UnsupportedImageError(
            f"image {path} is a differencing VMDK (parentCID is set), which holds only changes to a parent disk; "
            "flatten it first: qemu-img convert -O vmdk of this image to a new file.")
    create_type = values.get("createType", "monolithicSparse").strip()
    if create_type.lower() == "streamoptimized":
        raise UnsupportedImageError(f"image {path} is a compressed VMDK (streamOptimized), which cannot be sent page "
                                    f"by page; {_CONVERT}.")
    extents = re.findall(r"^\s*(RW|RDONLY|NOACCESS)\s+\d+\s+(\w+)", text, re.MULTILINE)
    if len(extents) > 1 or any(kind != "SPARSE" for _, kind in extents):
        raise UnsupportedImageError(f"image {path} is a VMDK ({create_type}) with extents "
                                    f"{', '.join(kind for _, kind in extents)}, not one sparse extent; {_CONVERT}.")
