"""The core's shape: no import cycles, no plugin imported, small files, imports running one way through the layers."""

import ast
from pathlib import Path

import sscl_core

CORE = Path(sscl_core.__file__).parent
MAX_LINES = 350


def module_name(path):
    parts = path.relative_to(CORE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path):
    """The sscl_core modules ``path`` imports when it runs (imports under ``if TYPE_CHECKING:`` left out)."""
    tree = ast.parse(path.read_text())
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sscl_core"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("sscl_core"))
    return found


def graph():
    modules = {module_name(p): p for p in CORE.rglob("*.py")}
    edges = {}
    for name, path in modules.items():
        targets = set()
        for imported in runtime_imports(path):
            while imported not in modules and "." in imported:
                imported = imported.rpartition(".")[0]
            if imported in modules and imported != name:
                targets.add(imported)
        edges[name] = targets
    return edges


def test_no_import_cycles_in_the_core():
    edges = graph()
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for target in sorted(edges[node]):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target) :] + [target])
            elif target not in state:
                visit(target, [*stack, target])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_core_modules_do_not_import_the_top_level_package_or_a_plugin():
    submodules = {p.stem for p in CORE.glob("*.py")} | {p.parent.name for p in CORE.glob("*/__init__.py")}
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "sscl_core" and path != CORE / "__init__.py":
                names = {a.name for a in node.names} - submodules
                assert not names, f"{path}: imports {names} from sscl_core, not from the module that defines them"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(m.startswith("sscl_plugin") for m in modules), f"{path} imports a plugin"


def test_no_core_file_is_over_the_line_limit():
    sizes = {str(p.relative_to(CORE)): len(p.read_text().splitlines()) for p in CORE.rglob("*.py")}
    long = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert not long, f"files over {MAX_LINES} lines: {long}"


LAYERS = ["api", "library", "classification", "plugins", "config", "run", "testing", "cli"]
"""The core's layers, lowest first: a module imports only from its own layer and the ones below it."""


def layer_of(module):
    part = module.split(".")[1] if "." in module else ""
    return LAYERS.index(part) if part in LAYERS else None


def test_imports_run_one_way_through_the_layers():
    upward = []
    for module, targets in graph().items():
        own = layer_of(module)
        if module == "sscl_core":
            continue
        assert own is not None, f"{module} belongs to no layer ({', '.join(LAYERS)})"
        upward += [f"{module} -> {t}" for t in targets if t != "sscl_core" and layer_of(t) > own]
    assert not upward, "imports against the layers: " + "; ".join(sorted(upward))
