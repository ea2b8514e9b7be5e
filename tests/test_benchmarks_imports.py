"""One house: benchmarks call the library (never the run layer), and no file names a machine path.

The scripts in ``benchmarks/`` may import :mod:`neurodl` library modules only, not
``neurodl.workflows`` or ``neurodl.cli``; ``benchmarks/``, ``examples/`` and ``README.md`` name
paths relative to the repository (e.g. ``../shared/data``), never absolute machine paths.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_MODULES = ("neurodl.workflows", "neurodl.cli")
#: an absolute path under one of these roots (not preceded by a path or word character, so
#: ``../shared/data`` or ``runs/tmp/x`` do not match)
ABSOLUTE_PATH = re.compile(r"(?<![\w./~-])/(?:work|root|home|tmp)/")

BENCHMARK_SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py"))
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".txt", ".json", ".toml", ".cfg", ".sh", ".ipynb"}


def _text_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for folder in ("benchmarks", "examples"):
        files += [
            p
            for p in sorted((ROOT / folder).rglob("*"))
            if p.is_file() and p.suffix in TEXT_SUFFIXES and "__pycache__" not in p.parts
        ]
    return [p for p in files if p.exists()]


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import, ``from x import y`` giving both ``x`` and ``x.y``."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module))
            out += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif (  # importlib.import_module("neurodl.workflows...") / __import__("...")
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            out.append((node.lineno, node.args[0].value))
    return out


def _forbidden(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in FORBIDDEN_MODULES)


def test_benchmark_scripts_exist() -> None:
    assert BENCHMARK_SCRIPTS, "no benchmarks/*.py found"


@pytest.mark.parametrize("path", BENCHMARK_SCRIPTS, ids=lambda p: p.name)
def test_benchmark_imports_no_run_layer(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = [f"line {line}: {mod}" for line, mod in _imported_modules(tree) if _forbidden(mod)]
    assert not bad, f"{path.name} imports the run layer ({', '.join(FORBIDDEN_MODULES)}): {bad}"


def test_import_check_catches_run_layer() -> None:
    src = "from neurodl.workflows.run import run_config\nimport neurodl.cli\nfrom neurodl import cli\n"
    found = [m for _, m in _imported_modules(ast.parse(src)) if _forbidden(m)]
    assert found == [
        "neurodl.workflows.run",
        "neurodl.workflows.run.run_config",
        "neurodl.cli",
        "neurodl.cli",
    ]


def test_no_absolute_machine_paths() -> None:
    bad = []
    for path in _text_files():
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines()):
            if ABSOLUTE_PATH.search(line):
                bad.append(f"{path.relative_to(ROOT)}:{i + 1}: {line.strip()[:120]}")
    assert not bad, "absolute machine paths (use paths relative to the repository):\n" + "\n".join(
        bad
    )


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("NEURODL_DATA=/work/shared/data", True),
        ("--out /tmp/x", True),
        ("see /root/.cache", True),
        ("`/home/user/data`", True),
        ("NEURODL_DATA=../shared/data", False),
        ("runs/tmp/x and data/home/y", False),
    ],
)
def test_absolute_path_pattern(text: str, hit: bool) -> None:
    assert bool(ABSOLUTE_PATH.search(text)) is hit
