"""Write what is derived from the declaration in providers/schema.py and checked in: the plugin's Pulumi package
schema, the reference page, the dynamic resources' typed Args dataclasses and the README's input tables (between
its markers; the rest of the README is written by hand).

    venv/bin/python tools/generate.py           # write them
    venv/bin/python tools/generate.py --check   # exit 1 naming each file that is stale (tests/test_schema.py)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from providers.schema import (  # noqa: E402
    ACCOUNT,
    ACCOUNT_FIELDS,
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
README_FILE = ROOT / "README.md"
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


# --- README.md: the short input tables --------------------------------------------------------------------------------

_PY_TYPES = {"string": "str", "integer": "int", "number": "int", "boolean": "bool", "map": "dict[str, str]"}
README_BEGIN = "<!-- The input tables below are written by tools/generate.py from providers/schema.py: do not edit. -->"
README_END = "<!-- End of the generated input tables. -->"
_SENTENCE_END = re.compile(r"(?<=\.)\s+(?=[A-Z`])")


def _summary(text: str) -> str:
    """The first sentence of a description: the README's short tables leave the rest to docs/reference.md."""
    return _SENTENCE_END.split(text, maxsplit=1)[0]


def heading_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, markup and punctuation but - and _ dropped, spaces as
    hyphens (a repeated heading's anchor gets -1, -2, ...; tests/test_docs.py resolves links with it)."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def readme_tables() -> str:
    """One short table per resource (Python names; the inputs every resource shares are one table at the end), each
    input's first sentence and default; the full descriptions and the plugin's names are in docs/reference.md."""
    lines: list[str] = []
    for decl in RESOURCES:
        own = [p for p in decl.inputs if p.name not in ACCOUNT_FIELDS]
        lines += [
            f"### {decl.python_name}",
            "",
            f"{_summary(decl.description)} Full reference: [docs/reference.md](docs/reference.md"
            f"#{heading_anchor(decl.python_name)}).",
            "",
            "| input | type | default | |",
            "|---|---|---|---|",
        ]
        for prop in own:
            default = "required" if prop.required else _cell(prop.default or "")
            summary = _cell(_summary(prop.description))
            lines.append(f"| `{prop.name}` | {_PY_TYPES[prop.kind]} | {default} | {summary} |")
        if len(own) < len(decl.inputs):
            lines.append("| the account inputs | | | where the storage account is and how to sign: "
                         "[the table below](#the-account-inputs) |")
        lines += ["", "Outputs: " + ", ".join(f"`{p.name}`" for p in decl.outputs) + ".", ""]
    sharing = [decl.python_name for decl in RESOURCES if any(p.name in ACCOUNT_FIELDS for p in decl.inputs)]
    who = f"{', '.join(sharing[:-1])} and {sharing[-1]}" if len(sharing) > 1 else sharing[0]
    lines += [
        "### The account inputs",
        "",
        f"What {who} share: where the storage account is and how to sign. A "
        "secret one is stored encrypted in the state. Left out of a resource, a setting comes from the stack config "
        "key (the dynamic resources, in the program's project namespace) or the provider config key (the plugin) "
        "named here: [credentials, in order](docs/resources.md#credentials).",
        "",
        "| input | type | default | stack config | provider config (plugin) | |",
        "|---|---|---|---|---|---|",
    ]
    for prop in ACCOUNT:
        kind = _PY_TYPES[prop.kind] + (", secret" if prop.secret else "")
        stack = f"`{prop.stack_config}`" if prop.stack_config else ""
        plugin = f"`{PACKAGE}:{prop.camel}`" if prop.config else ""
        lines.append(f"| `{prop.name}` | {kind} | {_cell(prop.default or '')} | {stack} | {plugin} | "
                     f"{_cell(_summary(prop.description))} |")
    return "\n".join(lines) + "\n"


def readme_markdown() -> str:
    """README.md with the part between its markers written afresh."""
    text = README_FILE.read_text()
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < begin:
        raise SystemExit(f"README.md lacks the markers of the generated input tables; put {README_BEGIN!r} and "
                         f"{README_END!r} on lines of their own where the tables go.")
    return text[:begin] + README_BEGIN + "\n\n" + readme_tables() + "\n" + text[end:]


# --- providers/args.py ------------------------------------------------------------------------------------------------


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


GENERATED = {SCHEMA_FILE: schema_json, REFERENCE_FILE: reference_markdown, ARGS_FILE: args_module,
             README_FILE: readme_markdown}


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


__all__ = ["GENERATED", "args_module", "camel", "heading_anchor", "readme_markdown", "readme_tables",
           "reference_markdown", "schema_json", "stale"]
