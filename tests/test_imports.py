"""No import cycles among tfrec's modules, counting imports inside functions too (a cycle hidden
by a function-level import still ties two modules together). Read from the source with ``ast``;
imports under ``if TYPE_CHECKING:`` are left out (they never run)."""

from __future__ import annotations

import ast
from pathlib import Path

import tfrec

PACKAGE = Path(tfrec.__file__).parent


def _module_name(path: Path) -> str:
    parts = ["tfrec", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(child) for stmt in node.body for child in ast.walk(stmt)}
    return skipped


def import_graph() -> dict[str, set[str]]:
    """``{module: {tfrec modules it imports}}`` for every module of the package."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        skipped = _type_checking_nodes(tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                for alias in node.names:  # `from tfrec.data import registry` imports a module
                    targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base)
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_checker_finds_a_cycle_hidden_in_a_function():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_tfrec_has_no_import_cycles():
    graph = import_graph()
    assert "tfrec.tasks" in graph["tfrec.training"] and "tfrec.data.registry" in graph["tfrec.training"]  # read at all
    cycles = find_cycles(graph)
    assert not cycles, "import cycles among tfrec modules:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_data_loaders_import_neutral_modules_never_each_other():
    """tfrec.data's layering: the loaders import the neutral modules (files, splits, sampling,
    types, graphs), never each other; the neutral modules and the generators import no loader."""
    loaders = {f"tfrec.data.{m}" for m in ("movielens", "multibehavior", "sequences", "sessions", "ctr")}
    neutral = {f"tfrec.data.{m}" for m in ("files", "splits", "sampling", "types", "graphs")}
    graph = import_graph()
    assert "tfrec.data.files" in graph["tfrec.data.movielens"]  # the graph was read at all
    for module in loaders:
        assert not graph[module] & loaders, f"{module} imports the loaders {graph[module] & loaders}"
    for module in neutral:
        assert not {m for m in graph[module] if m.startswith("tfrec.data.")} - neutral, module
    assert not graph["tfrec.data.synthetic"] & loaders  # the generators sit below the loaders
