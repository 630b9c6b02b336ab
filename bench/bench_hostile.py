"""Benchmark: the worst crafted image of each format this bench can make (each file at most 1 GiB), answered by
vhdcore in bounded time and memory.

    venv/bin/python bench/bench_hostile.py [--dir DIR] [--only CASE ...]

Each case is a file written here to be as costly as possible for a reader:
- the attacks of issue 16: tables that point many entries at one place (every qcow2 L1 entry at one L2 table
  whose entries all point at one cluster; 16,384 VMDK grain-directory entries at one grain table; eight VHD BAT
  entries at one 2 GiB block with an alternating sector bitmap; every VDI or VHDX entry at one block);
- tables of the largest size qemu allows, or that fill the file, with entries that are empty in meaning but not
  in bytes (qcow2 L2 entries with only the COPIED flag, VMDK zeroed grains, VDI zero blocks, VHDX blocks in
  state 5, one allocated VHD block in every 4 KiB of its BAT);
- the most separate extents a 1 GiB file can hold: 512-byte clusters or grains, or 4 KiB VHD blocks, all
  holding data, mapped in scrambled order (nothing merges), and a raw file that alternates 4 KiB of data and
  4 KiB of hole.
For each, `python -m vhdcore inspect FILE -o json`, then `python -m vhdcore convert FILE OUT --format F -o json`
(which reads every stored byte, hashes it and writes the fixed VHD), and between them the read path alone
(open, Scan and fingerprint, as `blob upload` reads before and while it sends), each in a child process: wall time and
peak resident memory (os.wait4's rusage of that child; the file is made by another process) are printed as a
markdown table with vhdcore's answer, the child's CPU time, and for an image vhdcore accepts what `qemu-img
convert` to the same fixed VHD costs (the output's writes and fsync dominate the scattered cases). The goal:
every answer within 10 s and under 300 MiB. A last,
non-hostile row (1000 MiB of plain raw data) shows what reading, hashing and writing 1000 MiB costs here.
Files are made in a temporary directory (on DIR's file system) and deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from array import array
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere, without installing vhdcore

from vhdcore.format.images.crc32c import crc32c  # noqa: E402
from vhdcore.format.sizes import GiB, KiB, MiB, TiB  # noqa: E402

PATTERN = bytes(b | 1 for b in random.Random(16).randbytes(MiB))  # data: no zero byte, so every page is sent


def _be(values: array) -> bytes:  # type: ignore[type-arg]
    values = array(values.typecode, values)
    values.byteswap()
    return values.tobytes()


def _data(fh: object, at: int, length: int) -> None:
    """`length` bytes of non-zero data at `at`."""
    fh.seek(at)  # type: ignore[attr-defined]
    while length > 0:
        fh.write(PATTERN[: min(length, MiB)])  # type: ignore[attr-defined]
        length -= MiB


def _scramble(n: int) -> list[int]:
    """A permutation of range(n) in which no two neighbours stay neighbours (nothing merges into an extent)."""
    step = next(p for p in range(n // 2 + 1, n) if _coprime(p, n))
    return [(i * step) % n for i in range(n)]


def _coprime(a: int, b: int) -> bool:
    while b:
        a, b = b, a % b
    return a == 1


# --- qcow2 -----------------------------------------------------------------------------------------------------


def _qcow2_header(cluster_bits: int, size: int, l1_size: int, l1_at: int) -> bytes:
    cluster = 1 << cluster_bits
    header = struct.pack(">4sIQIIQIIQQIIQ", b"QFI\xfb", 3, 0, 0, cluster_bits, size, 0, l1_size, l1_at, cluster, 1,
                         0, 0)
    header += struct.pack(">QQQII", 0, 0, 0, 4, 104) + bytes(8)  # v3 fields, then the end of extensions
    return header + bytes(cluster - len(header)) + struct.pack(">Q", 2 * cluster)  # refcount table -> block 2


def qcow2_one_cluster(path: Path) -> str:
    """The issue's attack: every L1 entry points at one L2 table, whose every entry points at one cluster."""
    cluster = 64 * KiB
    size = TiB
    l1_size = size // (cluster * cluster // 8)
    with open(path, "wb") as fh:
        fh.write(_qcow2_header(16, size, l1_size, 5 * cluster))
        fh.seek(3 * cluster)
        fh.write(struct.pack(">Q", 4 * cluster) * (cluster // 8))  # the L2 table
        _data(fh, 4 * cluster, cluster)
        fh.seek(5 * cluster)
        fh.write(struct.pack(">Q", 3 * cluster) * l1_size)
        fh.truncate(6 * cluster + 8 * l1_size)
    return "qcow2"


def qcow2_scrambled(path: Path) -> str:
    """2,048,000 data clusters of 512 bytes (1000 MiB) mapped in scrambled order by 32,000 L2 tables."""
    cluster, tables = 512, 32000
    per_l2 = cluster // 8
    clusters = tables * per_l2
    l1_at = 3 * cluster
    l2_at = l1_at + -(-8 * tables // cluster) * cluster
    data_at = l2_at + tables * cluster
    with open(path, "wb") as fh:
        fh.write(_qcow2_header(9, clusters * cluster, tables, l1_at))
        fh.seek(l1_at)
        fh.write(_be(array("Q", (l2_at + i * cluster for i in range(tables)))))
        fh.seek(l2_at)
        fh.write(_be(array("Q", (data_at + h * cluster for h in _scramble(clusters)))))
        _data(fh, data_at, clusters * cluster)
    return "qcow2"


def qcow2_copied_only(path: Path) -> str:
    """16,000 L2 tables (1000 MiB) of 128M entries that hold only the COPIED flag: empty in meaning, not bytes."""
    cluster, tables = 64 * KiB, 16000
    l1_at, l2_at = 3 * cluster, 5 * cluster
    with open(path, "wb") as fh:
        fh.write(_qcow2_header(16, tables * (cluster // 8) * cluster, tables, l1_at))
        fh.seek(l1_at)
        fh.write(_be(array("Q", (l2_at + i * cluster for i in range(tables)))))
        fh.seek(l2_at)
        table = struct.pack(">Q", 1 << 63) * (cluster // 8)
        for _ in range(tables):
            fh.write(table)
    return "qcow2"


def qcow2_scattered_tables(path: Path) -> str:
    """2,000,000 L2 tables of 512 bytes (1000 MiB) in scrambled order, every entry with only the COPIED flag: a
    million small reads, none of which can be merged with the next."""
    cluster, tables = 512, 2000000
    l1_at = 3 * cluster
    l2_at = l1_at + -(-8 * tables // cluster) * cluster
    with open(path, "wb") as fh:
        fh.write(_qcow2_header(9, tables * (cluster // 8) * cluster, tables, l1_at))
        fh.seek(l1_at)
        fh.write(_be(array("Q", (l2_at + h * cluster for h in _scramble(tables)))))
        fh.seek(l2_at)
        table = struct.pack(">Q", 1 << 63) * (cluster // 8) * 2048
        for _ in range(tables // 2048):
            fh.write(table)
        fh.write(table[: (tables % 2048) * cluster])
    return "qcow2"


def qcow2_scattered_mapping_tables(path: Path) -> str:
    """1,000,000 L2 tables of 512 bytes in scrambled order, each mapping one data cluster (1,000,000 of them,
    also scrambled): none of the tables can be skipped or read with the next."""
    cluster, tables = 512, 1000000
    per_l2 = cluster // 8
    l1_at = 3 * cluster
    l2_at = l1_at + -(-8 * tables // cluster) * cluster
    data_at = l2_at + tables * cluster
    order, places = _scramble(tables), _scramble(tables)[::-1]
    with open(path, "wb") as fh:
        fh.write(_qcow2_header(9, tables * per_l2 * cluster, tables, l1_at))
        fh.seek(l1_at)
        fh.write(_be(array("Q", (l2_at + h * cluster for h in order))))
        for i, h in enumerate(order):  # table h (in the file) is L1 entry i's: its entry i % 64 maps a cluster
            fh.seek(l2_at + h * cluster + 8 * (i % per_l2))
            fh.write(struct.pack(">Q", data_at + places[i] * cluster))
        _data(fh, data_at, tables * cluster)
    return "qcow2"


def qcow2_largest_l1(path: Path) -> str:
    """The largest L1 table qemu allows (32 MiB, 4M entries), all zero: a 2 PiB disk."""
    cluster, l1_size = 64 * KiB, 4 << 20
    with open(path, "wb") as fh:
        fh.write(_qcow2_header(16, l1_size * (cluster // 8) * cluster, l1_size, 3 * cluster))
        fh.truncate(3 * cluster + 8 * l1_size)
    return "qcow2"


# --- VHD -------------------------------------------------------------------------------------------------------


def _vhd_footer(size: int) -> bytes:
    footer = bytearray(512)
    struct.pack_into(">8sIIQI4sI4sQQHBBII", footer, 0, b"conectix", 2, 0x10000, 512, 0, b"qem2", 0x10000, b"Wi2k",
                     size, size, 65535, 16, 255, 3, 0)
    struct.pack_into(">I", footer, 64, ~sum(footer) & 0xFFFFFFFF)
    return bytes(footer)


def _vhd_header(bat_at: int, entries: int, block: int) -> bytes:
    header = bytearray(1024)
    struct.pack_into(">8sQQIIII", header, 0, b"cxsparse", (1 << 64) - 1, bat_at, 0x10000, entries, block, 0)
    struct.pack_into(">I", header, 36, ~sum(header) & 0xFFFFFFFF)
    return bytes(header)


def _vhd(path: Path, size: int, block: int, bat: array, blocks_at: int, blocks: int, *,  # type: ignore[type-arg]
         bitmap_byte: int = 0xFF) -> None:
    bitmap = (block // 4096 + 511) & ~511
    footer = _vhd_footer(size)
    with open(path, "wb") as fh:
        fh.write(footer + _vhd_header(1536, len(bat), block))
        fh.write(_be(bat))
        for k in range(blocks):
            fh.seek(blocks_at + k * (bitmap + block))
            fh.write(bytes([bitmap_byte]) * bitmap)
        if block <= MiB:
            _data(fh, blocks_at, blocks * (bitmap + block))  # bitmaps hold data too: qemu ignores them
        else:
            _data(fh, blocks_at + bitmap, MiB)
        fh.seek(blocks_at + blocks * (bitmap + block))
        fh.write(footer)


def vhd_one_block(path: Path) -> str:
    """The issue's attack: eight BAT entries point at one 2 GiB block whose sector bitmap alternates."""
    block = 2 * GiB
    blocks_at = 2048
    bat = array("I", [blocks_at // 512] * 8)
    bitmap = (block // 4096 + 511) & ~511
    footer = _vhd_footer(8 * block)
    with open(path, "wb") as fh:
        fh.write(footer + _vhd_header(1536, 8, block))
        fh.write(_be(bat))
        fh.seek(blocks_at)
        fh.write(b"\xaa" * bitmap)
        _data(fh, blocks_at + bitmap, 64 * KiB)
        fh.write(footer)
    return "vhd"


def vhd_scrambled(path: Path) -> str:
    """225,000 blocks of 4 KiB (900 MiB of data), mapped in scrambled order."""
    block, blocks = 4096, 225000
    blocks_at = 1536 + -(-4 * blocks // 512) * 512
    bat = array("I", ((blocks_at + h * (block + 512)) // 512 for h in _scramble(blocks)))
    _vhd(path, blocks * block, block, bat, blocks_at, blocks)
    return "vhd"


def vhd_sparse_bat(path: Path) -> str:
    """A 480 MiB BAT (126M entries) with one allocated 4 KiB block in every 4 KiB of it."""
    block, entries = 4096, 126 << 20
    blocks = entries // 1024
    blocks_at = 1536 + 4 * entries
    bat = array("I", [0xFFFFFFFF]) * entries
    for k in range(blocks):
        bat[k * 1024 + k % 1024] = (blocks_at + k * (block + 512)) // 512
    _vhd(path, entries * block, block, bat, blocks_at, blocks)
    return "vhd"


def vhd_largest_bat(path: Path) -> str:
    """A 1 GiB BAT (256M entries), every one unallocated: a 1 TiB disk."""
    block, entries = 4096, 256 << 20
    footer = _vhd_footer(entries * block)
    with open(path, "wb") as fh:
        fh.write(footer + _vhd_header(1536, entries, block))
        chunk = b"\xff" * (16 * MiB)
        for _ in range(4 * entries // len(chunk)):
            fh.write(chunk)
        fh.write(footer)
    return "vhd"


# --- VMDK ------------------------------------------------------------------------------------------------------


def _vmdk_header(capacity: int, grain: int, gtes: int, gd: int, overhead: int, flags: int = 1) -> bytes:
    header = struct.pack("<4sIIQQQQIQQQB4sH", b"KDMV", 1, flags, capacity, grain, 1, 20, gtes, 0, gd, overhead, 0,
                         b"\n \r\n", 0)
    descriptor = (f'# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="monolithicSparse"'
                  f'\nRW {capacity} SPARSE "disk.vmdk"\n').encode()
    return header.ljust(512, b"\0") + descriptor.ljust(20 * 512, b"\0")


def vmdk_one_table(path: Path) -> str:
    """The issue's attack: 16,384 grain-directory entries point at one grain table, whose entries all point at one
    grain."""
    gtes, grain, tables = 512, 128, 16384
    gd, gt, data = 21, 21 + 4 * tables // 512, 21 + 4 * tables // 512 + 4
    with open(path, "wb") as fh:
        fh.write(_vmdk_header(tables * gtes * grain, grain, gtes, gd, data))
        fh.seek(gd * 512)
        fh.write(struct.pack("<I", gt) * tables)
        fh.write(struct.pack("<I", data) * gtes)
        _data(fh, data * 512, grain * 512)
    return "vmdk"


def vmdk_scrambled(path: Path) -> str:
    """2,048,000 grains of one sector (1000 MiB of data) mapped in scrambled order by 4,000 grain tables."""
    gtes, tables = 512, 4000
    grains = gtes * tables
    gd = 21
    gt = gd + -(-4 * tables // 512)
    data = gt + tables * 4
    with open(path, "wb") as fh:
        fh.write(_vmdk_header(grains, 1, gtes, gd, data))
        fh.seek(gd * 512)
        fh.write(array("I", (gt + 4 * i for i in range(tables))).tobytes())
        fh.seek(gt * 512)
        fh.write(array("I", (data + h for h in _scramble(grains))).tobytes())
        _data(fh, data * 512, grains * 512)
    return "vmdk"


def vmdk_zeroed_grains(path: Path) -> str:
    """500,000 grain tables (1000 MiB) of 256M entries that all say "zeroed grain" (1)."""
    return _vmdk_zeroed_tables(path, scrambled=False)


def vmdk_scattered_tables(path: Path) -> str:
    """500,000 grain tables (1000 MiB) in scrambled order, every entry a zeroed grain."""
    return _vmdk_zeroed_tables(path, scrambled=True)


def _vmdk_zeroed_tables(path: Path, *, scrambled: bool) -> str:
    gtes, grain, tables = 512, 128, 500000
    gd = 21
    gt = gd + -(-4 * tables // 512)
    order = _scramble(tables) if scrambled else range(tables)
    with open(path, "wb") as fh:
        fh.write(_vmdk_header(tables * gtes * grain, grain, gtes, gd, gt + 4 * tables, flags=1 | 4))
        fh.seek(gd * 512)
        fh.write(array("I", (gt + 4 * h for h in order)).tobytes())
        fh.seek(gt * 512)
        table = struct.pack("<I", 1) * gtes
        for _ in range(tables):
            fh.write(table)
    return "vmdk"


# --- VDI -------------------------------------------------------------------------------------------------------


def _vdi(path: Path, size: int, block_map: array, data: int) -> None:  # type: ignore[type-arg]
    count = len(block_map)
    map_at = 512
    data_at = map_at + -(-4 * count // MiB) * MiB
    header = b"<<< bench VirtualBox Disk Image >>>\n".ljust(64, b"\0") + struct.pack("<II", 0xBEDA107F, 0x00010001)
    header += struct.pack("<III256sIIIIIIIQIIII16s16s16s16s", 0x180, 1, 0, b"", map_at, data_at, 0, 0, 0, 512, 0,
                          size, MiB, 0, count, data, uuid.uuid4().bytes, uuid.uuid4().bytes, bytes(16), bytes(16))
    with open(path, "wb") as fh:
        fh.write(header.ljust(512, b"\0"))
        fh.write(block_map.tobytes())
        _data(fh, data_at, data * MiB)


def vdi_one_block(path: Path) -> str:
    """Every block-map entry (1,024) points at one data block."""
    _vdi(path, GiB, array("I", [0] * 1024), 1)
    return "vdi"


def vdi_zero_map(path: Path) -> str:
    """A 1 GiB block map (256M entries), every one "zero block" (0xFFFFFFFE): a 256 TiB disk."""
    _vdi(path, (256 << 20) * MiB, array("I", [0xFFFFFFFE]) * (256 << 20), 0)
    return "vdi"


def vdi_scrambled(path: Path) -> str:
    """1,000 blocks of 1 MiB, mapped in scrambled order."""
    _vdi(path, 1000 * MiB, array("I", _scramble(1000)), 1000)
    return "vdi"


# --- VHDX (a qemu-img image, patched) ----------------------------------------------------------------------------


def _vhdx_base(path: Path, size: str) -> tuple[int, int, int]:
    """qemu-img's VHDX of `size` with 1 MiB blocks: (BAT offset, BAT length, metadata offset)."""
    subprocess.run(["qemu-img", "create", "-q", "-f", "vhdx", "-o", "block_size=1M", str(path), size], check=True)
    with open(path, "rb") as fh:
        fh.seek(192 * KiB)
        table = fh.read(64 * KiB)
    regions = {}
    for i in range(struct.unpack_from("<I", table, 8)[0]):
        guid, at, length, _ = struct.unpack_from("<16sQII", table, 16 + 32 * i)
        regions[uuid.UUID(bytes_le=guid)] = (at, length)
    bat = regions[uuid.UUID("2DC27766-F623-4200-9D64-115E9BFD4A08")]
    return bat[0], bat[1], regions[uuid.UUID("8B7CA206-4790-4B9A-B8FE-575F050F886E")][0]


def vhdx_two_byte_metadata(path: Path) -> str:
    """The issue's crash: a metadata region 2 bytes long (was `internal error: unpack_from requires a buffer`)."""
    _vhdx_base(path, "64M")
    with open(path, "r+b") as fh:
        for at in (192 * KiB, 256 * KiB):
            fh.seek(at)
            table = bytearray(fh.read(64 * KiB))
            for i in range(struct.unpack_from("<I", table, 8)[0]):
                if table[16 + 32 * i : 32 + 32 * i] == uuid.UUID("8B7CA206-4790-4B9A-B8FE-575F050F886E").bytes_le:
                    struct.pack_into("<I", table, 16 + 32 * i + 24, 2)
            struct.pack_into("<I", table, 4, 0)
            struct.pack_into("<I", table, 4, crc32c(bytes(table)))
            fh.seek(at)
            fh.write(table)
    return "vhdx"


def vhdx_one_block(path: Path) -> str:
    """Every BAT entry of a 1 GiB disk (1,024 blocks) points at one fully present block."""
    bat_at, _, _ = _vhdx_base(path, "1G")
    end = os.path.getsize(path)
    with open(path, "r+b") as fh:
        fh.seek(bat_at)
        entry = struct.pack("<Q", end | 6)
        fh.write(b"".join(struct.pack("<Q", 0) if (i + 1) % 4097 == 0 else entry for i in range(1024)))
        _data(fh, end, MiB)
    return "vhdx"


def vhdx_state5_bat(path: Path) -> str:
    """A 64 TiB disk's 512 MiB BAT (64M entries), every payload entry in state 5 (unmapped) with a stray offset."""
    bat_at, bat_length, _ = _vhdx_base(path, "64T")
    with open(path, "r+b") as fh:
        fh.seek(bat_at)
        chunk = struct.pack("<Q", (12345 << 20) | 5) * (16 * MiB // 8)
        for _ in range(bat_length // len(chunk)):
            fh.write(chunk)
    return "vhdx"


def vhdx_scrambled(path: Path) -> str:
    """1,000 fully present blocks of 1 MiB, mapped in scrambled order."""
    bat_at, _, _ = _vhdx_base(path, "1000M")
    start = -(-os.path.getsize(path) // MiB) * MiB
    with open(path, "r+b") as fh:
        fh.seek(bat_at)
        fh.write(array("Q", ((start + h * MiB) | 6 for h in _scramble(1000))).tobytes())
        _data(fh, start, 1000 * MiB)
    return "vhdx"


# --- raw -------------------------------------------------------------------------------------------------------


def raw_baseline(path: Path) -> str:
    """Not hostile: 1000 MiB of data in one run, to compare the others' convert times with (reading, hashing and
    writing that much data, and fsync)."""
    with open(path, "wb") as fh:
        _data(fh, 0, 1000 * MiB)
    return "raw"


def raw_fragmented(path: Path) -> str:
    """1 GiB alternating 4 KiB of data and 4 KiB of hole: 131,072 data runs."""
    with open(path, "wb") as fh:
        piece = PATTERN[:4096]
        for at in range(0, GiB, 8192):
            fh.seek(at)
            fh.write(piece)
        fh.truncate(GiB)
    return "raw"


CASES: dict[str, Callable[[Path], str]] = {
    "qcow2: every L1 entry at one L2 table, every entry at one cluster": qcow2_one_cluster,
    "qcow2: 2,048,000 scrambled 512-byte clusters": qcow2_scrambled,
    "qcow2: 128M L2 entries with only the COPIED flag": qcow2_copied_only,
    "qcow2: 2,000,000 scattered 512-byte L2 tables, COPIED flags only": qcow2_scattered_tables,
    "qcow2: 1,000,000 scattered 512-byte L2 tables, each mapping one cluster": qcow2_scattered_mapping_tables,
    "qcow2: the largest L1 table (32 MiB)": qcow2_largest_l1,
    "vhd: 8 BAT entries at one 2 GiB block, alternating bitmap": vhd_one_block,
    "vhd: 225,000 scrambled 4 KiB blocks": vhd_scrambled,
    "vhd: one block in every 4 KiB of a 480 MiB BAT": vhd_sparse_bat,
    "vhd: a 1 GiB BAT, nothing allocated": vhd_largest_bat,
    "vmdk: 16,384 directory entries at one grain table": vmdk_one_table,
    "vmdk: 2,048,000 scrambled one-sector grains": vmdk_scrambled,
    "vmdk: 256M zeroed-grain entries": vmdk_zeroed_grains,
    "vmdk: 500,000 scattered grain tables of zeroed grains": vmdk_scattered_tables,
    "vdi: every block at one data block": vdi_one_block,
    "vdi: a 1 GiB block map of zero blocks": vdi_zero_map,
    "vdi: 1,000 scrambled blocks": vdi_scrambled,
    "vhdx: a 2-byte metadata region": vhdx_two_byte_metadata,
    "vhdx: every BAT entry at one block": vhdx_one_block,
    "vhdx: 64M BAT entries in state 5": vhdx_state5_bat,
    "vhdx: 1,000 scrambled blocks": vhdx_scrambled,
    "raw: 131,072 data runs": raw_fragmented,
    "baseline, raw: 1000 MiB of data in one run": raw_baseline,
}


def measure(argv: list[str]) -> tuple[int, str, float, float, float]:
    """Run a child process: (exit code, its answer, wall seconds, CPU seconds (user + system) and peak resident
    MiB of that child)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(argv, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        text, problem = out.read().decode(), err.read().decode().strip()
    answer = problem.splitlines()[-1] if problem else _verdict(text)
    return child.returncode, answer, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # KiB on Linux


# What `blob upload` and VhdImage do with an image before and while sending it, without the network: open it,
# scan its stored data (Scan: every non-zero page, in the 4 MiB windows Put Page sends) and fingerprint it.
READ = """
import sys
from vhdcore.errors import VhdError
from vhdcore.format.images import Scan, open_image
try:
    with open_image(sys.argv[1], sys.argv[2]) as image:
        scan = Scan(image, granularity=4096)
        sent = sum(len(run.data) for run in scan)
        print(f"read: {scan.scanned} bytes stored, {sent} bytes in 4 KiB pages to send, {scan.fingerprint[:19]}...")
except VhdError as exc:
    sys.exit(f"vhdcore: error: {exc}")
"""
QEMU_LIMIT = 120  # seconds: qemu-img takes many minutes on some of these files
QEMU_FORMAT = {"qcow2": "qcow2", "vhd": "vpc", "vhdx": "vhdx", "vmdk": "vmdk", "vdi": "vdi"}


def _row(name: str, size: int, command: str, code: int, answer: str, wall: float, cpu: float, peak: float,
         path: Path, out: Path) -> None:
    shown = answer.replace(str(path), "FILE").replace(str(out), "OUT")
    shown = shown if len(shown) <= 150 else shown[:147] + "..."
    print(f"| {name} | {size / MiB:,.1f} MiB | {command} | {code} | {shown} | {wall:.2f} s | {cpu:.2f} s | "
          f"{peak:.0f} MiB |", flush=True)


def _verdict(text: str) -> str:
    try:
        doc = json.loads(text)
    except ValueError:
        return text.strip()[:120]
    if "verdict" in doc:
        return str(doc["verdict"])
    if "data_bytes" in doc:
        return f"converted: {doc['size']} bytes, {doc['data_bytes']} bytes of data"
    return str(doc)[:120]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=None, help="where to make the files (default: the system temp dir)")
    parser.add_argument("--only", nargs="*", default=None, help="run only cases whose name contains one of these")
    parser.add_argument("--make", nargs=2, metavar=("CASE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:  # in a process of its own (see below)
        print(CASES[args.make[0]](Path(args.make[1])))
        return
    print("| case | file | command | exit | answer | wall | CPU | peak memory |")
    print("|---|---:|---|---:|---|---:|---:|---:|")
    worst_wall, worst_peak = 0.0, 0.0
    for name in CASES:
        if args.only and not any(part in name for part in args.only):
            continue
        with tempfile.TemporaryDirectory(dir=args.dir) as work:
            path, out = Path(work) / "crafted.img", Path(work) / "out.vhd"
            # Made in another process: Linux keeps a process's peak memory across fork and exec, so a child of a
            # parent that had just built a 500 MiB table would report that table as its own peak.
            fmt = subprocess.run([sys.executable, __file__, "--make", name, str(path)], check=True,
                                 capture_output=True, text=True).stdout.strip()
            size = path.stat().st_size
            commands = {"inspect": [sys.executable, "-m", "vhdcore", "inspect", str(path), "-o", "json"],
                        "read (upload's read path)": [sys.executable, "-c", READ, str(path), fmt],
                        "convert": [sys.executable, "-m", "vhdcore", "convert", str(path), str(out), "--format", fmt,
                                    "-o", "json"]}
            for command, argv in commands.items():
                code, answer, wall, cpu, peak = measure(argv)
                worst_wall, worst_peak = max(worst_wall, wall), max(worst_peak, peak)
                _row(name, size, command, code, answer, wall, cpu, peak, path, out)
                out.unlink(missing_ok=True)
            if code == 0:  # what the same output costs qemu-img (a fixed VHD of the same data)
                source = ["-f", QEMU_FORMAT[fmt]] if fmt != "raw" else ["-f", "raw"]
                argv = ["timeout", str(QEMU_LIMIT), "qemu-img", "convert", *source, "-O", "vpc", "-o",
                        "subformat=fixed,force_size=on", str(path), str(out)]
                code, answer, wall, cpu, peak = measure(argv)
                answer = f"stopped after {QEMU_LIMIT} s" if code == 124 else answer
                _row(name, size, "qemu-img convert (comparison)", code, answer, wall, cpu, peak, path, out)
                out.unlink(missing_ok=True)
    print(f"\nworst vhdcore: {worst_wall:.2f} s, {worst_peak:.0f} MiB (goal: 10 s, 300 MiB); load average "
          f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
