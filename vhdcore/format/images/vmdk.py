"""VMDK (VMware), the single-file hosted sparse extent ("monolithicSparse"); little-endian.

Layout (VMware Virtual Disk Format 5.0): a 512-byte sparse extent header ("KDMV"), an embedded text
descriptor, a grain directory (GD) of u32 sector offsets of grain tables (GT), each GT mapping
`num_gtes_per_gt` grains: 0 not allocated, 1 a zeroed grain (with the zeroed-grain flag), else the
grain's sector offset. Refused: compressed extents (streamOptimized), differencing disks (parentCID
set), descriptor files with separate extents (monolithicFlat, twoGbMaxExtent*), and ESX COWD/SESparse.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from ...errors import CorruptImageError, UnsupportedImageError
from ..layout import Layout, at
from .source import SECTOR, ExtentMap, ImageFile, Parsed

MAGIC = b"KDMV"
DESCRIPTOR_MAGIC = b"# Disk DescriptorFile"
COWD_MAGIC = b"COWD"
FLAG_ZEROED_GRAIN_GTE = 1 << 2
FLAG_COMPRESSED = 1 << 16
FLAG_MARKERS = 1 << 17
GD_AT_END = 0xFFFFFFFFFFFFFFFF
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
    if header.version not in (1, 2, 3) or grain < 1 or grain & (grain - 1) or grain > 1 << 16 \
            or not 1 <= per_gt <= 1 << 16 or not 0 < capacity < 1 << 40 or not header.gd_offset:
        raise CorruptImageError(f"image {path} has a VMDK header with version {header.version}, grain size {grain} "
                                f"and {per_gt} entries per grain table, which the format does not allow: it is "
                                "corrupt.")
    if header.flags & FLAG_COMPRESSED or header.compress_algorithm or header.gd_offset == GD_AT_END \
            or header.flags & FLAG_MARKERS:
        raise UnsupportedImageError(
            f"image {path} is a compressed VMDK (streamOptimized, as exported in OVAs), which cannot be sent page by "
            f"page; {_CONVERT}.")
    if header.descriptor_size:
        descriptor = image.exact(header.descriptor_offset * SECTOR, header.descriptor_size * SECTOR,
                                 "VMDK embedded descriptor").split(b"\0", 1)[0].decode("utf-8", "replace")
        _check_descriptor(path, descriptor)
    grain_bytes = grain * SECTOR
    tables = -(-capacity // (grain * per_gt))
    directory = struct.unpack(f"<{tables}I", image.exact(header.gd_offset * SECTOR, 4 * tables,
                                                         "VMDK grain directory"))
    size = capacity * SECTOR
    zeroed_grains = bool(header.flags & FLAG_ZEROED_GRAIN_GTE)
    found = ExtentMap(size)
    for d, table_sector in enumerate(directory):
        if not table_sector:
            continue
        table = struct.unpack(f"<{per_gt}I", image.exact(table_sector * SECTOR, 4 * per_gt, f"VMDK grain table {d}"))
        for t, entry in enumerate(table):
            if entry == 0 or (entry == 1 and zeroed_grains):
                continue  # not allocated, or a zeroed grain: reads as zeros
            found.add((d * per_gt + t) * grain_bytes, grain_bytes, entry * SECTOR)
    return Parsed("vmdk", "monolithicSparse", size, found.extents)


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
