"""Benchmark: where the CPU of `pulumi up` goes, per process, for 1 and N BlankVhds on Azurite: the pulumi CLI (the
engine, the local backend's state writes, and the CLI's other runs that the Automation API's `up` makes), the
provider process (the plugin, or the dynamic provider's), the Python program (this process: the inline program and
the Automation API around it) and Azurite. The difference between the two counts, per extra disk, is what a disk
costs each of them; on a machine whose cores are busy, CPU is what the wall time of a big `up` follows.

    venv/bin/python bench/bench_plugin_cpu.py                          # plugin, 1 and 100 disks, medians of 3
    venv/bin/python bench/bench_plugin_cpu.py --door dynamic --counts 1,20 --repeat 1
    venv/bin/python bench/bench_plugin_cpu.py --skip-checkpoints       # the state written once, at the end

Linux only: it reads processes' CPU times from /proc. Same stacks and programs as bench_plugin.py.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools"), str(ROOT / "bench")]

from azurite_server import Azurite  # noqa: E402
from bench_plugin import CLI, dynamic_stack, install_python_sdk, plugin_stack  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
# How the provider process of each door shows in its command line.
PROVIDERS = {"plugin": "providers.plugin", "dynamic": "pulumi.dynamic"}
PARTS = ("engine (pulumi CLI)", "provider process", "program (Python)", "Azurite")


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rpartition(")")[2].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError):
                continue
    return found


class ProviderWatch(threading.Thread):
    """The provider process's CPU, read every 20 ms until it ends (the engine stops it before `up` returns)."""

    def __init__(self, marker: str, skip: int) -> None:
        super().__init__(daemon=True)
        self.marker, self.skip = marker, skip
        self.last: dict[int, float] = {}
        self.done = threading.Event()
        self.own = 0.0  # this thread's CPU

    def run(self) -> None:
        while not self.done.is_set():
            pending = children_of(os.getpid())
            while pending:
                pid = pending.pop()
                if pid == self.skip:
                    continue
                try:
                    if self.marker in Path(f"/proc/{pid}/cmdline").read_text():
                        self.last[pid] = cpu_of(pid)
                except OSError:
                    continue
                pending += children_of(pid)
            time.sleep(0.02)
        self.own = time.thread_time()

    @property
    def cpu(self) -> float:
        return sum(self.last.values())


def rusage(who: int) -> float:
    used = resource.getrusage(who)
    return used.ru_utime + used.ru_stime


def one_up(door: str, disks: int, server: Azurite, work_dir: Path, env: dict[str, str]) -> dict[str, float]:
    """CPU seconds of each part during one `up` (the stack is destroyed and removed after, uncounted)."""
    name = f"cpu-{uuid.uuid4().hex[:6]}"
    selected = (plugin_stack(name, disks, work_dir, server.connection_string, env) if door == "plugin"
                else dynamic_stack(name, disks, server.connection_string, env))
    assert server.process is not None
    watch = ProviderWatch(PROVIDERS[door], server.process.pid)
    azurite, children, own = cpu_of(server.process.pid), rusage(resource.RUSAGE_CHILDREN), rusage(resource.RUSAGE_SELF)
    watch.start()
    selected.up(color="never")
    watch.done.set()
    watch.join()
    provider = watch.cpu
    spent = {
        # The CLI processes the Automation API ran, with the provider process they reaped.
        "engine (pulumi CLI)": rusage(resource.RUSAGE_CHILDREN) - children - provider,
        "provider process": provider,
        # This process, less the watch thread's own CPU.
        "program (Python)": rusage(resource.RUSAGE_SELF) - own - watch.own,
        "Azurite": cpu_of(server.process.pid) - azurite,
    }
    selected.destroy(color="never")
    selected.workspace.remove_stack(name)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description="CPU per process of `pulumi up` of 1 and N BlankVhds.")
    parser.add_argument("--door", choices=sorted(PROVIDERS), default="plugin")
    parser.add_argument("--counts", default="1,100", help="two numbers of BlankVhds (default 1,100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (default 3; medians)")
    parser.add_argument("--skip-checkpoints", action="store_true", help="PULUMI_SKIP_CHECKPOINTS=true")
    parser.add_argument("--engine-profile", type=Path, metavar="DIR",
                        help="write the engine's Go CPU profile of every counted plugin `up` into DIR")
    args = parser.parse_args()
    if args.engine_profile:
        args.engine_profile.mkdir(parents=True, exist_ok=True)
    low, high = (int(n) for n in args.counts.split(","))
    env = {"PULUMI_SKIP_CHECKPOINTS": "true"} if args.skip_checkpoints else {}
    server = Azurite().start()
    work_dir = Path(tempfile.mkdtemp(prefix="bench-cpu-"))
    runs: dict[int, list[dict[str, float]]] = {low: [], high: []}
    try:
        install_python_sdk(work_dir)
        one_up(args.door, low, server, work_dir, env)  # uncounted: Azurite's and the CLI's first run warms them up
        CLI.profile = args.engine_profile  # after the uncounted run
        for _ in range(args.repeat):
            for disks in (low, high):
                runs[disks].append(one_up(args.door, disks, server, work_dir, env))
    finally:
        server.stop()
        shutil.rmtree(work_dir, ignore_errors=True)
    median = {n: {part: statistics.median(run[part] for run in runs[n]) for part in PARTS} for n in runs}
    state = "written once (PULUMI_SKIP_CHECKPOINTS)" if args.skip_checkpoints else "written after every step"
    print(f"CPU of `pulumi up` through the {args.door} door, state {state}, medians of {args.repeat}, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores:")
    print(f"| part | {low} BlankVhd{'s' if low > 1 else ''} | {high} BlankVhds | per extra disk |")
    print("|---|---:|---:|---:|")
    for part in (*PARTS, "total"):
        at = {n: sum(median[n].values()) if part == "total" else median[n][part] for n in median}
        print(f"| {part} | {at[low]:.2f} s | {at[high]:.2f} s | {1000 * (at[high] - at[low]) / (high - low):.1f} ms |")


if __name__ == "__main__":
    main()
