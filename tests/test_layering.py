"""How vhdcore's modules import each other, read from their source: one way (errors, format, sources, azure, cli),
with no circle, and no module taking a private name (one with a leading underscore) from another; providers/ too
take no private name. The sizes are named once (format/sizes.py). The providers use vhdcore's supported surface
(the names in `vhdcore.__all__`) and read what an error means from its attributes, never from its text.

Imports under `if TYPE_CHECKING:` count: a circle that only type checking closes is still two modules that
need each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import vhdcore
import vhdcore.format.sizes

ROOT = Path(__file__).resolve().parent.parent
# Each layer imports only the ones before it.
LAYERS = ("vhdcore.errors", "vhdcore.format", "vhdcore.sources", "vhdcore.azure", "vhdcore.cli")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names taken from it) for every import of a project module in `path`, relative ones resolved."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if node.module is None:  # `from . import qcow2`: each name is a module
                found += [(f"{module}.{alias.name}", []) for alias in node.names]
            else:
                found.append((module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
    return [(module, names) for module, names in found if module.split(".")[0] in ("vhdcore", "providers")]


def sources(*packages: str) -> dict[str, Path]:
    return {module_name(path): path for package in packages for path in sorted((ROOT / package).rglob("*.py"))}


def test_no_module_takes_a_private_name_from_another() -> None:
    taken = [f"{module_name(path)} takes {name} from {module}"
             for path in sources("vhdcore", "providers").values() for module, names in imports(path)
             for name in names if name.startswith("_") and not name.startswith("__")]
    assert taken == []


def test_vhdcore_modules_import_each_other_without_a_circle() -> None:
    modules = sources("vhdcore")
    graph = {name: {target for target, _ in imports(path) if target in modules and target != name}
             for name, path in modules.items()}
    circles, done, path = [], set(), []  # depth first; a module met again on the current path closes a circle

    def visit(module: str) -> None:
        if module in path:
            circles.append([*path[path.index(module) :], module])
            return
        if module in done:
            return
        path.append(module)
        for target in sorted(graph[module]):
            visit(target)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    assert circles == []


def test_the_layers_import_one_way() -> None:
    def layer(module: str) -> int | None:
        return next((i for i, name in enumerate(LAYERS) if module == name or module.startswith(name + ".")), None)

    upward = [f"{name} imports {target}" for name, path in sources("vhdcore").items() for target, _ in imports(path)
              if (mine := layer(name)) is not None and (theirs := layer(target)) is not None and theirs > mine]
    assert upward == []


def test_each_size_is_named_once() -> None:
    """No module but format/sizes.py binds one of its names at module level (a second PAGE = 512, or KiB again)."""
    named = {name for name in vars(vhdcore.format.sizes) if name.isidentifier() and not name.startswith("_")
             and isinstance(getattr(vhdcore.format.sizes, name), int)}
    again = []
    for module, path in sources("vhdcore", "providers").items():
        if module == "vhdcore.format.sizes":
            continue
        for node in ast.parse(path.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, ast.AnnAssign) else []
            bound = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            again += [f"{module} binds {name}" for name in bound if name in named]
    assert named >= {"SECTOR", "PAGE", "FOOTER_SIZE", "STACK_PAGE", "MAX_PUT_PAGE", "KiB", "MiB"}
    assert again == []


def test_the_providers_take_only_the_supported_surface() -> None:
    """providers/ imports vhdcore itself, never one of its modules, and uses only the names of vhdcore.__all__."""
    surface = set(vhdcore.__all__)
    outside = []
    for module, path in sources("providers").items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").startswith("vhdcore"):
                outside += [f"{module}: from {node.module} import {alias.name}" for alias in node.names
                            if node.module != "vhdcore" or alias.name not in surface]
            elif isinstance(node, ast.Import):
                outside += [f"{module}: import {alias.name}" for alias in node.names
                            if alias.name.startswith("vhdcore.")]
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "vhdcore" \
                    and node.attr not in surface:
                outside.append(f"{module}: vhdcore.{node.attr}")
    assert outside == []


# What reads meaning out of a text: the library's sentences ("what; fix.") are for people, not for parsing.
_PARSING = {"split", "rsplit", "partition", "rpartition", "find", "rfind", "index", "rindex", "startswith",
            "endswith", "removeprefix", "removesuffix", "count", "splitlines"}


def _from_error(node: ast.AST, caught: set[str]) -> bool:
    """Whether `node` is a caught exception's text or part of it: `exc`, `str(exc)`, `exc.what`, `exc.args[0]`,
    an f-string that quotes one of them."""
    return any(isinstance(n, ast.Name) and n.id in caught for n in ast.walk(node))


def _reads_text(node: ast.AST, caught: set[str]) -> bool:
    """Whether `node` looks into a caught error's text (a string method or a regular expression on it, or an
    `in` test against it), or splits a sentence at the library's "; " (what; fix)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in _PARSING:
            return _from_error(node.func.value, caught) or any(
                isinstance(arg, ast.Constant) and arg.value == "; " for arg in node.args)
        module = node.func.value
        return isinstance(module, ast.Name) and module.id == "re" and any(_from_error(a, caught) for a in node.args)
    return isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops) and any(
        _from_error(side, caught) for side in node.comparators)


def test_the_providers_never_parse_an_errors_text() -> None:
    """No provider splits, searches or tests the text of an exception it caught, nor splits a sentence at the
    library's "; ": what an error means is in its type and attributes (code, what, fix, notes)."""
    parsed = []
    for module, path in sources("providers").items():
        tree = ast.parse(path.read_text())
        caught = {node.name for node in ast.walk(tree) if isinstance(node, ast.ExceptHandler) and node.name}
        parsed += [f"{module}:{node.lineno} {ast.unparse(node)}" for node in ast.walk(tree)
                   if isinstance(node, ast.expr) and _reads_text(node, caught)]
    assert parsed == []
