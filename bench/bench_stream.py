"""Benchmark: a compressed cloud image (a file, or a URL on a loopback web server) to a fixed VHD page blob,
vhdcore's stream against what the install guides say to do.

    venv/bin/python bench/bench_stream.py [--size 10GiB] [--data 1GiB] [--compressions xz,gzip]
                                          [--sources file,http] [--connections 8] [--workdir DIR] [--no-baseline]

Builds a fixed VHD of --size holding --data of random bytes in scattered runs (bench_upload's layout: 1-8 MiB
runs at random places, and the first and last sectors; qemu-img makes the VHD from the raw disk), compresses it
with each of --compressions (`xz -1 -T2`, multi-block as xz -T and pixz write; `gzip -6`), and uploads it to its
own Azurite (blobs on disk) by each route:

- vhdcore: `open_source` + `upload_image` in one process, from the file or from a loopback web server (with
  range support) serving it: nothing is written locally;
- baseline: (from the web server: download the file first, with requests, as curl -O would) `xz -dk` / `gzip -dk`
  to a fixed VHD file (xz writes it sparse, gzip does not), then `BlobClient.upload_blob(file,
  blob_type="PageBlob")` (the SDK skips all-zero 4 MiB chunks).

Per route: wall time; CPU (user + system of every process of the route); peak memory (the largest VmHWM of its
processes, sampled every 50 ms); the local disk space used at peak (the allocated blocks of every file the route
made, its unnamed temporary files included, sampled every 50 ms); bytes read (of the compressed file, the web
server's answers, and the decompressed file the baseline uploads); bytes sent (request bodies to storage, counted
by the uploading process's transport). Every blob is checked: its length, a valid footer, and (vhdcore) its
written pages equal to the image's non-zero 4 KiB pages plus the footer. The files and Azurite's data are deleted
afterwards. Prints a markdown table and the goals: local disk at most 64 MiB, bytes sent at most the data + 1% +
512, wall time at most the baseline's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools"), str(ROOT / "bench")]

from bench_upload import (  # noqa: E402 - after the path is set
    CONTAINER,
    PAGE,
    CountingFile,
    GiB,
    Measured,
    MiB,
    check_blob,
    evict,
    layout,
    mib,
    run_child,
    seconds,
    write_raw,
)

COMPRESS = {"xz": (["xz", "-1", "-T2", "-k", "-f"], ".xz", ["xz", "-dk", "-f"]),
            "gzip": (["gzip", "-6", "-k", "-f"], ".gz", ["gzip", "-dk", "-f"])}


# --- the child processes ---------------------------------------------------------------------------------------


def child_stream(args: argparse.Namespace) -> dict[str, Any]:
    from tests.faultproxy import CountingTransport
    from vhdcore.azure.credentials import ClientOptions, StorageTarget
    from vhdcore.azure.upload import upload_image
    from vhdcore.sources import StreamImage, open_source

    counter = CountingTransport()
    target = StorageTarget(connection_string=args.connection_string)
    with open_source(args.source, sha256=args.sha256) as image:
        done = upload_image(target, image, container=CONTAINER, name=args.name, max_connections=args.connections,
                            options=ClientOptions(transport=counter))
        learned = image.content.learned if isinstance(image, StreamImage) else type(image).__name__
        read = image.bytes_read
    return {"requests": counter.requests, "body_bytes": counter.body_bytes, "read": read, "learned": learned,
            "size": done.size, "data_bytes": done.data_bytes}


def child_upload_blob(args: argparse.Namespace) -> dict[str, Any]:
    from azure.storage.blob import BlobServiceClient

    from tests.faultproxy import CountingTransport
    from vhdcore.azure.clouds import API_VERSION

    counter = CountingTransport()
    service = BlobServiceClient.from_connection_string(args.connection_string, transport=counter,
                                                       api_version=API_VERSION)
    blob = service.get_blob_client(CONTAINER, args.name)
    with CountingFile(args.source, "rb") as stream:
        blob.upload_blob(stream, blob_type="PageBlob", length=os.path.getsize(args.source),
                         max_concurrency=args.connections)
        read = stream.bytes_read
    return {"requests": counter.requests, "body_bytes": counter.body_bytes, "read": read}


def child_download(args: argparse.Namespace) -> dict[str, Any]:
    import requests

    got = 0
    with requests.get(args.source, stream=True, timeout=60) as answer, open(args.name, "wb") as out:
        answer.raise_for_status()
        for chunk in answer.iter_content(1 << 20):
            out.write(chunk)
            got += len(chunk)
    return {"read": got}


# --- measuring ---------------------------------------------------------------------------------------------------


class DiskWatch:
    """The allocated bytes of every file under `folder` and of every file under it that a watched process holds
    open (unnamed temporary files included), sampled every 50 ms; `peak` is the largest sum seen. It also reads each
    watched process's VmHWM (its peak resident set since its exec): wait4's ru_maxrss would also count the pages
    the process had before exec, which are the parent's (this script holds the image scan's buffers)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pids: set[int] = set()
        self.peak = 0
        self.hwm: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> DiskWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.sample()

    def sample(self) -> None:
        seen: dict[tuple[int, int], int] = {}
        for path in self.folder.rglob("*"):
            try:
                info = path.stat()
            except OSError:
                continue
            if path.is_file():
                seen[(info.st_dev, info.st_ino)] = info.st_blocks * 512
        prefix = str(self.folder)
        for pid in list(self.pids):
            try:
                with open(f"/proc/{pid}/status") as status:
                    for line in status:
                        if line.startswith("VmHWM:"):
                            self.hwm[pid] = max(self.hwm.get(pid, 0), int(line.split()[1]) * 1024)
            except OSError:
                pass
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    if not os.readlink(f"/proc/{pid}/fd/{fd}").startswith(prefix):
                        continue
                    info = os.stat(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                seen[(info.st_dev, info.st_ino)] = info.st_blocks * 512
        self.peak = max(self.peak, sum(seen.values()))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", default="10GiB")
    parser.add_argument("--data", default="1GiB")
    parser.add_argument("--compressions", default="xz,gzip")
    parser.add_argument("--sources", default="file,http")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--child", choices=["stream", "upload_blob", "download"], help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    parser.add_argument("--sha256", help=argparse.SUPPRESS)
    parser.add_argument("--connection-string", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child = {"stream": child_stream, "upload_blob": child_upload_blob, "download": child_download}
        print(json.dumps(child[args.child](args)))
        return 0

    import hashlib

    from azurite_server import Azurite

    from tests.faultproxy import blob_service
    from tests.webserver import WebServer
    from vhdcore.azure.page_blob import STACK_PAGE
    from vhdcore.format.images import Scan, open_image
    from vhdcore.format.sizes import parse_size

    size, data = parse_size(args.size, field="--size"), parse_size(args.data, field="--data")
    work = Path(tempfile.mkdtemp(prefix="bench-stream-", dir=args.workdir))
    rows: list[list[str]] = []
    goals: list[str] = []
    try:
        images, scratch = work / "images", work / "scratch"
        images.mkdir()
        raw = images / "disk.raw"
        runs = layout(size, data)
        write_raw(raw, size, runs)
        fixed = images / "disk.vhd"
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on",
                        str(raw), str(fixed)], check=True)
        with open_image(raw) as image:
            scan = Scan(image)
            for _ in scan:
                pass
            nonzero = scan.data_bytes
            sent_pages = sum(len(run.data) for run in Scan(image, granularity=STACK_PAGE))
        raw.unlink()
        print(f"image: {size / GiB:g} GiB fixed VHD, {len(runs)} runs, {mib(nonzero)} in non-zero pages",
              file=sys.stderr)
        packed: dict[str, Path] = {}
        for kind in args.compressions.split(","):
            command, suffix, _ = COMPRESS[kind]
            started = time.perf_counter()
            subprocess.run([*command, str(fixed)], check=True)
            packed[kind] = Path(str(fixed) + suffix)
            print(f"{kind}: {packed[kind].stat().st_size:,} bytes in {time.perf_counter() - started:.0f} s",
                  file=sys.stderr)
        fixed.unlink()
        me = [sys.executable, str(Path(__file__).resolve()), "--connections", str(args.connections)]
        with WebServer(images, ranges=True) as web:
            for kind, path in packed.items():
                sha = hashlib.sha256(path.read_bytes()).hexdigest()
                for where in args.sources.split(","):
                    source = str(path) if where == "file" else web.url(path.name)
                    label = f"{kind}, {'file' if where == 'file' else 'loopback HTTP'}"
                    azurite = Azurite(location=work / "azurite").start()
                    try:
                        connection = ["--connection-string", azurite.connection_string]
                        blob_service(azurite.connection_string).create_container(CONTAINER)
                        scratch.mkdir()
                        evict(path)
                        served = web.body_bytes
                        with DiskWatch(scratch) as watch:
                            ours = run_child([*me, *connection, "--child", "stream", "--source", source, "--sha256",
                                              sha, "--name", "ours.vhd"], json_out=True, watch=watch,
                                             env={"TMPDIR": str(scratch)})
                        read = ours.result["read"] if where == "file" else web.body_bytes - served
                        valid = check_blob(azurite.connection_string, "ours.vhd", ours.result["size"], sent_pages,
                                           exact=True)
                        ours_disk = watch.peak
                        rows.append([f"vhdcore ({label})", seconds(ours.wall), seconds(ours.cpu), mib(ours.max_rss),
                                     mib(ours_disk), mib(read), f"{ours.result['body_bytes']:,} B", valid])
                        print(f"{label}: size learned from {ours.result['learned']}", file=sys.stderr)
                        shutil.rmtree(scratch)
                        if args.no_baseline:
                            continue
                        scratch.mkdir()
                        steps: list[Measured] = []
                        reads = 0
                        _, suffix, decompress = COMPRESS[kind]
                        with DiskWatch(scratch) as watch:
                            local = scratch / path.name
                            if where == "file":
                                shutil.copyfile(path, local)  # decompressing in place would eat the input
                                evict(local)
                            else:
                                served = web.body_bytes
                                steps.append(run_child([*me, "--child", "download", "--source", source, "--name",
                                                        str(local)], json_out=True, watch=watch))
                                reads += web.body_bytes - served
                            steps.append(run_child([*decompress, str(local)], watch=watch, json_out=False))
                            reads += local.stat().st_size
                            out = Path(str(local).removesuffix(suffix))
                            evict(out)
                            naive = run_child([*me, *connection, "--child", "upload_blob", "--source", str(out),
                                               "--name", "naive.vhd"], json_out=True, watch=watch)
                            steps.append(naive)
                            reads += naive.result["read"]
                        valid = check_blob(azurite.connection_string, "naive.vhd", size, nonzero, exact=False)
                        wall = sum(s.wall for s in steps)
                        rows.append([f"baseline ({label})", seconds(wall), seconds(sum(s.cpu for s in steps)),
                                     mib(max(s.max_rss for s in steps)), mib(watch.peak), mib(reads),
                                     f"{naive.result['body_bytes']:,} B", valid])
                        limit = nonzero + nonzero // 100 + PAGE
                        goals.append(f"{label}: local disk {mib(ours_disk)} <= 64 MiB: {ours_disk <= 64 * MiB}; "
                                     f"bytes sent {ours.result['body_bytes']:,} <= {limit:,} (data + 1% + 512): "
                                     f"{ours.result['body_bytes'] <= limit}; wall {ours.wall:.1f} s <= baseline "
                                     f"{wall:.1f} s: {ours.wall <= wall} ({wall / ours.wall:.1f}x)")
                        shutil.rmtree(scratch)
                    finally:
                        azurite.stop()
                        shutil.rmtree(work / "azurite", ignore_errors=True)
                        shutil.rmtree(scratch, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("| route | wall | CPU | peak memory | local disk at peak | bytes read | bytes sent | valid VHD |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\n{size / GiB:g} GiB fixed VHD, non-zero data {nonzero:,} bytes ({mib(nonzero)}); connections: "
          f"{args.connections}")
    for goal in goals:
        print(f"- {goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
