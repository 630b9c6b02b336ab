"""VDI (VirtualBox), header version 1.1; little-endian.

Layout (VirtualBox VDICore.h): a 64-byte text line, the signature 0xBEDA107F and the version at 64;
the header at 72 gives the image type (1 normal/dynamic, 2 fixed, 3 undo, 4 differencing), the block
map offset, the data offset, the disk size and the block size. The block map holds one u32 per block:
0xFFFFFFFF free, 0xFFFFFFFE zero, else the index of the block in the data area. Refused: undo and
differencing images, and blocks with extra per-block data (cbBlockExtra), which VirtualBox does not write.

What qemu refuses when it opens the file is refused here too (1 MiB blocks, 512-byte sectors, sector-aligned
block map and data, no link or parent UUID, at most 0x3fffffff blocks); and more: every block index must be
below the header's count of allocated blocks, every block inside the file, and no block mapped twice. The
virtual size is qemu's: the header's size rounded up to whole 512-byte sectors (VBoxManage convertfromraw
writes odd sizes).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import CorruptImageError, UnsupportedImageError
from ..layout import Layout, at
from ..sizes import SECTOR
from .claims import Claims, corrupt
from .source import ExtentMap, ImageFile, Parsed, table_entries

SIGNATURE = 0xBEDA107F
VERSION_1_1 = 0x00010001
NORMAL, FIXED, UNDO, DIFF = 1, 2, 3, 4
FREE, ZERO = 0xFFFFFFFF, 0xFFFFFFFE
BLOCK = 1 << 20  # the only block size qemu (and VirtualBox) uses
MAX_BLOCKS = 0x3FFFFFFF  # qemu's limit


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
    if header.image_type in (UNDO, DIFF) or header.uuid_linkage != bytes(16) or header.uuid_parent_modify != bytes(16):
        kind = {UNDO: "undo", DIFF: "diff"}.get(header.image_type, "it names a parent")
        raise UnsupportedImageError(
            f"image {path} is a differencing VDI ({kind}), which holds only changes to a parent disk; clone it into a "
            "standalone disk first (VBoxManage clonemedium).")
    if header.image_type not in (NORMAL, FIXED):
        raise CorruptImageError(f"image {path} is a VDI of unknown image type {header.image_type}: it is "
                                "corrupt; copy it again from its source.")
    if header.block_extra:
        raise UnsupportedImageError(
            f"image {path} is a VDI with {header.block_extra} extra bytes per block, which this tool does not read; "
            "convert it with VBoxManage clonemedium or qemu-img convert -O vdi first.")

    def field(name: str, problem: str) -> CorruptImageError:
        return corrupt(path, "VDI", f"its header's {name} (byte {PreHeader.struct_size() + Header.offset_of(name)}) "
                       f"is {getattr(header, name)}, which", problem)

    if header.sector_size != SECTOR:
        raise field("sector_size", f"is not {SECTOR}")
    if header.block_size != BLOCK:
        raise field("block_size", f"is not {BLOCK} (the only block size qemu reads)")
    for name in ("blocks_offset", "data_offset"):
        if getattr(header, name) % SECTOR:
            raise field(name, f"is not a multiple of {SECTOR}")
    count = header.blocks
    if count > MAX_BLOCKS:
        raise field("blocks", f"is more than qemu allows ({MAX_BLOCKS})")
    size = -(-header.disk_size // SECTOR) * SECTOR  # qemu rounds an odd size up to whole sectors
    if not 0 < size <= count * BLOCK:
        raise field("disk_size", f"does not fit its {count} blocks of {BLOCK} bytes")
    if header.blocks_allocated > count:
        raise field("blocks_allocated", f"is more than its {count} blocks")
    map_at, data_at = header.blocks_offset, header.data_offset
    found = ExtentMap(size)
    claims = Claims(image, "VDI", SECTOR)
    try:
        claims.table(0, SECTOR, "header")
        claims.table(map_at, 4 * count, "block map")
        # Free and zero blocks both read as zeros.
        for index, entry in table_entries(image, map_at, -(-size // BLOCK), "<I", "VDI block map", empty=(FREE, ZERO)):
            where = f"its block map entry {index} (byte {map_at + 4 * index}, guest byte {index * BLOCK})"
            if entry >= header.blocks_allocated:
                raise corrupt(path, "VDI", where, f"names data block {entry}, but the header counts "
                              f"{header.blocks_allocated} allocated blocks")
            host = data_at + entry * BLOCK
            claims.data(host, BLOCK, min(BLOCK, size - index * BLOCK), "{}", where)
            found.add(index * BLOCK, BLOCK, host)
    finally:
        claims.close()
    return Parsed("vdi", "fixed" if header.image_type == FIXED else "dynamic", size, found)
