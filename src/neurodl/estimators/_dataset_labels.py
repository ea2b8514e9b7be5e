"""``fit(dataset)`` without ``y``: the labels come from the samples themselves.

An :class:`~neurodl.data.EpochsDataset` carries its labels in ``y``; an ``mne.Epochs`` carries
them in its events, converted by :meth:`EpochsDataset.from_mne` (the one conversion every neurodl
entry point uses: event codes mapped to ``0..K-1`` in code order, ``classes`` their event names).
"""

from __future__ import annotations

from typing import Any

from ..data.epochs import EpochsDataset, as_epochs_dataset, is_mne_epochs
from ..exceptions import DataFormatError


def labelled_samples(X: Any, y: Any) -> tuple[Any, Any]:
    """``(X, y)``, with ``y`` taken from ``X`` when ``y`` is None and ``X`` has labels.

    Parameters
    ----------
    X : EpochsDataset, mne.Epochs or array-like
        The samples given to ``fit``.
    y : array-like or None
        The labels given to ``fit``.

    Returns
    -------
    X, y
        Unchanged unless ``y`` is None and ``X`` is an EpochsDataset or ``mne.Epochs``: then the
        data array of shape (n_samples, n_channels, n_times) and its labels (``dataset.y``; for
        ``mne.Epochs`` the event codes as :meth:`EpochsDataset.from_mne` numbers them).

    Raises
    ------
    DataFormatError
        ``y`` is None and ``X`` is an EpochsDataset without labels.

    Examples
    --------
    >>> import numpy as np
    >>> ds = EpochsDataset(np.zeros((4, 2, 10)), y=np.array([0, 1, 0, 1]))
    >>> X, y = labelled_samples(ds, None)
    >>> X.shape, y.tolist()
    ((4, 2, 10), [0, 1, 0, 1])
    >>> labelled_samples(EpochsDataset(np.zeros((4, 2, 10))), None)
    Traceback (most recent call last):
    ...
    neurodl.exceptions.DataFormatError: fit(X) without y needs labelled samples, but the \
EpochsDataset X has no labels (X.y is None): pass y, or build the dataset with y.
    """
    if y is not None or not (isinstance(X, EpochsDataset) or is_mne_epochs(X)):
        return X, y
    ds = as_epochs_dataset(X, name="X")
    if ds.y is None:
        raise DataFormatError(
            "fit(X) without y needs labelled samples, but the EpochsDataset X has no labels "
            "(X.y is None): pass y, or build the dataset with y."
        )
    return ds.X, ds.y
