"""
dev/house.py: the shape of the codebase as a new reader meets it: what stands at the top, lines per
file, the longest function of each design-card script, and the cycles of the import graph.

    .venv/bin/python -m dev.house              # the report, for this checkout
    .venv/bin/python -m dev.house /some/clone  # for another tree

The import graph is read from the source (ast), imports inside functions included: a module imports
another when it names it in an `import` or `from ... import` anywhere. A name resolves to a project
module by its dotted path from the root, else (a script run by path) to a file beside the importer,
else to the one project file of that name (a folder put on sys.path); anything else is outside the
project. Two graphs: modules, and packages (a folder counts as one node, a top-level file as its own),
so a folder that imports a script which imports the folder is a cycle too even when no two modules
form one. tests/dev/test_house.py checks the finder on constructed trees and this tree for 0 cycles.
"""
import ast
import os
import sys

CARD = ("model.py", "tokenize_audio.py", "interleave.py", "train.py", "eval_cloze.py", "align_probe.py")
SKIP = {".venv", ".git", "out", "tests", "__pycache__", ".pytest_cache", ".whl"}


def project_files(root):
    """Every .py of the project (not tests, the venv or outputs), as paths relative to root."""
    found = []
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        dirs[:] = sorted(x for x in dirs if x not in SKIP and not (rel == "data" and x != "toy_enfr"))
        found += [os.path.normpath(os.path.join(rel, f)) for f in sorted(files) if f.endswith(".py")]
    return found


def module_name(path):
    parts = path[:-3].split(os.sep)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(source, package):
    """Dotted names a module's source imports (function-level imports too); `from a import b` gives
    both a.b (it may be a module) and a; relative imports are resolved against package."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:len(package.split(".")) - node.level + 1] if package else []
                base = ".".join([p for p in up if p] + ([base] if base else []))
            names += [f"{base}.{a.name}" if base else a.name for a in node.names] + ([base] if base else [])
    return names


def import_graph(root):
    """{module: set of project modules it imports}."""
    files = project_files(root)
    mods = {module_name(f): f for f in files}
    by_base = {}
    for m in mods:
        by_base.setdefault(m.rsplit(".", 1)[-1], []).append(m)
    graph = {}
    for m, f in mods.items():
        package = m.rsplit(".", 1)[0] if "." in m else ""
        here = os.path.dirname(f)
        edges = set()
        with open(os.path.join(root, f), encoding="utf-8") as fh:
            names = imported_names(fh.read(), package if not f.endswith("__init__.py") else m)
        for name in names:
            beside = ".".join(filter(None, [here.replace(os.sep, ".") if here != "." else "", name]))
            if name in mods:
                target = name
            elif beside in mods:  # a script's own folder is on sys.path
                target = beside
            elif "." not in name and len(by_base.get(name, [])) == 1:  # a folder put on sys.path
                target = by_base[name][0]
            else:
                continue
            if target != m:
                edges.add(target)
        graph[m] = edges
    return graph


def package_of(module):
    """A folder's modules are one node (its top folder); a top-level file is its own node."""
    return module.split(".")[0]


def package_graph(graph):
    out = {}
    for m, edges in graph.items():
        out.setdefault(package_of(m), set()).update(package_of(e) for e in edges if package_of(e) != package_of(m))
    return out


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan), each sorted; sorted list."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def longest_function(path):
    """(name, lines) of the longest function or method in a file."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    best = ("-", 0)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = node.end_lineno - node.lineno + 1
            best = max(best, (node.name, n), key=lambda x: x[1])
    return best


def main(argv=None):
    root = (argv or sys.argv[1:] or ["."])[0]
    top = sorted(f for f in os.listdir(root) if not f.startswith(".") and f not in SKIP - {"tests"})
    print("top level:", "  ".join(f + ("/" if os.path.isdir(os.path.join(root, f)) else "") for f in top))
    tops = [f for f in top if f.endswith(".py")]
    print(f"top-level .py files: {len(tops)} (design card: {sum(f in CARD for f in tops)} of {len(CARD)})")
    print("\nlines per file:")
    for f in project_files(root):
        with open(os.path.join(root, f), encoding="utf-8") as fh:
            print(f"  {sum(1 for _ in fh):5d}  {f}")
    print("\nlongest function of each design-card script:")
    for f in CARD:
        if os.path.isfile(os.path.join(root, f)):
            name, n = longest_function(os.path.join(root, f))
            print(f"  {f:18} {name}() {n} lines")
    graph = import_graph(root)
    mod, pkg = cycles(graph), cycles(package_graph(graph))
    print(f"\nimport cycles: {len(mod)} between modules, {len(pkg)} between packages")
    for c in mod + pkg:
        print("  " + " <-> ".join(c))
    return len(mod) + len(pkg)


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
