"""The ``cross-dataset`` protocol: train on one dataset (or set of files), test on another.

Both datasets live in one :class:`~neurodl.data.EpochsDataset` built by
:func:`combine_datasets`, with a ``dataset`` metadata column naming each sample's side;
:class:`CrossDataset` trains on every sample of the training dataset and tests on the other.
When the two datasets share group identities (the same segments or subjects seen through two
recording systems), ``n_splits`` + ``group_by`` make grouped folds: fold ``k`` tests the test
dataset's samples of the groups in fold ``k`` and trains on the training dataset's samples of
all *other* groups, so no group is on both sides.

Registered as ``"cross-dataset"`` in :data:`neurodl.evaluation.PROTOCOLS`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from ..data import EpochsDataset
from ..exceptions import ConfigError, DataFormatError
from .protocols import PROTOCOLS, Protocol, Split, _check_n_splits

__all__ = ["DATASET_COLUMN", "CrossDataset", "combine_datasets"]

#: Metadata column naming each sample's dataset in a combined dataset.
DATASET_COLUMN = "dataset"


def combine_datasets(
    train: EpochsDataset, test: EpochsDataset, *, train_name: str = "train", test_name: str = "test"
) -> EpochsDataset:
    """Stack two harmonised datasets into one, with a ``dataset`` column naming each side.

    Parameters
    ----------
    train, test : EpochsDataset
        Same sample shape (channels, times) and rate; ``test.classes`` must equal
        ``train.classes`` when both are set.
    train_name, test_name : str
        Values of the ``dataset`` column (must differ).

    Returns
    -------
    EpochsDataset
        ``X`` of shape (n_train + n_test, ...), training samples first; metadata columns of
        both plus ``dataset``; ``info["cross_dataset"]`` holds the names and sizes.

    Examples
    --------
    >>> a = EpochsDataset(np.zeros((4, 2, 10)), y=np.array([0, 1, 0, 1]), sfreq=100.0)
    >>> b = EpochsDataset(np.ones((2, 2, 10)), y=np.array([1, 0]), sfreq=100.0)
    >>> both = combine_datasets(a, b, train_name="A", test_name="B")
    >>> both.X.shape, both.metadata["dataset"].tolist()
    ((6, 2, 10), ['A', 'A', 'A', 'A', 'B', 'B'])
    """
    if train_name == test_name:
        raise ConfigError(
            f"Invalid value for 'test_name': it must differ from the training name {train_name!r}."
        )
    Xtr, Xte = np.asarray(train.X), np.asarray(test.X)
    if Xtr.shape[1:] != Xte.shape[1:]:
        raise DataFormatError(
            f"The two datasets need the same sample shape after harmonisation; training "
            f"{Xtr.shape[1:]} vs test {Xte.shape[1:]} (resample both to one 'sfreq' and cut "
            "windows of one length)."
        )
    if (
        train.sfreq is not None
        and test.sfreq is not None
        and not np.isclose(train.sfreq, test.sfreq)
    ):
        raise DataFormatError(
            f"The two datasets need one sampling rate; got {train.sfreq} Hz (training) and "
            f"{test.sfreq} Hz (test): set the protocol's 'sfreq'."
        )
    if train.ch_names and test.ch_names and list(train.ch_names) != list(test.ch_names):
        raise DataFormatError(
            f"The two datasets need the same channels in the same order; training "
            f"{list(train.ch_names)[:8]} vs test {list(test.ch_names)[:8]}."
        )
    if train.classes and test.classes and list(train.classes) != list(test.classes):
        raise DataFormatError(
            f"The two datasets need the same classes; training {train.classes} vs test "
            f"{test.classes}."
        )
    if (train.y is None) or (test.y is None):
        raise DataFormatError("Both datasets need labels (y) for a cross-dataset evaluation.")
    md = pd.concat(
        [
            train.metadata.assign(**{DATASET_COLUMN: train_name}),  # type: ignore[union-attr]
            test.metadata.assign(**{DATASET_COLUMN: test_name}),  # type: ignore[union-attr]
        ],
        ignore_index=True,
    )
    info = {
        **train.info,
        "cross_dataset": {
            "train": train_name,
            "test": test_name,
            "n_train": len(Xtr),
            "n_test": len(Xte),
        },
    }
    return EpochsDataset(
        np.concatenate([Xtr, Xte.astype(Xtr.dtype, copy=False)]),
        np.concatenate([np.asarray(train.y), np.asarray(test.y)]),
        md,
        train.sfreq,
        train.ch_names,
        train.classes,
        info,
    )


class CrossDataset(Protocol):
    """Train on the samples of one dataset, test on those of another (``dataset`` column).

    Parameters
    ----------
    train, test : str, default "train", "test"
        Values of the ``dataset`` metadata column of the two sides.
    n_splits : int or None, default=None
        ``None``: one split (all training samples vs all test samples). An int: grouped folds
        over the ``group_by`` values the two datasets share (see the module docstring).
    group_by : str or None
        The shared group column (e.g. ``"segment"``, ``"subject"``); needed with ``n_splits``.
    shuffle : bool, default=True
    seed : int, default=0
        Seed of the fold assignment (``n_splits`` only).

    Examples
    --------
    >>> md = pd.DataFrame({"dataset": ["a"] * 4 + ["b"] * 4, "segment": list("pqrs") * 2})
    >>> ds = EpochsDataset(np.zeros((8, 2)), y=np.array([0, 1] * 4), metadata=md)
    >>> [(tr.tolist(), te.tolist()) for tr, te in CrossDataset("a", "b").split(ds)]
    [([0, 1, 2, 3], [4, 5, 6, 7])]
    >>> folds = CrossDataset("a", "b", n_splits=2, group_by="segment").splits(ds)
    >>> sorted(te.tolist() for _, te, _ in folds)
    [[4, 5], [6, 7]]
    """

    name = "cross-dataset"
    permute_within = (DATASET_COLUMN,)

    def __init__(
        self,
        train: str = "train",
        test: str = "test",
        *,
        n_splits: int | None = None,
        group_by: str | None = None,
        shuffle: bool = True,
        seed: int = 0,
    ) -> None:
        if n_splits is not None:
            n_splits = _check_n_splits(n_splits)
            if not isinstance(group_by, str) or not group_by:
                raise ConfigError(
                    "Invalid value for 'group_by'. Allowed: the metadata column the two datasets "
                    f"share (e.g. 'segment') when n_splits is set; got {group_by!r}."
                )
        elif group_by is not None:
            raise ConfigError(
                f"Invalid value for 'group_by': it needs 'n_splits' (grouped folds); got "
                f"group_by={group_by!r} with n_splits=None."
            )
        self.train = str(train)
        self.test = str(test)
        self.n_splits = n_splits
        self.group_by = group_by
        self.shuffle = bool(shuffle)
        self.seed = seed

    @property
    def groups(self) -> tuple[str, ...]:
        return (DATASET_COLUMN,) + ((self.group_by,) if self.group_by else ())

    def _splits(self, dataset: EpochsDataset) -> list[Split]:
        if dataset.metadata is None or DATASET_COLUMN not in dataset.metadata.columns:
            raise DataFormatError(
                "cross-dataset needs a 'dataset' metadata column naming each sample's dataset "
                "(see neurodl.evaluation.combine_datasets)."
            )
        side = dataset.groups(DATASET_COLUMN)
        tr_all, te_all = np.flatnonzero(side == self.train), np.flatnonzero(side == self.test)
        for name, idx in ((self.train, tr_all), (self.test, te_all)):
            if not len(idx):
                raise DataFormatError(
                    f"cross-dataset: no sample has dataset={name!r}; found "
                    f"{sorted(set(side.tolist()))}."
                )
        if self.n_splits is None:
            return [(tr_all, te_all, self.test)]
        groups = dataset.groups(self.group_by)  # type: ignore[arg-type]
        test_groups = np.unique(groups[te_all])
        if len(test_groups) < self.n_splits:
            raise DataFormatError(
                f"cross-dataset with n_splits={self.n_splits} needs at least {self.n_splits} "
                f"{self.group_by!r} values in the test dataset; found {len(test_groups)}."
            )
        rs = self.seed if self.shuffle else None
        cv = GroupKFold(self.n_splits, shuffle=self.shuffle, random_state=rs)
        out: list[Split] = []
        for k, (_, te_g) in enumerate(cv.split(test_groups, groups=test_groups)):
            held = test_groups[te_g]
            test = te_all[np.isin(groups[te_all], held)]
            train = tr_all[~np.isin(groups[tr_all], held)]
            out.append((train, test, f"fold{k}"))
        return out


PROTOCOLS[CrossDataset.name] = CrossDataset
