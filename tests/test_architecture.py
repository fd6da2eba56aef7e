"""The house's rules, read from the imports: each floor imports only the floors below it
(`kotoutus/` → `services/` → `shared/`), a service imports no other service, and no modules
import each other in a circle."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kotoutus", "services", "shared")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports(path: Path, everywhere: bool) -> Iterator[str]:
    """The project modules ``path`` imports: at module level only (what runs on import), or
    ``everywhere`` (also inside functions, for the floors)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes: list[ast.AST] = []
    if everywhere:
        nodes = list(ast.walk(tree))
    else:
        for node in tree.body:
            if isinstance(node, ast.If) and _is_type_checking(node):
                continue
            nodes.append(node)
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _known(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def test_each_floor_imports_only_the_floors_below() -> None:
    known = modules()
    floor = {"kotoutus": 2, "services": 1, "shared": 0}
    wrong = []
    for name, path in known.items():
        own = name.split(".")[0]
        for imported in imports(path, everywhere=True):
            target = _known(imported, known)
            if target is None:
                continue
            other = target.split(".")[0]
            if floor[other] > floor[own]:
                wrong.append(f"{name} imports {target}")
            if own == other == "services" and target.split(".")[1] != name.split(".")[1]:
                wrong.append(f"{name} imports another service: {target}")
    assert wrong == []


def test_no_modules_import_each_other_in_a_circle() -> None:
    known = modules()
    graph = {
        name: {
            target
            for imported in imports(path, everywhere=False)
            if (target := _known(imported, known)) is not None
            and target != name
            and not name.startswith(target + ".")  # a package's own __init__ runs first
        }
        for name, path in known.items()
    }
    circles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                circles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []
