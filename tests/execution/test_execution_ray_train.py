"""DDP on a local two-node Ray cluster with Ray Train (gloo, one CPU worker per node) matches
single-process training within the torchrun test's tolerance."""

from __future__ import annotations

import time

import numpy as np
import pytest

from neurodl.estimators.neural import NeuralClassifier
from neurodl.exceptions import ConfigError
from neurodl.execution import ExecutionConfig, LocalRayCluster, connect_ray

pytest.importorskip("ray.train", reason="Ray Train is not installed: pip install 'neurodl[ray]'")
from neurodl.execution.ray_train import fit_distributed

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


@pytest.mark.slow  # starts a two-node cluster
def test_ray_train_two_workers_match_single_process(tmp_path):
    import ray
    import torch

    X, y = _data()
    t0 = time.monotonic()
    with LocalRayCluster(n_nodes=2, cpus_per_node=1) as cluster:
        cfg = ExecutionConfig(backend="ray", address=cluster.address)
        connect_ray(cfg)
        cluster.wait_for_nodes(ray)
        est = NeuralClassifier(**PARAMS)
        out = fit_distributed(est, X, y, num_workers=2, execution=cfg, storage_path=str(tmp_path))
        total_cpus = ray.cluster_resources().get("CPU")
    print(f"ray train test: {time.monotonic() - t0:.1f} s")
    assert out is est
    # one CPU per node and one per worker (Ray Train's default): a rank on each node
    assert total_cpus == 2
    single = NeuralClassifier(**PARAMS).fit(X, y)
    ref = single.model_.state_dict()
    got = est.model_.state_dict()
    assert got.keys() == ref.keys()  # the unwrapped module, no "module." prefix
    for k, v in ref.items():
        torch.testing.assert_close(got[k], v, atol=1e-5, rtol=0)
    for a, b in zip(est.history_, single.history_, strict=True):  # all-reduced metrics
        np.testing.assert_allclose(a["train_loss"], b["train_loss"], rtol=1e-5)
        np.testing.assert_allclose(a["valid_loss"], b["valid_loss"], rtol=1e-5)
        assert a["valid_accuracy"] == b["valid_accuracy"]
    np.testing.assert_array_equal(est.classes_, [0, 1])
    np.testing.assert_array_equal(est.predict(X), single.predict(X))


def test_bad_arguments_fail_before_any_cluster():
    X, y = _data()
    with pytest.raises(ConfigError, match="'num_workers'"):
        fit_distributed(NeuralClassifier(**PARAMS), X, y, num_workers=0)
    with pytest.raises(ConfigError, match="'estimator'"):
        fit_distributed(object(), X, y)
    with pytest.raises(ConfigError, match="'lr'"):
        fit_distributed(NeuralClassifier(**{**PARAMS, "lr": -1.0}), X, y)
    with pytest.raises(ConfigError, match="as many samples"):
        fit_distributed(NeuralClassifier(**PARAMS), X, y[:-1])
    import ray

    assert not ray.is_initialized()  # nothing was started
