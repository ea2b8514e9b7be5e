"""DDP over gloo with 2 CPU processes (torchrun) matches single-process training."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from neurodl.estimators.distributed import fit_distributed
from neurodl.estimators.neural import NeuralClassifier
from neurodl.exceptions import ConfigError

PARAMS = {
    "model": "mlp",
    "model_params": {"n_hidden": 8},  # no dropout: ranks would draw different masks
    "max_epochs": 4,
    "batch_size": 16,  # 8 per rank
    "lr": 0.01,
    "device": "cpu",
    "random_state": 3,
    "validation_fraction": 0.2,  # 80 samples -> 64 train (4 global batches) + 16 validation
    "patience": 10,
    "num_threads": 1,
}


def _data():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 40)
    X = rng.normal(size=(80, 3, 12)).astype(np.float32)
    X[y == 1, 1] += 0.7
    return X, y


def test_torchrun_two_gloo_processes_match_single_process(tmp_path):
    X, y = _data()
    np.savez(tmp_path / "data.npz", X=X, y=y)
    ckdir = tmp_path / "ckpt"
    spec = {"class": "NeuralClassifier", "params": {**PARAMS, "checkpoint_dir": str(ckdir)}}
    (tmp_path / "est.json").write_text(json.dumps(spec))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "neurodl.estimators.distributed",
        "--data", str(tmp_path / "data.npz"), "--estimator", str(tmp_path / "est.json"),
        "--out", str(tmp_path / "model.pt"), "--backend", "gloo",
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ddp = torch.load(tmp_path / "model.pt", weights_only=True)

    single = NeuralClassifier(**PARAMS).fit(X, y)
    ref = single.model_.state_dict()
    assert ddp["state_dict"].keys() == ref.keys()  # unwrapped module: no "module." prefix
    for k, v in ref.items():
        torch.testing.assert_close(ddp["state_dict"][k], v, atol=1e-5, rtol=0)
    # all-reduced metrics equal the single-process ones
    for a, b in zip(ddp["history"], single.history_, strict=True):
        np.testing.assert_allclose(a["train_loss"], b["train_loss"], rtol=1e-5)
        np.testing.assert_allclose(a["valid_loss"], b["valid_loss"], rtol=1e-5)
        assert a["valid_accuracy"] == b["valid_accuracy"]
    assert ddp["classes"] == [0, 1]
    # rank 0 alone checkpointed
    assert len([p for p in ckdir.iterdir() if p.suffix == ".pt"]) == 1


def test_fit_distributed_needs_a_process_group(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    X, y = _data()
    with pytest.raises(ConfigError, match="launch with torchrun"):
        fit_distributed(NeuralClassifier(**PARAMS), X, y)
    with pytest.raises(TypeError, match="'estimator'"):
        fit_distributed(object(), X, y)  # type: ignore[arg-type]
