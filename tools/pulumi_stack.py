"""Drive the project's Pulumi program through the real `pulumi` CLI with the Automation API.

The CLI built here from Pulumi's Go modules has no Python language host (the module proxy does not
serve it), so the program runs inline: the Automation API serves the language runtime from this
process and the CLI does everything else: engine, state, the dynamic-provider process, diffs.
The same path works with an official Pulumi install. Every run is offline-safe and keeps its
state, plugins and passphrase in ignored folders of the project.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import os
import re
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
        # .tools/bin: the CLI; tools/bin: the provider plugin from this checkout (pulumi-resource-blank-vhd).
        "PATH": os.pathsep.join((str(ROOT / ".tools" / "bin"), str(ROOT / "tools" / "bin"), str(ROOT / "venv" / "bin"),
                                 os.environ.get("PATH", ""))),
    }
    if not (os.environ.get("PULUMI_CONFIG_PASSPHRASE") or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")):
        passphrase = STATE / "passphrase"
        if not passphrase.exists():
            make_passphrase(passphrase)
        env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(passphrase)
    return env


def make_passphrase(path: Path) -> None:
    """A new random passphrase at `path`, readable by its owner only, unless one is there already. It appears whole
    or not at all: processes that start at once (test workers) all use the first one written, never an empty file."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    draft.touch(mode=0o600)
    try:
        draft.write_text(secrets.token_urlsafe(24))
        os.link(draft, path)  # fails if another process got there first: theirs is kept
    except FileExistsError:
        pass
    finally:
        draft.unlink()


@functools.cache
def pulumi_command() -> auto.PulumiCommand:
    """The CLI in .tools. Made once per process: making one runs `pulumi version` to check it."""
    return auto.PulumiCommand(root=str(ROOT / ".tools"))


def program() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")


def stack(name: str, *, config: Mapping[str, Any] | None = None, secret_config: Mapping[str, str] | None = None,
          env: Mapping[str, str] | None = None, run: Callable[[], None] = program, project: str = PROJECT,
          work_dir: Path = ROOT) -> auto.Stack:
    """Select (or create) a stack of this project and set its config; values are stored as strings. `run` is the
    program: the project's own unless a test brings another; `project` and `work_dir` (its Pulumi.yaml) name
    another project (its provider process must then find `providers`, e.g. by PYTHONPATH in `env`)."""
    opts = auto.LocalWorkspaceOptions(
        work_dir=str(work_dir),  # the provider process imports `providers` from here
        pulumi_home=str(STATE / "home"),
        env_vars={**pulumi_env(), **(env or {})},
        pulumi_command=pulumi_command(),
    )
    selected = auto.create_or_select_stack(stack_name=name, project_name=project, program=run, opts=opts)
    values = {k: auto.ConfigValue(value=str(v)) for k, v in (config or {}).items()}
    values |= {k: auto.ConfigValue(value=v, secret=True) for k, v in (secret_config or {}).items()}
    if values:
        selected.set_all_config(values)
    return selected


# Config keys that hold credentials: only ever stored encrypted (--secret), never in clear.
CREDENTIAL_KEYS = ("storageConnectionString", "storageAccountKey", "storageSasToken")
# Which flags each action takes (the Automation API's own parameters).
FLAGS = {
    "diff": ("up", "preview", "refresh", "destroy"),
    "replace": ("up", "preview"),
    "target": ("up", "preview", "refresh", "destroy"),
    "refresh": ("up", "preview", "destroy"),
    "expect_no_changes": ("up", "preview", "refresh"),
}
# Engine errors that only say that another error happened; shown only when there is nothing else.
CONSEQUENTIAL = ("Resource monitor has terminated, shutting down", "update failed", "preview failed",
                 "refresh failed", "destroy failed")


class WrapperError(Exception):
    """A usage or config mistake, found before anything was saved or run: one line on stderr, exit 2."""


def declared_config(project_file: Path = ROOT / "Pulumi.yaml") -> dict[str, str]:
    """The config keys Pulumi.yaml declares, with their types (string, integer, boolean)."""
    import yaml  # pulumi's own dependency; only this wrapper and the program read Pulumi.yaml

    declared = (yaml.safe_load(project_file.read_text()) or {}).get("config") or {}
    return {str(key): str((spec or {}).get("type", "string")) if isinstance(spec, dict) else "string"
            for key, spec in declared.items()}


