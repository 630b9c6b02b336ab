"""Benchmark: uploading a disk image as a fixed VHD page blob, vhdcore vs what a user does today.

    venv/bin/python bench/bench_upload.py [--size 10GiB] [--data 512MiB] [--big 100GiB] [--connections 8]
                                          [--workdir DIR] [--no-baseline]

Builds a sparse raw disk of --size holding --data of random bytes in scattered runs (1-8 MiB plus an odd
tail, at random places, and the first and last sectors), and the same disk as qcow2 (qemu-img convert).
Each route runs in its own process, against its own Azurite (blobs on disk, not in memory):

- vhdcore: `upload_image` of the raw file, then of the qcow2 (and of a --big qcow2 holding the same data, to
  show that time and memory follow the data, not the disk size);
- baseline: `qemu-img convert -O vpc -o subformat=fixed,force_size=on` of the same image to a fixed VHD file,
  then `BlobClient.upload_blob(file, blob_type="PageBlob")` of it (the SDK skips all-zero 4 MiB chunks).

Per route: requests and request-body bytes (a counting transport in the uploading process), bytes read from
the image files (vhdcore: its reader's count; upload_blob: a counting file; qemu-img: read syscalls from
/proc/<pid>/io), wall time, CPU time (user + system, from wait4) and peak memory (max RSS). Every route starts
with its input evicted from the page cache (posix_fadvise DONTNEED), so it reads from the disk. Every blob is
checked: its length, a valid footer, and its written pages against the image's non-zero pages. The image
files and Azurite's data are deleted afterwards. Prints a markdown table and the goals.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]  # run as a script from anywhere, without installing vhdcore

MiB, GiB = 1 << 20, 1 << 30
PAGE = 512
CONTAINER = "bench"


# --- the child processes: each uploads once and prints what it counted ----------------------------------------


def child_vhdcore(args: argparse.Namespace) -> dict[str, Any]:
    from tests.faultproxy import CountingTransport
    from vhdcore.azure.credentials import ClientOptions, StorageTarget
    from vhdcore.azure.upload import upload_image
    from vhdcore.format.images import open_image

    counter = CountingTransport()
    target = StorageTarget(connection_string=args.connection_string)
    with open_image(args.source) as image:
        done = upload_image(target, image, container=CONTAINER, name=args.name, max_connections=args.connections,
                            options=ClientOptions(transport=counter))
        read = image.bytes_read
        allocated = image.allocated_bytes
        metadata = image.metadata_bytes_read
    return {"requests": counter.requests, "body_bytes": counter.body_bytes, "read": read, "allocated": allocated,
            "tables": metadata, "data_bytes": done.data_bytes, "size": done.size}


class CountingFile(io.FileIO):
    bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size) or b""
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        count = super().readinto(buffer) or 0
        self.bytes_read += count
        return count


def child_fingerprint(args: argparse.Namespace) -> dict[str, Any]:
    from vhdcore.format.images import fingerprint, open_image

    with open_image(args.source) as image:
        found = fingerprint(image)
        return {"fingerprint": found, "read": image.bytes_read, "tables": image.metadata_bytes_read}


def child_upload_blob(args: argparse.Namespace) -> dict[str, Any]:
    from azure.storage.blob import BlobServiceClient

    from tests.faultproxy import CountingTransport
    from vhdcore.azure.clouds import API_VERSION

    counter = CountingTransport()
    service = BlobServiceClient.from_connection_string(args.connection_string, transport=counter,
                                                       api_version=API_VERSION)
    blob = service.get_blob_client(CONTAINER, args.name)
    length = os.path.getsize(args.source)
    with CountingFile(args.source, "rb") as stream:
        blob.upload_blob(stream, blob_type="PageBlob", length=length, max_concurrency=args.connections)
        read = stream.bytes_read
    return {"requests": counter.requests, "body_bytes": counter.body_bytes, "read": read}


# --- the parent: images, processes, measurements ----------------------------------------------------------------


@dataclass
class Measured:
    wall: float
    cpu: float
    max_rss: int  # bytes
    rchar: int
    result: dict[str, Any] = field(default_factory=dict)


class Watch(Protocol):
    """Something that follows a child while it runs (bench_stream.DiskWatch): its peak memory and more."""

    pids: set[int]
    hwm: dict[int, int]

    def sample(self) -> None: ...


def run_child(argv: list[str], *, json_out: bool, env: dict[str, str] | None = None,
              watch: Watch | None = None) -> Measured:
    """Run a process; wall time, CPU and peak RSS from wait4, read syscall bytes from /proc/<pid>/io (read
    while it is a zombie, before it is reaped). With `watch`, the peak memory is the process's VmHWM as the watch
    sampled it (wait4's ru_maxrss also counts the pages the process had before its exec: the parent's)."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                               env=None if env is None else {**os.environ, **env})
    if watch is not None:
        watch.pids.add(process.pid)
    out, err = b"", b""
    assert process.stdout is not None and process.stderr is not None
    out = process.stdout.read()
    err = process.stderr.read()
    os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
    wall = time.perf_counter() - start
    rchar = 0
    with open(f"/proc/{process.pid}/io") as fh:
        for line in fh:
            if line.startswith("rchar:"):
                rchar = int(line.split()[1])
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{argv[:3]} failed ({process.returncode}): {err.decode(errors='replace')[-2000:]}")
    result = json.loads(out) if json_out else {}
    peak = usage.ru_maxrss * 1024
    if watch is not None:
        watch.pids.discard(process.pid)
        peak = watch.hwm.get(process.pid, 0)
    return Measured(wall, usage.ru_utime + usage.ru_stime, peak, rchar, result)


