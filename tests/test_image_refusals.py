"""Hostile and corrupt images (issue 16): one crafted file per rule the readers keep, refused in one sentence that
names the format, the field and where it is; and the corrupt images qemu reads in a way of its own, read the same
way here (checked against qemu-img convert). Made from the qemu-img test images (tests/images.py) with a few
bytes patched."""

from __future__ import annotations

import io
import shutil
import struct
import uuid
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from dissect.util.hash.crc32c import crc32c  # an independent CRC-32C

from tests.images import SIZE, KiB, MiB, TestImages, qemu_img
from vhdcore.cli import main
from vhdcore.errors import CorruptImageError, ImageError, UnsupportedImageError
from vhdcore.format.images import Scan, open_image

Maker = Callable[[TestImages, Path], Path]


def _copy(images: TestImages, name: str, tmp: Path) -> Path:
    return Path(shutil.copy(images[name], tmp / images[name].name))


def _patch(path: Path, offset: int, data: bytes) -> Path:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)
    return path


def _u(path: Path, offset: int, code: str) -> int:
    with open(path, "rb") as fh:
        fh.seek(offset)
        value: int = struct.unpack(code, fh.read(struct.calcsize(code)))[0]
    return value


# --- where things are in the test images (read here with struct, not with vhdcore) -----------------------------


def _qcow2_l2(path: Path) -> int:
    return _u(path, _u(path, 40, ">Q"), ">Q") & 0x00FFFFFFFFFFFE00


def _vhd_bat(path: Path) -> int:
    return _u(path, _u(path, 16, ">Q") + 16, ">Q")


def _vhd_footer_fix(path: Path, at: int) -> None:
    raw = bytearray(path.read_bytes()[at : at + 512])
    raw[64:68] = bytes(4)
    raw[64:68] = struct.pack(">I", ~sum(raw) & 0xFFFFFFFF)
    _patch(path, at, bytes(raw))


def _vmdk_gt(path: Path) -> int:
    return _u(path, _u(path, 56, "<Q") * 512, "<I") * 512


def _vhdx_regions(path: Path) -> dict[uuid.UUID, tuple[int, int, int]]:
    """GUID -> (offset, length, byte of the region table entry)."""
    found = {}
    for i in range(_u(path, 192 * KiB + 8, "<I")):
        at = 192 * KiB + 16 + 32 * i
        found[uuid.UUID(bytes_le=path.read_bytes()[at : at + 16])] = (_u(path, at + 16, "<Q"), _u(path, at + 24, "<I"),
                                                                       at)
    return found


BAT_REGION = uuid.UUID("2DC27766-F623-4200-9D64-115E9BFD4A08")
METADATA_REGION = uuid.UUID("8B7CA206-4790-4B9A-B8FE-575F050F886E")


def _crc_fix(path: Path, at: int, size: int) -> None:
    raw = bytearray(path.read_bytes()[at : at + size])
    raw[4:8] = bytes(4)
    raw[4:8] = struct.pack("<I", crc32c(bytes(raw)))
    _patch(path, at, bytes(raw))


# --- the crafted files ---------------------------------------------------------------------------------------


def qcow2_huge_cluster_bits(images: TestImages, tmp: Path) -> Path:
    return _patch(_copy(images, "qcow2", tmp), 20, struct.pack(">I", 0xDB09E7F4))  # found by the fuzz test


def qcow2_v2_zero_cluster(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "qcow2-v2", tmp)
    l2 = _qcow2_l2(path)
    return _patch(path, l2 + 7, bytes([_u(path, l2 + 7, "B") | 1]))  # the zero flag on a data cluster


def qcow2_every_l1_entry_at_one_l2_table(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "qcow2-4k", tmp)
    l1_at, l1_size = _u(path, 40, ">Q"), _u(path, 36, ">I")
    l2 = _u(path, l1_at, ">Q")
    return _patch(path, l1_at, struct.pack(">Q", l2) * l1_size)


def qcow2_two_entries_one_cluster(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "qcow2", tmp)
    l2 = _qcow2_l2(path)
    return _patch(path, l2 + 8 * 3, path.read_bytes()[l2 : l2 + 8])  # guest cluster 3 = guest cluster 0's host


def qcow2_entry_into_l1_table(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "qcow2", tmp)
    return _patch(path, _qcow2_l2(path), struct.pack(">Q", (1 << 63) | _u(path, 40, ">Q")))