def nearest(key: str, declared: list[str]) -> str:
    """`; did you mean 'x'?`-style hint: the closest declared key, case-insensitively first."""
    folded = [k for k in declared if k.lower() == key.lower()]
    close = folded or difflib.get_close_matches(key, declared, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def checked_config(pairs: list[str], *, flag: str, schema: dict[str, str]) -> dict[str, str]:
    """KEY=VALUE pairs as a dict, each key declared in Pulumi.yaml and each value of its declared type.
    A value is never quoted in an error: it may be a secret."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().removeprefix(f"{PROJECT}:")
        if not sep or not key:
            raise WrapperError(f"{flag} needs KEY=VALUE (no '=' in the argument); write it like {flag} sizeGb=2.")
        if key not in schema:
            raise WrapperError(f"{flag} {key}: Pulumi.yaml declares no config key {key!r}; {nearest(key, list(schema))}"
                               f"the keys are {', '.join(schema)}.")
        kind = schema[key]
        if kind == "integer" and not re.fullmatch(r"-?[0-9]+", value.strip()):
            raise WrapperError(f"{flag} {key}: the value is not an integer, and Pulumi.yaml declares {key} as type "
                               f"integer; give a whole number, e.g. {flag} {key}=2.")
        if kind == "boolean" and value.strip() not in ("true", "false"):
            raise WrapperError(f"{flag} {key}: the value is not a boolean, and Pulumi.yaml declares {key} as type "
                               f"boolean; give true or false, e.g. {flag} {key}=true.")
        values[key] = value.strip() if kind != "string" else value
    return values


def resolve_resources(selected: auto.Stack, names: list[str], flag: str) -> list[str]:
    """URNs for --replace/--target: a URN as it is, or a resource name (vhd-0) looked up in the stack's state."""
    if not names:
        return []
    wanted = [name for name in names if not name.startswith("urn:")]
    urns: dict[str, list[str]] = {}
    if wanted:
        resources = (selected.export_stack().deployment or {}).get("resources") or []
        for resource in resources:
            urn = str(resource.get("urn", ""))
            urns.setdefault(urn.rpartition("::")[2], []).append(urn)
    found = []
    for name in names:
        if name.startswith("urn:"):
            found.append(name)
        elif len(urns.get(name, [])) == 1:
            found.append(urns[name][0])
        elif name in urns:
            raise WrapperError(f"{flag} {name}: several resources have that name; give one of the URNs: "
                               f"{', '.join(urns[name])}.")
        else:
            known = sorted(n for n in urns if n and not n.startswith(("blank-vhd-", "default")))
            raise WrapperError(f"{flag} {name}: the stack has no resource of that name; {nearest(name, known)}"
                               f"it has {', '.join(known) or 'none (run up first)'}.")
    return found


def engine_errors(events: list[auto.events.EngineEvent], failure: auto.CommandError) -> list[str]:
    """The engine's own error lines, the real ones first: resource errors before the stack's, the ones that only
    say something else failed dropped unless there is nothing else, then the CLI's stderr."""
    found: list[tuple[bool, str]] = []
    for event in events:
        diagnostic = event.diagnostic_event
        if diagnostic is None or diagnostic.severity != "error":
            continue
        message = " ".join(diagnostic.message.split())
        on_stack = not diagnostic.urn or "::pulumi:pulumi:Stack::" in diagnostic.urn
        if diagnostic.urn and not on_stack and not message.startswith(diagnostic.urn.split("::")[2]):
            message = f"{diagnostic.urn.rpartition('::')[2]}: {message}"
        found.append((on_stack, message))
    text = str(failure)
    stdout, _, stderr = text.partition(" stderr:")
    if not found:  # no events (the CLI failed before the engine ran): the Diagnostics section of its output
        section = stdout.partition("Diagnostics:")[2].partition("\nResources:")[0]
        found = [(False, line.strip().removeprefix("error:").strip()) for line in section.splitlines()
                 if line.strip().startswith("error:")]
    real = [message for on_stack, message in sorted(found, key=lambda item: item[0])
            if not message.startswith(CONSEQUENTIAL)]
    lines = list(dict.fromkeys(real or [message for _, message in found]))
    lines += [line.strip().removeprefix("error:").strip() for line in stderr.splitlines() if line.strip()]
    return list(dict.fromkeys(lines)) or [" ".join(text.split())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run the blank-vhd Pulumi program with the real CLI, offline.",
        epilog="Config is checked against Pulumi.yaml before anything is saved; credentials (" +
        ", ".join(CREDENTIAL_KEYS) + ") only with --secret. A failing run leaves the stack's config as it was. "
        "Exit codes: 0 done, 1 the run failed (the engine's errors are printed), 2 a usage or config mistake.")
    parser.add_argument("action", choices=["up", "preview", "refresh", "destroy", "output", "env"])
    parser.add_argument("key", nargs="?", help="the output to print, with `output`")
    parser.add_argument("--stack", default="local")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help="set a config key (stored in clear in Pulumi.<stack>.yaml)")
    parser.add_argument("--secret", action="append", default=[], metavar="KEY=VALUE",
                        help="set a config key encrypted (credentials must use this)")
    parser.add_argument("--diff", action="store_true", help="show a detailed diff")
    parser.add_argument("--replace", action="append", default=[], metavar="NAME",
                        help="replace this resource (a name such as vhd-0, or a URN)")
    parser.add_argument("--target", action="append", default=[], metavar="NAME",
                        help="only this resource (a name such as vhd-0, or a URN)")
    parser.add_argument("--refresh", action="store_true", help="refresh the state first")
    parser.add_argument("--expect-no-changes", action="store_true", help="fail if anything would change")
    args = parser.parse_args(argv)
    if args.action == "env":
        # For running the `pulumi` CLI by hand: eval "$(venv/bin/python tools/pulumi_stack.py env)"
        print("\n".join(f"export {k}='{v}'" for k, v in pulumi_env().items()))
        return 0
    try:
        return run(args)
    except WrapperError as exc:
        print(f"pulumi_stack: error: {exc}", file=sys.stderr)
        return 2
    except Failed:
        return 1


def run(args: argparse.Namespace) -> int:
    if args.action == "output" and not args.key:
        raise WrapperError("output needs the name of a stack output, e.g. `output url`.")
    for flag, actions in FLAGS.items():
        if getattr(args, flag) and args.action not in actions:
            raise WrapperError(f"--{flag.replace('_', '-')} does not apply to {args.action}; it works with "
                               f"{', '.join(actions)}.")
    schema = declared_config()
    plain = checked_config(args.config, flag="--config", schema=schema)
    if credentials := [key for key in plain if key in CREDENTIAL_KEYS]:
        raise WrapperError(f"--config {credentials[0]} would store a credential in clear in "
                           f"Pulumi.{args.stack}.yaml; use --secret {credentials[0]}=<value> (stored encrypted).")
    hidden = checked_config(args.secret, flag="--secret", schema=schema)
    selected = stack(args.stack)
    config_file = ROOT / f"Pulumi.{args.stack}.yaml"
    before = config_file.read_bytes() if config_file.exists() else None  # after create: it holds the salt
    values = {k: auto.ConfigValue(value=v) for k, v in plain.items()}
    values |= {k: auto.ConfigValue(value=v, secret=True) for k, v in hidden.items()}
    if values:
        selected.set_all_config(values)
    try:
        if args.action == "output":
            return print_output(selected, args)
        return operate(selected, args)
    except BaseException:
        if values:  # leave the config as it was before this run
            if before is None:
                config_file.unlink(missing_ok=True)
            else:
                config_file.write_bytes(before)
            print(f"pulumi_stack: the config given with this run was not kept; {config_file.name} is as before.",
                  file=sys.stderr)
        raise


def print_output(selected: auto.Stack, args: argparse.Namespace) -> int:
    outputs = selected.outputs()
    if args.key not in outputs:
        print(f"pulumi_stack: error: stack {args.stack} has no output {args.key!r}; it has "
              f"{', '.join(sorted(outputs)) or 'none'} (run `up` first).", file=sys.stderr)
        return 1
    print(outputs[args.key].value)
    return 0


def operate(selected: auto.Stack, args: argparse.Namespace) -> int:
    options: dict[str, Any] = {"diff": args.diff} if args.diff else {}
    if args.replace:
        options["replace"] = resolve_resources(selected, args.replace, "--replace")
    if args.target:
        options["target"] = resolve_resources(selected, args.target, "--target")
    if args.refresh:
        options["refresh"] = True
    if args.expect_no_changes:
        options["expect_no_changes"] = True
    if args.action != "preview":
        # Without it, up, refresh and destroy put the stack's config, secrets decrypted, in their result.
        options["show_secrets"] = False
    operation: Callable[..., object] = getattr(selected, args.action)
    events: list[auto.events.EngineEvent] = []
    try:
        operation(on_output=print, on_event=events.append, color="never", **options)
    except auto.CommandError as exc:
        for line in engine_errors(events, exc):
            print(f"error: {line}", file=sys.stderr)
        print(f"pulumi_stack: pulumi {args.action} failed on stack {args.stack} (the engine's errors are above).",
              file=sys.stderr)
        raise Failed from None
    return 0


class Failed(Exception):
    """The run failed; its errors were printed."""


if __name__ == "__main__":
    sys.exit(main())
