"""Differential fuzzing against qemu-img: mutants of small qemu-made images (header fields, table entries, byte
flips, truncation), each given to the real `vhdcore convert` command line in process (and to the function
behind `vhdcore inspect`) and, when vhdcore accepts it, to `qemu-img convert -O raw`.

Asserted for every mutant: an image vhdcore accepts reads byte for byte as qemu reads it (same virtual size;
zeros past it, up to the fixed VHD's whole MiB); a refusal is one `vhdcore: error:` line with exit 2; nothing
else happens (no internal error, no traceback, no hang: each mutant runs under a 10 s alarm; no mutant raises
the process's peak memory by more than 256 MiB). Seeded and
bounded: MUTANTS per format (docs/development.md, "The test suite", for the time it takes). Each format's line
(tried, refused in one line, accepted and equal to qemu, accepted but different, crashes) is printed after the tests,
under `tables`.

VHDs are read by qemu with force_size_calc=current_size: the size Hyper-V, Azure and vhdcore take from the
footer (qemu's default takes the CHS geometry for some creator applications).
"""

from __future__ import annotations

import io
import json
import os
import random
import resource
import signal
import struct
import subprocess
import time
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import pytest
from dissect.util.hash.crc32c import crc32c

from tests.conftest import run_wide
from tests.images import PAGE, KiB, MiB, qemu_img, tool, write_raw
from vhdcore.cli import main
from vhdcore.format.images.report import inspect_image

SEED = 16
MUTANTS = 300  # per format
ALARM = 10  # seconds a mutant may take in vhdcore before it counts as a hang
GROWTH = 256 * MiB  # how much a mutant may raise this process's peak memory before it counts as a crash
SIZE = 3 * MiB + 3 * PAGE
LAYOUT = [(0, PAGE), (64 * KiB - 100, 300), (MiB + 5 * KiB, 200 * KiB), (2 * MiB - 700, 1400), (SIZE - PAGE, PAGE)]
# The images mutated, per format: qemu-img convert options.
BASES: dict[str, dict[str, list[str]]] = {
    "qcow2": {"qcow2": ["-O", "qcow2"], "qcow2-v2-4k": ["-O", "qcow2", "-o", "compat=0.10,cluster_size=4096"]},
    "vhd": {"vhd-dynamic": ["-O", "vpc", "-o", "subformat=dynamic,force_size=on"],
            "vhd-fixed": ["-O", "vpc", "-o", "subformat=fixed,force_size=on"]},
    "vhdx": {"vhdx": ["-O", "vhdx", "-o", "block_size=1M"]},
    "vmdk": {"vmdk": ["-O", "vmdk", "-o", "subformat=monolithicSparse"]},
    "vdi": {"vdi": ["-O", "vdi"]},
}
QEMU_FORMAT = {"qcow2": "qcow2", "vhd": "vpc", "vhdx": "vhdx", "vmdk": "vmdk", "vdi": "vdi"}


class Hang(BaseException):
    """Raised by the alarm: not an Exception, so the command line's own error handling cannot catch it."""


@dataclass
class Slot:
    """A field or table entry that a mutation may change: `width` bytes at `offset` in byte order `order`.
    `pointer` (table entries) encodes a host byte offset as the entry's value, keeping the old flags."""

    offset: int
    width: int
    order: str
    what: str
    pointer: Callable[[int, int], int] | None = None


@dataclass
class Base:
    """A qemu-made image and what can be mutated in it."""

    name: str
    path: Path
    data: bytes
    fields: list[Slot]
    entries: list[Slot]
    targets: list[int]  # host offsets worth pointing at: headers, tables, data, the end of the file and past it
    fix: Callable[[bytearray], None]  # recompute checksums


@dataclass
class Tally:
    tried: int = 0
    refused: int = 0
    equal: int = 0
    different: int = 0
    crashes: int = 0
    problems: list[str] = field(default_factory=list)


# --- reading the base images (independently of vhdcore) ----------------------------------------------------


def _u(data: bytes | bytearray, offset: int, width: int, order: str) -> int:
    return int.from_bytes(data[offset : offset + width], "big" if order == ">" else "little")


