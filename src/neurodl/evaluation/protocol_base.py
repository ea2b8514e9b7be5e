"""The contract of the evaluation protocols: the :class:`Protocol` base class and its helpers.

A protocol turns an :class:`~neurodl.data.EpochsDataset` into folds: :meth:`Protocol.split` yields
``(train_idx, test_idx)`` pairs and :attr:`Protocol.groups` names the metadata column(s) never
shared between the two sides. The named protocols are in :mod:`neurodl.evaluation.protocols`
(which re-exports :class:`Protocol`) and :mod:`neurodl.evaluation.site_protocols`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..data import EpochsDataset, as_epochs_dataset
from ..exceptions import ConfigError, DataFormatError

__all__ = ["Protocol"]

Split = tuple[np.ndarray, np.ndarray, str]


def _is_classification(y: np.ndarray | None) -> bool:
    """True when ``y`` holds discrete class labels (integers, strings or booleans, 1-D)."""
    if y is None or y.ndim != 1:
        return False
    if y.dtype.kind in "biuUSO":
        return True
    return bool(np.all(np.isfinite(y)) and np.all(np.mod(y, 1) == 0))


def _check_n_splits(n_splits: Any) -> int:
    if isinstance(n_splits, bool) or not isinstance(n_splits, int | np.integer) or n_splits < 2:
        raise ConfigError(
            f"Invalid value for 'n_splits'. Allowed: an integer >= 2; got {n_splits!r}."
        )
    return int(n_splits)


class Protocol:
    """Base class of the evaluation protocols.

    Subclasses implement :meth:`_splits`, returning ``(train_idx, test_idx, block)`` triples where
    ``block`` names the unit a fold score is reported for (e.g. ``"S01/ses-1"``).

    Attributes
    ----------
    name : str
        Registry name of the protocol.
    groups : tuple of str
        Metadata columns whose values never appear on both sides of a split.
    aggregate_by_block : bool
        If True, fold scores are averaged within each block first, then across blocks.
    permute_within : tuple of str
        Metadata columns defining the exchangeability blocks of a permutation test under this
        protocol: labels are permuted only among samples sharing these values, so the null
        keeps each block's class balance (differences between sessions or subjects cannot fake
        an effect). Default: within each subject.

    Examples
    --------
    A protocol only returns its folds from ``_splits`` and names the column it keeps apart;
    :meth:`split` sorts the indices and drops empty folds. Hold out each recording in turn:

    >>> import pandas as pd
    >>> class LeaveOneRecordingOut(Protocol):
    ...     name = "leave-one-recording-out"
    ...     @property
    ...     def groups(self):
    ...         return ("recording",)
    ...     def _splits(self, dataset):
    ...         rec = dataset.groups("recording")
    ...         return [(np.flatnonzero(rec != r), np.flatnonzero(rec == r), r) for r in "ab"]
    >>> md = pd.DataFrame({"recording": ["a", "b", "a", "b", "a", "b"]})
    >>> ds = EpochsDataset(np.zeros((6, 2)), y=np.array([0, 0, 1, 1, 0, 1]), metadata=md)
    >>> protocol = LeaveOneRecordingOut()
    >>> protocol.get_n_splits(ds)
    2
    >>> for train, test in protocol.split(ds):
    ...     print(train, test, set(md.recording[train]) & set(md.recording[test]))
    [1 3 5] [0 2 4] set()
    [0 2 4] [1 3 5] set()
    >>> protocol.to_dict()["groups"]
    ['recording']
    """

    name: str = ""
    aggregate_by_block: bool = False
    permute_within: tuple[str, ...] = ("subject",)

    @property
    def groups(self) -> tuple[str, ...]:
        """Metadata column(s) this protocol guarantees disjoint between train and test."""
        return ()

    def get_params(self) -> dict[str, Any]:
        """Return the constructor parameters."""
        return dict(self.__dict__)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe description (name, parameters and guaranteed-disjoint groups)."""
        return {
            "name": self.name,
            "params": self.get_params(),
            "groups": list(self.groups),
            "permute_within": list(self.permute_within),
        }

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # ------------------------------------------------------------------ public API
    def split(self, dataset: EpochsDataset) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_idx, test_idx)`` integer index arrays, one pair per fold.

        Parameters
        ----------
        dataset : EpochsDataset
            The samples to split; its ``metadata`` provides subjects, sessions, runs, etc.

        Yields
        ------
        train_idx : ndarray of shape (n_train,)
        test_idx : ndarray of shape (n_test,)
        """
        for train, test, _ in self.splits(dataset):
            yield train, test

    def splits(self, dataset: EpochsDataset) -> list[Split]:
        """Return all folds as ``(train_idx, test_idx, block)`` triples (sorted index arrays)."""
        dataset = as_epochs_dataset(dataset)
        out = []
        for train, test, block in self._splits(dataset):
            train = np.sort(np.asarray(train, dtype=np.intp))
            test = np.sort(np.asarray(test, dtype=np.intp))
            if len(train) and len(test):
                out.append((train, test, str(block)))
        if not out:
            raise DataFormatError(
                f"Protocol {self.name!r} produced no usable fold for this dataset."
            )
        return out

    def get_n_splits(self, dataset: EpochsDataset) -> int:
        """Return the number of folds on ``dataset``."""
        return len(self.splits(dataset))

    def _splits(self, dataset: EpochsDataset) -> list[Split]:  # pragma: no cover - abstract
        raise NotImplementedError
