"""The package's shape: no import circle, and the torch-free part is a set of packages.

The import graph is read from the source (every ``import``/``from`` of a ``tts`` module, lazy
imports inside functions included, ``TYPE_CHECKING`` blocks excluded), so a circle fails here even
when lazy imports keep it from failing at run time.

The torch-free modules are found by walking folders, not listed: every module of ``tts.core`` and
``tts.text``, every module of ``tts.runtime`` but the PyTorch backend's, and the entry points
``tts``, ``tts.cli.synth`` and ``tts.cli.voice``. Each is imported in a fresh interpreter that must
not load torch; ``tts.core`` and ``tts.text`` may moreover import (even lazily) neither torch nor any
``tts`` module outside themselves.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tts"

#: packages that are torch-free throughout and import no ``tts`` module outside themselves
TORCH_FREE_PACKAGES = ("tts.core", "tts.text")
#: the modules of ``tts.runtime`` that run on PyTorch; every other runtime module is torch-free
TORCH_RUNTIME = ("tts.runtime.torch",)
#: torch-free entry points outside those packages: ``import tts``, tts-synth, tts-voice's parser
TORCH_FREE_ENTRY_POINTS = ("tts", "tts.cli.synth", "tts.cli.voice")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules_under(package: str) -> list[str]:
    """Every module of ``package``, the package itself included, found by walking its folder."""
    folder = ROOT.joinpath(*package.split("."))
    return sorted(_module_name(p) for p in folder.rglob("*.py"))


def torch_free_modules() -> list[str]:
    """The modules that must import without torch (module docstring)."""
    found = [m for package in TORCH_FREE_PACKAGES for m in modules_under(package)]
    found += [m for m in modules_under("tts.runtime") if m not in TORCH_RUNTIME]
    return [*TORCH_FREE_ENTRY_POINTS, *found]


def _inside(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _import_nodes(path: Path) -> list[ast.Import | ast.ImportFrom]:
    """The import statements of ``path``, lazy ones included, ``TYPE_CHECKING`` blocks excluded."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node)
            for b in node.body for n in ast.walk(b)}  # fmt: skip
    return [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and id(n) not in skip]


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The ``tts`` modules that ``path`` imports (a ``from a import b`` counts as ``a.b`` when that
    is a module, else as ``a``)."""
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in _import_nodes(path):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "tts")
        else:
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "tts":
                continue
            for a in node.names:
                found.add(f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target)
    return {m for m in found if m in modules and m != me}


def _external_imports(path: Path) -> set[str]:
    """The top-level names of the packages other than ``tts`` that ``path`` imports."""
    found: set[str] = set()
    for node in _import_nodes(path):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found - {"tts"}


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    return {name: _imports(path, modules) for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a path ``[a, b, ..., a]``, or None (depth-first search, three colours)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(v: str) -> list[str] | None:
        state[v] = 1
        path.append(v)
        for w in sorted(graph.get(v, ())):
            if state.get(w) == 1:
                return path[path.index(w) :] + [w]
            if w not in state and (c := visit(w)):
                return c
        path.pop()
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state and (c := visit(v)):
            return c
    return None


def test_cycle_finder_finds_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_package_has_no_import_circle() -> None:
    graph = import_graph()
    # the graph is read
    assert "tts.core.voice" in graph and "tts.core.names" in graph["tts.models.precision"]
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_the_torch_free_modules_are_found() -> None:
    """The walk finds the modules the runtime is built from, and every named exception exists."""
    found = set(torch_free_modules())
    assert {"tts.core.voice", "tts.core.pipeline", "tts.text.frontend"} <= found
    assert {"tts.runtime.base", "tts.runtime.onnx", "tts.runtime.load"} <= found
    assert not found & set(TORCH_RUNTIME)
    assert set(TORCH_RUNTIME) <= set(modules_under("tts.runtime"))


@pytest.mark.parametrize("module", torch_free_modules())
def test_torch_free_modules_do_not_import_torch(module: str) -> None:
    code = f"import sys, {module}; sys.exit(3 if 'torch' in sys.modules else 0)"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"importing {module} imports torch" if run.returncode == 3 else run.stderr


def test_core_and_text_import_nothing_outside_them() -> None:
    """``tts.core`` and ``tts.text`` import (lazy imports included) no other ``tts`` module and not
    torch, so no code path of theirs can pull in a model."""
    graph = import_graph()
    outside = {
        m: sorted(d for d in deps if not _inside(d, TORCH_FREE_PACKAGES))
        for m, deps in graph.items()
        if _inside(m, TORCH_FREE_PACKAGES)
    }
    assert len(outside) >= 20  # the graph holds both packages
    bad = {m: d for m, d in outside.items() if d}
    assert not bad, f"tts.core/tts.text import modules outside them: {bad}"
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    torch_users = sorted(m for m in outside if "torch" in _external_imports(files[m]))
    assert not torch_users, f"{torch_users} import torch"


def test_every_name_is_defined_once() -> None:
    """The shared choices live in tts.core.names; the implementations agree with them."""
    from tts.core.names import DURATION_ROUNDING, ONNX_DIR, PRECISIONS, SAMPLERS

    samplers = pytest.importorskip("tts.core.samplers")
    assert tuple(samplers.SAMPLERS) == SAMPLERS
    for path in PACKAGE.rglob("*.py"):
        if path.name == "names.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assigned = {
            t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
        }
        again = assigned & {"PRECISIONS", "DURATION_ROUNDING", "ONNX_DIR", "VOCODER_WEIGHTS", "ONNX_MANIFEST"}
        assert not again, (
            f"{path.relative_to(ROOT)} defines {sorted(again)} again (they live in tts.core.names)"
        )
    assert PRECISIONS[0] == "auto" and "ceil" in DURATION_ROUNDING and ONNX_DIR


def unresolved_imports(paths: list[Path]) -> list[str]:
    """The ``from tts.X import name`` / ``import tts.X`` statements of ``paths``, lazy ones included,
    that do not resolve: a module that is gone, or a name it no longer has. A move between packages
    breaks exactly these, and in a script that no test runs they only fail when a user runs it."""
    import importlib

    bad = []
    for path in paths:
        for node in _import_nodes(path):
            if isinstance(node, ast.Import):
                targets = [(a.name, None) for a in node.names if a.name.split(".")[0] == "tts"]
            elif not node.level and (node.module or "").split(".")[0] == "tts":
                targets = [(node.module, a.name) for a in node.names if a.name != "*"]
            else:
                continue
            for module, name in targets:
                try:
                    mod = importlib.import_module(module)
                except ImportError as e:
                    bad.append(f"{path.name}:{node.lineno}: {e}")
                    continue
                if name is None or hasattr(mod, name):
                    continue
                try:
                    importlib.import_module(f"{module}.{name}")
                except ImportError:
                    bad.append(f"{path.name}:{node.lineno}: {module} has no {name}")
    return bad


def test_every_import_of_a_project_module_resolves(tmp_path) -> None:
    """In the package, the benchmarks, the recipes and the tests."""
    files = sorted(
        p for folder in ("tts", "benchmarks", "recipes", "tests") for p in (ROOT / folder).rglob("*.py")
    )
    assert len(files) > 150
    assert unresolved_imports(files) == []
    stale = tmp_path / "old.py"  # the checker itself can fail
    stale.write_text("def f():\n    from tts.core.voice import PRECISIONS\n    import tts.no_such_module\n")
    found = unresolved_imports([stale])
    assert len(found) == 2 and "has no PRECISIONS" in found[0] and "no_such_module" in found[1], found
