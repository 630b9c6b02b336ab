"""VHD (Microsoft Virtual Hard Disk, "vpc" in qemu): fixed and dynamic disks.

Layout (VHD specification 1.0): a 512-byte footer at the end of the file (footer.Footer). A fixed disk
is its data followed by the footer. A dynamic disk has a copy of the footer at 0, a dynamic header at
footer.data_offset, a block allocation table (BAT) of big-endian u32 sector numbers (0xFFFFFFFF: not
allocated), and per allocated block a sector bitmap (padded to 512 bytes) followed by the block's data.
Differencing disks (type 4) need their parent: refused.

Read as qemu's vpc driver reads it: a file that starts with a footer copy is a dynamic disk described by
that copy (and refused here unless the footer at the end says the same); any other file is a fixed disk
described by the footer at its end. Sector bitmaps are not consulted: qemu reads every sector of an
allocated block from the block (and writes bitmaps all ones). Every BAT entry must point inside the file
(qemu's own check), at a block that overlaps no header, no table and no other block. A disk's size is the
footer's current_size (what Hyper-V and Azure use).
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass

from ...errors import CorruptImageError, UnsupportedImageError
from ..footer import COOKIE, DiskType, Footer
from ..layout import Layout, at
from ..sizes import FOOTER_SIZE, SECTOR
from .claims import Claims, corrupt
from .source import ExtentMap, ImageFile, Parsed, data_extents, table_batches

DYNAMIC_COOKIE = b"cxsparse"
UNALLOCATED = 0xFFFFFFFF
MIN_BLOCK, MAX_BLOCK = 4096, 1 << 31  # smaller blocks have no room for qemu's bitmap arithmetic
MAX_BAT_ENTRIES = ((1 << 31) - 1) // 4  # qemu's limit
MAX_DYNAMIC_SIZE = 0xFF000000 * SECTOR  # 2040 GiB: qemu's (and Hyper-V's) limit for a VHD


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
    if image.size < FOOTER_SIZE:
        return False
    footer = Footer.unpack(image.pread(image.size - FOOTER_SIZE, FOOTER_SIZE))
    return footer.cookie == COOKIE and footer.checksum_valid


def parse(image: ImageFile) -> Parsed:
    path = image.path
    if image.size < FOOTER_SIZE:
        raise _too_short(path, image.size)
    head = image.exact(0, FOOTER_SIZE, "VHD footer copy")
    tail_at = image.size - FOOTER_SIZE
    tail = image.exact(tail_at, FOOTER_SIZE, "VHD footer")
    if not head.startswith(COOKIE):  # any other file is a fixed disk, described by the footer at its end
        size = fixed_disk_size(path, tail, image.size)
        return Parsed("vhd", "fixed", size, data_extents(image, size), holes_known=True)
    # a dynamic disk, read (as qemu reads it) from its footer copy
    footer = Footer.unpack(head)
    if not footer.checksum_valid:
        raise corrupt(path, "VHD", "its footer copy at byte 0", "has a bad checksum")
    _not_differencing(path, footer)
    if footer.disk_type != DiskType.DYNAMIC:
        raise corrupt(path, "VHD", f"its footer copy at byte 0 says disk type {footer.disk_type} (byte "
                      f"{Footer.offset_of('disk_type')}), but", "only a dynamic disk starts with a footer copy")
    if tail != head:
        if not tail.startswith(COOKIE):
            raise CorruptImageError(
                f"image {path} is truncated or damaged (a dynamic VHD's footer copy is at its start, but its end "
                "holds no footer); copy it again, or give the right --format.")
        raise corrupt(path, "VHD", f"its footer copy at byte 0 and its footer at byte {tail_at}",
                      "disagree, and readers differ on which to trust (qemu reads the copy, others the footer)")
    size = footer.current_size
    _whole_sectors(path, size)
    if size > MAX_DYNAMIC_SIZE:
        raise corrupt(path, "VHD", f"its current_size (byte {Footer.offset_of('current_size')}) is {size}, which",
                      f"is more than a dynamic VHD can hold ({MAX_DYNAMIC_SIZE} bytes)")
    return Parsed("vhd", "dynamic", size, _dynamic_extents(image, footer))


def fixed_disk_size(path: str, tail: bytes, length: int) -> int:
    """The size of the disk a fixed VHD holds, from the last 512 bytes (`tail`) of the `length` bytes of a file or
    stream that does not start with a footer copy; or the one sentence that says why they are no such VHD. Files
    (parse) and streams (vhdcore.sources) are judged by this one rule."""
    if len(tail) < FOOTER_SIZE:
        raise _too_short(path, length)
    footer = Footer.unpack(tail)
    if footer.cookie != COOKIE:
        raise CorruptImageError(f"image {path} does not end in a VHD footer; copy it again, or give the right "
                                "--format.")
    if not footer.checksum_valid:
        raise CorruptImageError(f"image {path} has a VHD footer with a bad checksum: it is corrupt; copy it again.")
    _not_differencing(path, footer)
    if footer.disk_type == DiskType.DYNAMIC:
        raise corrupt(path, "VHD", f"its footer at byte {length - FOOTER_SIZE} says dynamic, but",
                      "the file does not start with the footer copy every dynamic disk has (qemu reads it as a "
                      "fixed disk)")
    if footer.disk_type != DiskType.FIXED:
        raise CorruptImageError(f"image {path} is a VHD of unknown disk type {footer.disk_type}: it is corrupt; "
                                "copy it again from its source.")
    size = footer.current_size
    _whole_sectors(path, size)
    if length != size + FOOTER_SIZE:
        raise CorruptImageError(f"image {path} is a fixed VHD of {size} bytes, but the file holds "
                                f"{length - FOOTER_SIZE} bytes before its footer: it is corrupt or truncated.")
    return size


def _too_short(path: str, length: int) -> CorruptImageError:
    return CorruptImageError(f"image {path} is {length} bytes, too short for a VHD footer; check the file.")


def _whole_sectors(path: str, size: int) -> None:
    if size % SECTOR:
        raise CorruptImageError(f"image {path} is a VHD of {size} bytes, not a multiple of 512: it is corrupt; "
                                "copy it again from its source.")


def _not_differencing(path: str, footer: Footer) -> None:
    if footer.disk_type == DiskType.DIFFERENCING:
        raise UnsupportedImageError(
            f"image {path} is a differencing VHD, which holds only changes to a parent disk; merge it into its parent "
            "first (Merge-VHD, or qemu-img convert of the child to a new image).")


def _entry(bat_at: int, block: int, indices: list[int], k: int) -> str:
    return f"its BAT entry {indices[k]} (byte {bat_at + 4 * indices[k]}, guest byte {indices[k] * block})"


def _dynamic_extents(image: ImageFile, footer: Footer) -> ExtentMap:
    path, size = image.path, footer.current_size
    header_at = footer.data_offset
    raw = image.exact(header_at, DynamicHeader.struct_size(), "VHD dynamic header")
    header = DynamicHeader.unpack(raw)
    if header.cookie != DYNAMIC_COOKIE:
        raise CorruptImageError(f"image {path} has no VHD dynamic header at byte {header_at}: it is corrupt; "
                                "copy it again from its source.")
    checksum = ~(sum(raw) - sum(raw[36:40])) & 0xFFFFFFFF
    if checksum != header.checksum:
        raise CorruptImageError(f"image {path} has a VHD dynamic header at byte {header_at} with a bad checksum: "
                                "it is corrupt; copy it again from its source.")
    block, entries = header.block_size, header.max_table_entries
    field = f"its dynamic header at byte {header_at}"
    if not MIN_BLOCK <= block <= MAX_BLOCK or block & (block - 1):
        raise corrupt(path, "VHD", f"{field} gives a block size of {block} (byte "
                      f"{header_at + DynamicHeader.offset_of('block_size')}), which",
                      f"is not a power of two from {MIN_BLOCK} to {MAX_BLOCK}")
    if entries > MAX_BAT_ENTRIES or entries * block < size:
        raise corrupt(path, "VHD", f"{field} gives {entries} blocks of {block} bytes (byte "
                      f"{header_at + DynamicHeader.offset_of('max_table_entries')}), which",
                      f"cannot hold its {size}-byte disk, or is more than qemu allows ({MAX_BAT_ENTRIES})")
    bitmap = (block // (8 * SECTOR) + SECTOR - 1) & ~(SECTOR - 1)  # qemu's formula; the spec's for these sizes
    span = bitmap + block
    bat_at = header.table_offset
    blocks = -(-size // block)
    found = ExtentMap(size)
    claims = Claims(image, "VHD", SECTOR)
    try:
        claims.table(0, FOOTER_SIZE, "footer copy")
        claims.table(image.size - FOOTER_SIZE, FOOTER_SIZE, "footer")
        claims.table(header_at, DynamicHeader.struct_size(), "dynamic header")
        claims.table(bat_at, -(-4 * entries // SECTOR) * SECTOR, "block allocation table")
        for indices, values in table_batches(image, bat_at, entries, ">I", "VHD block allocation table",
                                             empty=(UNALLOCATED,)):
            starts = [entry * SECTOR for entry in values]
            inside = bisect.bisect_left(indices, blocks)
            claims.spans(starts[:inside], span, span, functools.partial(_entry, bat_at, block, indices))
            found.add_batch([index * block for index in indices[:inside]], block,
                            [start + bitmap for start in starts[:inside]])
            for index, start in zip(indices[inside:], starts[inside:], strict=True):  # past the disk: never read,
                if start + span > image.size:  # but qemu refuses one past the end of the file
                    raise corrupt(path, "VHD", f"its BAT entry {index} (byte {bat_at + 4 * index})",
                                  f"points at bytes {start}..{start + span}, past the end of the {image.size}-byte "
                                  "file")
    finally:
        claims.close()
    return found
