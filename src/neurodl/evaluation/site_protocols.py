"""Protocols for multi-site studies: hold out whole sites, or mix every site in each fold.

Both keep the class balance of each site in permutation tests (``permute_within`` is the site
column). They are registered in :data:`neurodl.evaluation.protocols.PROTOCOLS` as
``leave-one-site-out`` and ``site-stratified-kfold`` and importable from
:mod:`neurodl.evaluation.protocols` too.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from ..data import EpochsDataset
from ..exceptions import ConfigError, DataFormatError
from .protocol_base import Protocol, Split, _check_n_splits, _is_classification

__all__ = ["LeaveOneSiteOut", "SiteStratifiedKFold"]


class LeaveOneSiteOut(Protocol):
    """Test on every subject of one site, train on the other sites (generalisation to new sites).

    Labels are permuted within sites under this protocol (a site's class balance is kept).

    Parameters
    ----------
    site_column : str, default="site"
        Metadata column naming the acquisition site.

    Examples
    --------
    >>> import pandas as pd
    >>> md = pd.DataFrame({"site": ["a", "a", "b", "b", "c", "c"]})
    >>> ds = EpochsDataset(np.zeros((6, 2)), y=np.array([0, 1] * 3), metadata=md)
    >>> [b for _, _, b in LeaveOneSiteOut().splits(ds)]
    ['a', 'b', 'c']
    """

    name = "leave-one-site-out"

    def __init__(self, *, site_column: str = "site") -> None:
        if not isinstance(site_column, str):
            raise ConfigError(
                f"Invalid value for 'site_column'. Allowed: a metadata column name; "
                f"got {site_column!r}."
            )
        self.site_column = site_column

    @property
    def groups(self) -> tuple[str, ...]:
        return (self.site_column,)

    @property
    def permute_within(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.site_column,)

    def _splits(self, dataset: EpochsDataset) -> list[Split]:
        sites = dataset.groups(self.site_column)
        uniq = list(dict.fromkeys(sites))
        if len(uniq) < 2:
            raise DataFormatError(
                f"leave-one-site-out needs at least 2 sites; found {len(uniq)}: {uniq[:5]}."
            )
        return [(np.flatnonzero(sites != s), np.flatnonzero(sites == s), s) for s in sorted(uniq)]


class SiteStratifiedKFold(Protocol):
    """K-fold over subjects, stratified by site x label: every fold mixes all sites and classes.

    Each subject's samples stay on one side (:class:`~sklearn.model_selection.StratifiedGroupKFold`
    with ``subject`` groups and the site/label combination as the stratum).

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds.
    site_column : str, default="site"
        Metadata column naming the acquisition site.
    shuffle : bool, default=True
        Shuffle before splitting.
    seed : int, default=0
        Seed of the shuffling.

    Examples
    --------
    >>> import pandas as pd
    >>> md = pd.DataFrame({"subject": [f"s{i}" for i in range(8)], "site": ["A"] * 4 + ["B"] * 4})
    >>> ds = EpochsDataset(np.zeros((8, 2)), y=np.array([0, 1] * 4), metadata=md)
    >>> folds = list(SiteStratifiedKFold(n_splits=2).split(ds))
    >>> [sorted(set(md.site[test])) for _, test in folds]  # every fold mixes the sites
    [['A', 'B'], ['A', 'B']]
    """

    name = "site-stratified-kfold"

    def __init__(
        self, n_splits: int = 5, *, site_column: str = "site", shuffle: bool = True, seed: int = 0
    ) -> None:
        self.n_splits = _check_n_splits(n_splits)
        self.site_column = site_column
        self.shuffle = bool(shuffle)
        self.seed = seed

    @property
    def groups(self) -> tuple[str, ...]:
        return ("subject",)

    @property
    def permute_within(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.site_column,)

    def _splits(self, dataset: EpochsDataset) -> list[Split]:
        subjects = dataset.groups("subject")
        n_subjects = len(np.unique(subjects))
        if n_subjects < self.n_splits:
            raise DataFormatError(
                f"site-stratified-kfold with n_splits={self.n_splits} needs at least "
                f"{self.n_splits} subjects; found {n_subjects}."
            )
        if not _is_classification(dataset.y):
            raise ConfigError("site-stratified-kfold needs class labels in y.")
        strata = np.char.add(
            np.char.add(dataset.groups(self.site_column).astype(str), "|"),
            np.asarray(dataset.y).astype(str),
        )
        rs = self.seed if self.shuffle else None
        cv = StratifiedGroupKFold(self.n_splits, shuffle=self.shuffle, random_state=rs)
        idx = np.arange(dataset.n_samples)
        return [(tr, te, f"fold{k}") for k, (tr, te) in enumerate(cv.split(idx, strata, subjects))]