def qcow2_l1_over_qemu_limit(images: TestImages, tmp: Path) -> Path:
    return _patch(_copy(images, "qcow2", tmp), 36, struct.pack(">I", (32 << 20) // 8 + 1))


def qcow2_unaligned_snapshot_table(images: TestImages, tmp: Path) -> Path:
    return _patch(_copy(images, "qcow2", tmp), 64, struct.pack(">Q", 4096))  # even with no snapshot


def qcow2_raw_data_file_bit(images: TestImages, tmp: Path) -> Path:
    return _patch(_copy(images, "qcow2", tmp), 88, struct.pack(">Q", 2))  # autoclear: data file is raw


def qcow2_extension_too_long(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "qcow2", tmp)
    return _patch(path, _u(path, 100, ">I") + 4, struct.pack(">I", 1 << 20))


def qcow2_bitmaps(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "qcow2", tmp)
    qemu_img("bitmap", "--add", path, "backup-0")
    return path


def vhd_bat_into_its_own_table(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vhd-dynamic", tmp)
    bat = _vhd_bat(path)
    return _patch(path, bat + 4, struct.pack(">I", bat // 512))


def vhd_bat_into_its_header(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vhd-dynamic", tmp)
    return _patch(path, _vhd_bat(path), struct.pack(">I", 1))  # sector 1: the dynamic header


def vhd_two_entries_one_block(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vhd-dynamic", tmp)
    bat = _vhd_bat(path)
    return _patch(path, bat + 8, path.read_bytes()[bat : bat + 4])


def vhd_eight_entries_one_2gib_block(images: TestImages, tmp: Path) -> Path:
    """The issue's attack: a 16 GiB disk of 2 GiB blocks, eight entries pointing at one, its bitmap alternating."""
    path = _copy(images, "vhd-dynamic", tmp)
    for at in (0, path.stat().st_size - 512):
        _patch(path, at + 40, struct.pack(">QQ", 16 << 30, 16 << 30))
        _vhd_footer_fix(path, at)
    header = _u(path, 16, ">Q")
    raw = bytearray(path.read_bytes()[header : header + 1024])
    raw[28:36] = struct.pack(">II", 8, 1 << 31)
    raw[36:40] = bytes(4)
    raw[36:40] = struct.pack(">I", ~sum(raw) & 0xFFFFFFFF)
    _patch(path, header, bytes(raw))
    _patch(path, _vhd_bat(path), struct.pack(">I", _u(path, _vhd_bat(path), ">I")) * 8)
    return _patch(path, _u(path, _vhd_bat(path), ">I") * 512, b"\xaa" * 4096)


def vhd_footers_disagree(images: TestImages, tmp: Path) -> Path:
    """The end footer says 7 MiB, the copy at 0 (which qemu reads) 8 MiB."""
    path = _copy(images, "vhd-dynamic", tmp)
    end = path.stat().st_size - 512
    for at, size in ((0, 8 * MiB), (end, 7 * MiB)):
        _patch(path, at + 40, struct.pack(">QQ", size, size))
        _vhd_footer_fix(path, at)
    return path


def vhd_dynamic_without_copy(images: TestImages, tmp: Path) -> Path:
    return _patch(_copy(images, "vhd-dynamic", tmp), 0, bytes(8))  # qemu reads this as a fixed disk


def vhd_entry_past_the_disk_past_the_end(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vhd-dynamic", tmp)
    header = _u(path, 16, ">Q")
    raw = bytearray(path.read_bytes()[header : header + 1024])
    raw[28:32] = struct.pack(">I", 128)  # room for 128 entries; the disk needs 3
    raw[36:40] = bytes(4)
    raw[36:40] = struct.pack(">I", ~sum(raw) & 0xFFFFFFFF)
    _patch(path, header, bytes(raw))
    return _patch(path, _vhd_bat(path) + 4 * 100, struct.pack(">I", 0x7FFFFFFF))


def vhd_small_block(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vhd-dynamic", tmp)
    header = _u(path, 16, ">Q")
    raw = bytearray(path.read_bytes()[header : header + 1024])
    raw[32:36] = struct.pack(">I", 2048)
    raw[36:40] = bytes(4)
    raw[36:40] = struct.pack(">I", ~sum(raw) & 0xFFFFFFFF)
    return _patch(path, header, bytes(raw))


def vmdk_every_directory_entry_at_one_table(images: TestImages, tmp: Path) -> Path:
    """The issue's attack, on the test image: a 16,384-entry directory, every entry at one grain table."""
    path = _copy(images, "vmdk", tmp)
    gt = _vmdk_gt(path) // 512
    gd_at = path.stat().st_size  # a new directory, at the end
    _patch(path, 12, struct.pack("<Q", 16384 * 512 * 128))  # the capacity that needs 16,384 grain tables
    _patch(path, 8, struct.pack("<I", 1))  # no redundant directory
    _patch(path, 56, struct.pack("<Q", gd_at // 512))
    return _patch(path, gd_at, struct.pack("<I", gt) * 16384)


def vmdk_grain_table_over_qemu_limit(images: TestImages, tmp: Path) -> Path:
    return _patch(_copy(images, "vmdk", tmp), 44, struct.pack("<I", 513))


def vmdk_grain_into_metadata(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vmdk", tmp)
    return _patch(path, _vmdk_gt(path), struct.pack("<I", 2))  # sector 2: the descriptor


def vmdk_two_grains_one_place(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vmdk", tmp)
    gt = _vmdk_gt(path)
    return _patch(path, gt + 4 * 5, path.read_bytes()[gt : gt + 4])


def vmdk_parent_file_name_hint(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vmdk", tmp)
    text = path.read_bytes()
    at = text.index(b"ddb.")  # a disk database line, which qemu's descriptor search reads past
    return _patch(path, at, b'parentFileNameHint="base.vmdk"\n')


def vmdk_no_cid(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vmdk", tmp)
    text = path.read_bytes()
    _patch(path, text.index(b"parentCID="), b"parentXID=")
    return _patch(path, text.index(b"\nCID=") + 1, b"XID=")


def vmdk_overhead_past_the_end(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vmdk", tmp)
    return _patch(path, 64, struct.pack("<Q", path.stat().st_size // 512 + 1))


def vmdk_redundant_directory_past_the_end(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vmdk", tmp)
    return _patch(path, 48, struct.pack("<Q", path.stat().st_size // 512 + 10))


def vdi_block_size(images: TestImages, tmp: Path) -> Path:
    return _patch(_copy(images, "vdi", tmp), 376, struct.pack("<I", 2 << 20))


def vdi_two_entries_one_block(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vdi", tmp)
    return _patch(path, _u(path, 340, "<I") + 8, struct.pack("<I", 0))


def vdi_parent_uuid(images: TestImages, tmp: Path) -> Path:
    return _patch(_copy(images, "vdi", tmp), 440, b"\x01" * 16)


def vhdx_two_byte_metadata_region(images: TestImages, tmp: Path) -> Path:
    """The issue's crash (was `internal error: unpack_from requires a buffer of at least 32 bytes`)."""
    path = _copy(images, "vhdx", tmp)
    _patch(path, _vhdx_regions(path)[METADATA_REGION][2] + 24, struct.pack("<I", 2))
    _crc_fix(path, 192 * KiB, 64 * KiB)
    return path


def vhdx_first_region_table_damaged(images: TestImages, tmp: Path) -> Path:
    """qemu reads only the first region table; the copy at 256 KiB is intact."""
    return _patch(_copy(images, "vhdx", tmp), 192 * KiB + 100, b"\xff")


def vhdx_headers_same_sequence(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vhdx", tmp)
    _patch(path, 64 * KiB + 8, struct.pack("<Q", _u(path, 128 * KiB + 8, "<Q")))
    _crc_fix(path, 64 * KiB, 4 * KiB)
    return path


def vhdx_log_unaligned(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vhdx", tmp)
    for header in (64 * KiB, 128 * KiB):
        _patch(path, header + 72, struct.pack("<Q", MiB + 4096))
        _crc_fix(path, header, 4 * KiB)
    return path


def vhdx_regions_overlap(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vhdx", tmp)
    regions = _vhdx_regions(path)
    _patch(path, regions[METADATA_REGION][2] + 16, struct.pack("<Q", regions[BAT_REGION][0]))
    _crc_fix(path, 192 * KiB, 64 * KiB)
    return path


def vhdx_block_into_metadata(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vhdx", tmp)
    bat = _vhdx_regions(path)[BAT_REGION][0]
    return _patch(path, bat, struct.pack("<Q", _vhdx_regions(path)[METADATA_REGION][0] | 6))


def _vhdx_1m_blocks(images: TestImages, tmp: Path) -> Path:
    """The test disk as a VHDX of 1 MiB blocks (qemu's default block is bigger than the disk)."""
    path = tmp / "blocks.vhdx"
    qemu_img("convert", "-f", "raw", "-O", "vhdx", "-o", "block_size=1M", images["raw"], path)
    return path


def vhdx_two_entries_one_block(images: TestImages, tmp: Path) -> Path:
    path = _vhdx_1m_blocks(images, tmp)
    bat = _vhdx_regions(path)[BAT_REGION][0]
    return _patch(path, bat + 8 * 2, path.read_bytes()[bat : bat + 8])


def vhdx_without_page83(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vhdx", tmp)
    metadata = _vhdx_regions(path)[METADATA_REGION][0]
    page83 = uuid.UUID("BECA12AB-B2E6-4523-93EF-C309E000C746").bytes_le
    at = path.read_bytes().index(page83, metadata)
    _patch(path, at + 24, bytes(4))  # not required
    return _patch(path, at, uuid.uuid4().bytes_le)  # an unknown, optional item instead


def vhdx_4k_sectors(images: TestImages, tmp: Path) -> Path:
    path = _copy(images, "vhdx", tmp)
    metadata = _vhdx_regions(path)[METADATA_REGION][0]
    sector = uuid.UUID("8141BF1D-A96F-4709-BA47-F233A8FAAB5F").bytes_le
    entry = path.read_bytes().index(sector, metadata)
    return _patch(path, metadata + _u(path, entry + 16, "<I"), struct.pack("<I", 4096))


REFUSED: dict[str, tuple[Maker, type[ImageError], str]] = {
    "qcow2 huge cluster_bits": (qcow2_huge_cluster_bits, CorruptImageError,
                                r"corrupt qcow2: its header's cluster_bits \(byte 20\) is 3674859508, which is outside "
                                r"9\.\.21"),
    "qcow2 v2 zero cluster": (qcow2_v2_zero_cluster, CorruptImageError,
                              r"corrupt qcow2: its L2 entry 0 of L1 entry 0 \(byte \d+, guest byte 0\) marks a zero "
                              r"cluster, which a version 2 image cannot have \(qemu: \"Zero cluster entry found in "
                              r"pre-v3 image\"\)"),
    "qcow2 every L1 entry at one L2 table": (qcow2_every_l1_entry_at_one_l2_table, CorruptImageError,
                                             r"corrupt qcow2: its L2 table of L1 entry 1 at byte \d+ \(4096 bytes\) "
                                             r"points at bytes \d+\.\.\d+, inside its L2 table of L1 entry 0"),
    "qcow2 two entries one cluster": (qcow2_two_entries_one_cluster, CorruptImageError,
                                      r"corrupt qcow2: its L2 entry 3 of L1 entry 0 \(byte \d+, guest byte 196608\) "
                                      r"points at bytes \d+\.\.\d+, which another entry already maps"),
    "qcow2 entry into the L1 table": (qcow2_entry_into_l1_table, CorruptImageError,
                                      r"its L2 entry 0 of L1 entry 0 .* inside its L1 table \(bytes 196608\.\."),
    "qcow2 L1 table over qemu's limit": (qcow2_l1_over_qemu_limit, CorruptImageError,
                                         r"its L1 table \(4194305 entries\) is larger than qemu's limit of 33554432 "
                                         r"bytes"),
    "qcow2 unaligned snapshot table": (qcow2_unaligned_snapshot_table, CorruptImageError,
                                       r"its header's snapshots_offset \(byte 64\) is 4096, which is not a 65536-byte "
                                       r"aligned offset for its snapshot table"),
    "qcow2 raw data file bit": (qcow2_raw_data_file_bit, CorruptImageError,
                                r"its autoclear features \(byte 88\) are 0x2, which mark a raw external data file"),
    "qcow2 header extension too long": (qcow2_extension_too_long, CorruptImageError,
                                        r"its header extension 0x[0-9a-f]{8} at byte 112 is 1048576 bytes long, past "
                                        r"the end of the header area"),
    "qcow2 persistent bitmaps": (qcow2_bitmaps, UnsupportedImageError,
                                 r"is a qcow2 with persistent dirty bitmaps.*qemu-img bitmap --remove"),
    "vhd BAT into its own table": (vhd_bat_into_its_own_table, CorruptImageError,
                                   r"corrupt VHD: its BAT entry 1 \(byte 1540, guest byte 2097152\) points at bytes "
                                   r"1536\.\.\d+, inside its block allocation table \(bytes 1536\.\.2048\)"),
    "vhd BAT into its header": (vhd_bat_into_its_header, CorruptImageError,
                                r"its BAT entry 0 \(byte 1536, guest byte 0\) points at bytes 512\.\.\d+, inside its "
                                r"dynamic header"),
    "vhd two entries one block": (vhd_two_entries_one_block, CorruptImageError,
                                  r"its BAT entry 2 \(byte 1544, guest byte 4194304\).*which another entry already "
                                  r"maps"),
    "vhd eight entries at one 2 GiB block": (vhd_eight_entries_one_2gib_block, CorruptImageError,
                                             r"its BAT entry 0 \(byte 1536, guest byte 0\) points at bytes 2048\.\."
                                             r"2148009984, past the end of the \d+-byte file"),
    "vhd footer copy disagrees": (vhd_footers_disagree, CorruptImageError,
                                  r"corrupt VHD: its footer copy at byte 0 and its footer at byte \d+ disagree, and "
                                  r"readers differ on which to trust \(qemu reads the copy"),
    "vhd dynamic without its footer copy": (vhd_dynamic_without_copy, CorruptImageError,
                                            r"its footer at byte \d+ says dynamic, but the file does not start with "
                                            r"the footer copy every dynamic disk has"),
    "vhd entry past the disk, past the file": (vhd_entry_past_the_disk_past_the_end, CorruptImageError,
                                               r"its BAT entry 100 \(byte 1936\) points at bytes \d+\.\.\d+, past the "
                                               r"end of the \d+-byte file"),
    "vhd block smaller than 4 KiB": (vhd_small_block, CorruptImageError,
                                     r"gives a block size of 2048 \(byte 544\), which is not a power of two from 4096"),
    "vmdk every directory entry at one table": (vmdk_every_directory_entry_at_one_table, CorruptImageError,
                                                r"corrupt VMDK: its grain table of grain-directory entry 1 at "
                                                r"byte 13824 \(2048 bytes\) points at bytes 13824\.\.15872, inside "
                                                r"its grain table of grain-directory entry 0"),
    "vmdk grain table over qemu's limit": (vmdk_grain_table_over_qemu_limit, CorruptImageError,
                                           r"513 entries per grain table, which the format does not allow"),
    "vmdk grain into the metadata": (vmdk_grain_into_metadata, CorruptImageError,
                                     r"its grain table entry 0 of grain-directory entry 0 \(byte 13824, guest byte 0\) "
                                     r"points at sector 2, inside the metadata before the first grain"),
    "vmdk two grains one place": (vmdk_two_grains_one_place, CorruptImageError,
                                  r"its grain table entry 5 of grain-directory entry 0 .* which another entry already "
                                  r"maps"),
    "vmdk parentFileNameHint": (vmdk_parent_file_name_hint, UnsupportedImageError,
                                r"is a differencing VMDK \(its descriptor names a parentFileNameHint\)"),
    "vmdk descriptor without a CID": (vmdk_no_cid, CorruptImageError,
                                      r"corrupt VMDK: its descriptor at byte 512 has no hexadecimal CID"),
    "vmdk overhead past the end": (vmdk_overhead_past_the_end, CorruptImageError,
                                   r"its header's overhead \(byte 64\) is \d+ sectors, but the file holds only"),
    "vmdk redundant directory past the end": (vmdk_redundant_directory_past_the_end, CorruptImageError,
                                              r"its redundant grain directory at byte \d+ \(4 bytes\) points at bytes "
                                              r"\d+\.\.\d+, past the end"),
    "vdi block size": (vdi_block_size, CorruptImageError,
                       r"corrupt VDI: its header's block_size \(byte 376\) is 2097152, which is not 1048576"),
    "vdi two entries one block": (vdi_two_entries_one_block, CorruptImageError,
                                  r"its block map entry 2 \(byte 520, guest byte 2097152\) points at bytes 1024\.\."
                                  r"1049600, which another entry already maps"),
    "vdi parent uuid": (vdi_parent_uuid, UnsupportedImageError, r"is a differencing VDI \(it names a parent\)"),
    "vhdx two-byte metadata region": (vhdx_two_byte_metadata_region, CorruptImageError,
                                      r"corrupt VHDX: its region table entry 1 \(byte 196656\) gives a region at byte "
                                      r"3145728 of 2 bytes, not whole MiB"),
    "vhdx first region table damaged": (vhdx_first_region_table_damaged, CorruptImageError,
                                        r"has no valid VHDX region table at byte 196608"),
    "vhdx headers with one sequence number": (vhdx_headers_same_sequence, CorruptImageError,
                                              r"its headers at bytes 65536 and 131072 differ but carry the same "
                                              r"sequence number"),
    "vhdx log unaligned": (vhdx_log_unaligned, CorruptImageError,
                           r"its header at byte \d+ gives a log at byte 1052672 of 1048576 bytes, version 0, which "
                           r"the format does not allow"),
    "vhdx regions overlap": (vhdx_regions_overlap, CorruptImageError,
                             r"its metadata region at byte 2097152 \(1048576 bytes\) points at bytes 2097152\.\."
                             r"3145728, inside its BAT region"),
    "vhdx block into the metadata": (vhdx_block_into_metadata, CorruptImageError,
                                     r"its BAT entry 0 \(byte 2097152\) \(guest byte 0\) points at bytes 3145728\.\."
                                     r"\d+, inside its metadata region"),
    "vhdx two entries one block": (vhdx_two_entries_one_block, CorruptImageError,
                                   r"its BAT entry 2 \(byte \d+\) \(guest byte 2097152\) points at bytes \d+\.\.\d+, "
                                   r"which another entry already maps"),
    "vhdx without page 83 data": (vhdx_without_page83, CorruptImageError,
                                  r"is a VHDX without its page 83 data metadata"),
    "vhdx 4096-byte sectors": (vhdx_4k_sectors, UnsupportedImageError,
                               r"is a VHDX with 4096-byte logical sectors, which qemu does not read"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_crafted_image_is_refused_in_one_sentence_naming_the_field_and_where(case: str, test_images: TestImages,
                                                                                 tmp_path: Path) -> None:
    make, error, pattern = REFUSED[case]
    path = make(test_images, tmp_path)
    with pytest.raises(error, match=pattern) as caught:
        open_image(path)
    text = str(caught.value)
    assert text.startswith(f"image {path} ") and text.endswith(".") and "\n" not in text
    if error is CorruptImageError and "qemu-img check" not in text:
        assert text.count(";") >= 1 and ("copy it again" in text or "give the right" in text)


@pytest.mark.parametrize("case", ["vhdx two-byte metadata region", "vhd eight entries at one 2 GiB block",
                                  "qcow2 every L1 entry at one L2 table", "vmdk every directory entry at one table"])
def test_the_command_line_answers_the_issue_s_attacks_in_one_line_with_exit_2(case: str, test_images: TestImages,
                                                                             tmp_path: Path) -> None:
    path = REFUSED[case][0](test_images, tmp_path)
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        code = main(["convert", str(path), str(tmp_path / "out.vhd")])
    assert code == 2
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vhdcore: error: image ") and "internal error" not in lines[0]
    assert not (tmp_path / "out.vhd").exists()


def test_any_other_failure_while_parsing_is_one_corrupt_image_sentence(test_images: TestImages, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure no check foresaw (struct.error is not a ValueError; IndexError, MemoryError...) still names the
    format and the structure being read, and where."""
    from vhdcore.format.images import vhdx

    for failure in (struct.error("unpack_from requires a buffer of at least 32 bytes"), IndexError("index"),
                    MemoryError(), UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")):
        def fail(*args: object, failure: BaseException = failure) -> None:
            raise failure

        monkeypatch.setattr(vhdx.MetadataTableHeader, "unpack", fail)
        with pytest.raises(CorruptImageError, match=r"is not a valid VHDX image: reading its VHDX metadata table at "
                                                    r"byte 3145728 failed \(" + type(failure).__name__ +
                                                    r": .*\); it is corrupt; copy it again"):
            open_image(test_images["vhdx"])


# --- corrupt in qemu's own way, and read as qemu reads it ----------------------------------------------------------


def _qemu_reads(path: Path, fmt: str, tmp: Path) -> bytes:
    raw = tmp / "qemu.raw"
    if fmt == "vpc":
        qemu_img("convert", "--image-opts", f"driver=vpc,force_size_calc=current_size,file.driver=file,"
                 f"file.filename={path}", "-O", "raw", raw)
    else:
        qemu_img("convert", "-f", fmt, "-O", "raw", path, raw)
    return raw.read_bytes()


def _reads(path: Path) -> bytes:
    with open_image(path) as image:
        data = bytearray(image.virtual_size)
        for run in Scan(image):
            end = min(run.end, image.virtual_size)
            data[run.offset : end] = run.data[: end - run.offset]
        return bytes(data)


def test_a_qcow2_of_511_bytes_is_an_empty_disk_as_qemu_reads_it(test_images: TestImages, tmp_path: Path) -> None:
    path = _patch(_copy(test_images, "qcow2", tmp_path), 24, struct.pack(">Q", 511))
    assert _qemu_reads(path, "qcow2", tmp_path) == b""
    with pytest.raises(ImageError, match=r"is an empty qcow2 image \(0 bytes\)"):
        open_image(path)
    _patch(path, 24, struct.pack(">Q", MiB + 700))  # qemu drops the odd 188 bytes, and reads up to there
    assert _reads(path) == _qemu_reads(path, "qcow2", tmp_path) == test_images.raw[: MiB + 512]


def test_a_vdi_of_511_bytes_is_a_512_byte_disk_as_qemu_reads_it(test_images: TestImages, tmp_path: Path) -> None:
    path = _patch(_copy(test_images, "vdi", tmp_path), 368, struct.pack("<Q", 511))
    with open_image(path) as image:
        assert image.virtual_size == 512
    assert _reads(path) == _qemu_reads(path, "vdi", tmp_path) == test_images.raw[:512]


def test_a_vhd_sector_bitmap_is_not_consulted_as_qemu_does_not(test_images: TestImages, tmp_path: Path) -> None:
    path = _copy(test_images, "vhd-dynamic", tmp_path)
    _patch(path, _u(path, _vhd_bat(path), ">I") * 512, b"\x55" * 512)  # half the first block's sectors "unwritten"
    assert _reads(path) == _qemu_reads(path, "vpc", tmp_path) == test_images.raw


def test_entries_empty_in_meaning_read_as_zeros(test_images: TestImages, tmp_path: Path) -> None:
    """Reserved bits and COPIED in qcow2, a VHDX block in state 5 (unmapped, qemu's v0.95 value): nothing stored."""
    qcow2 = _copy(test_images, "qcow2", tmp_path)
    l2 = _qcow2_l2(qcow2)
    _patch(qcow2, l2 + 8 * 40, struct.pack(">Q", (1 << 63) | (3 << 56) | 0x1FE))  # no offset: not allocated
    _patch(qcow2, l2 + 7, bytes([_u(qcow2, l2 + 7, "B") | 2]))  # a reserved bit on a data cluster
    assert _reads(qcow2) == _qemu_reads(qcow2, "qcow2", tmp_path) == test_images.raw
    vhdx = _vhdx_1m_blocks(test_images, tmp_path)
    bat = _vhdx_regions(vhdx)[BAT_REGION][0]
    _patch(vhdx, bat, struct.pack("<Q", (_u(vhdx, bat, "<Q") & ~7) | 5))
    expected = _qemu_reads(vhdx, "vhdx", tmp_path)
    assert _reads(vhdx) == expected and expected[:MiB] == bytes(MiB) and expected[MiB:] == test_images.raw[MiB:]


def test_a_vmdk_zeroed_grain_reads_as_zeros(test_images: TestImages, tmp_path: Path) -> None:
    path = _copy(test_images, "vmdk", tmp_path)
    _patch(path, 8, struct.pack("<I", _u(path, 8, "<I") | 4))  # zeroed-grain entries allowed
    _patch(path, _vmdk_gt(path), struct.pack("<I", 1))  # the first grain: zeroed
    expected = _qemu_reads(path, "vmdk", tmp_path)
    assert _reads(path) == expected and expected[: 64 * KiB] == bytes(64 * KiB) and len(expected) == SIZE
