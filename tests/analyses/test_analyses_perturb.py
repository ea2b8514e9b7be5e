"""Tests of neurodl.analyses.perturb: planted units, exact ablations, restoration, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from neurodl.analyses.perturb import (
    Ablate,
    Clamp,
    Gain,
    Noise,
    ScaleWeights,
    dose_response,
    lesion_curve,
    perturbed,
    record_activations,
    unit_importance,
)
from neurodl.exceptions import ConfigError

N_IN, N_HID = 4, 10
SIGNAL_UNITS = (3, 7)


def planted_mlp() -> nn.Sequential:
    """Input 0 carries task A; only hidden units 3 and 7 relay it to the readout."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(N_IN, N_HID), nn.ReLU(), nn.Linear(N_HID, 1))
    with torch.no_grad():
        w1 = torch.zeros(N_HID, N_IN)
        w1[3, 0], w1[7, 0] = 1.0, 0.8  # signal units read input 0
        for u in range(N_HID):
            if u not in SIGNAL_UNITS:
                w1[u, 1 + u % 3] = 0.5  # distractor units read the noise inputs
        net[0].weight.copy_(w1)
        net[0].bias.fill_(0.0)
        w2 = torch.full((1, N_HID), 0.05)
        w2[0, 3], w2[0, 7] = 2.0, 2.0
        net[2].weight.copy_(w2)
        net[2].bias.fill_(0.0)
    return net


def task_data(n: int = 400, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_IN))
    y = (x[:, 0] > 0).astype(float)
    x[:, 0] = np.abs(x[:, 0]) * np.where(y > 0, 1.0, -1.0) + 0.0
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)


def accuracy_fn(x: torch.Tensor, y: torch.Tensor):
    def score(model: nn.Module) -> float:
        with torch.no_grad():
            out = model(x)[:, 0]
        threshold = out.median()
        return float(((out > threshold).float() == y).float().mean())

    return score


def test_unit_importance_ranks_planted_units_first():
    net = planted_mlp()
    x, y = task_data()
    table = unit_importance(net, accuracy_fn(x, y), "0")
    assert table.attrs["baseline"] > 0.95
    top = set(table["unit"][:2].tolist())
    assert len(top & set(SIGNAL_UNITS)) / 2 == 1.0  # precision at k=2
    assert list(table["rank"]) == list(range(1, N_HID + 1))
    assert (table["drop"].diff().dropna() <= 0).all()


def test_zero_ablation_equals_hand_computation():
    net = planted_mlp()
    x, _ = task_data(50)
    with perturbed(net, Ablate("0", SIGNAL_UNITS)), torch.no_grad():
        got = net(x)
    w1 = net[0].weight.detach().clone()
    b1 = net[0].bias.detach().clone()
    w1[list(SIGNAL_UNITS)] = 0.0
    b1[list(SIGNAL_UNITS)] = 0.0
    expected = torch.relu(x @ w1.T + b1) @ net[2].weight.detach().T + net[2].bias.detach()
    torch.testing.assert_close(got, expected)


def test_mean_ablation_uses_recorded_mean():
    net = planted_mlp()
    x, _ = task_data(60)
    ref = record_activations(net, ["1"], x[:30])["1"]
    assert ref.shape == (30, N_HID)
    with perturbed(net, Ablate("1", [3], mode="mean", reference=ref)):
        hidden = record_activations(net, "1", x[30:])["1"]
    torch.testing.assert_close(hidden[:, 3], torch.full((30,), float(ref[:, 3].mean())))
    intact = record_activations(net, "1", x[30:])["1"]
    torch.testing.assert_close(hidden[:, [0, 1, 2, 4]], intact[:, [0, 1, 2, 4]])


def test_resample_ablation_draws_reference_values():
    net = planted_mlp()
    x, _ = task_data(40)
    ref = record_activations(net, "1", x[:20])["1"]
    with perturbed(net, Ablate("1", [7], mode="resample", reference=ref, seed=2)):
        hidden = record_activations(net, "1", x[20:])["1"]
    assert set(hidden[:, 7].tolist()) <= set(ref[:, 7].tolist())