def _qcow2(name: str, path: Path, data: bytes) -> Base:
    cluster = 1 << _u(data, 20, 4, ">")
    version = _u(data, 4, 4, ">")
    fields = [Slot(o, w, ">", f"header@{o}") for o, w in
              [(4, 4), (8, 8), (16, 4), (20, 4), (24, 8), (32, 4), (36, 4), (40, 8), (48, 8), (56, 4), (60, 4),
               (64, 8)]]
    if version == 3:
        fields += [Slot(o, w, ">", f"header@{o}") for o, w in [(72, 8), (80, 8), (88, 8), (96, 4), (100, 4), (104, 1)]]
        fields += [Slot(o, 4, ">", f"extension@{o}") for o in range(112, 136, 4)]
    mask = 0x00FFFFFFFFFFFE00

    def pointer(host: int, old: int) -> int:
        return (old & ~mask) | (host & mask) if host % 512 == 0 else host

    l1_at, l1_size = _u(data, 40, 8, ">"), _u(data, 36, 4, ">")
    rt_at = _u(data, 48, 8, ">")
    entries = [Slot(l1_at + 8 * i, 8, ">", f"L1[{i}]", pointer) for i in range(l1_size)]
    entries += [Slot(rt_at + 8 * i, 8, ">", f"reftable[{i}]", pointer) for i in range(2)]
    targets = [0, l1_at, rt_at, _u(data, rt_at, 8, ">") & mask]
    for i in range(l1_size):
        l2 = _u(data, l1_at + 8 * i, 8, ">") & mask
        if l2:
            targets.append(l2)
            used = [j for j in range(cluster // 8) if _u(data, l2 + 8 * j, 8, ">")]
            targets += [_u(data, l2 + 8 * j, 8, ">") & mask for j in used]
            picked = sorted({j for j in [*used, used[-1] + 1 if used else 0, 0, 1] if j < cluster // 8})
            entries += [Slot(l2 + 8 * j, 8, ">", f"L2[{i}][{j}]", pointer) for j in picked]
    return Base(name, path, data, fields, entries, targets, lambda d: None)


def _vhd_footer_fix(data: bytearray, at: int) -> None:
    data[at + 64 : at + 68] = bytes(4)
    data[at + 64 : at + 68] = struct.pack(">I", ~sum(data[at : at + 512]) & 0xFFFFFFFF)


def _vhd(name: str, path: Path, data: bytes) -> Base:
    end = len(data) - 512
    footer = [(8, 4), (12, 4), (16, 8), (28, 4), (40, 8), (48, 8), (56, 2), (58, 1), (59, 1), (60, 4)]
    fields = [Slot(end + o, w, ">", f"footer@{o}") for o, w in footer]
    entries: list[Slot] = []
    targets = [0, end, len(data)]
    dynamic = data[:8] == b"conectix"
    if dynamic:
        fields += [Slot(o, w, ">", f"footer-copy@{o}") for o, w in footer]
        header_at = _u(data, 16, 8, ">")
        fields += [Slot(header_at + o, w, ">", f"dynheader@{o}")
                   for o, w in [(8, 8), (16, 8), (24, 4), (28, 4), (32, 4)]]
        bat_at, count = _u(data, header_at + 16, 8, ">"), _u(data, header_at + 28, 4, ">")

        def pointer(host: int, old: int) -> int:
            return host // 512

        entries = [Slot(bat_at + 4 * i, 4, ">", f"BAT[{i}]", pointer) for i in range(count)]
        blocks = [_u(data, bat_at + 4 * i, 4, ">") * 512 for i in range(count)
                  if _u(data, bat_at + 4 * i, 4, ">") != 0xFFFFFFFF]
        targets += [header_at, bat_at, *blocks]
        entries += [Slot(b + k, 1, ">", f"bitmap@{b}") for b in blocks for k in (0, 100)]  # qemu ignores bitmaps

    def fix(d: bytearray) -> None:
        if len(d) >= 512:
            _vhd_footer_fix(d, len(d) - 512)
        if dynamic and d[:8] == b"conectix":
            _vhd_footer_fix(d, 0)
            at = _u(d, 16, 8, ">")
            if at + 1024 <= len(d):
                d[at + 36 : at + 40] = bytes(4)
                d[at + 36 : at + 40] = struct.pack(">I", ~sum(d[at : at + 1024]) & 0xFFFFFFFF)

    return Base(name, path, data, fields, entries, targets, fix)


def _vhdx(name: str, path: Path, data: bytes) -> Base:
    fields = []
    for h in (64 * KiB, 128 * KiB):
        fields += [Slot(h + o, w, "<", f"header{h // KiB}k@{o}") for o, w in
                   [(8, 8), (48, 4), (56, 4), (64, 2), (66, 2), (68, 4), (72, 8)]]
    rt = 192 * KiB
    fields.append(Slot(rt + 8, 4, "<", "regions.count"))
    regions = {}
    for i in range(_u(data, rt + 8, 4, "<")):
        at = rt + 16 + 32 * i
        fields += [Slot(at + o, w, "<", f"region[{i}]@{o}") for o, w in [(0, 4), (16, 8), (24, 4), (28, 4)]]
        regions[data[at : at + 16]] = (_u(data, at + 16, 8, "<"), _u(data, at + 24, 4, "<"))
    import uuid

    bat_at, bat_len = regions[uuid.UUID("2DC27766-F623-4200-9D64-115E9BFD4A08").bytes_le]
    meta_at, _ = regions[uuid.UUID("8B7CA206-4790-4B9A-B8FE-575F050F886E").bytes_le]
    fields.append(Slot(meta_at + 10, 2, "<", "metadata.count"))
    for i in range(_u(data, meta_at + 10, 2, "<")):
        at = meta_at + 32 + 32 * i
        fields += [Slot(at + o, w, "<", f"metaentry[{i}]@{o}") for o, w in [(0, 4), (16, 4), (20, 4), (24, 4)]]
        item = meta_at + _u(data, at + 16, 4, "<")
        fields.append(Slot(item, 4, "<", f"metaitem[{i}]"))

    def pointer(host: int, old: int) -> int:
        return (host >> 20 << 20) | (old & 0xFFFFF) if host % MiB == 0 else (host << 20) | (old & 7)

    count = min(bat_len // 8, 16)
    entries = [Slot(bat_at + 8 * i, 8, "<", f"BAT[{i}]", pointer) for i in range(count)]
    targets = [0, MiB, bat_at, meta_at, len(data), len(data) + MiB]
    targets += [_u(data, bat_at + 8 * i, 8, "<") >> 20 << 20 for i in range(count) if _u(data, bat_at + 8 * i, 8, "<")]

    def fix(d: bytearray) -> None:  # only the structures a mutation changed (CRC-32C in Python is slow)
        for at, size in ((64 * KiB, 4 * KiB), (128 * KiB, 4 * KiB), (192 * KiB, 64 * KiB), (256 * KiB, 64 * KiB)):
            if at + size <= len(d) and d[at : at + size] != data[at : at + size]:
                d[at + 4 : at + 8] = bytes(4)
                d[at + 4 : at + 8] = struct.pack("<I", crc32c(bytes(d[at : at + size])))

    return Base(name, path, data, fields, entries, targets, fix)


def _vmdk(name: str, path: Path, data: bytes) -> Base:
    fields = [Slot(o, w, "<", f"header@{o}") for o, w in
              [(4, 4), (8, 4), (12, 8), (20, 8), (28, 8), (36, 8), (44, 4), (48, 8), (56, 8), (64, 8), (72, 1),
               (77, 2)]]
    desc = data.index(b"CID=")
    fields += [Slot(desc + k, 1, "<", f"descriptor+{k}") for k in (0, 2, 4, 5)]
    fields += [Slot(data.index(b"parentCID") + k, 1, "<", f"descriptor.parent+{k}") for k in (0, 9, 10)]
    gd_at, gtes, grain = _u(data, 56, 8, "<") * 512, _u(data, 44, 4, "<"), _u(data, 20, 8, "<")
    gds = -(-_u(data, 12, 8, "<") // (gtes * grain))

    def pointer(host: int, old: int) -> int:
        return host // 512 if host % 512 == 0 else host

    entries = [Slot(gd_at + 4 * i, 4, "<", f"GD[{i}]", pointer) for i in range(gds)]
    targets = [0, 512, gd_at, _u(data, 48, 8, "<") * 512, _u(data, 64, 8, "<") * 512, len(data)]
    for i in range(gds):
        gt = _u(data, gd_at + 4 * i, 4, "<") * 512
        if gt:
            targets.append(gt)
            used = [j for j in range(gtes) if _u(data, gt + 4 * j, 4, "<")]
            targets += [_u(data, gt + 4 * j, 4, "<") * 512 for j in used]
            entries += [Slot(gt + 4 * j, 4, "<", f"GT[{i}][{j}]", pointer) for j in sorted({*used, 0, 1, 47})]
    return Base(name, path, data, fields, entries, targets, lambda d: None)


def _vdi(name: str, path: Path, data: bytes) -> Base:
    fields = [Slot(o, w, "<", f"header@{o}") for o, w in
              [(68, 4), (72, 4), (76, 4), (80, 4), (340, 4), (344, 4), (364, 4), (368, 8), (376, 4), (380, 4),
               (384, 4), (388, 4), (424, 4), (440, 4)]]
    map_at, data_at, count = _u(data, 340, 4, "<"), _u(data, 344, 4, "<"), _u(data, 384, 4, "<")

    def pointer(host: int, old: int) -> int:
        return (host - data_at) // MiB if host >= data_at else host

    entries = [Slot(map_at + 4 * i, 4, "<", f"blockmap[{i}]", pointer) for i in range(count)]
    targets = [0, map_at, data_at, data_at + MiB, data_at + 2 * MiB, len(data), len(data) + 10 * MiB]
    return Base(name, path, data, fields, entries, targets, lambda d: None)


LOCATORS = {"qcow2": _qcow2, "vhd": _vhd, "vhdx": _vhdx, "vmdk": _vmdk, "vdi": _vdi}


# --- mutations ----------------------------------------------------------------------------------------------


def _put(data: bytearray, slot: Slot, value: int) -> None:
    value &= (1 << 8 * slot.width) - 1
    data[slot.offset : slot.offset + slot.width] = value.to_bytes(slot.width, "big" if slot.order == ">" else "little")


def _field_value(rng: random.Random, old: int, width: int, size: int) -> int:
    top = (1 << 8 * width) - 1
    return rng.choice([0, 1, top, old ^ (1 << rng.randrange(8 * width)), old + 1, old - 1, old * 2, old // 2, size,
                       size // 512, 511, 512, 4096, MiB, 1 << 31, old + 512, old - 512, rng.randrange(top + 1)])


def _entry_value(rng: random.Random, base: Base, slot: Slot, old: int, data: bytearray) -> int:
    assert slot.pointer is not None
    others = [_u(data, s.offset, s.width, s.order) for s in base.entries if s.width == slot.width]
    kind = rng.randrange(8)
    if kind == 0:
        return rng.choice(others)  # two entries, one place
    if kind == 1:
        return rng.choice([0, (1 << 8 * slot.width) - 1, (1 << 8 * slot.width) - 2, 1, 2, 3])
    if kind == 2:
        return slot.pointer(rng.choice(base.targets), old)  # into a header or table, or past the end
    if kind == 3:
        return slot.pointer(rng.choice(base.targets) + rng.choice([512, -512, 1, 4096, 64 * KiB, MiB]), old)
    if kind == 4:
        return old ^ (1 << rng.randrange(8 * slot.width))  # a flag or an address bit
    if kind == 5:
        return old | rng.choice([1, 2, 4, 6, 7, 1 << 62, 1 << 63, 1 << 31])
    if kind == 6:
        return slot.pointer(rng.randrange(0, len(data) + MiB) // 512 * 512, old)
    return rng.randrange(1 << 8 * slot.width)


def mutate(rng: random.Random, base: Base) -> tuple[bytearray, str]:
    data = bytearray(base.data)
    done = []
    for _ in range(1 if rng.random() < 0.8 else 2):
        kind = rng.choices(["field", "entry", "flip", "truncate"], [40, 40, 12, 8])[0]
        if kind == "entry" and not base.entries:
            kind = "field"
        if kind == "field":
            slot = rng.choice(base.fields)
            old = _u(data, slot.offset, slot.width, slot.order)
            value = _field_value(rng, old, slot.width, len(data))
            _put(data, slot, value)
            if slot.what.startswith("footer@") and data[:8] == b"conectix" and rng.random() < 0.7:
                _put(data, Slot(slot.offset - (len(data) - 512), slot.width, ">", ""), value)  # both copies
            done.append(f"{slot.what}={value & ((1 << 8 * slot.width) - 1):#x}")
        elif kind == "entry":
            slot = rng.choice(base.entries)
            old = _u(data, slot.offset, slot.width, slot.order)
            value = _entry_value(rng, base, slot, old, data) if slot.pointer else rng.randrange(256)
            _put(data, slot, value)
            done.append(f"{slot.what}={value & ((1 << 8 * slot.width) - 1):#x}")
        elif kind == "flip":
            limit = min(len(data), rng.choice([4 * KiB, 64 * KiB, 512 * KiB]))
            for _ in range(rng.randint(1, 4)):
                at = rng.randrange(limit)
                data[at] ^= rng.randint(1, 255)
                done.append(f"flip@{at}")
        else:
            cut = rng.choice([rng.randrange(len(data)), len(data) - rng.choice([1, 512, 4096, MiB])] +
                             [t + d for t in base.targets for d in (0, 1) if 0 < t + d < len(data)])
            del data[max(cut, 0) :]
            done.append(f"truncate@{cut}")
    if rng.random() < 0.75:
        base.fix(data)
        done.append("fixed")
    return data, " ".join(done)


def _write_sparse(path: Path, data: bytes | bytearray) -> None:
    """Only the non-zero 64 KiB pieces are written: a mutant of a sparse image stays sparse."""
    zero = bytes(64 * KiB)
    with open(path, "wb") as fh:
        for at in range(0, len(data), 64 * KiB):
            piece = data[at : at + 64 * KiB]
            if piece != zero[: len(piece)]:
                fh.seek(at)
                fh.write(piece)
        fh.truncate(len(data))


# --- running both --------------------------------------------------------------------------------------------


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KiB  # KiB on Linux


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang


def vhdcore(*argv: str) -> tuple[int, str, str]:
    """The real command line in this process, under the alarm: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(ALARM)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(list(argv))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return code, out.getvalue(), err.getvalue()


def _inspect(path: Path) -> str | None:
    """What `vhdcore inspect` does with the mutant (format detected), through its library function, under the
    alarm: None, or the exception it raised (it reports an image it refuses; it must not raise for one)."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(ALARM)
    try:
        inspect_image(path).to_json()
    except Exception as exc:  # anything at all is the failure this reports
        return f"{type(exc).__name__}: {exc}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return None


def qemu_raw(fmt: str, path: Path, raw: Path) -> bool:
    if fmt == "vhd":
        source = ["--image-opts", f"driver=vpc,force_size_calc=current_size,file.driver=file,file.filename={path}"]
    else:
        source = ["-f", QEMU_FORMAT[fmt], str(path)]
    proc = subprocess.run([tool("qemu-img"), "convert", *source, "-O", "raw", str(raw)], capture_output=True,
                          timeout=60)
    return proc.returncode == 0


def one_line_refusal(code: int, err: str) -> bool:
    lines = err.splitlines()
    return code == 2 and len(lines) == 1 and lines[0].startswith("vhdcore: error: ") and "Traceback" not in err


def check(fmt: str, base: Base, data: bytearray, how: str, work: Path, tally: Tally) -> None:
    tally.tried += 1
    mutant, out, raw = work / "mutant.img", work / "out.vhd", work / "qemu.raw"
    for stale in (out, raw):
        stale.unlink(missing_ok=True)
    _write_sparse(mutant, data)
    label = f"{base.name} [{how}]"
    peak = _peak()
    try:
        inspected = _inspect(mutant)
        if inspected:
            tally.crashes += 1
            tally.problems.append(f"inspect failed on {label}: {inspected}")
            return
        code, stdout, err = vhdcore("convert", str(mutant), str(out), "--format", fmt, "-o", "json")
    except Hang:
        tally.crashes += 1
        tally.problems.append(f"hang (over {ALARM} s) on {label}")
        return
    if _peak() - peak > GROWTH:  # the peak only grows, so a mutant that needed much is seen (unless an earlier
        tally.crashes += 1  # test of the session already took this process that high)
        tally.problems.append(f"memory: {label} raised the peak by {(_peak() - peak) // MiB} MiB")
        return
    if code != 0:
        if one_line_refusal(code, err):
            tally.refused += 1
        else:
            tally.crashes += 1
            tally.problems.append(f"not a one-line refusal on {label}: exit {code}: {err.strip()[:300]}")
        return
    converted = json.loads(stdout)
    if not qemu_raw(fmt, mutant, raw):
        tally.different += 1
        tally.problems.append(f"accepted what qemu refuses: {label}")
        _keep(work, mutant, tally)
        return
    size, theirs = converted["image_size"], raw.stat().st_size
    first = None if size != theirs else _first_difference(out, raw, converted["size"])
    if size != theirs or first is not None:
        tally.different += 1
        tally.problems.append(f"reads differently from qemu: {label}: size {size} vs qemu {theirs}, first "
                              f"differing byte {first}")
        _keep(work, mutant, tally)
        return
    tally.equal += 1


def _data_runs(path: Path, end: int) -> list[tuple[int, int]]:
    runs, pos = [], 0
    with open(path, "rb") as fh:
        while pos < end:
            try:
                start = os.lseek(fh.fileno(), pos, os.SEEK_DATA)
            except OSError:  # ENXIO: no data past pos
                break
            if start >= end:
                break
            pos = min(os.lseek(fh.fileno(), start, os.SEEK_HOLE), end)
            runs.append((start, pos))
    return runs


def _first_difference(ours: Path, theirs: Path, end: int) -> int | None:
    """The first byte below `end` where our fixed VHD differs from qemu's raw file (zeros past its end), reading
    only where either file holds data: a mutant's disk can be large and mostly holes."""
    limit = theirs.stat().st_size
    with open(ours, "rb") as a, open(theirs, "rb") as b:
        for start, stop in sorted(_data_runs(ours, end) + _data_runs(theirs, limit)):
            for at in range(start, stop, 4 * MiB):
                n = min(4 * MiB, stop - at)
                mine = os.pread(a.fileno(), n, at)
                other = os.pread(b.fileno(), n, at) if at < limit else b""
                other += bytes(n - len(other))
                if mine != other:
                    return at + next(i for i in range(n) if mine[i] != other[i])
    return None


def _keep(work: Path, mutant: Path, tally: Tally) -> None:
    """Keep the file of an accepted-but-different mutant for whoever reads the failure."""
    kept = work / f"different-{len(tally.problems)}.img"
    os.replace(mutant, kept)
    tally.problems[-1] += f" (kept as {kept})"


# --- the test --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Base]]:
    """The images mutated, made by qemu-img once per run for every test worker."""
    found: dict[str, list[Base]] = {}
    with run_wide(tmp_path_factory, "fuzz-bases") as (directory, done):
        raw = directory / "disk.raw"
        if not done:
            write_raw(raw, SIZE, LAYOUT, seed=SEED)
        for fmt, conversions in BASES.items():
            for name, options in conversions.items():
                path = directory / f"{name}.img"
                if not done:
                    qemu_img("convert", "-f", "raw", *options, raw, path)
                found.setdefault(fmt, []).append(LOCATORS[fmt](name, path, path.read_bytes()))
    return found


@pytest.mark.parametrize("fmt", list(BASES))
def test_every_mutant_is_read_as_qemu_reads_it_or_refused_in_one_line(
    fmt: str, bases: dict[str, list[Base]], tmp_path: Path, summary: Callable[[str], None]
) -> None:
    rng = random.Random(f"{SEED}-{fmt}")
    tally = Tally()
    started = time.monotonic()
    for n in range(MUTANTS):
        base = bases[fmt][n % len(bases[fmt])]
        data, how = mutate(rng, base)
        check(fmt, base, data, how, tmp_path, tally)
    summary(f"fuzzing against qemu-img, {fmt}: {tally.tried} mutants tried, {tally.refused} refused in one line, "
            f"{tally.equal} accepted and equal to qemu, {tally.different} accepted but different, {tally.crashes} "
            f"crashes ({time.monotonic() - started:.1f} s)")
    assert tally.tried == MUTANTS == tally.refused + tally.equal + tally.different + tally.crashes
    assert tally.equal > MUTANTS // 10 and tally.refused > MUTANTS // 10  # both sides of the line are exercised
    assert not tally.problems, "\n".join(tally.problems[:20])
