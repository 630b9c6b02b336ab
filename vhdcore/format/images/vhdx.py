"""VHDX (Hyper-V): headers, region table, metadata and block allocation table (BAT), little-endian.

Layout (MS-VHDX): "vhdxfile" at 0; two 4 KiB headers at 64 and 128 KiB (the valid one with the higher
sequence number is current; a non-zero log GUID means a log that must be replayed first: refused);
region tables at 192 and 256 KiB naming the BAT and metadata regions; metadata items give the block
size, the virtual disk size, the logical sector size and whether the disk has a parent (refused).
BAT entries are u64: state in bits 0-2, file offset in MiB in bits 20-63; after every `chunk ratio`
payload entries comes a sector-bitmap entry (used only by differencing disks). Headers and region
tables carry CRC-32C checksums, which are checked.

Read as qemu's vhdx driver reads it, and refused where it refuses: two valid headers with one sequence
number must be identical; the log must start at a whole MiB past the first; only the first region table
counts (qemu never reads the second), and its regions may not overlap each other or the log; the metadata
table must name each of the five required items once; a fully present block must lie inside the file and
overlap no region. And more: regions and blocks at whole MiB past the header section, inside the file,
metadata items inside their region, and no block mapped twice. Disks with 4096-byte logical sectors are
refused (qemu does not read them, and Azure disks have 512-byte sectors).
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

from ...errors import CorruptImageError, UnsupportedImageError
from ..layout import Layout, at
from ..sizes import SECTOR, KiB, MiB
from .claims import Claims, corrupt
from .crc32c import crc32c
from .source import ExtentMap, ImageFile, Parsed, table_entries

SIGNATURE = b"vhdxfile"
_HEADER_OFFSETS = (64 * KiB, 128 * KiB)
_REGION_TABLE_AT = 192 * KiB  # the copy at 256 KiB is never read by qemu
_TABLE_SIZE = 64 * KiB
_MAX_ENTRIES = 2047
_MAX_SIZE = 64 << 40


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
_REQUIRED_ITEMS = {FILE_PARAMETERS: "file parameters", VIRTUAL_DISK_SIZE: "virtual disk size",
                   VIRTUAL_DISK_ID: "page 83 data", LOGICAL_SECTOR_SIZE: "logical sector size",
                   PHYSICAL_SECTOR_SIZE: "physical sector size"}

# BAT payload block states
NOT_PRESENT, UNDEFINED, ZERO, UNMAPPED, UNMAPPED_V095, FULLY_PRESENT, PARTIALLY_PRESENT = 0, 1, 2, 3, 5, 6, 7
_NOTHING_STORED = {NOT_PRESENT, UNDEFINED, ZERO, UNMAPPED, UNMAPPED_V095}
SB_BLOCK_PRESENT = 6
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
    header, header_at = _current_header(image)
    if header.log_offset < MiB or header.log_offset % MiB or header.log_length % MiB or header.log_version:
        raise corrupt(path, "VHDX", f"its header at byte {header_at} gives a log at byte {header.log_offset} of "
                      f"{header.log_length} bytes, version {header.log_version}, which", "the format does not allow")
    if header.log_guid != bytes(16):
        raise UnsupportedImageError(
            f"image {path} is a VHDX whose log holds writes not yet applied (it was not closed cleanly); open and "
            "close it in Hyper-V, or run `qemu-img check -r all` on it, then try again.")
    claims = Claims(image, "VHDX", MiB)
    try:
        claims.table(0, MiB, "header section")
        if header.log_length:
            claims.table(header.log_offset, header.log_length, "log")
        regions = _regions(image, claims)
        metadata_at, metadata_length = regions[METADATA_REGION]
        metadata = _metadata(image, metadata_at, metadata_length)
        params = FileParameters.unpack(_item(image, metadata, FILE_PARAMETERS, 8))
        if params.flags & HAS_PARENT or PARENT_LOCATOR in metadata:
            raise UnsupportedImageError(
                f"image {path} is a differencing VHDX, which holds only changes to a parent disk; merge it into its "
                "parent first (Merge-VHD, or qemu-img convert of the child to a new image).")
        size = struct.unpack("<Q", _item(image, metadata, VIRTUAL_DISK_SIZE, 8))[0]
        sector = struct.unpack("<I", _item(image, metadata, LOGICAL_SECTOR_SIZE, 4))[0]
        _item(image, metadata, PHYSICAL_SECTOR_SIZE, 4)
        _item(image, metadata, VIRTUAL_DISK_ID, 16)
        block = params.block_size
        if sector == 4096:
            raise UnsupportedImageError(
                f"image {path} is a VHDX with 4096-byte logical sectors, which qemu does not read and an Azure disk "
                "(512-byte sectors) cannot present as made; convert its contents to a 512-byte-sector disk first.")
        if block < MiB or block > 256 * MiB or block & (block - 1) or sector != SECTOR or size % sector \
                or not 0 < size <= _MAX_SIZE:
            raise CorruptImageError(f"image {path} is a VHDX with block size {block}, sector size {sector} and size "
                                    f"{size}, which the format does not allow: it is corrupt; copy it again from "
                                    "its source.")
        found = _blocks(image, claims, regions[BAT_REGION], size, block, sector)
    finally:
        claims.close()
    variant = "fixed" if params.flags & LEAVE_BLOCKS_ALLOCATED else "dynamic"
    return Parsed("vhdx", variant, size, found)


def _blocks(image: ImageFile, claims: Claims, bat: tuple[int, int], size: int, block: int, sector: int) -> ExtentMap:
    path = image.path
    chunk_ratio = (1 << 23) * sector // block
    blocks = -(-size // block)
    count = blocks + (blocks - 1) // chunk_ratio
    bat_at, bat_length = bat
    if 8 * count > bat_length:
        raise CorruptImageError(f"image {path} has a VHDX BAT region of {bat_length} bytes, too small for {blocks} "
                                "blocks: it is corrupt; copy it again from its source.")
    found = ExtentMap(size)
    for i, entry in table_entries(image, bat_at, count, "<Q", "VHDX block allocation table", marks=_stored):
        state, offset = entry & 7, (entry >> 20) << 20
        where = f"its BAT entry {i} (byte {bat_at + 8 * i})"
        if (i + 1) % (chunk_ratio + 1) == 0:  # a sector bitmap entry: unused without a parent, but qemu checks it
            if state == SB_BLOCK_PRESENT:
                tail = block if i * block >= size else min(block, size - i * block)
                if offset + tail > image.size:
                    raise corrupt(path, "VHDX", where, f"points at bytes {offset}..{offset + tail}, past the end of "
                                  f"the {image.size}-byte file")
            continue
        index = i - i // (chunk_ratio + 1)
        if state in _NOTHING_STORED:
            continue
        if state != FULLY_PRESENT or not offset:
            # PARTIALLY_PRESENT exists only in differencing disks, which were refused above.
            raise CorruptImageError(f"image {path} has VHDX block {index} in state {state} at file offset {offset}, "
                                    "which a disk without a parent cannot have: it is corrupt; copy it again from "
                                    "its source.")
        guest = index * block
        claims.data(offset, block, min(block, size - guest), "{} (guest byte {})", where, guest)
        found.add(guest, block, offset)
    return found


_STATE_KEPT = bytes(1 if b & 7 not in _NOTHING_STORED else 0 for b in range(256))


def _stored(raw: bytes) -> bytes:
    """One byte per BAT entry of `raw`, non-zero where its state stores data (or is one qemu refuses)."""
    return raw[0::8].translate(_STATE_KEPT)


def _current_header(image: ImageFile) -> tuple[Header, int]:
    """qemu's choice: a header is valid if its checksum, signature and version are; of two valid ones the higher
    sequence number wins, and two with the same number must be the same header."""
    valid: list[tuple[Header, int, bytes]] = []
    for offset in _HEADER_OFFSETS:
        raw = image.exact(offset, Header.struct_size(), "VHDX header")
        header = Header.unpack(raw)
        if header.signature == b"head" and crc32c(raw[:4] + bytes(4) + raw[8:]) == header.checksum \
                and header.version == 1:
            valid.append((header, offset, raw))
    if not valid:
        raise CorruptImageError(f"image {image.path} has no VHDX header with a valid checksum and version 1: it is "
                                "corrupt; copy it again from its source.")
    if len(valid) == 2 and valid[0][0].sequence_number == valid[1][0].sequence_number and valid[0][2] != valid[1][2]:
        raise corrupt(image.path, "VHDX", f"its headers at bytes {_HEADER_OFFSETS[0]} and {_HEADER_OFFSETS[1]}",
                      "differ but carry the same sequence number, so neither is current")
    header, offset, _ = max(valid, key=lambda h: h[0].sequence_number)
    return header, offset


def _regions(image: ImageFile, claims: Claims) -> dict[bytes, tuple[int, int]]:
    raw = image.exact(_REGION_TABLE_AT, _TABLE_SIZE, "VHDX region table")
    table = RegionTableHeader.unpack(raw)
    if table.signature != b"regi" or table.entry_count > _MAX_ENTRIES or \
            crc32c(raw[:4] + bytes(4) + raw[8:]) != table.checksum:
        raise CorruptImageError(f"image {image.path} has no valid VHDX region table at byte {_REGION_TABLE_AT} (its "
                                "signature, entry count or checksum is wrong; qemu reads no other): it is corrupt; "
                                "copy it again from its source.")
    regions = {}
    for i in range(table.entry_count):
        at_ = RegionTableHeader.struct_size() + i * RegionEntry.struct_size()
        entry = RegionEntry.unpack(raw, at_)
        where = f"its region table entry {i} (byte {_REGION_TABLE_AT + at_})"
        if entry.guid in regions:
            raise corrupt(image.path, "VHDX", where, "names a region a previous entry already named")
        if entry.file_offset % MiB or entry.length % MiB or not entry.length:
            raise corrupt(image.path, "VHDX", where, f"gives a region at byte {entry.file_offset} of {entry.length} "
                          "bytes, not whole MiB")
        if entry.guid in (BAT_REGION, METADATA_REGION):
            name = "BAT region" if entry.guid == BAT_REGION else "metadata region"
            claims.table(entry.file_offset, entry.length, name)
            regions[entry.guid] = (entry.file_offset, entry.length)
            continue
        if entry.required & 1:
            raise UnsupportedImageError(
                f"image {image.path} is a VHDX with a required region {uuid.UUID(bytes_le=entry.guid)} this tool "
                "does not know; convert it with qemu-img convert -O vpc or -O raw first.")
        claims.table(entry.file_offset, entry.length, "region", i)
    for guid, name in ((BAT_REGION, "BAT"), (METADATA_REGION, "metadata")):
        if guid not in regions:
            raise CorruptImageError(f"image {image.path} is a VHDX without a {name} region: it is corrupt; "
                                    "copy it again from its source.")
    return regions


def _metadata(image: ImageFile, offset: int, length: int) -> dict[bytes, tuple[int, int]]:
    raw = image.exact(offset, _TABLE_SIZE, "VHDX metadata table")
    table = MetadataTableHeader.unpack(raw)
    if table.signature != b"metadata" or table.entry_count > _MAX_ENTRIES or \
            MetadataTableHeader.struct_size() + table.entry_count * MetadataEntry.struct_size() > len(raw):
        raise CorruptImageError(f"image {image.path} has a damaged VHDX metadata table at byte {offset} (its "
                                "signature or entry count is wrong): it is corrupt; copy it again from its source.")
    items: dict[bytes, tuple[int, int]] = {}
    for i in range(table.entry_count):
        at_ = MetadataTableHeader.struct_size() + i * MetadataEntry.struct_size()
        entry = MetadataEntry.unpack(raw, at_)
        where = f"its metadata table entry {i} (byte {offset + at_})"
        if entry.item_id in items:
            raise corrupt(image.path, "VHDX", where, "names an item a previous entry already named")
        if entry.item_id not in _REQUIRED_ITEMS and entry.item_id != PARENT_LOCATOR:
            if entry.flags & _ITEM_IS_REQUIRED:
                raise UnsupportedImageError(
                    f"image {image.path} is a VHDX with a required metadata item "
                    f"{uuid.UUID(bytes_le=entry.item_id)} this tool does not know; convert it with qemu-img convert "
                    "-O vpc or -O raw first.")
            continue
        if entry.offset < _TABLE_SIZE or entry.offset + entry.length > length:
            end = entry.offset + entry.length
            raise corrupt(image.path, "VHDX", where, f"places its item at bytes {entry.offset}..{end} of the "
                          f"{length}-byte metadata region, outside the item area")
        items[entry.item_id] = (offset + entry.offset, entry.length)
    for guid, name in _REQUIRED_ITEMS.items():
        if guid not in items:
            raise CorruptImageError(f"image {image.path} is a VHDX without its {name} metadata: it is corrupt; "
                                    "copy it again from its source.")
    return items


def _item(image: ImageFile, items: dict[bytes, tuple[int, int]], guid: bytes, length: int) -> bytes:
    name = _REQUIRED_ITEMS[guid]
    if items[guid][1] < length:
        raise CorruptImageError(f"image {image.path} is a VHDX whose {name} metadata is {items[guid][1]} bytes, "
                                f"shorter than {length}: it is corrupt; copy it again from its source.")
    return image.exact(items[guid][0], length, f"VHDX {name}")
