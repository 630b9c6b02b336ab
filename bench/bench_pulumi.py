"""Benchmark: wall time of `pulumi up` and `pulumi destroy` with 1 and 20 BlankVhds on Azurite (real
CLI, local backend), and the provider process's start-up cost (importing the provider module).

    venv/bin/python bench/bench_pulumi.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from azurite_server import Azurite  # noqa: E402
from pulumi_stack import stack  # noqa: E402


def timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


def import_cost(module: str, runs: int = 7) -> float:
    """Median extra wall time of `import module` over a bare interpreter start."""
    python = str(ROOT / "venv" / "bin" / "python")

    def median(code: str) -> float:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([python, "-c", code], cwd=ROOT, check=True)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    return median(f"import {module}") - median("pass")


def main() -> None:
    server = Azurite().start()
    rows = []
    try:
        for disks in (1, 20):
            name = f"bench-{uuid.uuid4().hex[:6]}"
            selected = stack(
                name,
                config={"target": "local", "containerName": name, "sizeGb": 1, "diskCount": disks},
                secret_config={"storageConnectionString": server.connection_string},
            )
            up = timed(lambda s=selected: s.up(color="never"))
            again = timed(lambda s=selected: s.up(color="never"))
            destroy = timed(lambda s=selected: s.destroy(color="never"))
            selected.workspace.remove_stack(name)
            rows.append((disks, up, again, destroy))
    finally:
        server.stop()
    print("| BlankVhds | `pulumi up` (create) | `pulumi up` (no changes) | `pulumi destroy` |")
    print("|---:|---:|---:|---:|")
    for disks, up, again, destroy in rows:
        print(f"| {disks} | {up:.1f} s | {again:.1f} s | {destroy:.1f} s |")
    print()
    print(f"provider module import (`import providers`, median of 7, over a bare interpreter): "
          f"{import_cost('providers') * 1000:.0f} ms; `import pulumi` alone: {import_cost('pulumi') * 1000:.0f} ms")


if __name__ == "__main__":
    main()