def evict(path: Path) -> None:
    """Drop the file's pages from the page cache, so the next run reads it from the disk (this file only)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def layout(size: int, data: int, seed: int = 42) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    slot = 16 * MiB
    slots = list(range(1, size // slot - 1))
    rng.shuffle(slots)
    runs, total = [(0, PAGE), (size - PAGE, PAGE)], 2 * PAGE
    for index in slots:
        if total >= data:
            break
        length = min(rng.choice([1, 2, 4, 8]) * MiB + rng.randrange(0, 4096), data - total)
        runs.append((index * slot + rng.randrange(0, 4 * MiB), length))
        total += length
    return sorted(runs)


def write_raw(path: Path, size: int, runs: list[tuple[int, int]]) -> None:
    with open(path, "wb") as fh:
        fh.truncate(size)
        for offset, length in runs:
            fh.seek(offset)
            fh.write(os.urandom(length))


def check_blob(connection_string: str, name: str, size: int, expected_pages: int, *, exact: bool) -> str:
    """The blob's length and footer, and (`exact`) its written bytes: the data pages plus the footer page."""
    from tests.faultproxy import blob_service
    from vhdcore.format.report import DiskReport

    blob = blob_service(connection_string).get_blob_client(CONTAINER, name)
    length = blob.get_blob_properties().size
    tail = blob.download_blob(offset=length - PAGE, length=PAGE).readall()
    report = DiskReport.from_tail(tail, length)
    written = sum(r.end + 1 - r.start for r in blob.list_page_ranges())
    ok = length == size + PAGE and report.azure_ready and (written == expected_pages + PAGE or not exact)
    return "yes" if ok else f"NO (length {length}, written {written}, problems {report.problems})"


def mib(value: int) -> str:
    return f"{value / MiB:,.1f} MiB"


