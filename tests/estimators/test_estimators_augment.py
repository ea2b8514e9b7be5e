"""Train-time augmentation: each transform against an oracle, seeding, and where it applies."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodl.estimators import NeuralClassifier
from neurodl.estimators.torch_engine import augment as aug
from neurodl.exceptions import ConfigError


def _x(n: int = 6, c: int = 3, t: int = 128, seed: int = 0) -> torch.Tensor:
    return torch.as_tensor(np.random.default_rng(seed).normal(size=(n, c, t)), dtype=torch.float32)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize(
    "name, params",
    [
        ("time_shift", {"max_shift": 5}),
        ("random_crop", {"fraction": 0.5}),
        ("gaussian_noise", {"std": 0.3}),
        ("amplitude_scale", {}),
        ("sign_flip", {}),
        ("channel_dropout", {"p_drop": 0.5}),
        ("channel_shuffle", {}),
        ("frequency_shift", {"max_shift": 3.0}),
        ("ft_surrogate", {}),
        ("bandstop", {"bandwidth": 4.0}),
        ("lr_symmetry", {"pairs": [[0, 2]]}),
    ],
)
def test_transform_shape_seed_and_change(name: str, params: dict) -> None:
    x = _x()
    f = aug.make_transform(name, sfreq=64.0, **params)
    a, b = f(x, _gen(1)), f(x, _gen(1))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b)  # same generator seed, same output
    assert not torch.allclose(a, x)  # it does something


def test_time_shift_matches_shifted_copy() -> None:
    x = _x(n=4)
    out = aug.make_transform("time_shift", max_shift=7)(x, _gen(3))
    for i in range(len(x)):  # each sample is x shifted by one integer, zero-filled
        matches = []
        for s in range(-7, 8):
            ref = torch.zeros_like(x[i])
            if s >= 0:
                ref[:, s:] = x[i][:, : x.shape[-1] - s]
            else:
                ref[:, :s] = x[i][:, -s:]
            matches.append(torch.allclose(out[i], ref))
        assert sum(matches) == 1


def test_ft_surrogate_keeps_amplitude_spectrum_and_bandstop_removes_band() -> None:
    x = _x(n=3, t=256)
    out = aug.make_transform("ft_surrogate", phase_noise=1.0)(x, _gen(0)).numpy()
    np.testing.assert_allclose(
        np.abs(np.fft.rfft(out, axis=-1)), np.abs(np.fft.rfft(x.numpy(), axis=-1)), atol=1e-3
    )
    bs = aug.make_transform("bandstop", bandwidth=8.0, fmin=10.0, fmax=20.0, sfreq=128.0)
    spec = np.abs(np.fft.rfft(bs(x, _gen(0)).numpy(), axis=-1))
    freqs = np.fft.rfftfreq(256, 1 / 128.0)
    for i in range(3):  # some band of 8 Hz centred in [10, 20] is empty; 0-5 Hz untouched
        empty = spec[i].max(axis=0) < 1e-4
        assert empty.sum() >= 15 and 6 <= freqs[empty].min() and freqs[empty].max() <= 24
    np.testing.assert_allclose(
        spec[:, :, freqs < 5], np.abs(np.fft.rfft(x.numpy(), axis=-1))[:, :, freqs < 5], atol=1e-3
    )


def test_frequency_shift_moves_a_sinusoid_peak() -> None:
    from scipy.signal import hilbert

    sfreq, t = 100.0, np.arange(400) / 100.0
    x = torch.as_tensor(np.sin(2 * np.pi * 10 * t)[None, None, :].repeat(8, 0), dtype=torch.float32)
    out = aug.make_transform("frequency_shift", max_shift=4.0, sfreq=sfreq)(x, _gen(0)).numpy()
    peaks = np.fft.rfftfreq(400, 1 / sfreq)[np.abs(np.fft.rfft(out[:, 0], axis=-1)).argmax(1)]
    assert np.all(np.abs(peaks - 10) <= 4.25) and np.ptp(peaks) > 1.0
    # the oracle: scipy's analytic signal times exp(2 pi i delta t) for the peak's delta
    delta = peaks[0] - 10.0
    ref = np.real(hilbert(x[0, 0].numpy().astype(float)) * np.exp(2j * np.pi * delta * t))
    assert np.corrcoef(ref, out[0, 0])[0, 1] > 0.95


def test_channel_shuffle_stays_in_neighbourhoods_and_mixup_is_convex() -> None:
    x = _x(n=5, c=4)
    out = aug.make_transform("channel_shuffle", neighbourhoods=[[0, 1], [2, 3]])(x, _gen(2))
    for i in range(5):
        for hood in ([0, 1], [2, 3]):
            got = {tuple(out[i, c].tolist()) for c in hood}
            assert got == {tuple(x[i, c].tolist()) for c in hood}
    m = aug.build_augmenter([{"name": "mixup", "p": 1.0, "alpha": 0.5}])
    y = torch.arange(5)
    batch = m(x, y, _gen(0))
    lam = batch.lam
    assert torch.all((lam >= 0) & (lam <= 1))
    partner = [int((batch.y_mix == k).nonzero()[0, 0]) for k in batch.y_mix.tolist()]  # noqa: F841
    ref = lam[:, None, None] * x + (1 - lam[:, None, None]) * x[batch.y_mix]
    torch.testing.assert_close(batch.x, ref)


def test_lr_symmetry_swaps_channels_and_maps_labels() -> None:
    x, y = _x(n=4, c=3), torch.tensor([0, 1, 0, 1])
    m = aug.build_augmenter(
        [{"name": "lr_symmetry", "p": 1.0, "pairs": [[0, 2]], "label_map": {0: 1, 1: 0}}]
    )
    batch = m(x, y, _gen(0))
    torch.testing.assert_close(batch.x[:, 0], x[:, 2])
    torch.testing.assert_close(batch.x[:, 1], x[:, 1])
    assert batch.y.tolist() == [1, 0, 1, 0]


def test_probability_is_per_sample() -> None:
    x = _x(n=400, c=1, t=8)
    out = aug.build_augmenter([{"name": "sign_flip", "p": 0.3}])(x, torch.zeros(400), _gen(0)).x
    flipped = torch.all(out == -x, dim=(1, 2)).float().mean().item()
    assert 0.22 < flipped < 0.38
    same = aug.build_augmenter([{"name": "sign_flip", "p": 0.0}])(x, torch.zeros(400), _gen(0)).x
    assert torch.equal(same, x)


@pytest.mark.parametrize(
    "specs, match",
    [
        ([{"name": "wobble"}], r"augment\[0\]\.name.*'time_shift'.*got 'wobble'"),
        ([{"name": "sign_flip", "p": 1.5}], r"augment\[0\]\.p.*probability.*got 1.5"),
        ([{"name": "gaussian_noise", "sigma": 1}], r"\['sigma'\].*'gaussian_noise'.*'std'"),
        ([{"name": "bandstop"}], "needs the sampling rate"),
        ([{"name": "lr_symmetry"}], "'pairs' must be"),
        ("noise", "Allowed: a list"),
    ],
)
def test_bad_specs_are_refused(specs: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        aug.check_augment(specs)


def _data(n: int = 48, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    X = rng.normal(size=(n, 2, 16)).astype(np.float32)
    X[:, 0] += 1.5 * (2 * y[:, None] - 1)
    return X, y


def test_augmentation_touches_training_batches_only(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[np.ndarray] = []
    original = aug.Augmenter.__call__

    def spy(self: aug.Augmenter, x: torch.Tensor, y: torch.Tensor, rng: torch.Generator):
        seen.append(x.numpy().copy())
        return original(self, x, y, rng)

    monkeypatch.setattr(aug.Augmenter, "__call__", spy)
    X, y = _data()
    clf = NeuralClassifier(
        "linear",
        max_epochs=3,
        batch_size=8,
        validation_fraction=0.25,
        random_state=0,
        augment=[{"name": "gaussian_noise", "p": 1.0, "std": 0.5}],
        device="cpu",
    ).fit(X, y)
    rows = np.concatenate(seen)
    n_batches = sum(len(b) for b in seen)
    assert n_batches == 3 * clf.n_train_  # every training sample once per epoch, no more
    # every augmented input is a training row; no validation row ever enters
    from neurodl.estimators._neural_base import _NeuralBase

    tr, va = _NeuralBase._valid_split(clf, y, None, clf.seed_)
    train_rows = {r.tobytes() for r in X[tr]}
    assert all(r.tobytes() in train_rows for r in rows)
    assert not any(r.tobytes() in train_rows for r in X[va])  # the split is real
    seen.clear()
    clf.predict_proba(X)
    assert seen == []  # prediction is never augmented


def test_augmented_fit_is_seeded_and_changes_training() -> None:
    X, y = _data()
    kw = dict(max_epochs=3, batch_size=8, validation_fraction=0.0, device="cpu")
    specs = [{"name": "gaussian_noise", "p": 1.0, "std": 1.0}, {"name": "mixup", "p": 0.5}]
    a = NeuralClassifier("linear", random_state=0, augment=specs, **kw).fit(X, y)
    b = NeuralClassifier("linear", random_state=0, augment=specs, **kw).fit(X, y)
    c = NeuralClassifier("linear", random_state=0, **kw).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))


def test_mixup_refused_for_regression() -> None:
    from neurodl.estimators import NeuralRegressor

    X, y = _data()
    with pytest.raises(ConfigError, match="'mixup' needs classification"):
        NeuralRegressor("linear", max_epochs=1, augment=[{"name": "mixup"}], device="cpu").fit(
            X, y.astype(float)
        )
