"""No import cycles between facesr_video's sub-packages: what two packages share lives below both.

The order that follows from what each package is for: errors, device, progress and timing at the
bottom; video, faces, morph; render (draws morph's FaceModel); sr (reads render's layout);
analysis (faces -> fits -> priors, shared by the commands); enhance and dataset (with its
degradations) on top of it; eval (runs enhance; holds the metrics); training (reads dataset,
validates with eval's metrics); cli on top. Imports inside functions count: a lazy import is
still a dependency, only a hidden one.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import facesr_video

PACKAGE = Path(facesr_video.__file__).resolve().parent
ROOT = "facesr_video"

# (importing module, imported module) -> why it is allowed for now. Each entry must still occur,
# so a fixed one has to be removed from here.
ALLOWED: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imported(path: Path, module: str) -> set[str]:
    """Names (relative to facesr_video) of the project modules `path` imports, anywhere in it."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".") if module else []
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([ROOT, *base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            # `from facesr_video.x import y` may import the module x.y or a name in x: take both.
            names = [target] + [f"{target}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name == ROOT or name.startswith(ROOT + "."):
                found.add(name[len(ROOT) + 1 :])
    return {name for name in found if name}


def _modules() -> dict[str, set[str]]:
    """Every module of facesr_video -> the project modules it imports (only ones that exist)."""
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(paths)
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        imports = set()
        for name in _imported(path, module):
            while name and name not in known:  # `from x.y import Class` -> module x.y
                name = name.rpartition(".")[0]
            if name:
                imports.add(name)
        graph[module] = imports
    return graph


def _package(module: str) -> str:
    return module.split(".")[0]


def _package_graph() -> tuple[dict[str, set[str]], dict[tuple[str, str], list[str]]]:
    """Package -> packages it imports (allowed ones left out), and the module edges behind each."""
    edges: dict[str, set[str]] = defaultdict(set)
    why: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module, imports in _modules().items():
        for target in imports:
            a, b = _package(module), _package(target)
            if a != b and (module, target) not in ALLOWED:
                edges[a].add(b)
                why[(a, b)].append(f"{module} -> {target}")
    return edges, why


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(set(edges) | {b for targets in edges.values() for b in targets}):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_packages() -> None:
    edges, why = _package_graph()
    problems = []
    for component in _cycles(edges):
        inside = [
            line
            for a in component
            for b in sorted(edges[a] & set(component))
            for line in why[(a, b)]
        ]
        problems.append(f"cycle {' <-> '.join(component)}: " + "; ".join(inside))
    assert not problems, "\n".join(problems)


def test_every_allowed_exception_still_exists() -> None:
    graph = _modules()
    stale = [f"{a} -> {b}" for a, b in ALLOWED if b not in graph.get(a, set())]
    assert not stale, f"no longer imported, remove from ALLOWED in {__file__}: {stale}"


def test_the_walker_sees_a_known_cycle() -> None:
    """The checker itself: a cycle through three packages is found, a chain is not."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}}) == []
    assert "eval.metrics" in _modules()["training.validation"]  # a plain import is seen
    assert "morph.install" in _modules()["training.data"]  # so is one inside a function
