"""The package's shape: no import circle, and the runtime's torch-free modules never import torch.

The import graph is read from the source (every ``import``/``from`` of a ``tts`` module, lazy
imports inside functions included, ``TYPE_CHECKING`` blocks excluded), so a circle fails here even
when lazy imports keep it from failing at run time.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tts"

#: modules the torch-free runtime (tts-synth's ONNX path, tts-voice's argument parsing) is built from
TORCH_FREE = (
    "tts",
    "tts.names",
    "tts.files",
    "tts.config",
    "tts.samplers",
    "tts.spectral",
    "tts.onnx_options",
    "tts.voice",
    "tts.speech",
    "tts.onnx_runtime",
    "tts.text",
    "tts.backends",
    "tts.cli.voice",
    "tts.cli.synth",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The ``tts`` modules that ``path`` imports (a ``from a import b`` counts as ``a.b`` when that
    is a module, else as ``a``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node)
            for b in node.body for n in ast.walk(b)}  # fmt: skip
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "tts")
        elif isinstance(node, ast.ImportFrom):
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
    assert "tts.voice" in graph and "tts.names" in graph["tts.precision"]  # the graph is read
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("module", TORCH_FREE)
def test_torch_free_modules_do_not_import_torch(module: str) -> None:
    code = f"import sys, {module}; sys.exit(3 if 'torch' in sys.modules else 0)"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"importing {module} imports torch" if run.returncode == 3 else run.stderr


def test_every_name_is_defined_once() -> None:
    """The shared choices live in tts.names; the implementations agree with them."""
    from tts.names import DURATION_ROUNDING, ONNX_DIR, PRECISIONS, SAMPLERS

    samplers = pytest.importorskip("tts.samplers")
    assert tuple(samplers.SAMPLERS) == SAMPLERS
    for path in PACKAGE.rglob("*.py"):
        if path.name == "names.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assigned = {
            t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
        }
        again = assigned & {"PRECISIONS", "DURATION_ROUNDING", "ONNX_DIR", "VOCODER_WEIGHTS", "ONNX_MANIFEST"}
        assert not again, f"{path.relative_to(ROOT)} defines {sorted(again)} again (they live in tts.names)"
    assert PRECISIONS[0] == "auto" and "ceil" in DURATION_ROUNDING and ONNX_DIR
