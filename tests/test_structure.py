"""The package's structure: no import cycles, the core below everything, plug-ins outside it.

The imports are read from the source (every ``import`` statement, also those inside
functions), so a cycle hidden in a lazy import is found too.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

import gradengine

PKG = pathlib.Path(gradengine.__file__).parent


def _module_name(path):
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path, name):
    """The gradengine modules ``path`` imports (a package's ``__init__`` counts as itself)."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    here = name.split(".") if is_pkg else name.split(".")[:-1]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("gradengine"):
                    out.add(a.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("gradengine"):
                continue
            for a in node.names:  # `from . import x` may name a submodule
                sub = f"{mod}.{a.name}"
                out.add(sub if _exists(sub) else mod)
    out.discard(name)
    return out


def _exists(mod):
    rel = pathlib.Path(*mod.split(".")[1:])
    return (PKG / rel).with_suffix(".py").exists() or (PKG / rel / "__init__.py").exists()


def _graph():
    graph = {}
    for path in PKG.rglob("*.py"):
        name = _module_name(path)
        graph[name] = {m for m in _imports(path, name) if _exists(m) or m == "gradengine"}
    return graph


def _parents(mod):
    """A module's enclosing packages: importing it runs them, so an import of a package
    from inside it is not an edge of a cycle."""
    parts = mod.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def _find_cycle(graph):
    state = {}
    stack = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if m in _parents(n):
                continue
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if state.get(m) is None:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if state.get(n) is None:
            found = visit(n)
            if found:
                return found
    return None


def test_the_package_has_no_import_cycle():
    cycle = _find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("layer,above", [
    ("gradengine.core", ("gradengine.ops", "gradengine.capture", "gradengine.nn",
                         "gradengine.optim", "gradengine.keras", "gradengine.functional")),
    ("gradengine.ops", ("gradengine.capture", "gradengine.nn", "gradengine.optim",
                        "gradengine.keras", "gradengine.functional")),
    ("gradengine.cuda", ("gradengine.core", "gradengine.ops", "gradengine.capture",
                         "gradengine.nn", "gradengine.keras")),
    ("gradengine.capture", ("gradengine.nn", "gradengine.optim", "gradengine.keras")),
])
def test_a_lower_layer_never_imports_a_higher_one(layer, above):
    bad = []
    for mod, deps in _graph().items():
        if mod == layer or mod.startswith(layer + "."):
            for d in deps:
                if any(d == a or d.startswith(a + ".") for a in above):
                    bad.append(f"{mod} -> {d}")
    assert not bad, bad


def test_import_gradengine_jit_is_not_a_module_shadowed_by_a_function():
    import importlib

    import gradengine as ge
    assert callable(ge.jit)
    assert importlib.import_module("gradengine.capture").jit is ge.jit
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("gradengine.jit")
