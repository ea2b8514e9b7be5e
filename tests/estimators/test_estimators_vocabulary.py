"""One training vocabulary for every torch estimator; old names warn and still work."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from neurodl.estimators import NeuralClassifier, NeuralRegressor
from neurodl.estimators.dynamics import LFADS, RNNDecoder, RNNForecaster, SequentialAutoencoder
from neurodl.estimators.encoder import NeuralEncoder

TORCH_ESTIMATORS = [
    NeuralClassifier,
    NeuralRegressor,
    NeuralEncoder,
    RNNDecoder,
    RNNForecaster,
    LFADS,
    SequentialAutoencoder,
]
#: names no torch estimator may take (their replacements on the right)
OLD_NAMES = {"epochs": "max_epochs", "val_fraction": "validation_fraction", "seed": "random_state"}


@pytest.fixture(autouse=True)
def _one_torch_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("cls", TORCH_ESTIMATORS, ids=lambda c: c.__name__)
def test_every_torch_estimator_uses_the_same_names(cls):
    params = set(cls().get_params(deep=False))
    assert {"max_epochs", "batch_size", "lr", "random_state"} <= params
    assert not params & set(OLD_NAMES)


@pytest.mark.parametrize(
    ("cls", "old", "value"),
    [
        (RNNDecoder, "epochs", 3),
        (RNNDecoder, "val_fraction", 0.2),
        (RNNDecoder, "seed", 5),
        (RNNForecaster, "epochs", 3),
        (RNNForecaster, "seed", 5),
        (LFADS, "epochs", 3),
        (LFADS, "val_fraction", 0.2),
        (LFADS, "seed", 5),
        (SequentialAutoencoder, "epochs", 3),
    ],
)
def test_old_name_warns_and_sets_the_new_one(cls, old, value):
    new = OLD_NAMES[old]
    match = f"'{old}' was renamed '{new}'; the old name will be removed in neurodl 0.3"
    with pytest.warns(FutureWarning, match=match):
        est = cls(**{old: value})
    assert getattr(est, new) == value
    assert new in est.get_params() and old not in est.get_params()


def test_unknown_keyword_is_still_a_type_error():
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        RNNDecoder(bogus=1)
    with pytest.raises(TypeError, match="got both 'max_epochs' and its old name 'epochs'"):
        RNNDecoder(epochs=2, max_epochs=3)
    with pytest.raises(TypeError, match=r"unexpected keyword argument .val_fraction."):
        RNNForecaster(val_fraction=0.2)  # no such parameter, under either name


def _linear_system(n=150, n_neurons=4):
    rng = np.random.default_rng(0)
    X = rng.poisson(3.0, (n, n_neurons)).astype(float)
    y = np.stack([X[:, 0] - X[:, 1], np.roll(X[:, 2], 1)], axis=1)
    return X, y


def test_old_and_new_names_fit_identically_rnn_decoder():
    X, y = _linear_system()
    kw = {"n_lags": 3, "hidden_size": 4}
    new = RNNDecoder(**kw, max_epochs=3, validation_fraction=0.2, random_state=2).fit(X, y)
    with pytest.warns(FutureWarning):
        old = RNNDecoder(**kw, epochs=3, val_fraction=0.2, seed=2).fit(X, y)
    np.testing.assert_array_equal(new.predict(X), old.predict(X))


def test_old_and_new_names_fit_identically_forecaster_and_lfads():
    rng = np.random.default_rng(1)
    c = rng.poisson(2.0, (12, 10, 4)).astype(float)
    new_f = RNNForecaster([1], hidden_size=4, max_epochs=2, random_state=3).fit(c)
    with pytest.warns(FutureWarning):
        old_f = RNNForecaster([1], hidden_size=4, epochs=2, seed=3).fit(c)
    np.testing.assert_array_equal(new_f.predict(c), old_f.predict(c))
    kw = {"enc_size": 4, "gen_size": 4, "g0_size": 2, "n_factors": 2, "batch_size": 8}
    new_l = LFADS(**kw, max_epochs=2, validation_fraction=0.2, random_state=1).fit(c)
    with pytest.warns(FutureWarning):
        old_l = LFADS(**kw, epochs=2, val_fraction=0.2, seed=1).fit(c)
    np.testing.assert_array_equal(new_l.predict(c)["rates"], old_l.predict(c)["rates"])


def test_neural_estimators_share_the_parameter_names_of_the_engine():
    """Names shared by the neural and dynamics estimators mean the same training setting."""
    shared = {"max_epochs", "batch_size", "lr", "weight_decay", "patience", "random_state"}
    for cls in (NeuralClassifier, RNNDecoder, LFADS):
        assert shared <= set(inspect.signature(cls.__init__).parameters)
