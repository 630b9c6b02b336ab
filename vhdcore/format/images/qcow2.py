"""QCOW2 (qemu), versions 2 and 3: header, L1 table, L2 tables; big-endian.

Layout (qemu docs/interop/qcow2.txt): the header names the cluster size (2^cluster_bits), the virtual
size and the L1 table; each L1 entry points at an L2 table of cluster_size / 8 entries, each entry
mapping one cluster. An L2 entry's bits 9-55 are the cluster's host offset (0: not allocated), bit 0
(version 3) marks a zero cluster, bit 62 a compressed one. Every L2 table is read before anything is
sent, so a compressed cluster anywhere refuses the image up front. Refused as well: encryption,
backing files, external data files and extended L2 entries (subclusters).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ...errors import CorruptImageError, UnsupportedImageError
from ..layout import Layout, at
from .source import ExtentMap, ImageFile, Parsed

MAGIC = b"QFI\xfb"
OFFSET_MASK = 0x00FFFFFFFFFFFE00  # bits 9-55 of L1 and L2 entries
COMPRESSED = 1 << 62
ZERO_CLUSTER = 1
INCOMPAT_DIRTY, INCOMPAT_CORRUPT, INCOMPAT_DATA_FILE, INCOMPAT_COMPRESSION, INCOMPAT_EXTL2 = 1, 2, 4, 8, 16
_MAX_L1_BYTES = 32 << 20  # qemu's own limit


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


assert Header.struct_size() == 72 and V3Fields.struct_size() == 32


def parse(image: ImageFile) -> Parsed:
    path = image.path
    header = Header.unpack(image.exact(0, Header.struct_size(), "qcow2 header"))
    if header.magic != MAGIC:
        raise CorruptImageError(f"image {path} does not start with the qcow2 magic: it is not a qcow2; give the right "
                                "--format.")
    if header.version not in (2, 3) or not 9 <= header.cluster_bits <= 21:
        raise CorruptImageError(f"image {path} is a qcow2 header with version {header.version} and cluster_bits "
                                f"{header.cluster_bits}, which qcow2 does not have: it is corrupt.")
    incompatible = 0
    if header.version == 3:
        v3 = V3Fields.unpack(image.exact(Header.struct_size(), V3Fields.struct_size(), "qcow2 version 3 header"))
        incompatible = v3.incompatible_features
    if header.crypt_method:
        method = {1: "AES", 2: "LUKS"}.get(header.crypt_method, str(header.crypt_method))
        raise UnsupportedImageError(f"image {path} is an encrypted qcow2 ({method}); decrypt it first, e.g. qemu-img "
                                    "convert with --object secret and --image-opts to an unencrypted qcow2 or raw.")
    if header.backing_file_offset:
        raise UnsupportedImageError(
            f"image {path} is a qcow2 with a backing file, which holds only changes to it; flatten it first: "
            "qemu-img convert -O qcow2 of this image to a new file (or qemu-img rebase -b '').")
    if incompatible & INCOMPAT_CORRUPT:
        raise CorruptImageError(f"image {path} is a qcow2 that qemu marked corrupt; repair it with qemu-img check "
                                "-r all first.")
    if incompatible & INCOMPAT_DATA_FILE:
        raise UnsupportedImageError(f"image {path} is a qcow2 with an external data file, which this tool does not "
                                    "read; convert it with qemu-img convert -O qcow2 to a self-contained file first.")
    if incompatible & INCOMPAT_EXTL2:
        raise UnsupportedImageError(f"image {path} is a qcow2 with extended L2 entries (subclusters), which this tool "
                                    "does not read; convert it with qemu-img convert -O qcow2 first.")
    unknown = incompatible & ~(INCOMPAT_DIRTY | INCOMPAT_COMPRESSION)  # compression type matters only if compressed
    if unknown:
        raise UnsupportedImageError(f"image {path} is a qcow2 with incompatible features {unknown:#x} this tool does "
                                    "not know; convert it with qemu-img convert -O qcow2 first.")
    cluster_bits, size = header.cluster_bits, header.size
    cluster = 1 << cluster_bits
    entries_per_l2 = cluster // 8
    needed = -(-size // (cluster * entries_per_l2))
    if header.l1_size < needed or header.l1_size * 8 > _MAX_L1_BYTES or header.l1_table_offset % cluster:
        raise CorruptImageError(f"image {path} has a qcow2 L1 table of {header.l1_size} entries at "
                                f"{header.l1_table_offset}, which cannot map its {size}-byte disk: it is corrupt.")
    l1 = struct.unpack(f">{needed}Q", image.exact(header.l1_table_offset, 8 * needed, "qcow2 L1 table"))
    zero_flag = ZERO_CLUSTER if header.version == 3 else 0
    found = ExtentMap(size)
    for i, l1_entry in enumerate(l1):
        table_offset = l1_entry & OFFSET_MASK
        if not table_offset:
            continue
        if table_offset % cluster:
            raise CorruptImageError(f"image {path} has qcow2 L1 entry {i} pointing at unaligned offset {table_offset}: "
                                    "it is corrupt.")
        table = struct.unpack(f">{entries_per_l2}Q", image.exact(table_offset, cluster, f"qcow2 L2 table {i}"))
        base = i * entries_per_l2
        for j, entry in enumerate(table):
            if not entry:
                continue
            guest = (base + j) << cluster_bits
            if entry & COMPRESSED:
                raise UnsupportedImageError(
                    f"image {path} is a compressed qcow2 (the cluster at guest byte {guest} is compressed), which "
                    "cannot be sent page by page; decompress it first: qemu-img convert -O qcow2 without -c.")
            host = entry & OFFSET_MASK
            if entry & zero_flag or not host:
                continue  # a zero cluster (maybe preallocated), or not allocated: reads as zeros
            if host % cluster:
                raise CorruptImageError(f"image {path} maps guest byte {guest} to unaligned host offset {host}: it is "
                                        "corrupt.")
            found.add(guest, cluster, host)
    return Parsed("qcow2", f"v{header.version}", size, found.extents)
