"""VHDX (Hyper-V): headers, region table, metadata and block allocation table (BAT), little-endian.

Layout (MS-VHDX): "vhdxfile" at 0; two 4 KiB headers at 64 and 128 KiB (the valid one with the higher
sequence number is current; a non-zero log GUID means a log that must be replayed first: refused);
region tables at 192 and 256 KiB naming the BAT and metadata regions; metadata items give the block
size, the virtual disk size, the logical sector size and whether the disk has a parent (refused).
BAT entries are u64: state in bits 0-2, file offset in MiB in bits 20-63; after every `chunk ratio`
payload entries comes a sector-bitmap entry (used only by differencing disks). Headers and region
tables carry CRC-32C checksums, which are checked.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

from ...errors import CorruptImageError, UnsupportedImageError
from ..layout import Layout, at
from .crc32c import crc32c
from .source import ExtentMap, ImageFile, Parsed

SIGNATURE = b"vhdxfile"
KiB, MiB = 1 << 10, 1 << 20
_HEADER_OFFSETS = (64 * KiB, 128 * KiB)
_REGION_TABLE_OFFSETS = (192 * KiB, 256 * KiB)
_TABLE_SIZE = 64 * KiB
_MAX_ENTRIES = 2047


def _guid(text: str) -> bytes:
    return uuid.UUID(text).bytes_le  # GUIDs are stored in Microsoft's mixed-endian order


BAT_REGION = _guid("2DC27766-F623-4200-9D64-115E9BFD4A08")
METADATA_REGION = _guid("8B7CA206-4790-4B9A-B8FE-575F050F886E")
FILE_PARAMETERS = _guid("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
VIRTUAL_DISK_SIZE = _guid("2FA54224-CD1B-4876-B211-5DBED83BF4B8")
VIRTUAL_DISK_ID = _guid("BECA12AB-B2E6-4523-93EF-C309E000C746")
LOGICAL_SECTOR_SIZE = _guid("8141BF1D-A96F-4709-BA47-F233A8FAAB5F")
PHYSICAL_SECTOR_SIZE = _guid("CDA348C7-445D-4471-9CC9-E9885251C556")
PARENT_LOCATOR = _guid("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C")
_KNOWN_ITEMS = {FILE_PARAMETERS, VIRTUAL_DISK_SIZE, VIRTUAL_DISK_ID, LOGICAL_SECTOR_SIZE, PHYSICAL_SECTOR_SIZE}

# BAT payload block states
NOT_PRESENT, UNDEFINED, ZERO, UNMAPPED, FULLY_PRESENT, PARTIALLY_PRESENT = 0, 1, 2, 3, 6, 7
_NOTHING_STORED = {NOT_PRESENT, UNDEFINED, ZERO, UNMAPPED}
LEAVE_BLOCKS_ALLOCATED, HAS_PARENT = 0x1, 0x2


@dataclass(frozen=True)
class Header(Layout, byte_order="<"):
    signature: bytes = at("4s")
    checksum: int = at("I")
    sequence_number: int = at("Q")
    file_write_guid: bytes = at("16s")
    data_write_guid: bytes = at("16s")
    log_guid: bytes = at("16s")
    log_version: int = at("H")
    version: int = at("H")
    log_length: int = at("I")
    log_offset: int = at("Q")
    reserved: bytes = at("4016s")


@dataclass(frozen=True)
class RegionTableHeader(Layout, byte_order="<"):
    signature: bytes = at("4s")
    checksum: int = at("I")
    entry_count: int = at("I")
    reserved: int = at("I")


@dataclass(frozen=True)
class RegionEntry(Layout, byte_order="<"):
    guid: bytes = at("16s")
    file_offset: int = at("Q")
    length: int = at("I")
    required: int = at("I")


@dataclass(frozen=True)
class MetadataTableHeader(Layout, byte_order="<"):
    signature: bytes = at("8s")
    reserved: int = at("H")
    entry_count: int = at("H")
    reserved2: bytes = at("20s")


@dataclass(frozen=True)
class MetadataEntry(Layout, byte_order="<"):
    item_id: bytes = at("16s")
    offset: int = at("I")
    length: int = at("I")
    flags: int = at("I")
    reserved: int = at("I")


@dataclass(frozen=True)
class FileParameters(Layout, byte_order="<"):
    block_size: int = at("I")
    flags: int = at("I")


assert Header.struct_size() == 4096 and RegionEntry.struct_size() == 32 and MetadataEntry.struct_size() == 32
_ITEM_IS_REQUIRED = 0x4


def parse(image: ImageFile) -> Parsed:
    path = image.path
    if image.exact(0, 8, "VHDX file identifier") != SIGNATURE:
        raise CorruptImageError(f"image {path} does not start with 'vhdxfile': it is not a VHDX; give the right "
                                "--format.")
    header = _current_header(image)
    if header.log_guid != bytes(16):
        raise UnsupportedImageError(
            f"image {path} is a VHDX whose log holds writes not yet applied (it was not closed cleanly); open and "
            "close it in Hyper-V, or run `qemu-img check -r all` on it, then try again.")
    regions = _regions(image)
    metadata = _metadata(image, regions[METADATA_REGION])
    params = FileParameters.unpack(_item(image, metadata, FILE_PARAMETERS, "file parameters", 8))
    if params.flags & HAS_PARENT or PARENT_LOCATOR in metadata:
        raise UnsupportedImageError(
            f"image {path} is a differencing VHDX, which holds only changes to a parent disk; merge it into its parent "
            "first (Merge-VHD, or qemu-img convert of the child to a new image).")
    size = struct.unpack("<Q", _item(image, metadata, VIRTUAL_DISK_SIZE, "virtual disk size", 8))[0]
    sector = struct.unpack("<I", _item(image, metadata, LOGICAL_SECTOR_SIZE, "logical sector size", 4))[0]
    block = params.block_size
    if block < MiB or block > 256 * MiB or block & (block - 1) or sector not in (512, 4096) or size % sector \
            or not 0 < size <= 64 << 40:
        raise CorruptImageError(f"image {path} is a VHDX with block size {block}, sector size {sector} and size "
                                f"{size}, which the format does not allow: it is corrupt.")
    chunk_ratio = (1 << 23) * sector // block
    blocks = -(-size // block)
    count = blocks + (blocks - 1) // chunk_ratio
    bat_offset, bat_length = regions[BAT_REGION]
    if 8 * count > bat_length:
        raise CorruptImageError(f"image {path} has a VHDX BAT region of {bat_length} bytes, too small for {blocks} "
                                "blocks: it is corrupt.")
    bat = struct.unpack(f"<{count}Q", image.exact(bat_offset, 8 * count, "VHDX block allocation table"))
    found = ExtentMap(size)
    for index in range(blocks):
        entry = bat[index + index // chunk_ratio]
        state, offset = entry & 7, (entry >> 20) << 20
        if state in _NOTHING_STORED:
            continue
        if state != FULLY_PRESENT or not offset:
            # PARTIALLY_PRESENT exists only in differencing disks, which were refused above.
            raise CorruptImageError(f"image {path} has VHDX block {index} in state {state} at file offset {offset}, "
                                    "which a disk without a parent cannot have: it is corrupt.")
        found.add(index * block, block, offset)
    variant = "fixed" if params.flags & LEAVE_BLOCKS_ALLOCATED else "dynamic"
    return Parsed("vhdx", variant, size, found.extents)


def _current_header(image: ImageFile) -> Header:
    valid = []
    for offset in _HEADER_OFFSETS:
        raw = image.exact(offset, Header.struct_size(), "VHDX header")
        header = Header.unpack(raw)
        if header.signature == b"head" and crc32c(raw[:4] + bytes(4) + raw[8:]) == header.checksum:
            valid.append(header)
    if not valid:
        raise CorruptImageError(f"image {image.path} has no VHDX header with a valid checksum: it is corrupt.")
    header = max(valid, key=lambda h: h.sequence_number)
    if header.version != 1:
        raise UnsupportedImageError(f"image {image.path} is a VHDX of version {header.version}; only version 1 is "
                                    "read. Convert it with qemu-img convert -O vpc or -O raw first.")
    return header


def _regions(image: ImageFile) -> dict[bytes, tuple[int, int]]:
    for offset in _REGION_TABLE_OFFSETS:  # the second copy is used when the first is damaged
        raw = image.exact(offset, _TABLE_SIZE, "VHDX region table")
        table = RegionTableHeader.unpack(raw)
        if table.signature == b"regi" and table.entry_count <= _MAX_ENTRIES and \
                crc32c(raw[:4] + bytes(4) + raw[8:]) == table.checksum:
            break
    else:
        raise CorruptImageError(f"image {image.path} has no VHDX region table with a valid checksum: it is corrupt.")
    regions = {}
    for i in range(table.entry_count):
        entry = RegionEntry.unpack(raw, RegionTableHeader.struct_size() + i * RegionEntry.struct_size())
        if entry.guid not in (BAT_REGION, METADATA_REGION):
            if entry.required & 1:
                raise UnsupportedImageError(
                    f"image {image.path} is a VHDX with a required region {uuid.UUID(bytes_le=entry.guid)} this tool "
                    "does not know; convert it with qemu-img convert -O vpc or -O raw first.")
            continue
        regions[entry.guid] = (entry.file_offset, entry.length)
    for guid, name in ((BAT_REGION, "BAT"), (METADATA_REGION, "metadata")):
        if guid not in regions:
            raise CorruptImageError(f"image {image.path} is a VHDX without a {name} region: it is corrupt.")
    return regions


def _metadata(image: ImageFile, region: tuple[int, int]) -> dict[bytes, tuple[int, int]]:
    offset, length = region
    raw = image.exact(offset, min(_TABLE_SIZE, length), "VHDX metadata table")
    table = MetadataTableHeader.unpack(raw)
    if table.signature != b"metadata" or table.entry_count > _MAX_ENTRIES or \
            MetadataTableHeader.struct_size() + table.entry_count * MetadataEntry.struct_size() > len(raw):
        raise CorruptImageError(f"image {image.path} has a damaged VHDX metadata table: it is corrupt.")
    items = {}
    for i in range(table.entry_count):
        entry = MetadataEntry.unpack(raw, MetadataTableHeader.struct_size() + i * MetadataEntry.struct_size())
        if entry.item_id not in _KNOWN_ITEMS and entry.item_id != PARENT_LOCATOR and entry.flags & _ITEM_IS_REQUIRED:
            raise UnsupportedImageError(
                f"image {image.path} is a VHDX with a required metadata item {uuid.UUID(bytes_le=entry.item_id)} "
                "this tool does not know; convert it with qemu-img convert -O vpc or -O raw first.")
        items[entry.item_id] = (offset + entry.offset, entry.length)
    return items


def _item(image: ImageFile, items: dict[bytes, tuple[int, int]], guid: bytes, name: str, length: int) -> bytes:
    if guid not in items or items[guid][1] < length:
        raise CorruptImageError(f"image {image.path} is a VHDX without its {name} metadata: it is corrupt.")
    return image.exact(items[guid][0], length, f"VHDX {name}")
