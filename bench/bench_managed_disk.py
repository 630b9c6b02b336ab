"""Benchmark: an image into a managed disk by direct upload, against the storage-account route.

    venv/bin/python bench/bench_managed_disk.py [--size 1GiB] [--data 64MiB] [--runs 8] [--repeat 3]

Builds a raw image of --size holding --data of random bytes in --runs scattered runs, starts an Azurite behind the
recording proxy of the tests (tests/faultproxy.py) and the local Compute server (tests/compute_server.py), and
measures, each --repeat times:

- direct: `upload_to_managed_disk` (vhdcore disk create): the disk created for upload, a Write grant, the image's
  non-zero pages and the footer sent to its SAS, the revoke;
- storage account: `upload_image` (vhdcore blob upload, as VhdImage does) to a page blob, then the managed disk made
  from it with the Import create option (a server-side copy this machine cannot run: it is counted as the bytes it
  must move, the blob's written page ranges, and the blob's whole length besides), then the blob deleted (1 more
  request), as the staging route does.

Per route: control-plane requests (to the Compute API, token requests apart), storage requests, request-body bytes
sent and wall time (the direct route's includes its control-plane round trips on loopback). Prints a markdown table
(medians over --repeat). The Import route's ARM requests are counted as a create and its polls (PUT, one status
poll, GET) and a delete of the staging blob, since this server models the Upload option only.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

MiB = 1 << 20
SUB = "11111111-2222-3333-4444-555555555555"


@dataclass(frozen=True)
class Route:
    control: int
    storage: int
    sent: int
    copied: int  # bytes a server-side copy must move (written ranges): 0 for the direct route
    copied_length: int  # the staging blob's whole length: 0 for the direct route
    wall: float


def make_image(path: Path, size: int, data: int, runs: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    run_bytes = data // runs
    with path.open("wb") as f:
        f.truncate(size)
        for i in range(runs):
            at = (size // runs) * i + rng.randrange(0, max(1, size // runs - run_bytes)) // 4096 * 4096
            f.seek(at)
            f.write(rng.randbytes(run_bytes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1GiB")
    parser.add_argument("--data", default="64MiB")
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from azurite_server import ACCOUNT, ACCOUNT_KEY, Azurite

    from tests.compute_server import ComputeServer
    from tests.faultproxy import FaultProxy, blob_service
    from vhdcore.azure.compute import ComputeTarget, DiskAddress, DiskSpec
    from vhdcore.azure.credentials import StorageTarget
    from vhdcore.azure.managed_disks import upload_to_managed_disk
    from vhdcore.azure.upload import upload_image
    from vhdcore.format.sizes import parse_size
    from vhdcore.sources import open_source

    size, data = parse_size(args.size), parse_size(args.data)
    work = Path(tempfile.mkdtemp(prefix="bench-md-"))
    image_path = work / "disk.raw"
    make_image(image_path, size, data, args.runs)
    azurite = Azurite().start()  # in memory
    direct: list[Route] = []
    staged: list[Route] = []
    try:
        service = blob_service(azurite.connection_string)
        with FaultProxy(f"http://127.0.0.1:{azurite.port}") as proxy, ComputeServer(
                service, proxy.endpoint(), ACCOUNT, ACCOUNT_KEY, work) as compute:
            compute.add_group(SUB, "rg")
            os.environ.update(compute.environment(SUB))
            target = ComputeTarget.resolve()
            for attempt in range(args.repeat):
                proxy.clear()
                calls = len(compute.calls)
                start = time.perf_counter()
                with open_source(str(image_path)) as image:
                    upload_to_managed_disk(target, DiskAddress(SUB, "rg", f"direct{attempt}"), image,
                                           DiskSpec("westeurope"))
                wall = time.perf_counter() - start
                control = len([c for c in compute.calls_since(calls) if c.path != "/msi/token"])
                direct.append(Route(control, proxy.requests, proxy.body_bytes, 0, 0, wall))

                container = f"stage{attempt}"
                service.create_container(container)
                proxy.clear()
                start = time.perf_counter()
                with open_source(str(image_path)) as image:
                    done = upload_image(StorageTarget(account_url=proxy.endpoint(), account_key=ACCOUNT_KEY), image,
                                        container=container, name="disk.vhd")
                wall = time.perf_counter() - start
                blob = service.get_blob_client(container, "disk.vhd")
                written = sum(int(r["end"]) + 1 - int(r["start"]) for r in blob.get_page_ranges()[0])
                # The Import create (PUT, a status poll, the GET of its result) and the staging blob's delete.
                staged.append(Route(3, proxy.requests + 1, proxy.body_bytes, written, done.blob_length, wall))
                service.delete_container(container)
    finally:
        azurite.stop()

    def row(name: str, runs: list[Route]) -> str:
        med = {k: statistics.median(getattr(r, k) for r in runs) for k in Route.__dataclass_fields__}
        copied = f"{med['copied']:,.0f} B (of a {med['copied_length']:,.0f} B blob)" if med["copied_length"] else "0"
        return (f"| {name} | {med['control']:.0f} | {med['storage']:.0f} | {med['sent']:,.0f} B | {copied} | "
                f"{med['wall']:.2f} s |")

    print(f"image: {args.size} disk, {args.data} of data in {args.runs} runs; median of {args.repeat}\n")
    print("| route | control-plane requests | storage requests | bytes sent | import copy moves | wall (upload) |")
    print("|---|---:|---:|---:|---:|---:|")
    print(row("direct upload (`vhdcore disk create`)", direct))
    print(row("storage account (`blob upload`, then Import)", staged))


if __name__ == "__main__":
    main()
