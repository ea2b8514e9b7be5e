"""Published parameter counts, exact equivalence of the fast layers, minimum lengths, bad inputs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from neurodl.exceptions import ConfigError, DataFormatError
from neurodl.models import build_model, count_parameters, get_model_class
from neurodl.models._layers import (
    FusedTemporalDepthwiseConv,
    MergedTemporalSpatialConv,
    depthwise_conv1d_same,
    receptive_field,
    same_padding,
    scale_for_ch_types,
)

torch.set_num_threads(2)


# --------------------------------------------------------------------- parameter counts
def _eegnet_table2(C: int, T: int, N: int, F1=8, D=2, F2=16, K1=64, K2=16) -> int:
    """EEGNet paper (Lawhern et al. 2018), Table 2, layer by layer (no bias before BN)."""
    return (
        F1 * K1  # Conv2D (1, K1), no bias
        + 2 * F1  # BatchNorm
        + C * D * F1  # DepthwiseConv2D (C, 1)
        + 2 * D * F1  # BatchNorm
        + D * F1 * K2  # SeparableConv2D: depthwise (1, K2)
        + D * F1 * F2  # ... pointwise
        + 2 * F2  # BatchNorm
        + (F2 * (T // 32)) * N  # Dense
        + N  # Dense bias
    )


# Reference counts (22 ch, 1125 samples, 250 Hz, 4 classes unless stated), each with its source:
# * shallow 47,364 and deep4 284,479: braindecode 1.8.1 ShallowFBCSPNet / Deep4Net
#   (final_conv_length="auto"), printed by torchinfo in the peer venv and recomputed below from
#   the layer table of Schirrmeister et al. (2017): braindecode's CombinedConv keeps the temporal
#   conv (F*K + F bias) and spatial conv (F*F*C, no bias) parameters, as we do.
# * eegnet 2,388 (64 ch, 128 samples, 128 Hz): EEGNet paper Table 2 (= braindecode EEGNet);
#   3,700 (22 ch, 1125 samples, kernels 64/16): braindecode 1.8.1 EEGNet with its default kernels.
SHALLOW_TABLE = (40 * 25 + 40) + 40 * 40 * 22 + 2 * 40 + (40 * 69 * 4 + 4)
DEEP4_TABLE = (
    (25 * 10 + 25 + 25 * 25 * 22)
    + 2 * 25
    + (25 * 50 * 10 + 2 * 50)
    + (50 * 100 * 10 + 2 * 100)
    + (100 * 200 * 10 + 2 * 200)
    + (200 * 9 * 4 + 4)
)
REFERENCE_COUNTS = [
    ("shallow", dict(n_chans=22, n_times=1125, n_outputs=4, sfreq=250.0), 47_364),
    ("deep4", dict(n_chans=22, n_times=1125, n_outputs=4, sfreq=250.0), 284_479),
    ("eegnet", dict(n_chans=64, n_times=128, n_outputs=4, sfreq=128.0), 2_388),
    (
        "eegnet",
        dict(
            n_chans=22,
            n_times=1125,
            n_outputs=4,
            sfreq=250.0,
            kernel_length=64,
            separable_kernel_length=16,
        ),
        3_700,
    ),
]


def test_reference_counts_agree_with_the_layer_tables():
    assert SHALLOW_TABLE == 47_364
    assert DEEP4_TABLE == 284_479
    assert _eegnet_table2(64, 128, 4) == 2_388
    assert _eegnet_table2(22, 1125, 4) == 3_700


@pytest.mark.parametrize(("name", "kwargs", "expected"), REFERENCE_COUNTS)
def test_parameter_counts_match_published_architectures(name, kwargs, expected):
    assert count_parameters(build_model(name, **kwargs)) == expected


def test_eegnet_kernels_keep_their_duration_with_sfreq():
    net = build_model("eegnet", n_chans=22, n_times=1125, n_outputs=4, sfreq=256.0)
    assert (net.kernel_length_, net.separable_kernel_length_) == (128, 32)
    assert net.kernel_length is None  # the argument is not rewritten
    expected = _eegnet_table2(22, 1125, 4, K1=128, K2=32)
    assert count_parameters(net) == expected


# ---------------------------------------------------------- exact equivalence of fast layers
def test_merged_conv_equals_braindecode_style_conv2d_split():
    torch.manual_seed(0)
    n_chans, n_filt, kernel = 5, 6, 7
    layer = MergedTemporalSpatialConv(n_chans, n_filt, n_filt, kernel)
    temporal = nn.Conv2d(1, n_filt, (kernel, 1))  # over (batch, 1, time, chans)
    spatial = nn.Conv2d(n_filt, n_filt, (1, n_chans), bias=False)
    with torch.no_grad():
        temporal.weight.copy_(layer.temporal_weight[:, None, :, None])
        temporal.bias.copy_(layer.temporal_bias)
        spatial.weight.copy_(layer.spatial_weight[:, :, None, :])
    x = torch.randn(4, n_chans, 40)
    ref = spatial(temporal(x.transpose(1, 2)[:, None]))[..., 0]  # (batch, F, time)
    torch.testing.assert_close(layer(x), ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kernel", [1, 2, 5, 16])
def test_depthwise_fft_conv_equals_grouped_conv1d(kernel):
    torch.manual_seed(0)
    x, w = torch.randn(3, 4, 37), torch.randn(4, kernel)
    ref = F.conv1d(F.pad(x, same_padding(kernel)), w[:, None], groups=4)
    torch.testing.assert_close(depthwise_conv1d_same(x, w), ref, rtol=1e-4, atol=1e-5)


def _reference_eegnet_block(block: FusedTemporalDepthwiseConv, n_chans: int):
    """Published layout: Conv2d over (batch, 1, chans, time), BatchNorm2d, depthwise Conv2d."""
    F1, D, K = block.F1, block.D, block.kernel
    temporal = nn.Conv2d(1, F1, (1, K), bias=False)
    bn = nn.BatchNorm2d(F1, eps=block.eps, momentum=block.momentum)
    spatial = nn.Conv2d(F1, F1 * D, (n_chans, 1), groups=F1, bias=False)
    with torch.no_grad():
        temporal.weight.copy_(block.temporal_weight[:, None, None, :])
        bn.weight.copy_(block.bn_weight)
        bn.bias.copy_(block.bn_bias)
        spatial.weight.copy_(block.spatial_weight.reshape(F1 * D, 1, n_chans, 1))

    def forward(x):
        return spatial(bn(temporal(F.pad(x[:, None], same_padding(K)))))[:, :, 0]

    return forward, temporal, bn, spatial


@pytest.mark.parametrize(("n_chans", "n_times", "kernel"), [(5, 60, 16), (1, 40, 8), (3, 9, 12)])
def test_fused_eegnet_block_matches_conv2d_batchnorm_reference(n_chans, n_times, kernel):
    torch.manual_seed(0)
    block = FusedTemporalDepthwiseConv(n_chans, 3, 2, kernel, max_norm_spatial=None, momentum=0.1)
    with torch.no_grad():
        block.bn_weight.uniform_(0.5, 2.0)
        block.bn_bias.normal_()
    ref, temporal, bn, spatial = _reference_eegnet_block(block, n_chans)
    x = torch.randn(4, n_chans, n_times) * 2 + 1.5  # non-zero mean: exercises the mean terms
    for training in (True, False):
        block.train(training)
        bn.train(training)
        out, expected = block(x), ref(x)
        torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)
        out.square().mean().backward()
        expected.square().mean().backward()
        pairs = [
            (block.temporal_weight.grad, temporal.weight.grad[:, 0, 0]),
            (block.spatial_weight.grad, spatial.weight.grad.reshape(block.spatial_weight.shape)),
            (block.bn_weight.grad, bn.weight.grad),
            (block.bn_bias.grad, bn.bias.grad),
        ]
        for got, want in pairs:
            torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-4)
        torch.testing.assert_close(block.running_mean, bn.running_mean, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(block.running_var, bn.running_var, rtol=1e-4, atol=1e-5)
        for p in [
            *block.parameters(),
            *temporal.parameters(),
            *bn.parameters(),
            *spatial.parameters(),
        ]:
            p.grad = None
    # Input gradients in training mode take the explicit path and are exact as well.
    block.train()
    bn.train()
    xg = x.clone().requires_grad_(True)
    xr = x.clone().requires_grad_(True)
    block(xg).sum().backward()
    ref(xr).sum().backward()
    torch.testing.assert_close(xg.grad, xr.grad, rtol=1e-4, atol=1e-4)


def test_eegnet_spatial_filters_are_max_norm_constrained():
    torch.manual_seed(0)
    net = build_model("eegnet", n_chans=4, n_times=64, n_outputs=2)
    block = net.temporal_spatial_conv
    with torch.no_grad():
        block.spatial_weight.mul_(100.0)
    x = torch.randn(3, 4, 64)
    net.eval()
    capped = block(x)
    with torch.no_grad():
        block.spatial_weight.copy_(torch.renorm(block.spatial_weight, 2, 0, 1.0))
    torch.testing.assert_close(block(x), capped)


# ----------------------------------------------------------------- minimum lengths, errors
@pytest.mark.parametrize(
    ("name", "params", "minimum"),
    [
        ("eegnet", {}, 32),  # avg-pool 4 then 8
        ("eegnet", {"pool1": 2, "pool2": 2}, 4),
        ("shallow", {}, 25 + 75 - 1),
        ("deep4", {}, 441),  # 10-1 + 3*(10-1 + 3*(10-1 + 3*(10-1 + 3)))
        ("tcn", {}, 1),
        ("lstm", {}, 1),
    ],
)
def test_min_n_times(name, params, minimum):
    cls = get_model_class(name)
    assert cls.min_n_times(sfreq=250.0, **params) == minimum
    build_model(name, n_chans=2, n_times=minimum, n_outputs=2, **params)  # accepted
    if minimum > 1:
        with pytest.raises(DataFormatError, match=f"at least {minimum} time samples.*n_times="):
            build_model(name, n_chans=2, n_times=minimum - 1, n_outputs=2, **params)


@pytest.mark.parametrize(
    ("name", "length_attr", "per_step"),
    [("eegnet", "n_features_", 16), ("shallow", "n_pooled_", 1), ("deep4", "n_final_", 1)],
)
def test_minimum_length_is_really_the_minimum(name, length_attr, per_step):
    # At min_n_times the last feature map has exactly one time step: one sample less would
    # leave none, so the guard is neither too strict nor too lax. Direct class use is guarded too.
    cls = get_model_class(name)
    n = cls.min_n_times()
    net = cls(2, n, 2)
    assert getattr(net, length_attr) == per_step
    assert net.eval()(torch.randn(1, 2, n)).shape == (1, 2)
    with pytest.raises(DataFormatError, match=f"at least {n} time samples.*got n_times={n - 1}"):
        cls(2, n - 1, 2)


def test_receptive_fields():
    assert receptive_field([(25, 1, 1), (75, 15, 1)]) == 99
    assert get_model_class("shallow").receptive_field() == 99
    assert get_model_class("deep4").receptive_field() == 441
    assert get_model_class("tcn").receptive_field(kernel_size=3, n_blocks=2) == 1 + 2 * 2 * 3


def test_tcn_is_causal():
    torch.manual_seed(0)
    net = build_model("tcn", n_chans=2, n_times=30, n_outputs=1, pooling="none").eval()
    x = torch.randn(1, 2, 30)
    y = x.clone()
    y[..., 20:] += 5.0
    with torch.no_grad():
        a, b = net(x), net(y)
    torch.testing.assert_close(a[..., :20], b[..., :20])
    assert not torch.allclose(a[..., 20:], b[..., 20:])


@pytest.mark.parametrize("name", ["lstm", "gru", "tcn"])
@pytest.mark.parametrize(
    ("pooling", "shape"), [("last", (3, 2)), ("mean", (3, 2)), ("none", (3, 2, 17))]
)
def test_sequence_readouts(name, pooling, shape):
    torch.manual_seed(0)
    net = build_model(name, n_chans=4, n_times=17, n_outputs=2, pooling=pooling)
    assert net(torch.randn(3, 4, 17)).shape == shape


def test_recurrent_last_step_matches_manual_unroll():
    torch.manual_seed(0)
    net = build_model("gru", n_chans=3, n_times=12, n_outputs=2, hidden_size=5).eval()
    x = torch.randn(2, 3, 12)
    cell = nn.GRUCell(3, 5)
    with torch.no_grad():
        for attr in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, attr).copy_(getattr(net.rnn, f"{attr}_l0"))
        h = torch.zeros(2, 5)
        for t in range(12):
            h = cell(x[:, :, t], h)
        torch.testing.assert_close(net(x), net.head(h))


def test_bidirectional_lstm_doubles_the_readout():
    net = build_model("lstm", n_chans=3, n_times=10, n_outputs=2, bidirectional=True, num_layers=2)
    assert net.head.in_features == 2 * 64
    assert net(torch.randn(2, 3, 10)).shape == (2, 2)


def test_deep4_dropout_placement():
    net = build_model("deep4", n_chans=3, n_times=500, n_outputs=2)
    # Default: no dropout in the blocks (before batch norms), one before the classifier.
    assert [m.p for m in net.blocks.modules() if isinstance(m, nn.Dropout)] == [0.0, 0.0, 0.0]
    assert net.dropout.p == 0.5
    legacy = build_model("deep4", n_chans=3, n_times=500, n_outputs=2, block_drop_prob=0.5)
    assert [m.p for m in legacy.blocks.modules() if isinstance(m, nn.Dropout)] == [0.5] * 3


# ---------------------------------------------------------------------- sensor scaling
def test_sensor_scaling_for_meg_mixes():
    scale = scale_for_ch_types(["mag", "grad", "eeg"])
    assert scale == [1e15, 1e13, 1e6]
    torch.manual_seed(0)
    scaled = build_model("shallow", n_chans=3, n_times=120, n_outputs=2, scale=scale).eval()
    torch.manual_seed(0)
    plain = build_model("shallow", n_chans=3, n_times=120, n_outputs=2).eval()
    x = torch.randn(2, 3, 120)
    raw = x / torch.tensor(scale)[None, :, None]  # SI units: tesla, tesla/m, volt
    with torch.no_grad():
        torch.testing.assert_close(scaled(raw), plain(x), rtol=1e-4, atol=1e-4)
    assert "scaler.scale" in scaled.state_dict()
    assert count_parameters(scaled) == count_parameters(plain)  # a buffer, not a parameter
    assert scale_for_ch_types(["eeg"], scalings={"eeg": 1e3}) == [1e3]


# ------------------------------------------------------------------------- bad inputs
BAD = [
    ("eegnet", {"F1": 0}, ConfigError, "'F1'.*>= 1.*got 0"),
    ("eegnet", {"drop_prob": 1.5}, ConfigError, "'drop_prob'.*\\[0, 1\\).*1.5"),
    ("eegnet", {"sfreq": -1.0}, ConfigError, "'sfreq'.*positive.*-1.0"),
    ("shallow", {"pool_time_stride": 2.5}, ConfigError, "'pool_time_stride'.*integer.*2.5"),
    ("deep4", {"n_filters": "25"}, ConfigError, "'n_filters'.*sequence.*'25'"),
    ("deep4", {"n_filters": (25, -1)}, ConfigError, "'n_filters'.*-1"),
    ("tcn", {"pooling": "max"}, ConfigError, "'pooling'.*'last', 'mean', 'none'.*'max'"),
    ("lstm", {"hidden_size": True}, ConfigError, "'hidden_size'.*True"),
    ("gru", {"scale": [1.0, 2.0]}, ConfigError, "'scale'.*3 finite.*got 2"),
    ("gru", {"scale": [1.0, 0.0, 1.0]}, ConfigError, "'scale'"),
    ("shallow", {"scale": "abc"}, ConfigError, "'scale'"),
    ("eegnet", {"not_a_param": 1}, ConfigError, "Invalid hyperparameters for model 'eegnet'"),
]


@pytest.mark.parametrize(("name", "params", "error", "match"), BAD)
def test_bad_hyperparameters(name, params, error, match):
    kwargs = {"n_chans": 3, "n_times": 600, "n_outputs": 2, **params}
    with pytest.raises(error, match=match):
        build_model(name, **kwargs)


def test_unknown_sensor_type():
    with pytest.raises(ConfigError, match=r"'ch_types'.*'xyz'"):
        scale_for_ch_types(["eeg", "xyz"])


@pytest.mark.parametrize(
    ("n_chans", "n_times", "kernel"), [(3, 100, 16), (2, 7, 8), (4, 50, 1), (1, 64, 64)]
)
def test_eegnet_batchnorm_moments_equal_brute_force(n_chans, n_times, kernel):
    # Closed-form window moments of the padded input (FFT in float32 on centred series) equal a
    # float64 brute force, even with per-channel offsets 20x the noise level.
    torch.manual_seed(0)
    block = FusedTemporalDepthwiseConv(n_chans, 2, 2, kernel)
    x = torch.randn(3, n_chans, n_times) + 20 * torch.randn(3, n_chans, 1)
    first, second, count = block._input_moments(x)
    windows = F.pad(x.double().reshape(-1, n_times), same_padding(kernel)).unfold(1, n_times, 1)
    assert count == 3 * n_chans * n_times
    torch.testing.assert_close(first, windows.sum((0, 2)) / count, rtol=1e-9, atol=1e-9)
    brute = torch.einsum("nkt,nlt->kl", windows, windows) / count
    torch.testing.assert_close(second, brute, rtol=1e-7, atol=1e-7)