def seconds(value: float) -> str:
    return f"{value:.1f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", default="10GiB")
    parser.add_argument("--data", default="512MiB")
    parser.add_argument("--big", default="100GiB", help="a bigger disk with the same data (vhdcore only); 0: none")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workdir", type=Path, default=None, help="where the image files go (default: a temp dir)")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--child", choices=["vhdcore", "upload_blob", "fingerprint"], help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    parser.add_argument("--connection-string", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child = {"vhdcore": child_vhdcore, "upload_blob": child_upload_blob, "fingerprint": child_fingerprint}
        print(json.dumps(child[args.child](args)))
        return 0

    from azurite_server import Azurite

    from tests.faultproxy import blob_service
    from vhdcore.format.images import Scan, open_image
    from vhdcore.format.sizes import STACK_PAGE, parse_size

    size, data = parse_size(args.size, field="--size"), parse_size(args.data, field="--data")
    big = parse_size(args.big, field="--big") if args.big not in ("0", "") else 0
    work = Path(tempfile.mkdtemp(prefix="bench-upload-", dir=args.workdir))
    rows: list[list[str]] = []
    try:
        runs = layout(size, data)
        raw = work / "disk.raw"
        write_raw(raw, size, runs)
        qcow2 = work / "disk.qcow2"
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2)], check=True)
        sources = [("raw", raw, size), ("qcow2", qcow2, size)]
        if big:
            big_raw = work / "big.raw"
            big_runs = [*runs[:-1], (big - PAGE, PAGE)]  # the same data, the last sector moved to the new end
            write_raw(big_raw, big, big_runs)
            big_qcow2 = work / "big.qcow2"
            subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(big_raw), str(big_qcow2)],
                           check=True)
            big_raw.unlink()
            sources.append(("qcow2", big_qcow2, big))
        # The goal counts the non-zero 512-byte pages; the upload sends whole non-zero 4 KiB pages (Azure
        # Stack's rule, kept everywhere), which is what the blob must hold besides the footer.
        with open_image(raw) as image:
            scan = Scan(image)
            for _ in scan:
                pass
            nonzero = scan.data_bytes
            sent_pages = sum(len(run.data) for run in Scan(image, granularity=STACK_PAGE))
        print(f"image: {size / GiB:g} GiB disk, {len(runs)} runs, {mib(nonzero)} in non-zero pages", file=sys.stderr)

        for label, path, disk in sources:
            with open_image(path) as image:
                allocated = image.allocated_bytes
            azurite = Azurite(location=work / "azurite").start()
            try:
                blob_service(azurite.connection_string).create_container(CONTAINER)
                me = [sys.executable, str(Path(__file__).resolve()), "--connection-string", azurite.connection_string,
                      "--connections", str(args.connections)]
                evict(path)
                ours = run_child([*me, "--child", "vhdcore", "--source", str(path), "--name", "ours.vhd"],
                                 json_out=True)
                valid = check_blob(azurite.connection_string, "ours.vhd", ours.result["size"], sent_pages,
                                   exact=True)
                data_read, tables = ours.result["read"] - ours.result["tables"], ours.result["tables"]
                rows.append([f"vhdcore `blob upload` ({label})", f"{disk / GiB:g} GiB", str(ours.result["requests"]),
                             f"{ours.result['body_bytes']:,} B",
                             f"{mib(data_read)} + {tables / 1024:,.0f} KiB of tables", mib(allocated),
                             seconds(ours.wall), seconds(ours.cpu), mib(ours.max_rss), valid])
                evict(path)
                fingerprinted = run_child([*me, "--child", "fingerprint", "--source", str(path)], json_out=True)
                rows.append([f"fingerprint only ({label}; VhdImage's check)", f"{disk / GiB:g} GiB", "0", "0 B",
                             mib(fingerprinted.result["read"]), mib(allocated), seconds(fingerprinted.wall),
                             seconds(fingerprinted.cpu), mib(fingerprinted.max_rss), ""])
                if args.no_baseline or disk != size:
                    continue
                fixed = work / "fixed.vhd"
                evict(path)
                convert = run_child(["qemu-img", "convert", "-O", "vpc", "-o", "subformat=fixed,force_size=on",
                                     str(path), str(fixed)], json_out=False)
                evict(fixed)
                naive = run_child([*me, "--child", "upload_blob", "--source", str(fixed), "--name", "naive.vhd"],
                                  json_out=True)
                fixed.unlink()
                valid = check_blob(azurite.connection_string, "naive.vhd", disk, nonzero, exact=False)
                rows.append([f"qemu-img convert ({label} to fixed VHD)", f"{disk / GiB:g} GiB", "-", "-",
                             mib(convert.rchar), mib(allocated), seconds(convert.wall), seconds(convert.cpu),
                             mib(convert.max_rss), ""])
                rows.append(["then `upload_blob(PageBlob)`", f"{disk / GiB:g} GiB", str(naive.result["requests"]),
                             f"{naive.result['body_bytes']:,} B", mib(naive.result["read"]), "",
                             seconds(naive.wall), seconds(naive.cpu), mib(naive.max_rss), valid])
                rows.append([f"**baseline total ({label})**", f"{disk / GiB:g} GiB", str(naive.result["requests"]),
                             f"{naive.result['body_bytes']:,} B", mib(convert.rchar + naive.result["read"]), "",
                             seconds(convert.wall + naive.wall), seconds(convert.cpu + naive.cpu),
                             mib(max(convert.max_rss, naive.max_rss)), ""])
                ratio = (convert.wall + naive.wall) / ours.wall
                print(f"{label}: wall {ratio:.1f}x shorter than the baseline; bytes sent {ours.result['body_bytes']:,} "
                      f"<= {nonzero + nonzero // 100 + PAGE:,} (data + 1% + 512): "
                      f"{ours.result['body_bytes'] <= nonzero + nonzero // 100 + PAGE}; data read "
                      f"{ours.result['read'] - ours.result['tables']:,} <= allocated {allocated:,}: "
                      f"{ours.result['read'] - ours.result['tables'] <= allocated}", file=sys.stderr)
            finally:
                azurite.stop()
                shutil.rmtree(work / "azurite", ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("| route | disk | requests | request bodies | read from image files | the image stores | wall | CPU | "
          "peak memory | valid VHD |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nnon-zero data: {nonzero:,} bytes ({mib(nonzero)}); connections: {args.connections}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
