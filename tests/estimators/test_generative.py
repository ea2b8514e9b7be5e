"""Generative augmentation: conditional VAE / WGAN-GP, fitted on the training data only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodl.estimators.generative import (
    GenerativeAugmentedClassifier,
    GenerativeAugmenter,
    _gradient_penalty,
)
from neurodl.exceptions import ConfigError, DataFormatError

SFREQ = 64.0


@pytest.fixture(autouse=True)
def _one_torch_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _two_rhythms(n_per_class=40, seed=0):
    """Class 0: a 5 Hz rhythm, class 1: a 16 Hz rhythm (random phase), two channels, noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(128) / SFREQ
    X, y = [], []
    for c, f in enumerate((5.0, 16.0)):
        for _ in range(n_per_class):
            w = 0.2 * rng.standard_normal((2, 128))
            w += np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))[None, :] * [[1.0], [0.5]]
            X.append(w)
            y.append(c)
    return np.asarray(X, np.float32), np.asarray(y)


def _class_bumps(n_per_class=24, seed=0):
    """Class 0: a bump at 0.5 s, class 1: at 1.5 s (jittered), opposite signs on two channels."""
    rng = np.random.default_rng(seed)
    t = np.arange(128) / SFREQ
    X, y = [], []
    for c, t0 in enumerate((0.5, 1.5)):
        for _ in range(n_per_class):
            bump = np.exp(-((t - t0 - rng.normal(0, 0.05)) ** 2) / (2 * 0.1**2))
            X.append(0.3 * rng.standard_normal((2, 128)) + bump[None, :] * [[2.0], [-1.0]])
            y.append(c)
    return np.asarray(X, np.float32), np.asarray(y)


def test_cvae_generates_each_class_waveform():
    X, y = _class_bumps()
    aug = GenerativeAugmenter("cvae", max_epochs=30, lr=3e-3, width=8, random_state=0).fit(X, y)
    Xg, yg = aug.sample({0: 30, 1: 30})
    assert Xg.shape == (60, 2, 128) and np.isfinite(Xg).all()
    for c in (0, 1):  # each class's generated mean is that class's real mean, not the other's
        gen_mean = Xg[yg == c].mean(0).ravel()
        assert np.corrcoef(gen_mean, X[y == c].mean(0).ravel())[0, 1] > 0.9
        assert np.corrcoef(gen_mean, X[y == 1 - c].mean(0).ravel())[0, 1] < 0.3
    # same seed, same samples; another seed, other samples
    np.testing.assert_array_equal(aug.sample({0: 3})[0], aug.sample({0: 3})[0])
    assert not np.allclose(aug.sample({0: 3})[0], aug.sample({0: 3}, random_state=9)[0])


def test_wgan_gp_trains_and_is_seeded():
    X, y = _two_rhythms(n_per_class=16)
    kw = {"max_epochs": 2, "width": 8, "n_critic": 2, "random_state": 3}
    a = GenerativeAugmenter("wgan_gp", **kw).fit(X, y)
    b = GenerativeAugmenter("wgan_gp", **kw).fit(X, y)
    Xa, ya = a.sample({1: 4, 0: 2})
    assert Xa.shape == (6, 2, 128) and ya.tolist() == [1, 1, 1, 1, 0, 0]
    np.testing.assert_array_equal(Xa, b.sample({1: 4, 0: 2})[0])
    assert all(np.isfinite(h["wasserstein_estimate"]) for h in a.history_)


def test_gradient_penalty_of_a_linear_critic():
    """For f(x) = w . x the gradient is w everywhere: penalty (|w| - 1)^2."""
    w = torch.tensor([[[3.0, 0.0], [0.0, 4.0]]])

    def critic(x, y):
        return (x * w).flatten(1).sum(1)

    real, fake = torch.randn(5, 2, 2), torch.randn(5, 2, 2)
    gp = _gradient_penalty(critic, real, fake, torch.zeros(5, dtype=torch.long), torch.Generator())
    assert float(gp) == pytest.approx((5.0 - 1.0) ** 2)


def test_augmented_classifier_fits_its_generator_on_its_training_data_only():
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = _two_rhythms()
    tr = np.r_[0:10, 40:55]  # 10 of class 0, 15 of class 1
    flat = FunctionTransformer(lambda Z: np.log(np.var(Z, axis=-1)))
    clf = GenerativeAugmentedClassifier(
        make_pipeline(flat, LinearDiscriminantAnalysis()),
        GenerativeAugmenter("cvae", max_epochs=2, width=8),
        ratio=2.0,
    ).fit(X[tr], y[tr])
    assert clf.augmenter_.class_counts_.tolist() == [10, 15]
    np.testing.assert_allclose(clf.augmenter_.mean_[:, 0], X[tr].mean(axis=(0, 2)), rtol=1e-5)
    assert clf.n_generated_ == 50 and clf.predict(X[:3]).shape == (3,)


@pytest.mark.parametrize(
    ("kw", "y_counts", "err", "match"),
    [
        (
            {},
            (3, 10),
            DataFormatError,
            r"Too few training windows.*class 0: 3.*min_class_samples=5",
        ),
        ({"kind": "gan"}, (10, 10), ConfigError, "'kind'.*'cvae', 'wgan_gp'; got 'gan'"),
    ],
)
def test_bad_generator_input(kw, y_counts, err, match):
    X = np.zeros((sum(y_counts), 2, 64), np.float32)
    y = np.repeat([0, 1], y_counts)
    with pytest.raises(err, match=match):
        GenerativeAugmenter(max_epochs=1, **kw).fit(X, y)


def test_sampling_an_unknown_class_is_refused():
    X, y = _two_rhythms(n_per_class=6)
    aug = GenerativeAugmenter(max_epochs=1, width=8).fit(X, y)
    with pytest.raises(DataFormatError, match=r"Invalid class.*0, 1; got 7"):
        aug.sample({7: 2})
