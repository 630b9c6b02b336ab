"""Benchmark: a blank VHD in a page blob via vhdcore's writer vs uploading a zero-filled fixed VHD file.

    venv/bin/python bench/bench_page_blob.py [--repeat N] [--naive-budget SECONDS]

Runs its own in-memory Azurite on a free port. The writer (create_blank_vhd) sends Put Blob plus one
512-byte Put Page at any size. The naive route is what a user without this tool does: write a fixed
VHD file (sparse here, so making it is free) and BlobClient.upload_blob(..., blob_type="PageBlob").
The SDK skips all-zero 4 MiB chunks, so it sends as little, but it reads and scans the whole file.
It runs at 1 GiB, then at larger sizes only while the time projected from the 1 GiB rate fits the
budget (default 60 s); skipped sizes show the projection. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]  # run as a script from anywhere, without installing vhdcore

from azure.storage.blob import BlobServiceClient  # noqa: E402
from azurite_server import Azurite  # noqa: E402

from tests.faultproxy import CountingTransport  # noqa: E402
from vhdcore.azure.clouds import API_VERSION  # noqa: E402
from vhdcore.azure.credentials import ClientOptions, StorageTarget  # noqa: E402
from vhdcore.azure.page_blob import create_blank_vhd, delete_blank_vhd, grow_blank_vhd, inspect_blank_vhd  # noqa: E402
from vhdcore.format.footer import fixed_footer  # noqa: E402
from vhdcore.format.local_disk import create_fixed_vhd  # noqa: E402

GiB = 1 << 30
WRITER_SIZES = [1, 10, 64, 1024, 8191]
NAIVE_SIZES = [1, 10, 64]
CONTAINER = "bench"


@dataclass
class Row:
    route: str
    gib: int
    requests: int = 0
    body_bytes: int = 0
    wire_bytes: int = 0  # bodies plus request headers, roughly what goes over the socket
    local_read: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    valid: bool = False
    note: str = ""


class CountingFile(io.FileIO):
    """A file that counts the bytes read from it: what the upload costs on the local disk side."""

    bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data or b"")
        return data or b""

    def readinto(self, buffer: Any) -> int:
        count = super().readinto(buffer) or 0
        self.bytes_read += count
        return count


@dataclass(frozen=True)
class Cost:
    requests: int
    body_bytes: int
    wire_bytes: int
    wall: float
    cpu: float


def measured(counter: CountingTransport, call: Callable[[], object]) -> Cost:
    counter.reset()
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    wire = sum(s.body_bytes + s.header_bytes for s in counter.log)
    return Cost(counter.requests, counter.body_bytes, wire, wall, cpu)


def writer_row(target: StorageTarget, counter: CountingTransport, gib: int, repeat: int) -> Row:
    options = ClientOptions(transport=counter)
    runs = [
        measured(counter, partial(create_blank_vhd, target, container=CONTAINER, name=f"writer-{gib}-{i}.vhd",
                                  size=gib * GiB, options=options))
        for i in range(repeat)
    ]
    found = inspect_blank_vhd(target, container=CONTAINER, name=f"writer-{gib}-0.vhd")
    first = runs[0]
    return Row("vhdcore writer", gib, first.requests, first.body_bytes, first.wire_bytes, 0,
               statistics.median(r.wall for r in runs), statistics.median(r.cpu for r in runs),
               found is not None and found.report.azure_ready, f"median of {repeat}")


def naive_row(service: BlobServiceClient, counter: CountingTransport, workdir: Path, gib: int) -> Row:
    path = workdir / f"naive-{gib}.vhd"
    create_fixed_vhd(path, fixed_footer(gib * GiB))  # sparse: free to make, but every byte reads back as zero
    blob = service.get_blob_client(CONTAINER, path.name)

    with CountingFile(path, "rb") as stream:
        cost = measured(counter, partial(blob.upload_blob, stream, blob_type="PageBlob", length=gib * GiB + 512))
    path.unlink()
    target = StorageTarget(account_url=service.url.rstrip("/"), account_key=service.credential.account_key)
    found = inspect_blank_vhd(target, container=CONTAINER, name=path.name)
    return Row("upload_blob(PageBlob) of a zero-filled file", gib, cost.requests, cost.body_bytes, cost.wire_bytes,
               stream.bytes_read, cost.wall, cost.cpu, found is not None and found.report.azure_ready, "once")


def naive_rows(service: BlobServiceClient, counter: CountingTransport, budget: float) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-page-blob-") as workdir:
        for gib in NAIVE_SIZES:
            projected = rows[0].wall / rows[0].gib * gib if rows else 0.0
            if projected > budget:
                note = f"not run: projected {projected:.0f} s from the 1 GiB rate (--naive-budget {budget:.0f})"
                rows.append(Row("upload_blob(PageBlob) of a zero-filled file", gib, note=note))
            else:
                rows.append(naive_row(service, counter, Path(workdir), gib))
    return rows


def other_operations(target: StorageTarget, counter: CountingTransport) -> list[str]:
    options = ClientOptions(transport=counter)
    lines = ["| operation | disk size | requests | request bodies | wall |", "|---|---:|---:|---:|---:|"]
    for gib in (1, 4095):
        where: dict[str, Any] = {"container": CONTAINER, "name": f"ops-{gib}.vhd", "options": options}
        create_blank_vhd(target, size=gib * GiB, **where)
        calls: list[tuple[str, Callable[[], object]]] = [
            ("inspect", partial(inspect_blank_vhd, target, **where)),
            (f"grow to {2 * gib} GiB", partial(grow_blank_vhd, target, size=2 * gib * GiB, **where)),
            ("delete", partial(delete_blank_vhd, target, unique_id=None, **where)),
        ]
        for label, call in calls:
            cost = measured(counter, call)
            lines.append(f"| {label} | {gib} GiB | {cost.requests} | {cost.body_bytes} B | {_seconds(cost.wall)} |")
    return lines


def table(rows: list[Row]) -> list[str]:
    lines = [
        "| route | disk size | requests | request bodies | ≈ bytes sent | read from local disk | wall | client CPU "
        "| valid VHD | note |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        if r.requests == 0:
            lines.append(f"| {r.route} | {r.gib} GiB |{' - |' * 7} {r.note} |")
            continue
        lines.append(
            f"| {r.route} | {r.gib} GiB | {r.requests} | {r.body_bytes:,} B | {r.wire_bytes:,} B | "
            f"{r.local_read / GiB:.2f} GiB | {_seconds(r.wall)} | {_seconds(r.cpu)} | {'yes' if r.valid else 'NO'} "
            f"| {r.note} |"
        )
    return lines


def _seconds(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.1f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5, help="writer runs per size (median shown)")
    parser.add_argument("--naive-budget", type=float, default=60.0, help="seconds allowed per naive upload")
    args = parser.parse_args()

    azurite = Azurite().start()
    try:
        counter = CountingTransport()
        service = BlobServiceClient.from_connection_string(azurite.connection_string, transport=counter,
                                                           api_version=API_VERSION)
        service.create_container(CONTAINER)
        target = StorageTarget(connection_string=azurite.connection_string)
        rows = [writer_row(target, counter, gib, args.repeat) for gib in WRITER_SIZES]
        rows += naive_rows(service, counter, args.naive_budget)
        print("\n".join(table(rows)))
        print()
        print("\n".join(other_operations(target, counter)))
    finally:
        azurite.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
