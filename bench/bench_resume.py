"""Benchmark: what resuming an interrupted upload costs now that it is decided by content (docs/safety.md).

    venv/bin/python bench/bench_resume.py [--size 64MiB] [--sent 0.5] [--connections 8] [--repeat 3]

Builds a raw image of --size holding random bytes in every page (the worst case for a resume: every page on the
blob must be read back), starts an Azurite (blobs on disk) behind the recording proxy of the tests
(tests/faultproxy.py), and for each repetition:

- fresh: `upload_image` to a new blob (the no-resume path);
- interrupted: the same upload, one Put Page at a time, with every data write after the first --sent part
  answered 503 by the proxy, so that part of the image is on the blob and the rest is not;
- resumed: the same upload again, as a user runs it after the failure.

Per run: requests by kind, request-body bytes (what was sent), response bytes (what was read back, page lists
included) and wall time, counted by the proxy. Each finished blob is checked: length, a valid footer, and its
content equal to the image. Prints a markdown table (medians over --repeat) and the resume's extra cost over
the part it did not have to send.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]  # run as a script from anywhere, without installing vhdcore

MiB = 1 << 20
CONTAINER = "bench"


@dataclass(frozen=True)
class Run:
    requests: int
    kinds: dict[str, int]
    sent: int
    answered: int
    wall: float


def measured(proxy: object, run: object) -> Run:
    from tests.faultproxy import FaultProxy

    assert isinstance(proxy, FaultProxy) and callable(run)
    proxy.clear()
    start = time.perf_counter()
    run()
    wall = time.perf_counter() - start
    proxy.drain()
    kinds = Counter(f"{s.method} {s.query}".strip() for s in proxy.log)
    return Run(len(proxy.log), dict(kinds), proxy.body_bytes, proxy.answer_bytes, wall)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", default="64MiB")
    parser.add_argument("--sent", type=float, default=0.5, help="the part of the data the first run sends (0-1)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from azurite_server import ACCOUNT_KEY, Azurite

    from tests.faultproxy import Fault, FaultProxy, blob_service, fast_options
    from vhdcore.azure.credentials import ClientOptions, StorageTarget
    from vhdcore.azure.upload import upload_image
    from vhdcore.errors import ThrottledError
    from vhdcore.format.images import open_image
    from vhdcore.format.sizes import parse_size

    size = parse_size(args.size, field="--size")
    writes = size // (4 * MiB)  # random data: one 4 MiB Put Page per 4 MiB of the image
    landed = int(writes * args.sent)
    work = Path(tempfile.mkdtemp(prefix="bench-resume-"))
    image = work / "disk.raw"
    image.write_bytes(os.urandom(size))
    azurite = Azurite(location=work / "azurite").start()
    fresh: list[Run] = []
    resumed: list[Run] = []
    try:
        blob_service(azurite.connection_string).create_container(CONTAINER)
        with FaultProxy(f"http://127.0.0.1:{azurite.port}") as proxy:
            target = StorageTarget(account_url=proxy.endpoint(), account_key=ACCOUNT_KEY)

            def upload(name: str, connections: int, options: ClientOptions | None = None) -> None:
                with open_image(image) as opened:
                    upload_image(target, opened, container=CONTAINER, name=name, max_connections=connections,
                                 options=options)

            for index in range(args.repeat):
                fresh.append(measured(proxy, lambda i=index: upload(f"fresh-{i}.vhd", args.connections)))
                proxy.clear()
                proxy.add(Fault.server_busy(method="PUT", query="^comp=page$", nth=landed + 1, times=-1))
                try:
                    upload(f"resumed-{index}.vhd", 1, fast_options())  # one write at a time: exactly `landed` land
                except ThrottledError:
                    pass
                else:
                    raise SystemExit("the first run was meant to fail after its first part")
                proxy.clear()
                resumed.append(measured(proxy, lambda i=index: upload(f"resumed-{i}.vhd", args.connections)))
            service = blob_service(azurite.connection_string)
            content = image.read_bytes()
            for name in [f"{kind}-{i}.vhd" for kind in ("fresh", "resumed") for i in range(args.repeat)]:
                blob = service.get_blob_client(CONTAINER, name).download_blob().readall()
                if len(blob) != size + 512 or blob[:size] != content or blob[size:size + 8] != b"conectix":
                    raise SystemExit(f"{name} does not hold the image as a fixed VHD")
    finally:
        azurite.stop()
        for path in sorted(work.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        work.rmdir()

    def row(label: str, runs: list[Run]) -> str:
        first = runs[0]
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(first.kinds.items()))
        return (f"| {label} | {first.requests} ({kinds}) | {first.sent / MiB:,.2f} MiB | "
                f"{first.answered / MiB:,.2f} MiB | {statistics.median(r.wall for r in runs):.2f} s |")

    print(f"image: {size / MiB:g} MiB of random data, {landed} of {writes} 4 MiB writes landed before the "
          f"interruption, {args.connections} connections, median of {args.repeat}\n")
    print("| run | requests | sent (request bodies) | read back (response bodies) | wall time |")
    print("|---|---|---:|---:|---:|")
    print(row("fresh upload (no resume)", fresh))
    print(row("resume", resumed))
    extra = statistics.median(r.wall for r in resumed) - statistics.median(f.wall for f in fresh) * (1 - args.sent)
    print(f"\nresume over sending only the rest: +{extra:.2f} s, +{resumed[0].answered / MiB:,.2f} MiB read back")
    return 0


if __name__ == "__main__":
    sys.exit(main())
