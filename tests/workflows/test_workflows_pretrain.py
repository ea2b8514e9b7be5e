"""``options.pretrain``: self-supervised pretraining from a config, never on labelled recordings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from neurodl.exceptions import ConfigError
from neurodl.workflows import parse_config, run_config

EXAMPLE = Path(__file__).parents[2] / "examples" / "eegmmidb_imagery_lr_ssl.yaml"


def _fast(monkeypatch, shared_data, **changes):
    monkeypatch.setenv("NEURODL_DATA", str(shared_data("eeg").parent))
    raw = yaml.safe_load(EXAMPLE.read_text())
    pre = raw["options"]["pretrain"]
    pre["data"]["files"] = ["${NEURODL_DATA}/eeg/eegmmidb_S001/S001R0[12].edf"]
    pre.update(max_epochs=1, examples_per_window=1.0)
    raw["model"]["params"].update(n_steps=5)
    raw["options"]["baseline"] = None
    raw["evaluation"].update(n_permutations=0, n_boot=50, protocol_params={"n_splits": 3})
    for key, value in changes.items():
        raw["options"]["pretrain"][key] = value
    return raw


@pytest.mark.realdata
def test_pretrained_network_from_the_example_config(shared_data, monkeypatch, tmp_path):
    res = run_config(parse_config(_fast(monkeypatch, shared_data)), tmp_path / "out").results
    pre = res["pretraining"]
    assert pre["objective"] == "relative_positioning" and pre["model"] == "shallow"
    # runs 1 and 2 (one minute each) cut into 2 s windows, none shared with runs 4/8/12
    assert pre["n_windows"] == 60 and pre["window_shape"] == [64, 320]
    assert pre["n_recordings"] == 2 and pre["shared_recordings_with_labelled_data"] == 0
    assert len(pre["pretext_loss"]) == 1 and pre["n_examples"] > 0
    assert res["model"] == "ssl_finetune" and res["model_kind"] == "neural"
    assert res["n_samples"] == 45 and res["n_splits"] == 3
    assert 0.0 <= res["score_mean"] <= 1.0


@pytest.mark.realdata
def test_a_pool_sharing_a_labelled_run_is_refused(shared_data, monkeypatch):
    raw = _fast(monkeypatch, shared_data)
    raw["options"]["pretrain"]["data"]["files"] = [
        "${NEURODL_DATA}/eeg/eegmmidb_S001/S001R01.edf",
        "${NEURODL_DATA}/eeg/eegmmidb_S001/S001R08.edf",  # a labelled imagery run
    ]
    with pytest.raises(ConfigError, match=r"shares 1 recording.*S001/-/8"):
        run_config(parse_config(raw), None)


def test_pretrain_needs_the_fine_tuned_model(tmp_path):
    raw = {
        "task": "decoding",
        "data": {"source": "simulate", "simulator": "motor_imagery"},
        "model": {"name": "lda"},
        "options": {"pretrain": {"data": {"source": "simulate", "simulator": "evoked"}}},
    }
    with pytest.raises(ConfigError, match=r"options.pretrain needs a model .*ssl_finetune.*'lda'"):
        run_config(parse_config(raw), None)


def test_unset_environment_variable_in_files_is_named(monkeypatch):
    monkeypatch.delenv("NEURODL_NOT_SET", raising=False)
    raw = {
        "task": "decoding",
        "data": {"source": "files", "files": ["${NEURODL_NOT_SET}/x.edf"]},
        "model": {"name": "lda"},
    }
    with pytest.raises(ConfigError, match=r"NEURODL_NOT_SET.*environment variable"):
        run_config(parse_config(raw), None)
