"""The provider plugin from every language this machine runs: each example project (examples/<language>) driven by
the real `pulumi` CLI against the session's Azurite, with this checkout's plugin executable on PATH
(tools/bin/pulumi-resource-blank-vhd, as tools/pulumi_stack.py's environment has it), and everything a person or a
file would see recorded for the secret scan (tests/secrets_scan.py).

- YAML: plain `pulumi` commands in a copy of examples/yaml (the YAML language host runs the program), engine
  events from `--event-log`.
- TypeScript, Go, Python: the example's Automation API driver (automation.ts, automation/main.go, automation.py),
  one process per operation, the program inline; it prints the stack's outputs and the engine's steps as one JSON
  line and the CLI output and engine events on stderr.

Every run is offline-safe and keeps its state in the project's .pulumi/ (tools/pulumi_stack.py's environment).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azurite_server import ACCOUNT_KEY
from pulumi_stack import ROOT, STATE, pulumi_env

from providers.schema import PACKAGE
from tests.secrets_scan import SecretScan


@dataclass(frozen=True)
class Step:
    op: str
    type: str
    name: str
    diffs: tuple[str, ...]


@dataclass
class Result:
    outputs: dict[str, Any]
    steps: list[Step]

    def of(self, name: str) -> list[tuple[str, tuple[str, ...]]]:
        """The operations the engine ran on the resource called `name`, with their diffs."""
        return [(step.op, step.diffs) for step in self.steps if step.name == name]

    def ops(self) -> dict[str, list[str]]:
        """Each of the package's resources by name, with the operations run on it."""
        found: dict[str, list[str]] = {}
        for step in self.steps:
            if step.type.startswith(f"{PACKAGE}:index:"):
                found.setdefault(step.name, []).append(step.op)
        return found


class OperationFailed(AssertionError):
    pass


