"""Benchmark: blank fixed VHD creation (vhdcore vs qemu-img) and footer encode/decode throughput.

    venv/bin/python bench/bench_local.py [--repeat N] [--dir DIR]

Prints markdown tables. Disks are made in a temporary directory (on DIR's file system, default the
system temp dir) and deleted; they are sparse, so a 8191 GiB disk needs only a few KiB of space.
qemu-img refuses vpc images over 2040 GiB; that row shows qemu's message.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere, without installing vhdcore

from vhdcore.format.footer import Footer, fixed_footer  # noqa: E402
from vhdcore.format.local_disk import create_fixed_vhd  # noqa: E402

GiB, TiB = 1 << 30, 1 << 40
SIZES = [("1 GiB", GiB), ("1 TiB", TiB), ("8191 GiB", 8191 * GiB)]
UNIX_2024 = 1704067200


def vhdcore_cli(path: Path, size: int) -> list[str]:
    return [sys.executable, "-m", "vhdcore", "create", str(path), "--size", str(size)]


def qemu_img(path: Path, size: int) -> list[str]:
    return ["qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=fixed,force_size=on", str(path), str(size)]


def time_creation(make: Callable[[Path], None], workdir: Path, size: int, repeat: int) -> tuple[str, str, str, str]:
    """Median wall time, allocated bytes, file length check, status; every file is deleted."""
    times, allocated, status, length_ok = [], 0, "ok", ""
    for i in range(repeat):
        path = workdir / f"disk{i}.vhd"
        start = time.perf_counter()
        try:
            make(path)
        except RuntimeError as exc:
            status = f"refused: {str(exc).replace(str(workdir) + os.sep, '')}"
            leftover = [f"{p.name} ({p.stat().st_size} B)" for p in workdir.iterdir()]
            if leftover:
                status += f"; left behind {', '.join(leftover)}"
            break
        finally:
            elapsed = time.perf_counter() - start
        times.append(elapsed)
        st = path.stat()
        allocated = st.st_blocks * 512
        length_ok = "yes" if st.st_size == size + 512 else f"no ({st.st_size})"
        path.unlink()
    for p in workdir.iterdir():
        p.unlink()
    if not times:
        return "-", "-", "-", status
    return f"{statistics.median(times) * 1000:.1f}", f"{allocated:,}", length_ok, status


def subprocess_maker(argv: Callable[[Path, int], list[str]], size: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        proc = subprocess.run(argv(path, size), capture_output=True, text=True, cwd=ROOT)
        if proc.returncode:
            raise RuntimeError(proc.stderr.strip().splitlines()[-1])

    return make


def library_maker(size: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        create_fixed_vhd(path, fixed_footer(size))

    return make


def rate(op: Callable[[], object], seconds: float = 1.0) -> float:
    """Calls per second of `op`, measured over about `seconds`."""
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(1000):
            op()
        count += 1000
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per row; the median is shown (default 3)")
    parser.add_argument("--dir", default=None, help="where to make the temporary directory")
    args = parser.parse_args()

    qemu_version = subprocess.run(["qemu-img", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(f"Python {platform.python_version()}, {qemu_version}, {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"median of {args.repeat} runs; allocated = st_blocks * 512 of the finished file\n")
    print("| size | tool | wall ms | allocated bytes | length = size + 512 | result |")
    print("|---|---|---:|---:|---|---|")
    tools: list[tuple[str, Callable[[int], Callable[[Path], None]]]] = [
        ("`python -m vhdcore create` (process)", lambda size: subprocess_maker(vhdcore_cli, size)),
        ("`create_fixed_vhd()` (in process)", library_maker),
        ("`qemu-img create -f vpc -o subformat=fixed,force_size=on`", lambda size: subprocess_maker(qemu_img, size)),
    ]
    with tempfile.TemporaryDirectory(prefix="vhd-bench-", dir=args.dir) as tmp:
        for label, size in SIZES:
            for name, maker in tools:
                workdir = Path(tmp) / "work"
                workdir.mkdir()
                ms, allocated, length_ok, status = time_creation(maker(size), workdir, size, args.repeat)
                workdir.rmdir()
                print(f"| {label} | {name} | {ms} | {allocated} | {length_ok} | {status} |")

    footer = fixed_footer(10 * GiB, timestamp=UNIX_2024, unique_id=bytes(range(16)))
    raw = footer.pack()
    rows = [
        ("encode: `fixed_footer(...).pack()`", lambda: fixed_footer(10 * GiB, timestamp=UNIX_2024,
                                                                      unique_id=bytes(16)).pack()),
        ("decode: `Footer.unpack(raw)`", lambda: Footer.unpack(raw)),
        ("encode + decode", lambda: Footer.unpack(fixed_footer(10 * GiB, timestamp=UNIX_2024,
                                                               unique_id=bytes(16)).pack())),
        ("decode + all checks (spec, Azure, checksum)",
         lambda: (f := Footer.unpack(raw)).spec_problems() + f.azure_problems(10 * GiB + 512)),
    ]
    print("\n| footer operation | per second |\n|---|---:|")
    for name, op in rows:
        print(f"| {name} | {rate(op):,.0f} |")


if __name__ == "__main__":
    main()
