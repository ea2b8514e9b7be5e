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

    def recipe():
        return NeuralClassifier(
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
        )

    clf = recipe().fit(X[tr], y[tr])
    assert clf.score(X[te], y[te]) >= 0.9
    # Shuffled labels carry no information: the same recipe stays near chance on held-out data.
    y_perm = rng.permutation(y)
    null = recipe().fit(X[tr], y_perm[tr])
    assert null.score(X[te], y_perm[te]) < 0.8


# ----------------------------------------------------------------------------- options
# Outputs of the network before the raw-branch / masking options existed (same seeds, same
# input): the defaults must reproduce them exactly, in eval and in train mode.
_GOLDEN_EVAL = [
    -0.8412078619003296, -1.1888659000396729, -2.432246208190918, -0.893782913684845,
    -1.1351914405822754, -2.0325558185577393, -0.7887865900993347, -1.1445088386535645,
    -1.9935767650604248, -0.6790140867233276, -1.2172348499298096, -2.1529085636138916,
]  # fmt: skip
_GOLDEN_TRAIN = [
    -1.5083496570587158, -1.8133589029312134, -5.224684715270996, -1.644932746887207,
    -0.7848183512687683, -3.421915054321289, -3.1799087524414062, -0.3543968200683594,
    -2.7859463691711426, -1.0812259912490845, -0.5529918670654297, -3.281960964202881,
]  # fmt: skip


@pytest.mark.parametrize("extra", [{}, {"raw_width": 0, "freq_mask": 0, "time_mask": 0}])
def test_defaults_reproduce_the_previous_network(extra):
    torch.manual_seed(0)
    net = build_model(
        "stftnet", n_chans=2, n_times=300, n_outputs=3, n_fft=64, n_members=2, **extra
    )
    x = torch.randn(4, 2, 300, generator=torch.Generator().manual_seed(1))
    net.eval()
    with torch.no_grad():
        out_eval = net(x).flatten()
    net.train()
    torch.manual_seed(5)
    with torch.no_grad():
        out_train = net(x).flatten()
    torch.testing.assert_close(out_eval, torch.tensor(_GOLDEN_EVAL), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out_train, torch.tensor(_GOLDEN_TRAIN), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("n_chans", "raw_width", "n_members"), [(1, 16, 1), (3, 8, 2)])
def test_raw_branch_parameter_count(n_chans, raw_width, n_members):
    kw = {"n_chans": n_chans, "n_times": 512, "n_outputs": 4, "n_fft": 64, "n_members": n_members}
    plain = count_parameters(build_model("stftnet", **kw))
    with_raw = count_parameters(build_model("stftnet", raw_width=raw_width, **kw))
    r = raw_width
    # input BN, first conv (kernel 7, no bias) + BN, 3 more convs + BNs, wider readout (no bias)
    branch = 2 * n_chans + (n_chans * r * 7 + 2 * r) + 3 * (r * r * 7 + 2 * r) + 2 * r * 4
    assert with_raw - plain == n_members * branch


def _spiky(rng, n, n_times):
    """Positive sharp transients (a 3-sample spike and a slow after-wave) in Gaussian noise."""
    x = rng.normal(scale=0.5, size=(n, n_times))
    shape = np.r_[1.0, 3.0, 1.0, -0.3 * np.ones(6)]
    for i in range(n):
        for pos in rng.choice(n_times - len(shape), size=6, replace=False):
            x[i, pos : pos + len(shape)] += shape
    return x


def test_raw_branch_learns_polarity_that_log_power_cannot_see():
    """Class 0: upward spikes, class 1: the same kind of signal sign-flipped (downward spikes).

    x and -x have identical power spectrograms, so the spectrogram-only network gives the same
    output for both members of a test pair (x, -x) and scores exactly chance; only the raw
    branch sees the polarity.
    """
    from neurodl.estimators import NeuralClassifier

    rng = np.random.default_rng(3)
    n_times, n_train, n_test = 256, 160, 40
    base = _spiky(rng, n_train, n_times)
    y_tr = np.arange(n_train) % 2
    X_tr = np.where(y_tr[:, None] == 0, base, -base)[:, None, :].astype(np.float32)
    test = _spiky(rng, n_test, n_times)
    X_te = np.concatenate([test, -test])[:, None, :].astype(np.float32)
    y_te = np.repeat([0, 1], n_test)
    params = {
        "max_epochs": 12,
        "batch_size": 16,
        "lr": 3e-3,
        "early_stopping": False,
        "validation_fraction": None,
        "num_threads": 1,
        "random_state": 0,
    }
    spec_only = NeuralClassifier("stftnet", {"n_fft": 64, "width": 8, "n_blocks": 1}, **params)
    spec_only.fit(X_tr, y_tr)
    pred = spec_only.predict(X_te)
    np.testing.assert_array_equal(pred[:n_test], pred[n_test:])  # blind to the sign
    assert spec_only.score(X_te, y_te) == 0.5
    with_raw = NeuralClassifier(
        "stftnet", {"n_fft": 64, "width": 8, "n_blocks": 1, "raw_width": 8}, **params
    ).fit(X_tr, y_tr)
    assert with_raw.score(X_te, y_te) >= 0.9


def test_spectrogram_mask_is_training_only_and_has_the_requested_shape():
    kw = {"n_chans": 2, "n_times": 400, "n_outputs": 3, "n_fft": 64, "hop_length": 16}
    torch.manual_seed(0)
    plain = build_model("stftnet", **kw).eval()
    torch.manual_seed(0)
    masked = build_model("stftnet", freq_mask=6, time_mask=3, **kw).eval()
    x = torch.randn(5, 2, 400)
    with torch.no_grad():  # no parameters added, same initialisation: eval outputs agree
        torch.testing.assert_close(masked(x), plain(x))
        masked.train()
        plain.train()
        torch.manual_seed(1)
        a = masked(x)
        torch.manual_seed(1)
        b = plain(x)
    assert not torch.allclose(a, b)  # the mask acts in train mode
    assert plain.spec_mask(5) is None
    torch.manual_seed(2)
    mask = masked.spec_mask(200).numpy()  # (200, 2 * 33, 22)
    assert mask.shape == (200, 2 * 33, (400 - 64) // 16 + 1)
    np.testing.assert_array_equal(mask[:, :33], mask[:, 33:])  # same bins in both channels
    rows = mask[:, :33].all(axis=2)  # fully masked frequency rows
    cols = mask[:, :33].all(axis=1)  # fully masked frames
    for r, c in zip(rows, cols, strict=True):
        for hit, limit in ((r, 6), (c, 3)):
            idx = np.flatnonzero(hit)
            assert len(idx) <= limit
            if len(idx):
                assert idx[-1] - idx[0] == len(idx) - 1  # one contiguous band / span
    assert rows.sum(axis=1).max() == 6 and cols.sum(axis=1).max() == 3  # the limits are reached
    # masked entries are exactly the union of the band and the span
    expected = rows[:, :, None] | cols[:, None, :]
    np.testing.assert_array_equal(mask[:, :33], expected)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"raw_width": -1}, "raw_width"),
        ({"freq_mask": -2}, "freq_mask"),
        ({"time_mask": -1}, "time_mask"),
        ({"freq_mask": 34}, "freq_mask.*at most 33"),  # n_fft 64: 33 bins
        ({"time_mask": 6}, "time_mask.*at most 5"),  # (128 - 64) // 16 + 1 = 5 frames
    ],
)
def test_bad_option_values(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        build_model("stftnet", n_chans=1, n_times=128, n_outputs=2, n_fft=64, **kwargs)
