"""Drive the project's Pulumi program through the real `pulumi` CLI with the Automation API.

The CLI built here from Pulumi's Go modules has no Python language host (the module proxy does not
serve it), so the program runs inline: the Automation API serves the language runtime from this
process and the CLI does everything else: engine, state, the dynamic-provider process, diffs.
The same path works with an official Pulumi install. Every run is offline-safe and keeps its
state, plugins and passphrase in ignored folders of the project.
"""

from __future__ import annotations

import argparse
import os
import runpy
import secrets
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pulumi import automation as auto

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "blank-vhd"
STATE = ROOT / ".pulumi"


def pulumi_env() -> dict[str, str]:
    """The environment for every Pulumi run: no update check, no plugin downloads, a local backend."""
    (STATE / "state").mkdir(parents=True, exist_ok=True)
    env = {
        "PULUMI_HOME": str(STATE / "home"),
        "PULUMI_BACKEND_URL": (STATE / "state").as_uri(),
        "PULUMI_SKIP_UPDATE_CHECK": "1",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "1",
        "PULUMI_CREDENTIAL_STORE": "plaintext",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PATH": f"{ROOT / '.tools' / 'bin'}{os.pathsep}{ROOT / 'venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    if not (os.environ.get("PULUMI_CONFIG_PASSPHRASE") or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")):
        passphrase = STATE / "passphrase"
        if not passphrase.exists():
            passphrase.touch(mode=0o600)
            passphrase.write_text(secrets.token_urlsafe(24))
        env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(passphrase)
    return env


def program() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")


def stack(name: str, *, config: Mapping[str, Any] | None = None, secret_config: Mapping[str, str] | None = None,
          env: Mapping[str, str] | None = None) -> auto.Stack:
    """Select (or create) a stack of this project and set its config; values are stored as strings."""
    opts = auto.LocalWorkspaceOptions(
        work_dir=str(ROOT),  # the provider process imports `providers` from here
        pulumi_home=str(STATE / "home"),
        env_vars={**pulumi_env(), **(env or {})},
        pulumi_command=auto.PulumiCommand(root=str(ROOT / ".tools")),
    )
    selected = auto.create_or_select_stack(stack_name=name, project_name=PROJECT, program=program, opts=opts)
    values = {k: auto.ConfigValue(value=str(v)) for k, v in (config or {}).items()}
    values |= {k: auto.ConfigValue(value=v, secret=True) for k, v in (secret_config or {}).items()}
    if values:
        selected.set_all_config(values)
    return selected


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the blank-vhd Pulumi program with the real CLI, offline.")
    parser.add_argument("action", choices=["up", "preview", "refresh", "destroy", "output", "env"])
    parser.add_argument("key", nargs="?", help="the output to print, with `output`")
    parser.add_argument("--stack", default="local")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    if args.action == "env":
        # For running the `pulumi` CLI by hand: eval "$(venv/bin/python tools/pulumi_stack.py env)"
        print("\n".join(f"export {k}='{v}'" for k, v in pulumi_env().items()))
        return 0
    bad = [item for item in args.config if "=" not in item]
    if bad:
        parser.error(f"--config {bad[0]!r} has no '='; write it as KEY=VALUE, e.g. --config sizeGb=2")
    if args.action == "output" and not args.key:
        parser.error("output needs the name of a stack output, e.g. `output url`")
    selected = stack(args.stack, config=dict(item.split("=", 1) for item in args.config))
    if args.action == "output":
        outputs = selected.outputs()
        if args.key not in outputs:
            print(f"error: stack {args.stack} has no output {args.key!r}; it has {', '.join(sorted(outputs)) or 'none'}"
                  " (run `up` first).", file=sys.stderr)
            return 1
        print(outputs[args.key].value)
        return 0
    run: dict[str, Callable[..., object]] = {
        "up": selected.up, "preview": selected.preview, "refresh": selected.refresh, "destroy": selected.destroy,
    }
    try:
        # show_secrets=False: up, refresh and destroy would otherwise hold the decrypted config in their result.
        extra: dict[str, Any] = {} if args.action == "preview" else {"show_secrets": False}
        run[args.action](on_output=print, color="never", **extra)
    except auto.CommandError as exc:
        # The CLI's own output already went to the console; repeat its error line as the summary.
        errors = [line.strip() for line in str(exc).splitlines() if line.strip().startswith("error:")]
        print(f"pulumi {args.action} failed: {errors[0] if errors else 'see the output above'}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
