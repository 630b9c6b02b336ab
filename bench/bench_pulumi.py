"""Benchmark: wall time of `pulumi up` and `pulumi destroy` with 1 and 20 BlankVhds on Azurite (real
CLI, local backend), and the start-up cost of the program and provider processes (importing `providers`,
against `pulumi` alone).

    venv/bin/python bench/bench_pulumi.py             # both
    venv/bin/python bench/bench_pulumi.py --imports   # only the import costs (no Azurite, no CLI)
"""

from __future__ import annotations

import argparse
import os
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


def import_costs(modules: list[str], runs: int) -> dict[str, float]:
    """Median wall time (seconds) of a fresh `python -c "import <module>"` over a bare `python -c pass`,
    for each module; runs interleave so that a busy moment of the machine hits every module alike."""
    python = str(ROOT / "venv" / "bin" / "python")
    codes = {"": "pass", **{module: f"import {module}" for module in modules}}
    samples: dict[str, list[float]] = {name: [] for name in codes}
    for _ in range(runs):
        for name, code in codes.items():
            start = time.perf_counter()
            subprocess.run([python, "-c", code], cwd=ROOT, check=True)
            samples[name].append(time.perf_counter() - start)
    bare = statistics.median(samples[""])
    return {module: statistics.median(samples[module]) - bare for module in modules}


# What a program that declares every resource pays: the package loads each name on first use, so a bare
# `import providers` would measure nothing.
_AFTER_PULUMI = (
    "import time, pulumi\n"
    "start = time.perf_counter()\n"
    "from providers import BlankVhd, BlobContainer, VhdImage\n"
    "print(time.perf_counter() - start)"
)


def providers_after_pulumi(runs: int) -> tuple[float, float]:
    """Median and fastest time of importing the three resources in a process that already imported pulumi: what
    blank-vhd adds to a program's start-up, measured directly rather than as the difference of two noisy
    process times (the fastest run is the closest to an idle machine)."""
    python = str(ROOT / "venv" / "bin" / "python")
    samples = [float(subprocess.run([python, "-c", _AFTER_PULUMI], cwd=ROOT, check=True, capture_output=True,
                                    text=True).stdout) for _ in range(runs)]
    return statistics.median(samples), min(samples)


def report_imports(runs: int) -> None:
    costs = import_costs(["pulumi", "providers.blank_vhd", "vhdcore"], runs)
    added, fastest = providers_after_pulumi(runs)
    print(f"import cost over a bare interpreter (median of {runs}): `import pulumi` {costs['pulumi'] * 1000:.0f} ms, "
          f"`import providers.blank_vhd` {costs['providers.blank_vhd'] * 1000:.0f} ms, `import vhdcore` "
          f"{costs['vhdcore'] * 1000:.0f} ms; `from providers import BlankVhd, BlobContainer, VhdImage` after `import "
          f"pulumi` in one process: median {added * 1000:.0f} ms, fastest "
          f"{fastest * 1000:.0f} ms (goal: 50 ms or less); load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Pulumi benchmark: stack operations and import costs.")
    parser.add_argument("--imports", action="store_true", help="only measure the import costs")
    parser.add_argument("--runs", type=int, default=15, help="interpreter starts per module (default 15)")
    args = parser.parse_args()
    if not args.imports:
        report_stack()
        print()
    report_imports(args.runs)


def report_stack() -> None:
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


if __name__ == "__main__":
    main()
