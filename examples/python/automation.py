"""Runs the program in __main__.py through the Python Automation API: the program runs inline, in this process, so
no Python language host is needed, only the `pulumi` CLI and the `pulumi-resource-blank-vhd` plugin on PATH.
One operation per run, given as JSON on stdin (config values are strings; secretConfig is stored encrypted; stdin
keeps credentials off the command line):

    echo '{"stack": "dev", "workDir": ".", "action": "up", "config": {"containerName": "vhds"},
           "secretConfig": {"blank-vhd:connectionString": "..."}}' | python automation.py

action: up | preview | destroy | remove. Prints one JSON line: the stack's outputs (secret ones as
"[secret]") and the engine's steps; the CLI's own output and the engine events go to stderr. Exit 3: the
operation failed (the CLI's error is on stderr).
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path
from typing import Any

from pulumi import automation as auto

HERE = Path(__file__).resolve().parent


def program() -> None:
    runpy.run_path(str(HERE / "__main__.py"), run_name="program")["program"]()


def main() -> int:
    spec: dict[str, Any] = json.load(sys.stdin)
    stack = auto.create_or_select_stack(stack_name=spec["stack"], project_name="blank-vhd-python", program=program,
                                        opts=auto.LocalWorkspaceOptions(work_dir=spec["workDir"]))
    config = {key: auto.ConfigValue(value=value) for key, value in spec.get("config", {}).items()}
    config |= {key: auto.ConfigValue(value=value, secret=True) for key, value in spec.get("secretConfig", {}).items()}
    stack.set_all_config(config)
    if spec.get("removeConfig"):
        stack.remove_all_config(spec["removeConfig"])
    steps: list[dict[str, Any]] = []

    def on_event(event: auto.events.EngineEvent) -> None:
        print(f"event: {event}", file=sys.stderr)
        pre = event.resource_pre_event
        if pre is not None:
            urn = pre.metadata.urn
            steps.append({"op": str(pre.metadata.op.value), "type": pre.metadata.type,
                          "name": urn[urn.rfind("::") + 2:], "diffs": sorted(pre.metadata.diffs or [])})

    def on_output(line: str) -> None:
        print(line, file=sys.stderr)

    action = spec["action"]
    try:
        if action == "up":
            stack.up(on_output=on_output, on_event=on_event, color="never", show_secrets=False)
        elif action == "preview":
            stack.preview(on_output=on_output, on_event=on_event, diff=True, color="never")
        elif action == "destroy":
            stack.destroy(on_output=on_output, on_event=on_event, color="never", show_secrets=False)
        elif action == "remove":
            stack.workspace.remove_stack(spec["stack"])
            print("{}")
            return 0
        else:
            print(f"automation: action {action!r}: give up, preview, destroy or remove", file=sys.stderr)
            return 2
    except auto.CommandError as exc:
        print(exc, file=sys.stderr)
        return 3
    outputs = {key: "[secret]" if output.secret else output.value for key, output in stack.outputs().items()}
    print(json.dumps({"outputs": outputs, "steps": steps}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
