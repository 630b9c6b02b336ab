"""A user's Pulumi programs and their Automation API driver, for tests/test_package.py.

The test makes a temporary Pulumi project outside the repository from the README's minimal project
(examples/quickstart: its Pulumi.yaml and __main__.py as they are, `venv` a link to a virtualenv that holds only
an installed blank-vhd wheel and its dependencies), copies this file beside them and runs it with that
virtualenv's python. Pulumi.yaml names the virtualenv (runtime.options.virtualenv), so the engine starts the
dynamic-provider process from it too: program and provider both use the installed copy and nothing else.

    venv/bin/python installed_program.py '{"stack": "disks", "action": "up", "program": "quickstart"}'

Programs: `quickstart` runs the project's own __main__.py (the README's, as `pulumi up` would run it) and adds the
outputs the test checks; `disks` declares a container and a disk with an args object and explicit names; `get`
reads a disk by its URL.

Prints the stack's outputs as one JSON line; a failed operation prints the CLI's error on stderr and
exits 3. Config comes from the stack (set by the test), in this project's namespace.
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path
from typing import Any

import pulumi
from pulumi import automation as auto

from providers import BlankVhd, BlankVhdArgs, BlobContainer

FOREIGN = ("azure", "pulumi_azure_native")  # the program process must never import them


HERE = Path(__file__).resolve().parent


def quickstart() -> None:
    """The project's __main__.py, run as the Python language host runs it; then what the test reads of it."""
    declared = runpy.run_path(str(HERE / "__main__.py"), run_name="__main__")
    disk: BlankVhd = declared["disk"]
    pulumi.export("unique_id", disk.unique_id)
    pulumi.export("size_bytes", disk.size_bytes)
    pulumi.export("blob_name", disk.blob_name)
    if "image" in declared:
        pulumi.export("image_blob_name", declared["image"].blob_name)
    report_imports()


def disks() -> None:
    """One container and one disk, declared as a user would (args object and keywords), the disk inside a
    component of the user's (its owner, which the provider records, names the parent's type and name)."""
    config = pulumi.Config()
    connection_string = config.require_secret("storageConnectionString")
    container = BlobContainer("container", container_name=config.require("containerName"),
                              connection_string=connection_string)
    group = pulumi.ComponentResource("acme:storage:DiskGroup", "disks")
    disk = BlankVhd("data", BlankVhdArgs(size_gb=config.require_int("sizeGb"),
                                         container_name=container.container_name,
                                         blob_name=config.get("blobName"),
                                         connection_string=connection_string),
                    opts=pulumi.ResourceOptions(parent=group))
    pulumi.export("url", disk.url)
    pulumi.export("unique_id", disk.unique_id)
    pulumi.export("size_bytes", disk.size_bytes)
    pulumi.export("blob_name", disk.blob_name)
    report_imports()


def get() -> None:
    """Read a disk another stack made, by its URL; credentials come from this stack's config."""
    found = BlankVhd.get("existing", pulumi.Config().require("diskUrl"))
    pulumi.export("url", found.url)
    pulumi.export("unique_id", found.unique_id)
    pulumi.export("size_bytes", found.size_bytes)
    pulumi.export("blob_name", found.blob_name)
    report_imports()


def report_imports() -> None:
    import providers
    import vhdcore

    pulumi.export("providers_file", providers.__file__)
    pulumi.export("vhdcore_file", vhdcore.__file__)
    pulumi.export("foreign_modules", sorted(m for m in sys.modules if m.split(".")[0] in FOREIGN))


def main() -> int:
    spec: dict[str, Any] = json.loads(sys.argv[1])
    program = {"quickstart": quickstart, "disks": disks, "get": get}[spec.get("program", "disks")]
    # Pulumi.yaml in this folder is the project (its runtime options name the virtualenv).
    opts = auto.LocalWorkspaceOptions(work_dir=str(HERE))
    stack = auto.create_or_select_stack(stack_name=spec["stack"], project_name="my-disks", program=program,
                                        opts=opts)
    for key, value in spec.get("config", {}).items():
        stack.set_config(key, auto.ConfigValue(value=str(value)))
    for key, value in spec.get("secret_config", {}).items():
        stack.set_config(key, auto.ConfigValue(value=str(value), secret=True))
    try:
        if spec["action"] == "up":
            stack.up(color="never")
        elif spec["action"] == "destroy":
            stack.destroy(color="never")
            stack.workspace.remove_stack(spec["stack"])
            print("{}")
            return 0
        else:
            raise SystemExit(f"unknown action {spec['action']!r}")
    except auto.CommandError as exc:
        print(str(exc), file=sys.stderr)
        return 3
    print(json.dumps({key: output.value for key, output in stack.outputs().items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