def test_gain_changes_psychometric_slope_monotonically():
    net = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.zero_()
        net[2].weight.fill_(1.5)
        net[2].bias.zero_()
    coherence = torch.linspace(-1, 1, 21)[:, None]

    def slope(model: nn.Module) -> float:
        # logistic fit: logit(p) = a * coherence, least squares through the origin
        with torch.no_grad():
            p = model(coherence)[:, 0].double().clamp(1e-9, 1 - 1e-9)
        logit = torch.log(p / (1 - p))
        c = coherence[:, 0].double()
        return float((c * logit).sum() / (c * c).sum())

    curve = dose_response(
        net, slope, lambda g: Gain("1", [0, 1, 2, 3], factor=g), [0.0, 0.5, 1.0, 1.5, 2.0]
    )
    assert curve["score"].iloc[0] == pytest.approx(0.0, abs=1e-9)
    assert (np.diff(curve["score"]) > 0).all()
    assert curve["score"].iloc[2] == pytest.approx(slope(net))


def test_lesion_curve_targeted_beats_random():
    net = planted_mlp()
    x, y = task_data()
    score = accuracy_fn(x, y)
    order = unit_importance(net, score, "0")["unit"].tolist()
    curve = lesion_curve(net, score, "0", order, [0, 1, 2, 4], n_random=10, seed=0)
    assert curve["targeted"].iloc[0] == curve.attrs["baseline"]
    assert curve["targeted"].iloc[2] < curve["random_mean"].iloc[2]
    assert (curve["random_low"] <= curve["random_mean"]).all()
    assert (curve["random_mean"] <= curve["random_high"]).all()


def test_perturbed_restores_state_dict_and_removes_hooks():
    net = planted_mlp()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    specs = (
        Ablate("0", [1]),
        Gain("1", [2], factor=3.0),
        Noise("1", [4], sd=0.5, seed=1),
        Clamp("2", 0, value=0.2),
        ScaleWeights("2.weight", 0.3, rows=[0], cols=[3, 7]),
        ScaleWeights("0.bias", 0.0),
    )
    with pytest.raises(RuntimeError, match="boom"), perturbed(net, *specs):
        assert float(net[2].weight[0, 3].detach()) == pytest.approx(0.6)
        net(torch.ones(2, N_IN))
        raise RuntimeError("boom")
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert all(len(m._forward_hooks) == 0 for m in net.modules())
    with perturbed(net, *specs):
        net(torch.ones(2, N_IN))
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert all(len(m._forward_hooks) == 0 for m in net.modules())


def test_noise_is_seeded_and_clamp_holds_value():
    net = planted_mlp()
    x, _ = task_data(8)
    outs = []
    for _ in range(2):
        with perturbed(net, Noise("1", [3], sd=1.0, seed=5)):
            outs.append(record_activations(net, "1", x)["1"])
    torch.testing.assert_close(outs[0], outs[1])
    with perturbed(net, Clamp("1", [3], value=2.5)):
        hidden = record_activations(net, "1", x)["1"]
    assert torch.all(hidden[:, 3] == 2.5)


class CellRNN(nn.Module):
    """An RNN whose cell is stepped in Python, so a hook on the cell perturbs the recurrence."""

    def __init__(self, n_in: int = 2, n_hid: int = 5):
        super().__init__()
        self.cell = nn.RNNCell(n_in, n_hid)
        self.readout = nn.Linear(n_hid, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, time, n_in)
        h = x.new_zeros(x.shape[0], self.cell.hidden_size)
        states = []
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)
            states.append(h)
        return self.readout(torch.stack(states, dim=1))  # (batch, time, 1)


