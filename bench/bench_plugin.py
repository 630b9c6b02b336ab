"""Benchmark: the provider plugin against the dynamic provider, side by side in one run: `pulumi up` (create) and
`pulumi destroy` of 1, 20 and 100 BlankVhds on Azurite through the real CLI. The plugin (tools/bin, this checkout)
serves a program in each language this machine runs: a YAML project run by plain `pulumi up` (the YAML language
host), and inline programs on the generated SDKs through the Automation API of TypeScript (bench/typescript, compiled
with examples/typescript's tsc and run with its node_modules), Go (bench/go, built here) and Python (sdk/python); the
dynamic provider serves the project's own program (diskCount). For each count the doors run one after the other,
each on a fresh stack, with the local backend's state written after every step (the default) and only at the end.
The plugin's start-up alone: bench/bench_plugin_start.py.

    venv/bin/python bench/bench_plugin.py                     # one run of each
    venv/bin/python bench/bench_plugin.py --repeat 5          # medians of 5 (the numbers in docs/benchmarks.md)
    venv/bin/python bench/bench_plugin.py --parallel 32       # more steps at once than the engine's default
    venv/bin/python bench/bench_plugin.py --doors yaml,python # some of the doors (yaml,typescript,go,python,dynamic)

The engine runs at most 4 x (CPU cores) steps at once (its default --parallel); the dynamic provider's process
serves at most 4 calls at once, the plugin up to 64 (worker threads).
"""

from __future__ import annotations

import argparse
import json
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
DOORS = {"yaml": "plugin, YAML program", "typescript": "plugin, TypeScript program", "go": "plugin, Go program",
         "python": "plugin, Python program", "dynamic": "dynamic provider"}
CHECKPOINTS = {"every step (default)": {}, "at the end (PULUMI_SKIP_CHECKPOINTS)": {"PULUMI_SKIP_CHECKPOINTS": "true"}}


def build_programs(doors: list[str], work_dir: Path) -> dict[str, list[str]]:
    """The command that runs the TypeScript and the Go program, built into `work_dir`."""
    commands: dict[str, list[str]] = {}
    if "typescript" in doors:
        example = ROOT / "examples" / "typescript"
        if not (example / "node_modules" / "@blank-vhd" / "pulumi").exists():
            raise SystemExit("examples/typescript has no node_modules; run `bash scripts/setup.sh --test` first.")
        source = work_dir / "typescript"
        source.mkdir()
        shutil.copy(ROOT / "bench" / "typescript" / "disks.ts", source)
        (source / "node_modules").symlink_to(example / "node_modules")  # tsc and node resolve from the file's folder
        subprocess.run([example / "node_modules" / ".bin" / "tsc", "--target", "ES2022", "--module", "commonjs",
                        "--moduleResolution", "node", "--strict", "--types", "node", "--skipLibCheck", "--outDir",
                        source, source / "disks.ts"], cwd=source, check=True)
        commands["typescript"] = ["node", str(source / "disks.js")]
    if "go" in doors:
        binary = work_dir / "disks-go"
        subprocess.run(["go", "build", "-o", binary, "."], cwd=ROOT / "bench" / "go", check=True,
                       env={**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly"})
        commands["go"] = [str(binary)]
    return commands


def run_program(command: list[str], name: str, disks: int, work_dir: Path, connection_string: str,
                env: dict[str, str], parallel: int | None) -> tuple[float, float]:
    """`pulumi up` and `pulumi destroy` by a compiled Automation API program, timed by it around each call."""
    project = work_dir / name
    project.mkdir()
    spec = {"stack": name, "workDir": str(project), "disks": disks, "connectionString": connection_string,
            "parallel": parallel or 0}
    done = subprocess.run(command, input=json.dumps(spec), capture_output=True, text=True, cwd=project,
                          env={**os.environ, **pulumi_env(), **env})
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{done.stderr[-4000:]}")
    times = json.loads(done.stdout.strip().splitlines()[-1])
    return times["up"], times["destroy"]


def report_stacks(counts: list[int], repeat: int, parallel: int | None, doors: list[str]) -> None:
    server = Azurite().start()
    work_dir = Path(tempfile.mkdtemp(prefix="bench-plugin-"))
    rows: dict[tuple[str, str, int], list[tuple[float, float]]] = {}
    limit = {"parallel": parallel} if parallel else {}
    try:
        install_python_sdk(work_dir)
        programs = build_programs(doors, work_dir)
        for _ in range(repeat):
            for disks in counts:
                for checkpoints, env in CHECKPOINTS.items():
                    for door in doors:  # one after the other: a busy moment hits them alike
                        name = f"bench-{uuid.uuid4().hex[:6]}"
                        if door in programs:
                            up, destroy = run_program(programs[door], name, disks, work_dir,
                                                      server.connection_string, env, parallel)
                        else:
                            if door == "yaml":
                                selected = yaml_stack(name, disks, work_dir, server.connection_string, env)
                            elif door == "python":
                                selected = plugin_stack(name, disks, work_dir, server.connection_string, env)
                            else:
                                selected = dynamic_stack(name, disks, server.connection_string, env)
                            up = timed(lambda s=selected: s.up(color="never", show_secrets=False, **limit))
                            destroy = timed(lambda s=selected: s.destroy(color="never", show_secrets=False, **limit))
                            selected.workspace.remove_stack(name)
                        rows.setdefault((DOORS[door], checkpoints, disks), []).append((up, destroy))
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
        for door in (DOORS[d] for d in doors):
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
    parser.add_argument("--doors", default=",".join(DOORS), help=f"which to run, in order (default {','.join(DOORS)})")
    args = parser.parse_args()
    doors = args.doors.split(",")
    if unknown := [d for d in doors if d not in DOORS]:
        parser.error(f"--doors: unknown {', '.join(unknown)}; choose from {', '.join(DOORS)}")
    if args.without_sdk_stack_traces:
        without_sdk_stack_traces()
    report_stacks([int(n) for n in args.counts.split(",")], args.repeat, args.parallel, doors)


if __name__ == "__main__":
    main()
