"""VDI (VirtualBox), header version 1.1; little-endian.

Layout (VirtualBox VDICore.h): a 64-byte text line, the signature 0xBEDA107F and the version at 64;
the header at 72 gives the image type (1 normal/dynamic, 2 fixed, 3 undo, 4 differencing), the block
map offset, the data offset, the disk size and the block size. The block map holds one i32 per block:
-1 free, -2 zero, else the index of the block in the data area. Refused: undo and differencing images,
and blocks with extra per-block data (cbBlockExtra), which VirtualBox does not write.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ...errors import CorruptImageError, UnsupportedImageError
from ..layout import Layout, at
from .source import SECTOR, ExtentMap, ImageFile, Parsed

SIGNATURE = 0xBEDA107F
VERSION_1_1 = 0x00010001
NORMAL, FIXED, UNDO, DIFF = 1, 2, 3, 4
FREE, ZERO = -1, -2
_MAX_BLOCKS = 1 << 26


@dataclass(frozen=True)
class PreHeader(Layout, byte_order="<"):
    file_info: bytes = at("64s")
    signature: int = at("I")
    version: int = at("I")


@dataclass(frozen=True)
class Header(Layout, byte_order="<"):
    """Header version 1.1, right after the pre-header."""

    header_size: int = at("I")
    image_type: int = at("I")
    flags: int = at("I")
    comment: bytes = at("256s")
    blocks_offset: int = at("I")
    data_offset: int = at("I")
    cylinders: int = at("I")
    heads: int = at("I")
    sectors: int = at("I")
    sector_size: int = at("I")
    unused: int = at("I")
    disk_size: int = at("Q")
    block_size: int = at("I")
    block_extra: int = at("I")
    blocks: int = at("I")
    blocks_allocated: int = at("I")
    uuid_create: bytes = at("16s")
    uuid_modify: bytes = at("16s")
    uuid_linkage: bytes = at("16s")
    uuid_parent_modify: bytes = at("16s")


assert PreHeader.struct_size() == 72 and Header.struct_size() == 384


def is_vdi(head: bytes) -> bool:
    return len(head) >= PreHeader.struct_size() and PreHeader.unpack(head).signature == SIGNATURE


def parse(image: ImageFile) -> Parsed:
    path = image.path
    pre = PreHeader.unpack(image.exact(0, PreHeader.struct_size(), "VDI pre-header"))
    if pre.signature != SIGNATURE:
        raise CorruptImageError(f"image {path} has no VDI signature at byte 64: it is not a VDI; give the right "
                                "--format.")
    if pre.version != VERSION_1_1:
        raise UnsupportedImageError(f"image {path} is a VDI of header version {pre.version:#010x}; only 1.1 is read. "
                                    "Convert it with VBoxManage clonemedium or qemu-img convert -O raw first.")
    header = Header.unpack(image.exact(PreHeader.struct_size(), Header.struct_size(), "VDI header"))
    if header.image_type in (UNDO, DIFF):
        raise UnsupportedImageError(
            f"image {path} is a differencing VDI ({'undo' if header.image_type == UNDO else 'diff'}), which holds only "
            "changes to a parent disk; clone it into a standalone disk first (VBoxManage clonemedium).")
    if header.image_type not in (NORMAL, FIXED):
        raise CorruptImageError(f"image {path} is a VDI of unknown type {header.image_type}: it is corrupt.")
    if header.block_extra:
        raise UnsupportedImageError(
            f"image {path} is a VDI with {header.block_extra} extra bytes per block, which this tool does not read; "
            "convert it with VBoxManage clonemedium or qemu-img convert -O vdi first.")
    size, block, count = header.disk_size, header.block_size, header.blocks
    if block < SECTOR or block % SECTOR or count > _MAX_BLOCKS or count * block < size or size <= 0 \
            or header.blocks_allocated > count:
        raise CorruptImageError(f"image {path} is a VDI with {count} blocks of {block} bytes for a {size}-byte "
                                "disk, which does not add up: it is corrupt.")
    table = struct.unpack(f"<{count}i", image.exact(header.blocks_offset, 4 * count, "VDI block map"))
    found = ExtentMap(size)
    for index, entry in enumerate(table):
        if entry in (FREE, ZERO):
            continue
        if not 0 <= entry < header.blocks_allocated:
            raise CorruptImageError(f"image {path} maps VDI block {index} to {entry}, outside its "
                                    f"{header.blocks_allocated} allocated blocks: it is corrupt.")
        found.add(index * block, block, header.data_offset + entry * block)
    return Parsed("vdi", "fixed" if header.image_type == FIXED else "dynamic", size, found.extents)
