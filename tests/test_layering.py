"""The package layers of ``docs/architectures.md``, read from every module's imports (those inside functions too).

Fails on an import arrow that runs up a layer or sideways between packages of one layer, on a ``_private`` name
imported from another module, and on any muxnet import inside ``muxnet.runtime``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# bottom to top; "" is the package's own __init__ (the public re-exports)
LAYERS = (
    {"runtime"},
    {"layers"},
    {"models"},
    {"profiling", "deploy"},
    {"data"},
    {"train"},
    {"detection", "segmentation"},
    {"search", "robustness", "cam", "ablation"},
    {"", "cli"},
)
LEVEL = {package: level for level, packages in enumerate(LAYERS) for package in packages}

# (importing module, imported module) pairs tolerated while their owners rework them; empty when none
KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(module: str, source: str, is_package: bool) -> list[tuple[str, list[str], int]]:
    """``(imported module, imported names, line)`` of every import of ``source``, relative ones resolved."""
    here = module.split(".") if is_package else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            names = [alias.name for alias in node.names]
            if node.module is None:  # ``from . import x``: x may be a module
                found += [(f"{target}.{name}", [], node.lineno) for name in names]
            else:
                found.append((target, names, node.lineno))
    return found


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def violations(module: str, source: str, is_package: bool = False) -> list[str]:
    """What ``source`` (the text of ``module``) does that the layering forbids, one line each."""
    found = []
    mine = package_of(module)
    for target, names, line in imports(module, source, is_package):
        if target != "muxnet" and not target.startswith("muxnet."):
            continue
        where = f"{module}:{line}"
        theirs = package_of(target)
        if mine == "runtime" and theirs != "runtime":
            found.append(f"{where} imports {target}: runtime imports nothing of muxnet")
        elif theirs != mine and (module, target) not in KNOWN_EXCEPTIONS:
            if theirs not in LEVEL:
                found.append(f"{where} imports {target}, whose package {theirs!r} is on no layer")
            elif LEVEL[theirs] >= LEVEL[mine]:
                kind = "up" if LEVEL[theirs] > LEVEL[mine] else "sideways"
                found.append(f"{where} imports {target}: an arrow {kind} from {mine or 'muxnet'} "
                             f"(layer {LEVEL[mine] + 1}) to {theirs or 'muxnet'} (layer {LEVEL[theirs] + 1})")
        for name in names:
            if _private(name):
                found.append(f"{where} imports the private name {name} from {target}")
        parts = target.split(".")
        for i, part in enumerate(parts):
            parent = ".".join(parts[:i])
            if _private(part) and not (module + ".").startswith(parent + "."):
                found.append(f"{where} imports the private module {target} from outside {parent}")
    return found


def _modules() -> list[tuple[str, Path]]:
    return [(module_name(p), p) for p in sorted((SRC / "muxnet").rglob("*.py"))]


def test_every_package_is_on_a_layer():
    packages = {package_of(module) for module, _ in _modules()}
    assert packages - set(LEVEL) == set(), "add new packages to LAYERS here and in docs/architectures.md"
    assert set(LEVEL) - packages == set(), "a package on a layer no longer exists"


@pytest.mark.parametrize("module, path", _modules(), ids=[m for m, _ in _modules()])
def test_imports_follow_the_layers(module, path):
    assert violations(module, path.read_text(), path.name == "__init__.py") == []


def test_the_checker_sees_each_kind_of_violation():
    assert violations("muxnet.profiling.latency", "def f():\n    from ..train.checkpoint import atomic_write\n")
    assert violations("muxnet.cam.run", "from ..robustness import datasets\n")              # sideways
    assert violations("muxnet.data.x", "from .folders import _class_samples\n")              # private name
    assert violations("muxnet.search.driver.run", "from ..algorithms._state import rng\n")  # private module
    assert violations("muxnet.runtime.files", "import muxnet.models\n")
    assert violations("muxnet.layers", "from .. import cli\n", is_package=True)              # up, from __init__
    assert not violations("muxnet.search.algorithms.moead", "from ._state import rng\n")
    assert not violations("muxnet.cli", "from .deploy.export import export_model\nimport numpy\n")
    assert not violations("muxnet.deploy.export", "from . import deploy\nfrom ..runtime import atomic_write\n")
