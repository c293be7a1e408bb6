"""The shape docs/architecture.md promises, checked on the source: dashboard → jobs →
models and never back, the domain free of Reflex, no import cycle, pages registered in
one place, and no module grown past what one reader can hold."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("models", "jobs", "dashboard")
MAX_LINES = 700


def _modules() -> dict[str, Path]:
    found = {}
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    """Modules `path` imports (resolved to ours where they are ours)."""
    tree = ast.parse(path.read_text(), str(path))
    nodes: list[ast.AST] = []
    if top_level_only:
        # What runs at import time: the module body, minus `if TYPE_CHECKING:` blocks.
        stack = list(tree.body)
        while stack:
            node = stack.pop()
            if isinstance(node, ast.If) and _is_type_checking(node):
                stack.extend(node.orelse)
                continue
            if isinstance(node, ast.If | ast.Try):
                stack.extend(node.body + node.orelse + getattr(node, "finalbody", []))
                for handler in getattr(node, "handlers", []):
                    stack.extend(handler.body)
                continue
            nodes.append(node)
    else:
        nodes = list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                names.add(full if full in MODULES else node.module)
    return names


def test_each_layer_imports_only_the_ones_below_it():
    allowed = {"models": {"models"}, "jobs": {"models", "jobs"}}
    wrong = []
    for name, path in MODULES.items():
        layer = name.split(".")[0]
        for imported in _imports(path, top_level_only=False):
            top = imported.split(".")[0]
            if layer in allowed and top in LAYERS and top not in allowed[layer]:
                wrong.append(f"{name} imports {imported}")
            if layer != "dashboard" and top == "reflex":
                wrong.append(f"{name} imports reflex")
    assert wrong == []


def test_no_import_cycle():
    graph = {
        name: {m for m in _imports(path, top_level_only=True) if m in MODULES and m != name}
        for name, path in MODULES.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for nxt in sorted(graph[name]):
            # A package importing its own submodules (re-exports) is how packages work.
            if nxt.startswith(name + "."):
                continue
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    cycles = [c for c in cycles if not c[0].startswith(c[-2] + ".")]
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles)


def test_pages_are_added_to_the_app_in_one_place():
    callers = [
        name for name, path in MODULES.items() if ".add_page(" in path.read_text()
    ]
    assert callers == ["dashboard.registry"]


@pytest.mark.parametrize("layer", ["dashboard", "models"])
def test_no_module_is_longer_than_one_reader_can_hold(layer):
    long = {
        name: lines
        for name, path in MODULES.items()
        if name.split(".")[0] == layer
        and (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_every_page_module_imports_and_registers_once():
    """A page module that fails to import only shows in the browser suite otherwise."""
    import importlib

    import dashboard.pages
    from dashboard.registry import PAGES

    for path in sorted((ROOT / "dashboard" / "pages").glob("*.py")):
        importlib.import_module(f"dashboard.pages.{path.stem}")
    routes = [registered.route for registered in PAGES]
    assert dashboard.pages and routes and len(routes) == len(set(routes))
