"""Batches drawn within one group (domain-specific batch norm) and the TSMNet model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodl.estimators import NeuralClassifier
from neurodl.estimators.torch_engine import TrainConfig
from neurodl.estimators.torch_engine.loop import train
from neurodl.estimators.torch_engine.parallel import DistContext, group_train_order
from neurodl.exceptions import ConfigError


def test_group_batches_never_mix_groups_and_cover_every_sample():
    groups = np.repeat([3, 7, 9], [10, 7, 12])
    seen = []
    for epoch in range(3):
        batches = group_train_order(groups, batch_size=4, seed=1, epoch=epoch)
        idx = torch.cat(batches).numpy()
        assert all(len(set(groups[b.numpy()])) == 1 for b in batches)
        assert all(len(b) > 1 for b in batches)
        # every sample once, but for a group's remainder of one sample (group 9 has 7 = 4 + 3)
        assert len(idx) == len(set(idx.tolist())) == len(groups)
        seen.append(idx.tolist())
    assert seen[0] != seen[1]  # reshuffled every epoch
    again = torch.cat(group_train_order(groups, batch_size=4, seed=1, epoch=0)).tolist()
    assert again == seen[0]  # and reproducible
    # a remainder of one sample is dropped: 5 samples in batches of 2
    sizes = [len(b) for b in group_train_order(np.zeros(5), 2, seed=0, epoch=0)]
    assert sorted(sizes) == [2, 2]


class _RecordGroups(torch.nn.Module):
    """Linear read-out of the channel means; records which groups each training batch held
    (channel 0 carries the group code)."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(2, 2)
        self.batches: list[set[int]] = []

    def forward(self, x):
        if self.training:
            self.batches.append(set(x[:, 0, 0].round().int().tolist()))
        return self.lin(x.mean(-1))


def test_training_batches_hold_one_group_only():
    groups = np.repeat([0, 1, 2], 8)
    X = np.zeros((24, 2, 4), dtype="float32")
    X[:, 0, :] = groups[:, None]
    y = np.tile([0, 1], 12)
    model = _RecordGroups()
    cfg = TrainConfig(task="classification", max_epochs=2, batch_size=5, batch_groups=groups)
    train(model, X, y, None, None, cfg)
    assert len(model.batches) == 2 * 3 * 2  # 8 samples per group: batches of 5 and 3
    assert all(len(b) == 1 for b in model.batches)
    mixed = _RecordGroups()
    cfg = TrainConfig(task="classification", max_epochs=2, batch_size=5)
    train(mixed, X, y, None, None, cfg)
    assert any(len(b) > 1 for b in mixed.batches)  # the default shuffles across groups


def test_group_codes_must_match_the_samples_and_stay_single_process():
    X, y = np.zeros((6, 2, 4), dtype="float32"), np.tile([0, 1], 3)
    cfg = TrainConfig(task="classification", max_epochs=1, batch_groups=np.zeros(5))
    with pytest.raises(ConfigError, match="'batch_groups': expected one group per sample"):
        train(_RecordGroups(), X, y, None, None, cfg)
    cfg = TrainConfig(task="classification", max_epochs=1, batch_groups=np.arange(6))
    with pytest.raises(ConfigError, match="no group has 2 training samples"):
        train(_RecordGroups(), X, y, None, None, cfg)
    cfg = TrainConfig(task="classification", max_epochs=1, batch_groups=np.zeros(6))
    with pytest.raises(ConfigError, match="single-process only; got world_size=2"):
        train(_RecordGroups(), X, y, None, None, cfg, dist=DistContext(rank=0, world_size=2))


def _subjects_with_gains(n_subjects: int, seed: int):
    """Two channels; class 1 has 1.6 x the power on channel 0; every subject multiplies both
    channels by its own gain (log-normal, SD 1): a subject shift 2.5 x the class effect in log
    power."""
    rng = np.random.default_rng(seed)
    X, y, g = [], [], []
    for s in range(n_subjects):
        gain = np.exp(rng.normal(0.0, 1.0))
        for i in range(40):
            label = i % 2
            x = rng.normal(size=(2, 128))
            x[0] *= 1.6 if label else 1.0
            X.append(gain * x)
            y.append(label)
            g.append(s)
    return np.asarray(X, dtype="float32"), np.asarray(y), np.asarray(g)


