"""Channel ablation of convolutions, selectivity, clusters and a trained planted network."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from scipy.stats import f_oneway
from sklearn.metrics import adjusted_rand_score
from torch import nn

from neurodl.analyses.perturb import (
    Ablate,
    Gain,
    cluster_lesions,
    cluster_units,
    lesion_sizes,
    perturbed,
    record_activations,
    unit_axis,
    unit_importance,
    unit_responses,
    unit_selectivity,
)
from neurodl.exceptions import ConfigError


def small_cnn() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(2, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.Conv2d(6, 4, 3)
    ).eval()


@pytest.mark.parametrize("mode", ["zero", "mean", "resample"])
def test_conv2d_channel_ablation_replaces_exactly_the_feature_maps(mode):
    net = small_cnn()
    x = torch.randn(5, 2, 8, 8)
    ref = record_activations(net, "2", torch.randn(7, 2, 8, 8))["2"]
    seen = {}
    handle = net[3].register_forward_pre_hook(lambda m, a: seen.__setitem__("in", a[0].clone()))
    with torch.no_grad():
        net(x)
        intact = seen["in"]
        with perturbed(net, Ablate("2", [1, 4], mode, reference=None if mode == "zero" else ref)):
            net(x)
    handle.remove()
    lesioned = seen["in"]  # the ReLU output (batch, 6, 8, 8) as the next conv receives it
    kept = [0, 2, 3, 5]
    torch.testing.assert_close(lesioned[:, kept], intact[:, kept], rtol=0, atol=0)
    if mode == "zero":
        assert torch.count_nonzero(lesioned[:, [1, 4]]) == 0
    elif mode == "mean":
        means = ref.double().mean(dim=(0, 2, 3))[[1, 4]].float()
        expected = means[None, :, None, None].expand(5, 2, 8, 8)
        torch.testing.assert_close(lesioned[:, [1, 4]], expected)
    else:  # every lesioned map is some reference sample's map
        for b in range(5):
            match = [torch.equal(lesioned[b, [1, 4]], ref[r, [1, 4]]) for r in range(7)]
            assert any(match)
    assert unit_axis(net[3], torch.zeros(1, 4, 6, 6)) == 1


def test_conv1d_gain_scales_one_channel_and_bad_gains_name_the_value():
    net = nn.Sequential(nn.Conv1d(1, 3, 5))
    x = torch.randn(2, 1, 20)
    with torch.no_grad():
        intact = net(x)
        with perturbed(net, Gain("0", [2], factor=1.5)):
            scaled = net(x)
    torch.testing.assert_close(scaled[:, 2], 1.5 * intact[:, 2])
    torch.testing.assert_close(scaled[:, :2], intact[:, :2], rtol=0, atol=0)
    with pytest.raises(ConfigError, match=r"'factor' must be >= 0; got -1.0"):
        Gain("0", [2], factor=-1.0)
    with pytest.raises(ConfigError, match=r"'factor' must be finite; got nan"):
        Gain("0", [2], factor=math.nan)


def test_selectivity_matches_scipy_anova_and_finds_the_planted_channels():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 30)
    acts = rng.normal(size=(90, 8, 12))  # (samples, channels, time)
    acts[:, 2] += y[:, None] * 1.5
    acts[:, 5] -= (y[:, None] == 1) * 2.0
    acts[:, 7] = 3.0  # a dead channel
    f = unit_selectivity(acts, y)
    responses = acts.mean(axis=2)
    oracle = [f_oneway(*(responses[y == c, u] for c in range(3))).statistic for u in range(7)]
    np.testing.assert_allclose(f[:7], oracle, rtol=1e-10)
    assert f[7] == 0.0
    assert set(np.argsort(-f)[:2]) == {2, 5}
    rms = unit_responses(acts, reduce="rms")
    np.testing.assert_allclose(rms, np.sqrt((acts**2).mean(axis=2)))


def test_cluster_units_recovers_planted_groups():
    rng = np.random.default_rng(1)
    drivers = rng.normal(size=(300, 3))
    truth = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    acts = drivers[:, truth] * rng.uniform(0.5, 2, size=10) + 0.2 * rng.normal(size=(300, 10))
    labels = cluster_units(torch.as_tensor(acts[:, :, None]), 3, seed=0)
    assert adjusted_rand_score(truth, labels) == 1.0


def planted_two_task_net() -> tuple[nn.Sequential, np.ndarray]:
    """A trained MLP whose hidden units ``cluster_a`` alone carry task A (input 0 -> output 0).

    Input-to-hidden and hidden-to-output weights are masked (zeroed, with gradient masks) so that
    cluster A reads only task A's inputs and only task A's output reads cluster A.
    """
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    n_hidden, cluster_a = 12, np.array([1, 4, 6, 9])
    in_a = np.isin(np.arange(n_hidden), cluster_a)
    net = nn.Sequential(nn.Linear(4, n_hidden), nn.Tanh(), nn.Linear(n_hidden, 2))
    masks = {
        "0.weight": torch.as_tensor(in_a[:, None] == (np.arange(4) < 2)[None, :]).float(),
        "2.weight": torch.as_tensor((np.arange(2) < 1)[:, None] == in_a[None, :]).float(),
    }
    params = dict(net.named_parameters())
    with torch.no_grad():
        for name, mask in masks.items():
            params[name].mul_(mask)
            params[name].register_hook(lambda g, m=mask: g * m)
    X = torch.as_tensor(rng.normal(size=(256, 4)), dtype=torch.float32)
    Y = torch.stack([torch.sin(X[:, 0]) + X[:, 1] ** 2, X[:, 2] * X[:, 3]], dim=1)
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    for _ in range(300):
        opt.zero_grad()
        ((net(X) - Y) ** 2).mean().backward()
        opt.step()
    return net, cluster_a


def test_trained_planted_clusters_rank_first_precision_at_k_is_one():
    net, cluster_a = planted_two_task_net()
    rng = np.random.default_rng(5)
    X = torch.as_tensor(rng.normal(size=(200, 4)), dtype=torch.float32)
    target_a = torch.sin(X[:, 0]) + X[:, 1] ** 2

    def score_a(m: nn.Module) -> float:  # negative task-A error: higher is better
        with torch.no_grad():
            return -float(((m(X)[:, 0] - target_a) ** 2).mean())

    before = copy.deepcopy(net.state_dict())
    table = unit_importance(net, score_a, "1")  # the tanh units
    top = table["unit"].to_numpy()[: len(cluster_a)]
    assert np.isin(top, cluster_a).mean() == 1.0  # precision at k = |A|
    others = table[~table["unit"].isin(cluster_a)]
    assert (others["drop"] == 0).all()  # no path from cluster B to task A
    labels = np.isin(np.arange(12), cluster_a).astype(int)
    clusters = cluster_lesions(net, score_a, "1", labels, n_random=5, seed=0)
    by_cluster = clusters.set_index("cluster")
    assert by_cluster.loc[1, "drop"] > 0 and by_cluster.loc[0, "drop"] == 0
    assert list(by_cluster["size"]) == [8, 4]
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: lesion_sizes(10, [0.5, 1.5]),
            r"'fractions' must hold numbers in \[0, 1\]; got 1.5",
        ),
        (lambda: lesion_sizes(0, [0.5]), r"'n_units' must be a positive int; got 0"),
        (
            lambda: unit_responses(np.ones((3, 2)), reduce="max"),
            r"Allowed: 'mean', 'rms'; got 'max'",
        ),
        (lambda: unit_responses(np.ones((3, 2)), axis=0), r"axis 0 is the sample axis"),
        (lambda: unit_selectivity(np.ones((3, 2)), [0, 0, 0]), r"at least 2 classes"),
        (lambda: unit_selectivity(np.ones((3, 2)), [0, 1]), r"one class per sample"),
        (lambda: cluster_units(np.ones((3, 2)), 3), r"'n_clusters' must be an int in 1..2; got 3"),
        (lambda: unit_responses(np.full((3, 2), np.nan)), r"must be finite"),
    ],
)
def test_targeting_bad_input(call, match):
    with pytest.raises(ConfigError, match=match):
        call()


def test_cluster_lesions_bad_labels_and_unknown_layer():
    net = small_cnn()
    x = torch.randn(2, 2, 8, 8)

    def score(m):
        with torch.no_grad():
            return float(m(x).mean())

    with pytest.raises(ConfigError, match=r"one int label per unit of layer '2' \(6 units\)"):
        cluster_lesions(net, score, "2", [0, 1, 0])
    with pytest.raises(ConfigError, match=r"Unknown layer 'conv9'"):
        cluster_lesions(net, score, "conv9", [0] * 6)
    with pytest.raises(ConfigError, match=r"Unit index 6 is out of range for layer '2'"):
        with perturbed(net, Ablate("2", [6])):
            net(x)


def test_rsa_cnn_lesions_leave_its_state_dict_bit_identical():
    from neurodl.models.vision import build_vision_model

    net = build_vision_model("small_cnn", n_classes=3, image_size=16, channels=[4, 8], seed=0)
    net.eval()
    before = copy.deepcopy(net.state_dict())
    x = torch.rand(3, 3, 16, 16)
    with torch.no_grad():
        intact = net(x)
        ref = record_activations(net, ["conv1", "conv2"], x)
        with perturbed(
            net,
            Ablate("conv2", [0, 5], "mean", reference=ref["conv2"]),
            Ablate("conv1", [1], "resample", reference=ref["conv1"]),
            Gain("conv1", [2, 3], factor=0.5),
        ):
            lesioned = net(x)
        after = net(x)
    assert not torch.allclose(lesioned, intact)
    torch.testing.assert_close(after, intact, rtol=0, atol=0)
    for key, value in net.state_dict().items():  # BatchNorm running statistics included
        assert torch.equal(value, before[key]), key
