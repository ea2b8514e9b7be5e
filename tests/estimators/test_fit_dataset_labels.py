"""``NeuralClassifier.fit(dataset)`` without ``y``: the labels come from the EpochsDataset (its
``y``) or the ``mne.Epochs`` (its events, as ``EpochsDataset.from_mne`` numbers them)."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from neurodl.data import EpochsDataset
from neurodl.estimators.neural import NeuralClassifier, NeuralRegressor
from neurodl.exceptions import DataFormatError

FAST = {
    "max_epochs": 6,
    "batch_size": 16,
    "lr": 0.02,
    "device": "cpu",
    "random_state": 0,
    "num_threads": 1,
    "validation_fraction": 0.0,
}


def _planted(n=240, n_chans=3, n_times=16, seed=0, shift=2.0):
    """Class 1 has channel 0 shifted up: learnable, so held-out accuracy is far above chance."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.repeat([0, 1], n // 2))
    X = rng.normal(size=(n, n_chans, n_times)).astype(np.float32)
    X[y == 1, 0] += shift
    return X, y


def test_fit_dataset_without_y_learns_its_labels():
    X, y = _planted()
    train = EpochsDataset(X[:180], y[:180], classes=["left", "right"])
    X_test, y_test = X[180:], y[180:]
    clf = NeuralClassifier("linear", **FAST).fit(train)
    assert clf.score(X_test, y_test) > 0.8  # the planted effect, on held-out samples
    ref = NeuralClassifier("linear", **FAST).fit(train.X, train.y)
    np.testing.assert_array_equal(clf.predict(X_test), ref.predict(X_test))
    np.testing.assert_allclose(clf.predict_proba(X_test), ref.predict_proba(X_test))
    assert clf.classes_.tolist() == [0, 1]
    # a y given explicitly wins over the dataset's own labels
    flipped = NeuralClassifier("linear", **FAST).fit(train, 1 - train.y)
    assert flipped.score(X_test, 1 - y_test) > 0.8


def test_fit_mne_epochs_without_y_takes_the_event_labels():
    X, y = _planted()
    info = mne.create_info(["C3", "Cz", "C4"], 100.0, "eeg")
    codes = np.where(y == 1, 20, 10)  # event codes 10/20, not 0/1
    events = np.column_stack([np.arange(len(y)) * 100, np.zeros(len(y), int), codes])
    epochs = mne.EpochsArray(
        X.astype(np.float64),
        info,
        events=events,
        event_id={"rest": 10, "move": 20},
        verbose="error",
    )
    ds = EpochsDataset.from_mne(epochs)
    assert ds.y.tolist() == y.tolist() and ds.classes == ["rest", "move"]
    clf = NeuralClassifier("linear", **FAST).fit(epochs[:180])
    ref = NeuralClassifier("linear", **FAST).fit(ds.X[:180], ds.y[:180])
    np.testing.assert_array_equal(clf.predict(ds.X[180:]), ref.predict(ds.X[180:]))
    assert clf.score(ds.X[180:], y[180:]) > 0.8


def test_fit_unlabelled_dataset_without_y_is_one_clear_error():
    X, _ = _planted(n=16)
    unlabelled = EpochsDataset(X)
    for est in (NeuralClassifier("linear", **FAST), NeuralRegressor("linear", **FAST)):
        with pytest.raises(DataFormatError) as err:
            est.fit(unlabelled)
        msg = str(err.value)
        assert "\n" not in msg
        assert msg.startswith("fit(X) without y needs labelled samples")
        assert "X.y is None" in msg
    # a plain array without y keeps scikit-learn's own message
    with pytest.raises(ValueError, match="requires y to be passed"):
        NeuralClassifier("linear", **FAST).fit(X)
