"""Benchmark: the provider plugin against the dynamic provider, side by side in one run: `pulumi up` (create) and
`pulumi destroy` of 1, 20 and 100 BlankVhds on Azurite through the real CLI. The plugin (tools/bin, this checkout)
serves two programs: a YAML project run by plain `pulumi up` (the YAML language host: no Python in the program,
as for every language but Python) and a Python inline program on the generated SDK (sdk/python); the dynamic
provider serves the project's own program (diskCount). For each count the three run one after the other, each on a
fresh stack, with the local backend's state written after every step (the default) and only at the end. The
plugin's start-up alone: bench/bench_plugin_start.py.

    venv/bin/python bench/bench_plugin.py                     # one run of each
    venv/bin/python bench/bench_plugin.py --repeat 3          # medians of 3 (the numbers in docs/benchmarks.md)
    venv/bin/python bench/bench_plugin.py --parallel 32       # more steps at once than the engine's default

The engine runs at most 4 x (CPU cores) steps at once (its default --parallel); the dynamic provider's process
serves at most 4 calls at once, the plugin up to 64 (worker threads).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from azurite_server import Azurite  # noqa: E402
from pulumi import automation as auto  # noqa: E402
from pulumi_stack import pulumi_env, stack  # noqa: E402

# --- pulumi up ----------------------------------------------------------------------------------------------------


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def install_python_sdk(into: Path) -> None:
    """The generated Python SDK, installed by pip into a folder of its own (nothing goes into the venv)."""
    source = into / "source"
    shutil.copytree(ROOT / "sdk" / "python", source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", into / "site",
                    source], check=True)
    sys.path.insert(0, str(into / "site"))


class CLI(auto.PulumiCommand):
    """The CLI in .tools. With `profile` set to a folder, each `pulumi up` also writes the engine's Go CPU profile
    there (the CLI's global --profiling flag; read it with `go tool pprof -top .tools/bin/pulumi <file>.cpu`)."""

    profile: Path | None = None

    def __init__(self) -> None:
        super().__init__(root=str(ROOT / ".tools"))

    def run(self, args: list[str], cwd: str, additional_env: Mapping[str, str], on_output: Any = None,
            on_error: Any = None) -> auto.CommandResult:
        if self.profile is not None and "up" in args:
            args = ["--profiling", str(self.profile / f"up-{uuid.uuid4().hex[:6]}"), *args]
        return super().run(args, cwd, additional_env, on_output, on_error)


def without_sdk_stack_traces() -> None:
    """A diagnostic, not a setting anyone has: the Python SDK records the program's call stack with every resource
    it registers (about half of a BlankVhd's state from an inline program), and the engine writes it into the state
    with the rest. Replaced by an empty one in this process, to measure what it costs the state writes."""
    from pulumi.runtime import resource
    from pulumi.runtime.proto import source_pb2

    resource._get_stack_trace = source_pb2.StackTrace  # type: ignore[attr-defined]


def plugin_stack(name: str, disks: int, work_dir: Path, connection_string: str, env: dict[str, str]) -> auto.Stack:
    import pulumi
    import pulumi_blank_vhd as blankvhd

    def program() -> None:
        container = blankvhd.BlobContainer("container", container_name=name)
        for index in range(disks):
            blankvhd.BlankVhd(f"vhd-{index}", size_gb=1, container_name=container.container_name)
        pulumi.export("disks", disks)

    opts = auto.LocalWorkspaceOptions(work_dir=str(work_dir), env_vars={**pulumi_env(), **env}, pulumi_command=CLI())
    selected = auto.create_or_select_stack(stack_name=name, project_name="blank-vhd-bench", program=program,
                                           opts=opts)
    selected.set_config("blank-vhd:connectionString", auto.ConfigValue(connection_string, secret=True))
    return selected


def yaml_stack(name: str, disks: int, work_dir: Path, connection_string: str, env: dict[str, str]) -> auto.Stack:
    """A YAML project of its own (YAML has no loops: each disk is written out), run by the CLI and the YAML host."""
    project = work_dir / name
    project.mkdir()
    lines = ["name: blank-vhd-bench-yaml", "runtime: yaml", "resources:", "  container:",
             "    type: blank-vhd:BlobContainer", "    properties:", f"      containerName: {name}"]
    for index in range(disks):
        lines += [f"  vhd-{index}:", "    type: blank-vhd:BlankVhd", "    properties:", "      sizeGb: 1",
                  "      containerName: ${container.containerName}"]
    (project / "Pulumi.yaml").write_text("\n".join(lines) + "\n")
    opts = auto.LocalWorkspaceOptions(work_dir=str(project), env_vars={**pulumi_env(), **env}, pulumi_command=CLI())
    selected = auto.create_or_select_stack(stack_name=name, work_dir=str(project), opts=opts)
    selected.set_config("blank-vhd:connectionString", auto.ConfigValue(connection_string, secret=True))
    return selected


def dynamic_stack(name: str, disks: int, connection_string: str, env: dict[str, str]) -> auto.Stack:
    return stack(name, config={"target": "local", "containerName": name, "sizeGb": 1, "diskCount": disks},
                 secret_config={"storageConnectionString": connection_string}, env=env)


# The local backend rewrites the whole state file after every step, so its cost grows with the square of the
# resources; PULUMI_SKIP_CHECKPOINTS=true (pulumi/pulumi#10668) writes it once at the end. Measured both ways to
# tell the engine's share from the provider's.
DOORS = ("plugin, YAML program", "plugin, Python program", "dynamic provider")
CHECKPOINTS = {"every step (default)": {}, "at the end (PULUMI_SKIP_CHECKPOINTS)": {"PULUMI_SKIP_CHECKPOINTS": "true"}}


def report_stacks(counts: list[int], repeat: int, parallel: int | None) -> None:
    server = Azurite().start()
    work_dir = Path(tempfile.mkdtemp(prefix="bench-plugin-"))
    rows: dict[tuple[str, str, int], list[tuple[float, float]]] = {}
    limit = {"parallel": parallel} if parallel else {}
    try:
        install_python_sdk(work_dir)
        for _ in range(repeat):
            for disks in counts:
                for checkpoints, env in CHECKPOINTS.items():
                    for door in DOORS:  # one after the other: a busy moment hits them alike
                        name = f"bench-{uuid.uuid4().hex[:6]}"
                        if door == DOORS[0]:
                            selected = yaml_stack(name, disks, work_dir, server.connection_string, env)
                        elif door == DOORS[1]:
                            selected = plugin_stack(name, disks, work_dir, server.connection_string, env)
                        else:
                            selected = dynamic_stack(name, disks, server.connection_string, env)
                        up = timed(lambda s=selected: s.up(color="never", show_secrets=False, **limit))
                        destroy = timed(lambda s=selected: s.destroy(color="never", show_secrets=False, **limit))
                        selected.workspace.remove_stack(name)
                        rows.setdefault((door, checkpoints, disks), []).append((up, destroy))
    finally:
        server.stop()
        shutil.rmtree(work_dir, ignore_errors=True)
    median = {key: (statistics.median(u for u, _ in runs), statistics.median(d for _, d in runs))
              for key, runs in rows.items()}
    low, high = min(counts), max(counts)
    for what, column in (("`pulumi up` (create)", 0), ("`pulumi destroy`", 1)):
        steps = f"--parallel {parallel}" if parallel else "the engine's default parallelism"
        print(f"{what} on Azurite, 1 GiB disks, median of {repeat}, {steps}, load average "
              f"{os.getloadavg()[0]:.1f}:")
        print(f"| door | state written | {' | '.join(f'{n} BlankVhds' for n in counts)} | {high} vs {low} | "
              "per extra disk |")
        print(f"|---|---|{'---:|' * (len(counts) + 2)}")
        for door in DOORS:
            for checkpoints in CHECKPOINTS:
                times = [median[(door, checkpoints, n)][column] for n in counts]
                print(f"| {door} | {checkpoints} | {' | '.join(f'{t:.1f} s' for t in times)} | "
                      f"{times[-1] / times[0]:.2f}x | {1000 * (times[-1] - times[0]) / (high - low):.0f} ms |")
        print()


def main() -> None:
    parser = argparse.ArgumentParser(description="The provider plugin against the dynamic provider.")
    parser.add_argument("--counts", default="1,20,100", help="numbers of BlankVhds (default 1,20,100)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each stack operation (default 1)")
    parser.add_argument("--parallel", type=int, help="steps the engine runs at once (default: its own, 4 x cores)")
    parser.add_argument("--without-sdk-stack-traces", action="store_true",
                        help="diagnostic: the Python programs register their resources without the SDK's stack trace")
    args = parser.parse_args()
    if args.without_sdk_stack_traces:
        without_sdk_stack_traces()
    report_stacks([int(n) for n in args.counts.split(",")], args.repeat, args.parallel)


if __name__ == "__main__":
    main()
