"""Write what is derived from the declaration in providers/schema.py and checked in: the plugin's Pulumi package
schema, the reference page and the dynamic resources' typed Args dataclasses.

    venv/bin/python tools/generate.py           # write them
    venv/bin/python tools/generate.py --check   # exit 1 naming each file that is stale (tests/test_schema.py)
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from providers.schema import (  # noqa: E402
    ACCOUNT,
    CONFIG,
    CONFIG_DESCRIPTION,
    PACKAGE,
    RESOURCES,
    Prop,
    ResourceDecl,
    camel,
    door_text,
    package_schema,
)
from vhdcore import __version__  # noqa: E402

SCHEMA_FILE = ROOT / "providers" / "plugin" / "schema.json"
REFERENCE_FILE = ROOT / "docs" / "reference.md"
ARGS_FILE = ROOT / "providers" / "args.py"
WIDTH = 120


def schema_json() -> str:
    return json.dumps(package_schema(__version__), indent=2) + "\n"


# --- docs/reference.md -----------------------------------------------------------------------------------------------

_MD_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
             "map": "map of string"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _names(prop: Prop) -> str:
    return f"`{prop.camel}`" + (f" (`{prop.name}`)" if prop.camel != prop.name else "")


def reference_markdown() -> str:
    lines = [
        "# Reference: resources, inputs, outputs and provider configuration",
        "",
        "Generated from `providers/schema.py` by `tools/generate.py`; do not edit. Each name is given as the plugin "
        "and its SDKs spell it (camelCase), with the Python dynamic resources' name (`providers`) in brackets. "
        "Every output also echoes the inputs.",
        "",
        "## Provider configuration",
        "",
        door_text(CONFIG_DESCRIPTION),
        "",
        f"Set a key for the default provider with `pulumi config set {PACKAGE}:<key> <value>` (`--secret` for the "
        f"secret ones), or pass it to an explicit provider resource (`pulumi:providers:{PACKAGE}`). The dynamic "
        f"resources read only the credentials from stack config, in the program's project namespace "
        f"({', '.join(f'`{p.stack_config}`' for p in ACCOUNT if p.stack_config)}).",
        "",
        "| key | type | secret | default | description |",
        "|---|---|---|---|---|",
    ]
    for prop in CONFIG:
        lines.append(f"| `{PACKAGE}:{prop.camel}` | {_MD_TYPES[prop.kind]} | {'yes' if prop.secret else ''} | "
                     f"{_cell(door_text(prop.default or ''))} | {_cell(door_text(prop.description))} |")
    for decl in RESOURCES:
        lines += _resource_section(decl)
    return "\n".join(lines) + "\n"


def _resource_section(decl: ResourceDecl) -> list[str]:
    lines = [
        "",
        f"## {decl.python_name}",
        "",
        f"Plugin token `{decl.token}`; dynamic resource `providers.{decl.python_name}` (type "
        f"`{decl.dynamic_token}`).",
        "",
        door_text(decl.description),
        "",
        "### Inputs",
        "",
        "| input | type | required | secret | default | description |",
        "|---|---|---|---|---|---|",
    ]
    for prop in decl.inputs:
        lines.append(f"| {_names(prop)} | {_MD_TYPES[prop.kind]} | {'yes' if prop.required else ''} | "
                     f"{'yes' if prop.secret else ''} | {_cell(door_text(prop.default or ''))} | "
                     f"{_cell(door_text(prop.description))} |")
    lines += ["", "### Outputs", "", "| output | type | always set | description |", "|---|---|---|---|"]
    for prop in decl.outputs:
        always = "yes" if prop.name in decl.required_outputs else ""
        lines.append(f"| {_names(prop)} | {_MD_TYPES[prop.kind]} | {always} | {_cell(door_text(prop.description))} |")
    return lines


# --- providers/args.py ------------------------------------------------------------------------------------------------

_PY_TYPES = {"string": "str", "integer": "int", "number": "int", "boolean": "bool", "map": "dict[str, str]"}


def _docstring(text: str, indent: str) -> list[str]:
    body = textwrap.wrap(text, WIDTH - len(indent) - 6, break_on_hyphens=False)
    if len(body) == 1:
        return [f'{indent}"""{body[0]}"""']
    return [f'{indent}"""{body[0]}', *(f"{indent}{line}" for line in body[1:]), f'{indent}"""']


def _python_doc(prop: Prop) -> str:
    return prop.description + (f" Default: {prop.default}." if prop.default else "")


def args_module() -> str:
    lines = [
        '"""The typed inputs and outputs of the dynamic resources, for IDEs and `mypy --strict`: generated from the',
        "declaration in providers/schema.py by tools/generate.py; do not edit.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from dataclasses import dataclass",
        "",
        "import pulumi",
        "",
        "__all__ = [",
        *(f'    "{name}",' for name in sorted(f"{decl.python_name}{part}" for decl in RESOURCES
                                                for part in ("Args", "Outputs"))),
        "]",
    ]
    for decl in RESOURCES:
        lines += ["", "", "@dataclass", f"class {decl.python_name}Args:"]
        lines += _docstring(f"The inputs of a {decl.python_name}. {decl.description}", "    ")
        for prop in sorted(decl.inputs, key=lambda p: not p.required):  # dataclass: required fields first
            kind = f"pulumi.Input[{_PY_TYPES[prop.kind]}]"
            lines += ["", f"    {prop.name}: {kind}" + ("" if prop.required else " | None = None")]
            lines += _docstring(_python_doc(prop), "    ")
        lines += ["", "", f"class {decl.python_name}Outputs:"]
        lines += _docstring(f"What a {decl.python_name} shows: every input, echoed, and what it computes.", "    ")
        for prop in decl.props:
            lines += ["", f"    {prop.name}: pulumi.Output[{_PY_TYPES[prop.kind]}]"]
            lines += _docstring(_python_doc(prop), "    ")
    return "\n".join(lines) + "\n"


GENERATED = {SCHEMA_FILE: schema_json, REFERENCE_FILE: reference_markdown, ARGS_FILE: args_module}


def stale() -> list[Path]:
    return [path for path, make in GENERATED.items() if not path.exists() or path.read_text() != make()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say which generated files are stale")
    if parser.parse_args().check:
        outdated = stale()
        for path in outdated:
            print(f"{path.relative_to(ROOT)} is stale; run venv/bin/python tools/generate.py", file=sys.stderr)
        return 1 if outdated else 0
    for path, make in GENERATED.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["GENERATED", "args_module", "camel", "reference_markdown", "schema_json", "stale"]
