"""The import graph of the three layers, drawn from the code with ``ast``: no circle, no arrow
upward (``restoreflow`` is the TensorFlow-free core under ``model`` and ``pipelines``, and
``model`` never imports ``pipelines``), and no module over 300 lines."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("restoreflow", "model", "pipelines")
LAYER = {"restoreflow": 0, "model": 1, "pipelines": 2}
MAX_LINES = 300


def modules(root: Path = ROOT) -> dict[str, Path]:
    found = {}
    for top in PACKAGES:
        for path in (root / top).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _targets(node, module: str, is_package: bool, known) -> set[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative: from its package, one level up per extra dot
            package = module.split(".")[: None if is_package else -1]
            package = package[: len(package) - node.level + 1]
            base = ".".join(package + ([base] if base else []))
        # a name that is not a submodule comes from the package's __init__
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
    targets = set()
    for name in names:
        while name and name not in known:  # an imported name resolves to its module
            name = name.rpartition(".")[0]
        if name and name != module:
            targets.add(name)
    return targets


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module -> the project modules it imports, at its top or inside functions."""
    known = modules(root)
    graph = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        graph[name] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[name] |= _targets(node, name, path.name == "__init__.py", known)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
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
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def upward(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets
                  if LAYER[b.split(".")[0]] > LAYER[a.split(".")[0]])


def test_the_import_graph_has_no_circle():
    assert cycles(import_graph()) == []


def test_no_import_runs_up_a_layer():
    assert upward(import_graph()) == []


def test_no_module_is_over_300_lines():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_the_checks_see_a_circle_and_an_upward_arrow(tmp_path):
    """The graph is drawn from the files: a circle through a function-level import and an
    arrow from the core up to a job are found."""
    for top in PACKAGES:
        (tmp_path / top).mkdir()
        (tmp_path / top / "__init__.py").write_text("")
    (tmp_path / "pipelines" / "a.py").write_text("from pipelines import b\n")
    (tmp_path / "pipelines" / "b.py").write_text("def f():\n    from pipelines.a import thing\n")
    (tmp_path / "restoreflow" / "c.py").write_text("def g():\n    from pipelines import a\n")
    graph = import_graph(tmp_path)
    assert cycles(graph) == [["pipelines.a", "pipelines.b"]]
    assert upward(graph) == ["restoreflow.c -> pipelines.a"]
