"""Every example's results.json follows its task's JSON schema (fast copies on the real data).

Each example config runs with its recipe shrunk (at most 2 epochs, 1 ensemble member, no
permutations, 50 bootstrap resamples), which keeps every code path that writes results but not
the cost. The output on disk is validated with ``jsonschema`` against the schema generated from
the task's result class, and read back into that class.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from neurodl.workflows import TASKS, parse_config, run_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

#: Examples whose shrunk copy still takes minutes on 2 CPU cores; their task is covered by the
#: cheaper examples below, and their own recipes by tests/workflows/test_workflows_*_examples.py.
SLOW = {
    "bonn_5class_vote": "two networks on 2000 windows (about 2 min shrunk); decoding covered",
    "bonn_5class_net": "StftNet on 2000 windows; decoding covered",
    "haxby_8way_cnn": "voxel CNN x 12 runs (about 2 min shrunk); decoding covered",
    "haxby_face_vs_house_cnn": "voxel CNN x 12 runs (about 1 min shrunk); decoding covered",
    "haxby_encoding_mlp": "MLP encoder (about 1 min shrunk); encoding covered by haxby_encoding",
    "haxby_8way": "8-way LDA with pairwise CVs (about 30 s); decoding covered",
    "haxby_face_vs_house": "12 runs LDA (about 30 s); decoding covered",
    "bonn_e_vs_cd_site_shift": "StftNet x 5 folds on 2400 windows (about 1.5 min shrunk); "
    "cross-dataset + adaptation covered by test_workflows_crossdataset.py",
    "eegmat_rest_vs_arithmetic_loso": "ShallowNet x 12 LOSO folds on 24 EDF files; decoding + "
    "adaptation covered by test_workflows_crossdataset.py",
    "abide_autism_connectome": "343 subjects x 19,900 edges, 10 sites, BrainNetCNN (minutes "
    "shrunk); biomarker covered by eegmat_counting_quality and test_workflows_biomarker.py",
}


def _shrink(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("max_epochs", "epochs", "n_epochs") and isinstance(value, int):
                node[key] = min(value, 2)
            elif key == "n_members" and isinstance(value, int):
                node[key] = 1
            elif key == "n_permutations" and isinstance(value, int):
                node[key] = 0
            elif key == "n_boot" and isinstance(value, int):
                node[key] = min(value, 50)
            else:
                _shrink(value)
    elif isinstance(node, list):
        for value in node:
            _shrink(value)
    return node


def _examples():
    for path in sorted(EXAMPLES.glob("*.yaml")):
        marks = [pytest.mark.realdata]
        if path.stem in SLOW:
            marks.append(pytest.mark.skip(reason=SLOW[path.stem]))
        yield pytest.param(path, id=path.stem, marks=marks)


def test_every_task_has_a_fast_example():
    covered = {
        yaml.safe_load(p.read_text()).get("task", "decoding")
        for p in EXAMPLES.glob("*.yaml")
        if p.stem not in SLOW
    }
    assert covered == set(TASKS)


@pytest.mark.parametrize("path", list(_examples()))
def test_example_results_follow_the_task_schema(path, shared_data, tmp_path):
    shared_data("eeg")  # the examples read $NEURODL_DATA (skip without it)
    raw = _shrink(yaml.safe_load(path.read_text()))
    raw.setdefault("report", {})["enabled"] = False
    cfg = parse_config(raw, source=path.name)
    cfg._config_dir = EXAMPLES
    run = run_config(cfg, tmp_path / "out")
    on_disk = json.loads((tmp_path / "out" / "results.json").read_text())
    cls = TASKS[cfg.task].result
    jsonschema.validate(on_disk, cls.json_schema())
    assert cls.from_dict(on_disk) == run.result
    assert on_disk["task"] == cfg.task and on_disk["schema_version"] >= 2
