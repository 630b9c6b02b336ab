"""How vhdcore's modules import each other, read from their source: one way (errors, format, sources, azure, cli),
with no circle, and no module taking a private name (one with a leading underscore) from another; providers/ too
take no private name.

Imports under `if TYPE_CHECKING:` count: a circle that only type checking closes is still two modules that
need each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

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
