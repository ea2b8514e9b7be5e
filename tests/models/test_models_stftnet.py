"""StftNet ("stftnet"): log-spectrogram front end against scipy, parameter count, planted effect."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import signal

from neurodl.exceptions import ConfigError, DataFormatError
from neurodl.models import build_model, count_parameters, get_model_class, list_models

torch.set_num_threads(1)


def _expected_params(n_chans: int, n_freqs: int, width: int, n_blocks: int, k: int, n_out: int):
    """Independent count: input BN, 1x1 mix + BN, blocks of 2 convs + 2 BNs, linear head."""
    bn = lambda c: 2 * c  # noqa: E731
    mix = n_chans * n_freqs * width + bn(width)
    block = 2 * (width * width * k + bn(width))
    return bn(n_chans * n_freqs) + mix + n_blocks * block + (2 * width + 1) * n_out


def test_registered_and_listed():
    assert "stftnet" in list_models()


@pytest.mark.parametrize(
    ("n_chans", "n_times", "sfreq", "params", "n_freqs"),
    [
        (1, 1024, 173.61, {}, 174 // 2 + 1),  # n_fft = 1 s = 174 samples
        (1, 1024, 173.61, {"n_fft": 256}, 129),
        (3, 500, 250.0, {"n_fft": 128, "width": 16, "n_blocks": 1}, 65),
        (2, 512, 256.0, {"n_fft": 256, "fmax": 40.0}, 41),  # bins 0..40 Hz at 1 Hz spacing
        (4, 64, None, {"width": 8, "kernel_size": 5}, 33),  # no sfreq: n_fft 64
    ],
)
def test_parameter_count_matches_hand_count(n_chans, n_times, sfreq, params, n_freqs):
    net = build_model(
        "stftnet", n_chans=n_chans, n_times=n_times, n_outputs=5, sfreq=sfreq, **params
    )
    assert net.n_freqs_ == n_freqs
    width, n_blocks = params.get("width", 64), params.get("n_blocks", 2)
    k = params.get("kernel_size", 3)
    assert count_parameters(net) == _expected_params(n_chans, n_freqs, width, n_blocks, k, 5)


def test_published_count_for_the_bonn_input():
    # The count `neurodl models` reports for Bonn windows (1 channel, 1024 samples, 5 classes).
    net = build_model("stftnet", n_chans=1, n_times=1024, n_outputs=5, sfreq=173.61, n_fft=256)
    assert count_parameters(net) == _expected_params(1, 129, 64, 2, 3, 5) == 58_951


@pytest.mark.parametrize(("n_fft", "hop"), [(64, 16), (100, 30), (256, 64)])
def test_log_spectrogram_matches_scipy_stft(n_fft, hop):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 700)) * 5 + 3.0  # offsets are removed per frame
    net = build_model(
        "stftnet", n_chans=3, n_times=700, n_outputs=2, n_fft=n_fft, hop_length=hop
    ).eval()
    with torch.no_grad():
        ours = net.log_spectrogram(torch.tensor(x, dtype=torch.float32)).numpy()
    win = signal.get_window("hann", n_fft)  # periodic Hann, as torch.hann_window(periodic=True)
    _, _, z = signal.stft(
        x,
        window=win,
        nperseg=n_fft,
        noverlap=n_fft - hop,
        detrend="constant",
        boundary=None,
        padded=False,
        scaling="spectrum",
        axis=-1,
    )  # z: (2, 3, n_freqs, n_frames), scaled by 1 / sum(win)
    power = np.abs(z * win.sum()) ** 2
    expected = np.log(power + 1e-6).reshape(2, 3 * (n_fft // 2 + 1), -1)
    assert ours.shape == expected.shape == (2, 3 * (n_fft // 2 + 1), (700 - n_fft) // hop + 1)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=2e-3)


def test_members_are_averaged_log_softmax():
    torch.manual_seed(0)
    net = build_model("stftnet", n_chans=2, n_times=300, n_outputs=3, n_fft=64, n_members=3)
    single = build_model("stftnet", n_chans=2, n_times=300, n_outputs=3, n_fft=64)
    assert count_parameters(net) == 3 * count_parameters(single)
    net.eval()
    x = torch.randn(4, 2, 300)
    with torch.no_grad():
        out = net(x)
        z = net.log_spectrogram(x)
        manual = torch.stack([torch.log_softmax(m(z), dim=1) for m in net.members]).mean(0)
        members = [m(z) for m in net.members]
    torch.testing.assert_close(out, manual)
    # independently initialised members disagree
    assert not torch.allclose(members[0], members[1])
    # a single member returns its raw logits
    single.eval()
    with torch.no_grad():
        torch.testing.assert_close(single(x), single.members[0](single.log_spectrogram(x)))


def test_min_n_times_and_too_short_input():
    cls = get_model_class("stftnet")
    assert cls.min_n_times(sfreq=173.61) == 174
    assert cls.min_n_times(sfreq=None, n_fft=256) == 256
    net = build_model("stftnet", n_chans=1, n_times=256, n_outputs=2, n_fft=256).eval()
    assert net(torch.zeros(2, 1, 256)).shape == (2, 2)
    with pytest.raises(DataFormatError, match="at least 256 time samples"):
        build_model("stftnet", n_chans=1, n_times=255, n_outputs=2, n_fft=256)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"kernel_size": 4}, ConfigError, "kernel_size"),
        ({"n_fft": 2}, ConfigError, "n_fft"),
        ({"width": 0}, ConfigError, "width"),
        ({"n_blocks": -1}, ConfigError, "n_blocks"),
        ({"drop_prob": 1.0}, ConfigError, "drop_prob"),
        ({"fmax": 30.0}, ConfigError, "fmax"),  # no sfreq given below
        ({"hop_length": 0}, ConfigError, "hop_length"),
        ({"n_members": 0}, ConfigError, "n_members"),
    ],
)
def test_bad_hyperparameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        build_model("stftnet", n_chans=1, n_times=128, n_outputs=2, **{"n_fft": 64, **kwargs})


def test_learns_a_planted_spectral_difference():
    """Class 0: 6 Hz rhythm, class 1: 14 Hz rhythm, random phase and equal power, in noise."""
    from neurodl.estimators import NeuralClassifier

    rng = np.random.default_rng(1)
    sfreq, n, t = 64.0, 160, np.arange(256) / 64.0
    y = np.repeat([0, 1], n // 2)
    freq = np.where(y == 0, 6.0, 14.0)
    phase = rng.uniform(0, 2 * np.pi, n)
    X = np.sin(2 * np.pi * freq[:, None] * t + phase[:, None]) + rng.normal(size=(n, 256))
    X = X[:, None, :].astype(np.float32)
    tr, te = np.arange(n) % 4 != 0, np.arange(n) % 4 == 0
    clf = NeuralClassifier(
        "stftnet",
        {"width": 8, "n_blocks": 1},
        max_epochs=15,
        batch_size=16,
        lr=3e-3,
        early_stopping=False,
        validation_fraction=None,
        sfreq=sfreq,
        num_threads=1,
        random_state=0,
    ).fit(X[tr], y[tr])
    assert clf.score(X[te], y[te]) >= 0.9
    # Shuffled labels carry no information: the same recipe stays near chance on held-out data.
    y_perm = rng.permutation(y)
    null = NeuralClassifier(
        "stftnet",
        {"width": 8, "n_blocks": 1},
        max_epochs=15,
        batch_size=16,
        lr=3e-3,
        early_stopping=False,
        validation_fraction=None,
        sfreq=sfreq,
        num_threads=1,
        random_state=0,
    ).fit(X[tr], y_perm[tr])
    assert null.score(X[te], y_perm[te]) < 0.8
