"""Test disk images: a raw disk with known data at known offsets, and the same disk in every format, made by
qemu-img (the independent writer). Small on purpose: 5 MiB + 1536 bytes, not a whole MiB."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

KiB, MiB = 1 << 10, 1 << 20
PAGE = 512
SIZE = 5 * MiB + 3 * PAGE
# (offset, length) of the data written into the raw disk: first and last sectors, unaligned runs, a run over
# the 2 MiB boundary (a VHD block and qcow2 L2 span), one lone byte, and a run with a zero page inside.
LAYOUT = [
    (0, PAGE),
    (MiB + 4 * KiB, 300 * KiB),
    (2 * MiB - 1000, 2000),
    (3 * MiB + 12345, 70_000),
    (4 * MiB + 7, 1),
    (4 * MiB + 512 * KiB, 8 * KiB),
    (SIZE - PAGE, PAGE),
]
ZEROED_PAGE = 4 * MiB + 512 * KiB + 4 * KiB  # a page inside the last run, written with zeros again

# qemu-img convert options per test format (raw is the source itself).
CONVERSIONS: dict[str, list[str]] = {
    "qcow2": ["-O", "qcow2"],
    "qcow2-v2": ["-O", "qcow2", "-o", "compat=0.10"],
    "qcow2-4k": ["-O", "qcow2", "-o", "cluster_size=4096"],
    "vhd-dynamic": ["-O", "vpc", "-o", "subformat=dynamic,force_size=on"],
    "vhd-fixed": ["-O", "vpc", "-o", "subformat=fixed,force_size=on"],
    "vhdx": ["-O", "vhdx"],
    "vmdk": ["-O", "vmdk", "-o", "subformat=monolithicSparse"],
    "vdi": ["-O", "vdi"],
}
# What open_image should say about each: (format, variant).
KINDS = {
    "raw": ("raw", "raw"), "qcow2": ("qcow2", "v3"), "qcow2-v2": ("qcow2", "v2"), "qcow2-4k": ("qcow2", "v3"),
    "vhd-dynamic": ("vhd", "dynamic"), "vhd-fixed": ("vhd", "fixed"), "vhdx": ("vhdx", "dynamic"),
    "vmdk": ("vmdk", "monolithicSparse"), "vdi": ("vdi", "dynamic"),
}
QEMU_FORMAT = {"raw": "raw", "vhd": "vpc", "vhdx": "vhdx", "qcow2": "qcow2", "vmdk": "vmdk", "vdi": "vdi"}
NAMES = list(KINDS)


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; run scripts/setup.sh --test (apt qemu-utils, libvhdi-utils)")
    return path


# Making a LUKS-encrypted image, qemu-img first times PBKDF2 on its thread's CPU clock and gives up when that
# clock did not move ("Unable to get accurate CPU usage", crypto/pbkdf.c): a timing fluke of a busy machine,
# seen once in a CI-like run. Only that failure is tried again.
CPU_CLOCK_FLUKE = "Unable to get accurate CPU usage"


def qemu_img(*args: str | Path) -> subprocess.CompletedProcess[str]:
    for _ in range(5):
        proc = subprocess.run([tool("qemu-img"), *map(str, args)], capture_output=True, text=True, timeout=120)
        if CPU_CLOCK_FLUKE not in proc.stderr:
            break
    if proc.returncode:
        raise AssertionError(f"qemu-img {' '.join(map(str, args))} failed: {proc.stderr.strip()}")
    return proc


def qemu_info(path: Path, fmt: str) -> dict[str, object]:
    """qemu-img info with the format given (qemu probes a fixed VHD as raw); a VHD's size is its current_size."""
    if fmt == "vpc":
        spec = f"driver=vpc,force_size_calc=current_size,file.driver=file,file.filename={path}"
        args: list[str | Path] = ["info", "--output=json", "--image-opts", spec]
    else:
        args = ["info", "--output=json", "-f", fmt, path]
    info: dict[str, object] = json.loads(qemu_img(*args).stdout)
    return info


def write_raw(path: Path, size: int, layout: list[tuple[int, int]], *, seed: int = 1) -> None:
    rng = random.Random(seed)
    with open(path, "wb") as fh:
        fh.truncate(size)
        for offset, length in layout:
            fh.seek(offset)
            fh.write(bytes(b | 1 for b in rng.randbytes(length)))  # no zero byte, so every data page is non-zero


STACK_PAGE = 4096  # what uploads write in: whole 4 KiB pages (Azure Stack's rule, kept everywhere)


def rewrite_in_place(path: Path) -> None:
    """Write a file's first 512 bytes again, as they are, and set its modification time back, so that only its
    change time tells; again until that has moved (a file system's clock may be coarser than one call)."""
    before = os.stat(path)
    for _ in range(1000):
        with open(path, "r+b") as file:
            head = file.read(PAGE)
            file.seek(0)
            file.write(head)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        if os.stat(path).st_ctime_ns != before.st_ctime_ns:
            return
        time.sleep(0.001)
    raise AssertionError(f"the change time of {path} never moved")


def nonzero_pages(data: bytes, size: int = PAGE) -> list[tuple[int, int]]:
    """Independent of vhdcore: [start, end) runs of `size`-byte pages holding any non-zero byte."""
    runs: list[tuple[int, int]] = []
    for page in range(0, len(data), size):
        if any(data[page : page + size]):
            if runs and runs[-1][1] == page:
                runs[-1] = (runs[-1][0], page + size)
            else:
                runs.append((page, page + size))
    return runs


@dataclass(frozen=True)
class TestImages:
    """The known raw disk and its conversions (by NAMES), all in one directory."""

    __test__ = False  # not a test class, despite the name
    directory: Path
    paths: dict[str, Path]

    @property
    def raw(self) -> bytes:
        return self.paths["raw"].read_bytes()

    def __getitem__(self, name: str) -> Path:
        return self.paths[name]


def make_images(directory: Path, *, size: int = SIZE, layout: list[tuple[int, int]] = LAYOUT, seed: int = 1,
                names: list[str] | None = None, write: bool = True) -> TestImages:
    """The raw disk and its conversions in `directory`; with write=False, only where the files already are (another
    test process made them with the same arguments: conftest.shared_images)."""
    directory.mkdir(parents=True, exist_ok=True)
    raw = directory / "disk.raw"
    if write:
        write_raw(raw, size, layout, seed=seed)
        if layout is LAYOUT:
            with open(raw, "r+b") as fh:
                fh.seek(ZEROED_PAGE)
                fh.write(bytes(PAGE))
    paths = {"raw": raw}
    for name in names or list(CONVERSIONS):
        if name == "raw":
            continue
        suffix = {"vpc": "vhd"}.get(CONVERSIONS[name][1], CONVERSIONS[name][1])
        paths[name] = directory / f"disk.{name}.{suffix}"
        if write:
            qemu_img("convert", "-f", "raw", *CONVERSIONS[name], raw, paths[name])
    return TestImages(directory, paths)
