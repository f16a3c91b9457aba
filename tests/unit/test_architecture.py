"""The backend's shape: no import cycle between its modules, the web service (``attnviz.server``)
imported by nothing but the command that starts it, and no code outside the model adapters asking
which kind of model it holds."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "backend" / "attnviz"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports, anywhere in it (a function's lazy import
    included; ``if TYPE_CHECKING:`` blocks left out, as they never run)."""
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = {
            id(n)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)
        }
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.ImportFrom):
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
                if not node.level:
                    base = node.module or ""
                for alias in node.names:
                    target = f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base
                    if target in files and target != name:
                        graph[name].add(target)
            elif isinstance(node, ast.Import):
                graph[name] |= {a.name for a in node.names if a.name in files and a.name != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt) :])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_graph_is_read() -> None:
    graph = import_graph()
    assert "attnviz.document" in graph["attnviz.anywhere"]
    assert "attnviz.runtime.adapters" in graph["attnviz.runtime.service"]
    assert "attnviz.server.__main__" in graph["attnviz.cli"]  # a function's lazy import is read too


def test_no_import_cycle_in_the_backend() -> None:
    assert cycles(import_graph()) == []


def test_a_cycle_is_found_where_there_is_one() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# The entry points: the package's lazy exports and the command line reach into every layer.
ENTRIES = {"attnviz", "attnviz.__main__", "attnviz.cli"}


def folder_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Folder -> the folders its modules import (``attnviz`` is the library's top-level modules,
    ``attnviz.runtime``, ``attnviz.server``, ...), the entry points left out."""
    subpackages = {".".join(n.split(".")[:2]) for n in graph if n.count(".") >= 2}

    def folder(name: str) -> str:
        head = ".".join(name.split(".")[:2])
        return head if head in subpackages else "attnviz"

    out: dict[str, set[str]] = {}
    for name, targets in graph.items():
        if name in ENTRIES:
            continue
        out.setdefault(folder(name), set()).update(folder(t) for t in targets if t not in ENTRIES)
    return {f: deps - {f} for f, deps in out.items()}


def test_no_import_cycle_between_the_backends_folders() -> None:
    """Layers: the library's top-level modules, then the runtime (named models run without HTTP),
    then the web service; nothing imports a layer above it."""
    folders = folder_graph(import_graph())
    assert folders["attnviz.server"] >= {"attnviz.runtime", "attnviz"}
    assert cycles(folders) == []


def test_a_cycle_of_folders_is_found() -> None:
    graph = {"attnviz.html": {"attnviz.runtime.page"}, "attnviz.runtime.page": {"attnviz.hf"}, "attnviz.hf": set()}
    assert cycles(folder_graph(graph)) == [["attnviz", "attnviz.runtime"]]


# The one way into the web service from outside it: `attnviz serve` reads its options and starts it.
SERVER_DOORS = {"attnviz.cli": {"attnviz.server.__main__"}}


def server_imports_from_outside(graph: dict[str, set[str]]) -> list[str]:
    """``module -> attnviz.server...`` for each import of the web service by a module outside it
    (the runtime, the notebook layer, the CLI beyond starting the server)."""

    def in_server(name: str) -> bool:
        return name == "attnviz.server" or name.startswith("attnviz.server.")

    return [
        f"{name} -> {target}"
        for name in sorted(graph)
        if not in_server(name)
        for target in sorted(graph[name])
        if in_server(target) and target not in SERVER_DOORS.get(name, set())
    ]


def test_nothing_outside_the_server_imports_it_but_the_serve_command() -> None:
    """The runtime, the notebook layer (show, save_html) and ``attnviz html`` raise and catch the
    domain errors and never load the web service; only the server maps them to HTTP."""
    offenders = server_imports_from_outside(import_graph())
    assert not offenders, "attnviz.server imported from outside it: " + "; ".join(offenders)


def test_an_import_of_the_server_from_outside_is_named() -> None:
    graph = {
        "attnviz.cli": {"attnviz.server.__main__", "attnviz.server.app"},
        "attnviz.html": {"attnviz.runtime.service", "attnviz.server"},
        "attnviz.server.app": {"attnviz.runtime.service", "attnviz.server.errors"},
        "attnviz.serverless": {"attnviz.server.errors"},  # outside, though its name starts alike
    }
    assert server_imports_from_outside(graph) == [
        "attnviz.cli -> attnviz.server.app",
        "attnviz.html -> attnviz.server",
        "attnviz.serverless -> attnviz.server.errors",
    ]


MODEL_TYPES = re.compile(r"isinstance\([^)]*\b(SmallDecoder|SmallTransformer|HFModel|LoadedHF|LoadedModel)\b")


def test_the_service_and_the_notebook_layer_never_ask_a_models_type() -> None:
    """Only the adapters (runtime/adapters/) and the toy models' own code (model, inference,
    training) tell model types apart; the service, the routes, the CLI and the notebook layer ask
    an adapter."""
    own = {"model.py", "inference.py", "train.py"}
    offenders = [
        f"{path.relative_to(PACKAGE)}:{i}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name not in own and not path.is_relative_to(PACKAGE / "runtime" / "adapters")
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if MODEL_TYPES.search(line)
    ]
    assert offenders == []