def test_hook_on_cell_perturbs_every_step_and_rnn_output_axis():
    torch.manual_seed(0)
    model = CellRNN()
    x = torch.randn(3, 6, 2)
    ref = record_activations(model, "cell", x)["cell"]
    assert ref.shape == (3 * 6, 5)  # one entry per step
    with perturbed(model, Clamp("cell", [1], value=0.0)):
        states = record_activations(model, "cell", x)["cell"]
    assert torch.all(states[:, 1] == 0.0)
    gru = nn.GRU(2, 4, batch_first=True)
    with perturbed(nn.Sequential(gru), Ablate("0", [2])) as wrapped, torch.no_grad():
        out, h_n = wrapped(x)  # axis defaults to the last (hidden) axis for nn.GRU
    assert torch.all(out[..., 2] == 0.0) and out.shape == (3, 6, 4)
    assert not torch.all(h_n[..., 2] == 0.0)  # the recurrence itself is untouched


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Gain("0", [1], factor=-1.0), r"'factor' must be >= 0; got -1.0"),
        (lambda: Gain("0", [1], factor=float("nan")), r"'factor' must be finite; got nan"),
        (lambda: Noise("0", [1], sd=float("nan")), r"'sd' must be finite; got nan"),
        (lambda: Noise("0", [1], sd=-0.1), r"'sd' must be >= 0; got -0.1"),
        (lambda: Clamp("0", [1], value=math.inf), r"'value' must be finite; got inf"),
        (lambda: Ablate("0", [-2]), r"non-negative ints; got -2"),
        (lambda: Ablate("0", []), r"'units' must not be empty"),
        (lambda: Ablate("0", [1, 1]), r"must not repeat"),
        (lambda: Ablate("0", [1], mode="drop"), r"Allowed: 'zero', 'mean', 'resample'; got 'drop'"),
        (lambda: Ablate("0", [1], mode="mean"), r"needs 'reference'"),
        (lambda: Ablate("0", [1], axis=0), r"batch axis"),
        (lambda: ScaleWeights("0.weight", math.nan), r"'factor' must be finite; got nan"),
    ],
)
def test_bad_specs(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        (Ablate("fc9", [1]), r"Unknown layer 'fc9'.*Available layers: '0', '1', '2'"),
        (Ablate("0", [10]), r"Unit index 10 is out of range for layer '0'.*10 units"),
        (ScaleWeights("0.wieght", 2.0), r"Unknown parameter '0.wieght'. Close matches: '0.weight'"),
        (ScaleWeights("0.weight", 2.0, cols=[4]), r"'cols' index 4 is out of range"),
        (ScaleWeights("0.bias", 2.0, cols=[0]), r"'cols' needs a parameter with at least 2"),
    ],
)
def test_bad_targets(spec, match):
    net = planted_mlp()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(ConfigError, match=match), perturbed(net, spec):
        net(torch.ones(1, N_IN))
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key])
    assert all(len(m._forward_hooks) == 0 for m in net.modules())


def test_registered_model_temporal_filter():
    from neurodl.models import build_model

    torch.manual_seed(0)
    net = build_model(
        "shallow",
        n_chans=3,
        n_times=120,
        n_outputs=2,
        n_filters_time=6,
        n_filters_spat=6,
        filter_time_length=10,
        pool_time_length=20,
        pool_time_stride=10,
    ).eval()
    x = torch.randn(4, 3, 120)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with torch.no_grad():
        intact = net(x)
        # temporal filter 2 removed: its column of the spatial weights (o, f, c) scaled to 0
        with perturbed(net, ScaleWeights("temporal_spatial_conv.spatial_weight", 0.0, cols=[2])):
            lesioned = net(x)
        # one output filter of the merged conv silenced (channel axis 1 of (batch, F, time))
        with perturbed(net, Ablate("temporal_spatial_conv", [2])):
            silenced = net(x)
        after = net(x)
    assert not torch.allclose(lesioned, intact)
    assert not torch.allclose(silenced, intact)
    torch.testing.assert_close(after, intact, rtol=0, atol=0)
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key
