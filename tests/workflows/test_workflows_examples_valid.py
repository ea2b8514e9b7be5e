"""Every shipped example config validates, and the README names only examples that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from neurodl.workflows import load_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 20


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_config_validates(path):
    cfg = load_config(path)
    cfg.task_options()  # the task's own options, strictly validated
    assert cfg.config_dir == path.parent.resolve()
    # every example says how to run it or what it measured in its header comment
    assert path.read_text().lstrip().startswith("#"), f"{path.name} has no header comment"


def test_readme_names_existing_examples():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Ready-made analyses", 1)[1].split("\n## ", 1)[0]
    names = set(re.findall(r"`([a-z0-9_*]+)`", table.split("|---|---|", 1)[1]))
    stems = {p.stem for p in EXAMPLES}
    from neurodl.workflows import TASKS

    tasks = set(TASKS)
    assert "chewie_velocity" in names  # the parse found the table
    for name in sorted(names - tasks):
        pattern = re.compile("^" + name.replace("*", ".*") + "$")
        assert any(pattern.match(s) for s in stems), f"README names {name!r}: no such example"
