"""cross_validate, protocols, the leakage guard and the estimators take an mne.Epochs directly.

The oracle is the same call on ``EpochsDataset.from_mne(epochs)`` / ``epochs.get_data()``:
passing the MNE object must change nothing but the convenience.
"""

from __future__ import annotations

import numpy as np
import pytest

from neurodl.data import EpochsDataset
from neurodl.estimators import NeuralClassifier
from neurodl.estimators.classical import make_classical
from neurodl.evaluation import check_no_leakage, cross_validate, get_protocol
from neurodl.preprocessing._base import check_epochs_data

mne = pytest.importorskip("mne")


@pytest.fixture(scope="module")
def epochs():
    """40 epochs, 4 EEG channels; 'target' epochs carry +1 SD on channel C3 (planted effect)."""
    rng = np.random.default_rng(3)
    n = 40
    y = np.arange(n) % 2
    X = rng.normal(size=(n, 4, 32))
    X[y == 1, 1] += 1.0
    info = mne.create_info(["Fz", "C3", "Cz", "C4"], 64.0, "eeg")
    events = np.column_stack([64 * np.arange(n), np.zeros(n, int), np.where(y == 1, 2, 1)])
    return mne.EpochsArray(
        X * 1e-6, info, events, tmin=0.0, event_id={"standard": 1, "target": 2}, verbose="error"
    )


def test_cross_validate_takes_mne_epochs(epochs):
    est = make_classical("lda")
    direct = cross_validate(est, epochs, "within-session", seed=0)
    via = cross_validate(est, EpochsDataset.from_mne(epochs), "within-session", seed=0)
    np.testing.assert_array_equal(direct.scores, via.scores)
    assert direct.score > 0.8 > direct.chance  # the planted effect is found


def test_protocols_and_leakage_guard_take_mne_epochs(epochs):
    proto = get_protocol("within-session")
    splits = proto.splits(epochs)
    assert len(splits) == len(proto.splits(EpochsDataset.from_mne(epochs)))
    train, test, _ = splits[0]
    check_no_leakage(epochs, train, test, group_by="segment")


def test_bad_dataset_names_what_is_allowed():
    with pytest.raises(TypeError, match=r"Allowed: an mne\.Epochs or an EpochsDataset; got list"):
        cross_validate(make_classical("lda"), [[1, 2], [3, 4]], "within-session")


@pytest.mark.parametrize("name", ["lda", "csp_lda"])
def test_classical_estimators_take_mne_epochs(epochs, name):
    y = epochs.events[:, 2]
    X = epochs.get_data()
    a = make_classical(name).fit(epochs, y)
    b = make_classical(name).fit(X, y)
    np.testing.assert_array_equal(a.predict(epochs), b.predict(X))


def test_neural_classifier_takes_mne_epochs(epochs):
    y = epochs.events[:, 2]
    kw = {"max_epochs": 2, "batch_size": 16, "validation_fraction": 0.0, "random_state": 0}
    a = NeuralClassifier("linear", device="cpu", **kw).fit(epochs, y)
    b = NeuralClassifier("linear", device="cpu", **kw).fit(epochs.get_data(), y)
    np.testing.assert_allclose(a.predict_proba(epochs), b.predict_proba(epochs.get_data()))


def test_preprocessing_check_takes_mne_epochs(epochs):
    np.testing.assert_array_equal(check_epochs_data(epochs), epochs.get_data())
