"""The Bonn network examples (examples/bonn_5class_net.yaml, examples/bonn_e_vs_abcd_net.yaml).

The configs are checked as written (network, baseline beside it, leakage-safe protocol); the
real-data test runs a tiny fast copy (3 epochs, one narrow member, 2 permutations) end to end
through ``run_config`` and checks the protocol's bookkeeping, not the published accuracy (that
takes minutes: benchmarks/results/eeg_decoding.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from neurodl.workflows import load_config, parse_config, run_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

#: example -> (classes, number of Bonn segments).
EXPECTED = {
    "bonn_5class_net": (["A", "B", "C", "D", "E"], 500),
    "bonn_e_vs_abcd_net": (["E", "ABCD"], 500),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_net_example_configs_validate(name):
    cfg = load_config(EXAMPLES / f"{name}.yaml")
    assert cfg.task == "decoding"
    assert cfg.model.name == "stftnet"
    assert cfg.data.params["sets"] == EXPECTED[name][0]
    assert cfg.data.params["window"] == 1024
    assert "stride" not in cfg.data.params  # standard non-overlapping windows
    assert cfg.evaluation.protocol == "grouped-kfold"
    assert cfg.evaluation.protocol_params == {"n_splits": 5, "group_by": "segment"}
    assert cfg.evaluation.metric == "balanced_accuracy"
    opts = cfg.task_options()
    assert opts.baseline is not None and opts.baseline.name == "logbandpower_lr"
    assert len(opts.baseline.params["bands"]) == 15
    # one thread per fit: the shared CI machines have 2 cores
    assert cfg.model.params["num_threads"] == 1
    assert cfg.model.params["early_stopping"] is False
    assert cfg.model.params["n_members"] == 3  # the reported numbers are a 3-member ensemble


def test_net_examples_differ_only_in_the_task():
    a = yaml.safe_load((EXAMPLES / "bonn_5class_net.yaml").read_text())
    b = yaml.safe_load((EXAMPLES / "bonn_e_vs_abcd_net.yaml").read_text())
    assert a["model"] == b["model"] and a["options"] == b["options"]
    assert a["evaluation"] == b["evaluation"]


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_net_example_fast_copy_runs(name, shared_data, tmp_path):
    root = shared_data("eeg").parent
    raw = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    raw["data"]["data_root"] = str(root)
    raw["model"]["params"].update(max_epochs=3, lr=3e-3, width=8, n_blocks=1, n_members=1)
    raw["evaluation"].update(n_permutations=2, n_boot=50)
    cfg = parse_config(raw)
    run_config(cfg, tmp_path / "out")
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    classes, n_segments = EXPECTED[name]
    assert res["classes"] == classes
    assert res["model"] == "stftnet" and res["model_kind"] == "neural"
    assert res["n_splits"] == 5 and res["n_samples"] == 4 * n_segments
    assert len(res["fold_scores"]) == 5
    # auto: the permutation test refits the baseline only; the network gets the held-out test
    assert res["p_value"] == res["models"]["stftnet"]["p_value"] is not None
    assert res["models"]["stftnet"]["permutation_method"] == "held_out"
    assert res["baseline"] == "logbandpower_lr"
    base = res["models"]["logbandpower_lr"]
    assert base["p_value"] is not None and base["n_permutations"] == 2
    assert base["role"] == "baseline" and len(base["fold_scores"]) == 5
    assert res["comparison"]["model_b"] == "logbandpower_lr"
    # the baseline is cheap and deterministic: far above chance on every fold
    assert min(base["fold_scores"]) > res["chance_level"] + 0.3
    # three epochs of a tiny network already beat chance on these data
    assert res["score_mean"] > res["chance_level"] + 0.1
    assert len(res["learning_curves"]) == 5
    assert all(len(c["epoch"]) == 3 for c in res["learning_curves"])


def test_vote_example_uses_the_fixed_recipes():
    # pre-registration guard: the vote's members are exactly the StftNet example's network and
    # the Deep4 benchmark row, and the protocol/baseline are the network example's
    vote = yaml.safe_load((EXAMPLES / "bonn_5class_vote.yaml").read_text())
    net = yaml.safe_load((EXAMPLES / "bonn_5class_net.yaml").read_text())
    assert vote["model"]["name"] == "soft_vote"
    stft, deep4 = vote["model"]["params"]["members"]
    assert stft == {"name": "stftnet", "params": net["model"]["params"]}
    assert deep4 == {
        "name": "deep4",
        "params": {
            "max_epochs": 30,
            "batch_size": 64,
            "lr": 0.001,
            "early_stopping": False,
            "validation_fraction": None,
            "num_threads": 1,
        },
    }
    assert vote["data"] == net["data"] and vote["evaluation"]["protocol_params"] == {
        "n_splits": 5,
        "group_by": "segment",
    }
    assert vote["options"]["baseline"] == net["options"]["baseline"]
    assert vote["options"]["permutation_model"] == "baseline"


@pytest.mark.realdata
def test_vote_example_fast_copy_runs(shared_data, tmp_path):
    raw = yaml.safe_load((EXAMPLES / "bonn_5class_vote.yaml").read_text())
    raw["data"]["data_root"] = str(shared_data("eeg").parent)
    stft, deep4 = raw["model"]["params"]["members"]
    stft["params"].update(max_epochs=2, lr=3e-3, width=8, n_blocks=1, n_members=1)
    deep4["params"].update(max_epochs=1)
    raw["evaluation"].update(n_permutations=0, n_boot=50, n_jobs=1)
    raw["options"]["baseline"] = None
    raw["options"]["permutation_model"] = "auto"
    res = run_config(parse_config(raw), tmp_path / "out").results
    assert res["model"] == "soft_vote" and res["n_splits"] == 5
    assert res["n_samples"] == 2000 and res["score_mean"] > res["chance_level"] + 0.1
    assert res["pairwise"]["method"] == "predictions" and len(res["pairwise"]["pairs"]) == 10
