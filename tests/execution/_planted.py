"""Shared test data for the execution tests: a planted two-class effect in 4 subjects."""

from __future__ import annotations

import numpy as np
import pandas as pd

from neurodl.data import EpochsDataset


def planted_dataset(n_per_subject: int = 20, n_features: int = 6, effect: float = 0.8):
    """Four subjects, balanced labels, class 1 shifted by ``effect`` on every feature."""
    rng = np.random.default_rng(0)
    n_subjects = 4
    y = np.tile(np.repeat([0, 1], n_per_subject // 2), n_subjects)
    X = rng.normal(size=(len(y), n_features)) + effect * y[:, None]
    md = pd.DataFrame({"subject": np.repeat(np.arange(n_subjects), n_per_subject).astype(str)})
    return EpochsDataset(X, y=y, metadata=md)