def test_domain_specific_batch_norm_recovers_a_planted_effect_across_subjects():
    X, y, g = _subjects_with_gains(7, seed=0)
    test = g == 6
    X[test] *= 8.0  # the new subject is far louder than any training subject
    params = dict(
        model="tangent_mlp",
        model_params={"n_hidden": 0, "drop_prob": 0.0},
        max_epochs=30,
        batch_size=40,
        lr=1e-2,
        validation_fraction=0.0,
        device="cpu",
        random_state=0,
        num_threads=1,
    )
    grouped = NeuralClassifier(**params, batch_by_group=True, adaptive_bn=True)
    grouped.fit(X[~test], y[~test], groups=g[~test])
    acc = (grouped.predict(X[test]) == y[test]).mean()
    assert acc >= 0.8, acc
    # the same network with the training statistics: the loud subject falls in one class
    grouped.set_params(adaptive_bn=False)
    assert (grouped.predict(X[test]) == y[test]).mean() <= 0.6


def test_batch_by_group_needs_groups():
    X, y, _ = _subjects_with_gains(2, seed=1)
    clf = NeuralClassifier(model="tangent_mlp", max_epochs=1, batch_by_group=True, device="cpu")
    with pytest.raises(ConfigError, match="batch_by_group=True draws each batch from one group"):
        clf.fit(X, y)
    with pytest.raises(ConfigError, match="needs groups of at least 2 training samples"):
        NeuralClassifier(model="tangent_mlp", batch_by_group=True, device="cpu").fit(
            X, y, groups=np.arange(len(y))
        )
    with pytest.raises(ConfigError, match="'batch_by_group'"):
        NeuralClassifier(batch_by_group="yes").fit(X, y)


def test_grouped_validation_scores_each_subject_with_its_own_statistics():
    X, y, g = _subjects_with_gains(6, seed=2)
    clf = NeuralClassifier(
        model="tangent_mlp",
        model_params={"n_hidden": 0, "drop_prob": 0.0},
        max_epochs=60,
        batch_size=40,
        lr=1e-2,
        validation_fraction=0.3,  # 2 of 6 subjects
        early_stopping=True,
        device="cpu",
        random_state=0,
        num_threads=1,
        batch_by_group=True,
    ).fit(X, y, groups=g)
    assert clf.n_valid_ == 80
    # subjects differ in gain by up to e^2: one shared statistic could not reach this
    assert max(r["valid_accuracy"] for r in clf.history_) >= 0.9


def test_tsmnet_learns_a_band_power_difference():
    rng = np.random.default_rng(0)
    t = np.arange(256) / 128.0
    X, y = [], []
    for i in range(80):
        label = i % 2
        x = rng.normal(size=(4, 256))
        x[1] += (1.5 if label else 0.0) * np.sin(2 * np.pi * 10 * t + rng.uniform(0, 6.3))
        X.append(x)
        y.append(label)
    X, y = np.asarray(X, dtype="float32"), np.asarray(y)
    clf = NeuralClassifier(
        model="tsmnet",
        model_params={"n_filters": 2, "kernel_len": 13, "n_virtual": 6, "n_spatial": 4},
        max_epochs=20,
        batch_size=16,
        lr=1e-2,
        validation_fraction=0.0,
        device="cpu",
        random_state=0,
        num_threads=1,
    ).fit(X[:60], y[:60])
    assert (clf.predict(X[60:]) == y[60:]).mean() >= 0.9


def test_one_training_group_still_gets_a_validation_split():
    X, y, g = _subjects_with_gains(2, seed=3)
    params = dict(model="tangent_mlp", max_epochs=2, device="cpu", random_state=0)
    one = NeuralClassifier(**params).fit(X[g == 0], y[g == 0], groups=g[g == 0])
    assert one.n_valid_ == 8  # 20% of the subject's 40 windows, stratified by class
    two = NeuralClassifier(**params).fit(X, y, groups=g)
    assert two.n_valid_ == 40  # one whole subject of the two