@dataclass
class Language(ABC):
    """One example project and one stack of it; every operation's output is recorded in `scan`."""

    env: dict[str, str]
    work_dir: Path
    project: str
    stack: str = field(default_factory=lambda: f"lang-{uuid.uuid4().hex[:8]}")
    scan: SecretScan = field(default_factory=SecretScan)

    def __post_init__(self) -> None:
        self.scan.secret(ACCOUNT_KEY)

    @abstractmethod
    def operate(self, action: str, *, config: Mapping[str, str] | None = None,
                secret_config: Mapping[str, str] | None = None, remove_config: Sequence[str] = ()) -> Result:
        """Set the config given, then run up, preview or destroy."""

    def up(self, **kwargs: Any) -> Result:
        return self.operate("up", **kwargs)

    def preview(self, **kwargs: Any) -> Result:
        return self.operate("preview", **kwargs)

    def destroy(self) -> Result:
        return self.operate("destroy")

    def run(self, what: str, args: Sequence[str | Path], *, cwd: Path, stdin: str | None = None,
            ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(a) for a in args], cwd=cwd, env=self.env, input=stdin, capture_output=True,
                              text=True, timeout=900, check=False)
        self.scan.saw(f"{what}: stdout", done.stdout)
        self.scan.saw(f"{what}: stderr", done.stderr)
        self.scan.saw_files(self.state_files())
        if ok and done.returncode != 0:
            raise OperationFailed(f"{what} exited {done.returncode}:\n{tail(done.stderr)}")
        return done

    def pulumi(self, what: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        """The `pulumi` CLI in the project's folder, on this stack."""
        return self.run(what, ["pulumi", *args, "--stack", self.stack, "--non-interactive"], cwd=self.work_dir, ok=ok)

    def state_files(self) -> list[Path]:
        """The stack's state, its backups and its update history."""
        return sorted(p for p in (STATE / "state").rglob("*") if p.is_file() and self.stack in p.as_posix())

    def config_file(self) -> Path:
        return self.work_dir / f"Pulumi.{self.stack}.yaml"

    def finish(self) -> None:
        """Record `pulumi stack export` and the stack's files, remove the stack, and scan everything."""
        exported = self.pulumi("pulumi stack export", "stack", "export", ok=False)
        self.scan.saw_files(self.state_files())
        self.scan.saw_file(self.config_file())
        self.pulumi("pulumi stack rm", "stack", "rm", "--yes", "--force", ok=False)
        assert exported.returncode == 0, exported.stderr
        self.scan.assert_clean()


@dataclass
class YamlProject(Language):
    """A copy of examples/yaml run with plain `pulumi` commands: the YAML language host runs the program."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.env = {**self.env, "PULUMI_DEBUG_COMMANDS": "true"}  # what offers --event-log (the Automation API sets it)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "examples" / "yaml" / "Pulumi.yaml", self.work_dir / "Pulumi.yaml")
        self.pulumi("pulumi stack init", "stack", "init")

    def set_config(self, config: Mapping[str, str], *, secret: bool = False) -> None:
        for key, value in config.items():
            # The value goes on stdin: never on a command line, where the machine's other users could read it.
            args = ["pulumi", "config", "set", key, *(["--secret"] if secret else []), "--stack", self.stack,
                    "--non-interactive"]
            self.run(f"pulumi config set {key}", args, cwd=self.work_dir, stdin=value)

    def operate(self, action: str, *, config: Mapping[str, str] | None = None,
                secret_config: Mapping[str, str] | None = None, remove_config: Sequence[str] = ()) -> Result:
        self.set_config(config or {})
        self.set_config(secret_config or {}, secret=True)
        for key in remove_config:
            self.pulumi(f"pulumi config rm {key}", "config", "rm", key)
        log = self.work_dir / f"events-{uuid.uuid4().hex[:8]}.jsonl"
        flags = {"up": ["--yes", "--skip-preview"], "preview": ["--diff"], "destroy": ["--yes", "--skip-preview"]}
        self.pulumi(f"pulumi {action}", action, *flags[action], "--event-log", str(log))
        self.scan.saw(f"pulumi {action}: engine events", log.read_text())
        outputs = self.outputs() if action != "destroy" else {}
        return Result(outputs, steps_of(read_events(log)))

    def outputs(self) -> dict[str, Any]:
        """`pulumi stack output --json`: secret outputs show as "[secret]"."""
        shown = self.pulumi("pulumi stack output", "stack", "output", "--json").stdout
        found: dict[str, Any] = json.loads(shown)
        return found

    def import_generated(self, type_token: str, name: str, resource_id: str) -> tuple[dict[str, Any], Result]:
        """`pulumi import` of one resource, with the YAML host generating its declaration, which is added to the
        project's program; returns that declaration (its `resources:` entry) and the import's steps."""
        import yaml  # pulumi's own dependency

        code = self.work_dir / f"import-{name}.yaml"
        log = self.work_dir / f"events-{uuid.uuid4().hex[:8]}.jsonl"
        self.pulumi(f"pulumi import {name}", "import", type_token, name, resource_id, "--yes", "--protect=false",
                    "--out", str(code), "--event-log", str(log))
        self.scan.saw(f"pulumi import {name}: engine events", log.read_text())
        self.scan.saw(f"pulumi import {name}: generated code", code.read_text())
        generated = yaml.safe_load(code.read_text())
        program_file = self.work_dir / "Pulumi.yaml"
        program = yaml.safe_load(program_file.read_text())
        program["resources"].update(generated["resources"])
        program_file.write_text(yaml.safe_dump(program, sort_keys=False))
        declared: dict[str, Any] = generated["resources"][name]
        return declared, Result({}, steps_of(read_events(log)))


@dataclass
class Driver(Language):
    """An example's Automation API driver: one process per operation, the program inline (no language host)."""

    command: list[str] = field(default_factory=list)

    def operate(self, action: str, *, config: Mapping[str, str] | None = None,
                secret_config: Mapping[str, str] | None = None, remove_config: Sequence[str] = ()) -> Result:
        spec = {"stack": self.stack, "workDir": str(self.work_dir), "action": action, "config": dict(config or {}),
                "secretConfig": dict(secret_config or {}), "removeConfig": list(remove_config)}
        # On stdin, as the credentials are in it.
        done = self.run(f"{self.project} {action}", self.command, cwd=self.work_dir, stdin=json.dumps(spec))
        result = json.loads(done.stdout.strip().splitlines()[-1])
        steps = [Step(s["op"], s["type"], s["name"], tuple(s["diffs"])) for s in result["steps"]]
        return Result(result["outputs"], steps)


def read_events(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def steps_of(events: list[dict[str, Any]]) -> list[Step]:
    """The engine's steps in the order it announced them, from its events (JSON, as `--event-log` writes them)."""
    found = []
    for event in events:
        pre = event.get("resourcePreEvent")
        if pre:
            meta = pre["metadata"]
            urn = meta["urn"]
            found.append(Step(meta["op"], meta["type"], urn[urn.rfind("::") + 2:], tuple(sorted(meta.get("diffs")
                                                                                                 or []))))
    return found


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(line for line in text.splitlines()[-lines:] if not line.startswith("event: "))


def environment(**extra: str) -> dict[str, str]:
    """tools/pulumi_stack.py's offline environment (the CLI, the plugin), without the shell's storage settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_STORAGE_", "PULUMI_"))}
    return env | pulumi_env() | extra
