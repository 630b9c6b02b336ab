"""The end-to-end harness: one stack of the project on the session's Azurite, run by the real `pulumi` CLI
through the Automation API, with everything a person or a file would see recorded for the secret scan.

Every operation goes through `E2E.run` (up, preview, refresh, destroy), which records the CLI's output lines,
every engine event, the error text of a failure and the state file after it. The `e2e` fixture (conftest.py)
adds the stack's config file (`Pulumi.<stack>.yaml`) and `pulumi stack export` at the end, and fails the test if
any of it holds a secret registered with `e2e.scan.secret(...)` or a 12-character piece of one. Azurite's
account key is registered from the start: the stack's connection string holds it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from azurite_server import ACCOUNT_KEY, Azurite
from pulumi import automation as auto
from pulumi_stack import ROOT, STATE, pulumi_env, stack
from pulumi_stack import program as project_program

from tests.faultproxy import blob_service
from tests.secrets_scan import SecretScan
from vhdcore.azure.credentials import StorageTarget

R = TypeVar("R")


@dataclass
class Run:
    """Engine events of one operation, by resource type."""

    events: list[auto.events.EngineEvent] = field(default_factory=list)

    def steps(self, type_token: str = "pulumi-python:dynamic/azureblob:BlankVhd") -> list[tuple[str, list[str]]]:
        found = []
        for event in self.events:
            pre = event.resource_pre_event
            if pre is not None and pre.metadata.type == type_token:
                found.append((str(pre.metadata.op.value), sorted(pre.metadata.diffs or [])))
        return found

    def errors(self) -> list[str]:
        """The engine's error diagnostics, in order."""
        return [event.diagnostic_event.message for event in self.events
                if event.diagnostic_event is not None and event.diagnostic_event.severity == "error"]


@dataclass
class E2E:
    """One stack of the project, pointed at the session's Azurite."""

    azurite: Azurite
    name: str = field(default_factory=lambda: f"e2e-{uuid.uuid4().hex[:8]}")
    container: str = field(default_factory=lambda: f"e2e-{uuid.uuid4().hex[:8]}")
    scan: SecretScan = field(default_factory=SecretScan)
    program: Callable[[], None] = project_program  # the project's, unless a test brings its own

    def __post_init__(self) -> None:
        self.scan.secret(ACCOUNT_KEY)
        self.stack = stack(
            self.name,
            config={"target": "local", "containerName": self.container, "sizeGb": 1},
            secret_config={"storageConnectionString": self.azurite.connection_string},
            run=self.program,
        )

    def configure(self, **values: Any) -> None:
        for key, value in values.items():
            if value is None:
                self.stack.remove_config(key)
            else:
                text = json.dumps(value) if isinstance(value, bool) else str(value)
                self.stack.set_config(key, auto.ConfigValue(text))

    def run(self, what: str, operation: Callable[..., R], **kwargs: Any) -> tuple[R, Run]:
        """Run one stack operation, recording all it shows for the secret scan."""
        run = Run()

        def on_event(event: auto.events.EngineEvent) -> None:
            run.events.append(event)
            self.scan.saw(f"{what}: engine event", event)

        try:
            result = operation(on_event=on_event, on_output=lambda line: self.scan.saw(f"{what}: output", line),
                               color="never", **kwargs)
        except auto.CommandError as exc:
            self.scan.saw(f"{what}: error", exc)
            raise
        finally:
            self.scan.saw_files(self.state_files())
        self.scan.saw(f"{what}: result", result)
        return result, run

    # up, refresh and destroy put the stack's config, secrets decrypted, in their result's summary unless
    # show_secrets=False; nothing here asks for secrets, so the results are scanned like everything else.
    def up(self, **kwargs: Any) -> tuple[auto.UpResult, Run]:
        return self.run("up", self.stack.up, show_secrets=False, **kwargs)

    def preview(self, **kwargs: Any) -> tuple[auto.PreviewResult, Run]:
        return self.run("preview", self.stack.preview, **{"diff": True, **kwargs})

    def refresh(self, **kwargs: Any) -> tuple[auto.RefreshResult, Run]:
        return self.run("refresh", self.stack.refresh, show_secrets=False, **kwargs)

    def destroy(self, **kwargs: Any) -> tuple[auto.DestroyResult, Run]:
        return self.run("destroy", self.stack.destroy, show_secrets=False, **kwargs)

    def outputs(self) -> dict[str, Any]:
        return {k: v.value for k, v in self.stack.outputs().items()}

    def state_files(self) -> list[Path]:
        """The stack's current state as the local backend keeps it."""
        return sorted((STATE / "state").rglob(f"{self.name}.json"))

    def all_state_files(self) -> list[Path]:
        """Its state, backups of every earlier state, and the update history."""
        return sorted(p for p in (STATE / "state").rglob("*") if p.is_file() and self.name in p.as_posix())

    def finish(self) -> None:
        """Destroy the stack, record its config file and `pulumi stack export`, remove it, and scan it all."""
        try:
            self.destroy()
            self.scan.saw_files(self.all_state_files())
            self.scan.saw_file(ROOT / f"Pulumi.{self.name}.yaml")
            exported = subprocess.run(
                ["pulumi", "stack", "export", "--stack", self.name], cwd=ROOT, capture_output=True, text=True,
                env={**os.environ, **pulumi_env()}, timeout=120,
            )
            self.scan.saw("pulumi stack export", exported.stdout + exported.stderr)
        finally:
            self.stack.workspace.remove_stack(self.name)
        self.scan.assert_clean()

    @property
    def target(self) -> StorageTarget:
        return StorageTarget(connection_string=self.azurite.connection_string)

    def blob(self, name: str) -> Any:
        service = blob_service(self.azurite.connection_string)
        return service.get_blob_client(self.container, name)


# When the engine fails a step (a refused create, a check failure), the program's RegisterResource call still in flight
# either finds the resource monitor gone (UNAVAILABLE: the SDK says nothing) or comes back "context canceled", which
# the Automation API's inline program host (this harness, not blank-vhd) reports under the stack with a traceback of
# its own. Which of the two happens is a race in the engine's shutdown that the machine's load decides; tests that
# find no traceback in what the CLI showed set aside that one report first, and nothing else.
SDK_CANCELLED = re.compile(r"(python inline source runtime error: context canceled)\n[ \t]*Traceback \(most recent "
                           r"call last\):\n(?:.*\n)*?[ \t]*Exception: context canceled\n")


def without_sdk_cancellation(text: str) -> str:
    """What the CLI showed, less the inline program host's traceback of a cancelled call (SDK_CANCELLED)."""
    return SDK_CANCELLED.sub(r"\1\n", text)


def state_text(e2e: E2E) -> str:
    """The stack's state as the local backend stored it (export_stack would decrypt its secrets)."""
    files = e2e.state_files()
    assert files, "the local backend wrote no state file"
    return "".join(path.read_text() for path in files)


def containers(azurite: Azurite) -> set[str]:
    return {c.name for c in blob_service(azurite.connection_string).list_containers()}
