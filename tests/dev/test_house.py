"""dev/house.py: the import-cycle finder on constructed trees (cycles it must find, and a clean tree),
then this project's own graph, which must have no cycle between modules or between packages.
Run: .venv/bin/python -m pytest -q tests/dev/test_house.py"""
import os

from dev import house

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write(tmp_path, files):
    for path, text in files.items():
        p = tmp_path / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return str(tmp_path)


def test_finds_module_cycles_including_function_level_imports(tmp_path):
    root = write(tmp_path, {
        "a.py": "import b\n",
        "b.py": "def f():\n    from c import g\n",            # inside a function: still an edge
        "c.py": "from a import x\n",
        "d.py": "import numpy\nimport a\n",                     # outside the project / not in a cycle
    })
    graph = house.import_graph(root)
    assert graph["d"] == {"a"}                                   # numpy is not a project module
    assert house.cycles(graph) == [["a", "b", "c"]]


def test_finds_a_package_cycle_that_no_two_modules_form(tmp_path):
    # lib/low.py imports top.py, which imports lib/high.py: no module cycle, but lib <-> top
    root = write(tmp_path, {"lib/__init__.py": "", "lib/low.py": "import top\n",
                            "lib/high.py": "X = 1\n", "top.py": "from lib.high import X\n"})
    graph = house.import_graph(root)
    assert house.cycles(graph) == []
    assert graph["top"] == {"lib.high"}
    assert house.cycles(house.package_graph(graph)) == [["lib", "top"]]


def test_resolves_relative_imports_and_script_folders(tmp_path):
    root = write(tmp_path, {"pkg/__init__.py": "", "pkg/x.py": "from . import y\n",
                            "pkg/y.py": "from .x import f\n",
                            "data/toy_enfr/prepare.py": "import tokenbin\n",
                            "data/toy_enfr/lexicon.py": "import prepare\n", "tokenbin.py": ""})
    graph = house.import_graph(root)
    assert "pkg.y" in graph["pkg.x"] and "pkg.x" in graph["pkg.y"]
    assert graph["data.toy_enfr.lexicon"] == {"data.toy_enfr.prepare"}   # beside it: its folder is on the path
    assert house.cycles(graph) == [["pkg.x", "pkg.y"]]


def test_a_clean_tree_has_no_cycle(tmp_path):
    root = write(tmp_path, {"a.py": "import b\n", "b.py": "import c\n", "c.py": ""})
    assert house.cycles(house.import_graph(root)) == []


def test_this_project_has_no_import_cycle():
    graph = house.import_graph(ROOT)
    assert len(graph) > 20                                       # it did read the project
    assert house.cycles(graph) == [], "import cycles between modules"
    assert house.cycles(house.package_graph(graph)) == [], "import cycles between packages"


def test_docstrings_name_files_that_exist():
    """Every .py / .md / .sh a docstring names (commands, "see X") exists, from the root or beside the
    file: a file moved without its references fails here. Outputs (out/...) are not files yet."""
    import ast
    import glob
    import re
    files = house.project_files(ROOT) + [os.path.relpath(p, ROOT) for p in glob.glob(f"{ROOT}/tests/**/*.py", recursive=True)]
    stale = []
    for f in files:
        with open(os.path.join(ROOT, f), encoding="utf-8") as fh:
            doc = ast.get_docstring(ast.parse(fh.read())) or ""
        for name in re.findall(r"(?<![\w/.*<-])([\w/.-]+\.(?:py|md|sh))\b", doc):
            if not name.startswith("out/") and not any(os.path.exists(os.path.join(ROOT, d, name))
                                                       for d in ("", os.path.dirname(f))):
                stale.append(f"{f}: {name}")
    assert not stale, stale


def test_readme_and_docs_name_files_and_modules_that_exist():
    """Every file path the README and docs/ name, and every `python -m X` they run, exists (outputs and
    a user's own files aside: out/, data/ other than the toy, and the manifest examples)."""
    import glob
    import re
    stale = []
    for md in ["README.md"] + sorted(glob.glob(f"{ROOT}/docs/*.md")):
        text = open(os.path.join(ROOT, md), encoding="utf-8").read()
        for name in re.findall(r"(?<![\w/.*<$-])((?:[\w-]+/)*[\w.-]+\.(?:py|md|sh|png))\b", text):
            if (name.startswith(("out/", "data/")) and not name.startswith("data/toy_enfr/")) or \
                    ("/" not in name and not name.endswith((".py", ".sh"))):  # outputs: report.md, align.png
                continue
            if not any(os.path.exists(os.path.join(ROOT, d, name)) for d in ("", "docs")):
                stale.append(f"{md}: {name}")
        for mod in re.findall(r"python -m ([\w.]+)", text):
            if mod not in ("pytest",) and not os.path.isfile(os.path.join(ROOT, *mod.split(".")) + ".py"):
                stale.append(f"{md}: python -m {mod}")
    assert not stale, stale
