"""Lower layers never import higher ones (cf. MNE's test_import_nesting)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "neurodl"
LAYERS = [
    "data",
    "io",
    "datasets",
    "privacy",
    "preprocessing",
    "models",
    "estimators",
    "execution",
    "evaluation",
    "analyses",
    "report",
    "workflows",
    "cli",
]
CORE = {"_config", "_logging", "exceptions"}


def _imported_subpackages(path: Path, rel_parts: tuple[str, ...]) -> set[str]:
    """Return the top-level neurodl subpackages a module imports (absolute or relative)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and node.module.startswith("neurodl."):
                found.add(node.module.split(".")[1])
            elif node.level > 0:
                base = list(rel_parts[: len(rel_parts) - node.level])
                target = base + (node.module.split(".") if node.module else [])
                if target:
                    found.add(target[0])
                else:  # "from .. import x" at package top: names are subpackages
                    found.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("neurodl."):
                    found.add(a.name.split(".")[1])
    return found


def _modules():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).with_suffix("").parts
        if len(rel) >= 2 and rel[0] in LAYERS:
            yield pytest.param(path, rel, id="/".join(rel))


@pytest.mark.parametrize(("path", "rel"), list(_modules()))
def test_lower_layers_never_import_higher(path, rel):
    own = LAYERS.index(rel[0])
    for target in _imported_subpackages(path, rel):
        if target in LAYERS:
            assert LAYERS.index(target) <= own, (
                f"neurodl/{'/'.join(rel)}.py (layer {rel[0]!r}) imports the higher layer {target!r}"
            )


@pytest.mark.parametrize("core", sorted(CORE))
def test_core_modules_import_no_layer(core):
    imported = _imported_subpackages(PKG / f"{core}.py", (core,))
    assert not imported & set(LAYERS), f"{core}.py imports {imported & set(LAYERS)}"


def test_import_does_no_heavy_work():
    import subprocess
    import sys

    code = "import sys, neurodl; bad = [m for m in ('torch', 'mne', 'nibabel', 'pynwb') if m in sys.modules]; print(','.join(bad))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import neurodl pulled in {out.stdout.strip()}"
