"""VHD (Microsoft Virtual Hard Disk, "vpc" in qemu): fixed and dynamic disks.

Layout (VHD specification 1.0): a 512-byte footer at the end of the file (footer.Footer). A fixed disk
is its data followed by the footer. A dynamic disk has a copy of the footer at 0, a dynamic header at
footer.data_offset, a block allocation table (BAT) of big-endian u32 sector numbers (0xFFFFFFFF: not
allocated), and per allocated block a sector bitmap (padded to 512 bytes; the most significant bit of
byte 0 is the block's first sector, 1 = written) followed by the block's data. Unwritten sectors read
as zeros. Differencing disks (type 4) need their parent: refused.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ...errors import CorruptImageError, UnsupportedImageError
from ..footer import COOKIE, DiskType, Footer
from ..layout import Layout, at
from .source import SECTOR, Extent, ExtentMap, ImageFile, Parsed, data_extents

DYNAMIC_COOKIE = b"cxsparse"
UNALLOCATED = 0xFFFFFFFF
_MAX_BAT_ENTRIES = 1 << 24  # 32 TiB of 2 MiB blocks; more is a corrupt header, not a disk


@dataclass(frozen=True)
class DynamicHeader(Layout, byte_order=">"):
    """The dynamic disk header (1024 bytes, big-endian), at the footer's data_offset."""

    cookie: bytes = at("8s")
    data_offset: int = at("Q")
    table_offset: int = at("Q")
    header_version: int = at("I")
    max_table_entries: int = at("I")
    block_size: int = at("I")
    checksum: int = at("I")
    parent_unique_id: bytes = at("16s")
    parent_timestamp: int = at("I")
    reserved1: int = at("I")
    parent_unicode_name: bytes = at("512s")
    parent_locators: bytes = at("192s")
    reserved2: bytes = at("256s")


assert DynamicHeader.struct_size() == 1024


def has_footer(image: ImageFile) -> bool:
    """Whether the file ends in a VHD footer with a valid checksum (what detection trusts first)."""
    if image.size < SECTOR:
        return False
    footer = Footer.unpack(image.pread(image.size - SECTOR, SECTOR))
    return footer.cookie == COOKIE and footer.checksum_valid


def parse(image: ImageFile) -> Parsed:
    path = image.path
    if image.size < SECTOR:
        raise CorruptImageError(f"image {path} is {image.size} bytes, too short for a VHD footer; check the file.")
    footer = Footer.unpack(image.exact(image.size - SECTOR, SECTOR, "VHD footer"))
    if footer.cookie != COOKIE:
        head = image.pread(0, 8)
        what = "is truncated or damaged (a dynamic VHD's footer copy is at its start, but its end holds no footer)" \
            if head == COOKIE else "does not end in a VHD footer"
        raise CorruptImageError(f"image {path} {what}; copy it again, or give the right --format.")
    if not footer.checksum_valid:
        raise CorruptImageError(f"image {path} has a VHD footer with a bad checksum: it is corrupt; copy it again.")
    size = footer.current_size
    if size % SECTOR:
        raise CorruptImageError(f"image {path} is a VHD of {size} bytes, not a multiple of 512: it is corrupt.")
    if footer.disk_type == DiskType.DIFFERENCING:
        raise UnsupportedImageError(
            f"image {path} is a differencing VHD, which holds only changes to a parent disk; merge it into its parent "
            "first (Merge-VHD, or qemu-img convert of the child to a new image).")
    if footer.disk_type == DiskType.FIXED:
        if image.size != size + SECTOR:
            raise CorruptImageError(f"image {path} is a fixed VHD of {size} bytes, but the file holds "
                                    f"{image.size - SECTOR} bytes before its footer: it is corrupt or truncated.")
        return Parsed("vhd", "fixed", size, data_extents(image, size), holes_known=True)
    if footer.disk_type != DiskType.DYNAMIC:
        raise CorruptImageError(f"image {path} is a VHD of unknown disk type {footer.disk_type}: it is corrupt.")
    return Parsed("vhd", "dynamic", size, _dynamic_extents(image, footer))


def _dynamic_extents(image: ImageFile, footer: Footer) -> list[Extent]:
    path, size = image.path, footer.current_size
    raw = image.exact(footer.data_offset, DynamicHeader.struct_size(), "VHD dynamic header")
    header = DynamicHeader.unpack(raw)
    if header.cookie != DYNAMIC_COOKIE:
        raise CorruptImageError(f"image {path} has no VHD dynamic header at byte {footer.data_offset}: it is corrupt.")
    checksum = ~(sum(raw) - sum(raw[36:40])) & 0xFFFFFFFF
    if checksum != header.checksum:
        raise CorruptImageError(f"image {path} has a VHD dynamic header with a bad checksum: it is corrupt.")
    block, entries = header.block_size, header.max_table_entries
    if block < SECTOR or block & (block - 1) or entries > _MAX_BAT_ENTRIES or entries * block < size:
        raise CorruptImageError(f"image {path} has a VHD dynamic header with {entries} blocks of {block} bytes, "
                                f"which cannot hold its {size}-byte disk: it is corrupt.")
    bat = struct.unpack(f">{entries}I", image.exact(header.table_offset, 4 * entries, "VHD block allocation table"))
    sectors = block // SECTOR
    bitmap_length = -(-sectors // 8 // SECTOR) * SECTOR
    full = b"\xff" * (sectors // 8)
    found = ExtentMap(size)
    for index in range(-(-size // block)):
        entry = bat[index]
        if entry == UNALLOCATED:
            continue
        start = entry * SECTOR
        bitmap = image.exact(start, bitmap_length, f"sector bitmap of block {index}")
        data, guest = start + bitmap_length, index * block
        if bitmap[: len(full)] == full:
            found.add(guest, block, data)  # qemu and Hyper-V write whole blocks: the usual case
            continue
        first = 0
        while first < sectors:  # only the sectors the bitmap marks as written hold data
            if not bitmap[first >> 3] & (0x80 >> (first & 7)):
                first += 1
                continue
            last = first
            while last < sectors and bitmap[last >> 3] & (0x80 >> (last & 7)):
                last += 1
            found.add(guest + first * SECTOR, (last - first) * SECTOR, data + first * SECTOR)
            first = last
    return found.extents
