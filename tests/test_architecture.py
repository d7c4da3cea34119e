"""The package's import graph: no cycles, dependencies point one way, library imports at the
top of modules (only optional heavy dependencies may be imported inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: source folder -> the package it installs as (pyproject's package-dir)
SOURCES = {"jaxrl_rewards": "jaxrl_rewards", "envs": "jaxrl_rewards.envs", "agents": "jaxrl_rewards.agents"}
#: third-party modules that may be imported inside a function: optional extras, or slow to import
LAZY_ALLOWED = {"ray", "brax", "optuna", "wandb", "tensorboardX", "mujoco", "orbax"}
#: our own modules that wrap such a dependency at their top and so are imported lazily too
LAZY_WRAPPERS = {"jaxrl_rewards.envs.brax_adapter"}
#: layer of each subpackage; a module may import its own layer or lower ones only
LAYERS = {
    "jaxrl_rewards.core": 0,
    "jaxrl_rewards.envs": 0,
    "jaxrl_rewards.transforms": 1,
    "jaxrl_rewards.analysis": 2,
    "jaxrl_rewards.agents": 2,
    "jaxrl_rewards.bandits": 2,
    "jaxrl_rewards.experiments": 3,
    "jaxrl_rewards.cli": 4,
    "jaxrl_rewards": 5,  # the package root only re-exports
}


def modules() -> dict[str, Path]:
    found = {}
    for folder, package in SOURCES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts if p != "__init__"]
            found[".".join([package, *parts])] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> tuple[set[str], list[tuple[int, str]]]:
    """(library modules imported at module level, [(line, module)] of imports inside functions)."""
    tree = ast.parse(path.read_text())
    top: set[str] = set()
    local: list[tuple[int, str]] = []
    is_package = path.name == "__init__.py"

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            targets: list[str] = []
            if isinstance(child, ast.Import):
                targets = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                submodules = [f"{base}.{a.name}" for a in child.names if f"{base}.{a.name}" in known]
                # ``from pkg import sub`` only needs ``pkg.sub``; any other name needs ``pkg`` itself
                targets = submodules if len(submodules) == len(child.names) else [base, *submodules]
            for target in targets:
                if in_function:
                    local.append((child.lineno, target))
                elif target in known:
                    top.add(target)
            visit(child, nested)

    visit(tree, False)
    return top, local


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports(name, path, set(mods))[0] for name, path in mods.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges.get(v, ()):
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return found


def layer(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def test_cycle_finder_finds_a_planted_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_dependencies_point_one_way():
    wrong = [
        f"{module} (layer {layer(module)}) imports {target} (layer {layer(target)})"
        for module, targets in graph().items()
        for target in targets
        if layer(target) > layer(module)
    ]
    assert wrong == []


def test_no_function_local_imports_except_optional_heavy_dependencies():
    mods = modules()
    hidden = [
        f"{path.relative_to(ROOT)}:{line}: {target}"
        for name, path in mods.items()
        for line, target in imports(name, path, set(mods))[1]
        if target.split(".")[0] not in LAZY_ALLOWED and target not in LAZY_WRAPPERS
    ]
    assert hidden == []


#: modules may be about 400 lines; a longer one says why at its top ("over 400 lines: ...")
MAX_LINES = 420


def test_long_modules_say_why_at_their_top():
    paths = list(modules().values()) + sorted((ROOT / "benchmarks").rglob("*.py"))
    unexplained = []
    for path in paths:
        if any(part.startswith(".venv") for part in path.parts):  # .venv, benchmarks/peers/.venv-rejax
            continue
        text = path.read_text()
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if len(text.splitlines()) > MAX_LINES and "over 400 lines" not in docstring.lower():
            unexplained.append(f"{path.relative_to(ROOT)} ({len(text.splitlines())} lines)")
    assert unexplained == []
