"""Named evaluation protocols: how an :class:`~neurodl.data.EpochsDataset` is split into folds.

Every protocol yields ``(train_idx, test_idx)`` pairs from :meth:`Protocol.split` and declares in
:attr:`Protocol.groups` the metadata column(s) it guarantees never to share between the two sides,
so that :func:`neurodl.evaluation.check_no_leakage` can verify each split. Protocols are selected by
name from :data:`PROTOCOLS` with :func:`get_protocol`.

=========================  ======================================================  ==============
name                       what it does                                            disjoint
=========================  ======================================================  ==============
``within-session``         stratified k-fold inside each subject x session block   ``segment``
``cross-session``          train on the other sessions of a subject, test on one   ``session``
``leave-one-subject-out``  test on one subject, train on all the others            ``subject``
``leave-one-run-out``      inside each subject x session, test one run             ``run``
``grouped-kfold``          GroupKFold by ``group_by`` (recording or segment)       ``group_by``
``blocked-timeseries``     contiguous blocks per recording; train on the past      (time check)
``leave-one-site-out``     test on one site, train on the others                   ``site``
``site-stratified-kfold``  k-fold of subjects stratified by site x label           ``subject``
=========================  ======================================================  ==============

The base class :class:`Protocol` is defined in :mod:`neurodl.evaluation.protocol_base` and the two
site protocols in :mod:`neurodl.evaluation.site_protocols`; all are importable from here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.model_selection import (
    GroupKFold,
    LeaveOneGroupOut,
    StratifiedGroupKFold,
    TimeSeriesSplit,
)

from ..data import EpochsDataset
from ..exceptions import ConfigError, DataFormatError
from .protocol_base import Protocol, Split, _check_n_splits, _is_classification
from .site_protocols import LeaveOneSiteOut, SiteStratifiedKFold

__all__ = [
    "PROTOCOLS",
    "BlockedTimeSeries",
    "CrossSession",
    "GroupedKFold",
    "LeaveOneRunOut",
    "LeaveOneSiteOut",
    "LeaveOneSubjectOut",
    "Protocol",
    "SiteStratifiedKFold",
    "WithinSession",
    "get_protocol",
]


def _summary(counts: dict[str, int], limit: int = 8) -> str:
    items = list(counts.items())
    shown = ", ".join(f"{k!r}: {v}" for k, v in items[:limit])
    more = f", ... ({len(items) - limit} more)" if len(items) > limit else ""
    return "{" + shown + more + "}"


class WithinSession(Protocol):
    """Stratified k-fold inside each subject x session block; scores averaged per session first.

    Folds are grouped by ``segment`` (:class:`~sklearn.model_selection.StratifiedGroupKFold`), so
    windows cut from one segment never land on both sides; with one sample per segment this is
    plain stratified k-fold. Regression targets use grouped k-fold without stratification.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds per session.
    shuffle : bool, default=True
        Shuffle the groups before splitting.
    seed : int, default=0
        Seed of the shuffling.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodl.data import EpochsDataset
    >>> ds = EpochsDataset(np.zeros((8, 3)), y=np.array([0, 1] * 4))
    >>> len(list(WithinSession(n_splits=2).split(ds)))
    2
    """

    name = "within-session"
    permute_within = ("subject", "session")
    aggregate_by_block = True

    def __init__(self, n_splits: int = 5, *, shuffle: bool = True, seed: int = 0) -> None:
        self.n_splits = _check_n_splits(n_splits)
        self.shuffle = bool(shuffle)
        self.seed = seed

    @property
    def groups(self) -> tuple[str, ...]:
        return ("segment",)

    def _splits(self, dataset: EpochsDataset) -> list[Split]:
        md = dataset.metadata
        assert md is not None
        blocks = dataset.groups(["subject", "session"])
        segments = dataset.groups("segment")
        y = dataset.y
        stratify = _is_classification(y)
        out: list[Split] = []
        for block in dict.fromkeys(blocks):
            idx = np.flatnonzero(blocks == block)
            n_groups = len(np.unique(segments[idx]))
            if n_groups < self.n_splits:
                raise DataFormatError(
                    f"within-session with n_splits={self.n_splits} needs at least {self.n_splits} "
                    f"segments per subject x session; block {block!r} has {n_groups}."
                )
            random_state = self.seed if self.shuffle else None
            if stratify:
                cv: Any = StratifiedGroupKFold(
                    self.n_splits, shuffle=self.shuffle, random_state=random_state
                )
                it = cv.split(idx, y[idx], segments[idx])  # type: ignore[index]
            else:
                cv = GroupKFold(self.n_splits, shuffle=self.shuffle, random_state=random_state)
                it = cv.split(idx, None, segments[idx])
            out.extend((idx[tr], idx[te], block) for tr, te in it)
        return out


class CrossSession(Protocol):
    """Train on the other sessions of a subject, test on one session (per subject).

    Subjects with a single session are skipped (logged); at least one subject must have two.

    Examples
    --------
    >>> import pandas as pd
    >>> md = pd.DataFrame({"subject": ["1"] * 4, "session": ["a", "a", "b", "b"]})
    >>> ds = EpochsDataset(np.zeros((4, 2)), y=np.array([0, 1, 0, 1]), metadata=md)
    >>> [test.tolist() for _, test in CrossSession().split(ds)]
    [[0, 1], [2, 3]]
    """

    name = "cross-session"
    permute_within = ("subject", "session")

    @property
    def groups(self) -> tuple[str, ...]:
        return ("session",)

    def get_params(self) -> dict[str, Any]:
        return {}

    def _splits(self, dataset: EpochsDataset) -> list[Split]:
        return _leave_one_out_within(dataset, "session", ["subject"], self.name)


class LeaveOneRunOut(Protocol):
    """Inside each subject x session, test on one run and train on the block's other runs.

    Blocks with a single run are skipped (logged); at least one block must have two runs.

    Examples
    --------
    >>> import pandas as pd
    >>> md = pd.DataFrame({"subject": ["1"] * 4, "session": ["a"] * 4, "run": ["1", "1", "2", "2"]})
    >>> ds = EpochsDataset(np.zeros((4, 2)), y=np.array([0, 1, 0, 1]), metadata=md)
    >>> [test.tolist() for _, test in LeaveOneRunOut().split(ds)]
    [[0, 1], [2, 3]]
    """

    name = "leave-one-run-out"
    permute_within = ("subject", "session")

    @property
    def groups(self) -> tuple[str, ...]:
        return ("run",)

    def get_params(self) -> dict[str, Any]:
        return {}

    def _splits(self, dataset: EpochsDataset) -> list[Split]:
        return _leave_one_out_within(dataset, "run", ["subject", "session"], self.name)


def _leave_one_out_within(
    dataset: EpochsDataset, col: str, within: list[str], name: str
) -> list[Split]:
    from .._logging import logger

    blocks = dataset.groups(within)
    values = dataset.groups(col)
    counts = {b: len(np.unique(values[blocks == b])) for b in dict.fromkeys(blocks)}
    if max(counts.values()) < 2:
        raise DataFormatError(
            f"{name} needs at least 2 {col}s within one {' x '.join(within)}; found {col}s per "
            f"{' x '.join(within)}: {_summary(counts)}."
        )
    skipped = [b for b, c in counts.items() if c < 2]
    if skipped:
        logger.warning(
            "%s: skipping %d block(s) with a single %s: %s", name, len(skipped), col, skipped[:5]
        )
    out: list[Split] = []
    for block, count in counts.items():
        if count < 2:
            continue
        idx = np.flatnonzero(blocks == block)
        for val in dict.fromkeys(values[idx]):
            test = idx[values[idx] == val]
            train = idx[values[idx] != val]
            out.append((train, test, block))
    return out


class LeaveOneSubjectOut(Protocol):
    """Test on one subject, train on all the others (cross-subject generalisation).

    Examples
    --------
    >>> import pandas as pd
    >>> md = pd.DataFrame({"subject": ["1", "1", "2", "2", "3", "3"]})
    >>> ds = EpochsDataset(np.zeros((6, 2)), y=np.array([0, 1] * 3), metadata=md)
    >>> LeaveOneSubjectOut().get_n_splits(ds)
    3
    """

    name = "leave-one-subject-out"

    @property
    def groups(self) -> tuple[str, ...]:
        return ("subject",)

    def get_params(self) -> dict[str, Any]:
        return {}

    def _splits(self, dataset: EpochsDataset) -> list[Split]:
        subjects = dataset.groups("subject")
        uniq = list(dict.fromkeys(subjects))
        if len(uniq) < 2:
            raise DataFormatError(
                f"leave-one-subject-out needs at least 2 subjects; found {len(uniq)}: {uniq[:5]}."
            )
        return [
            (tr, te, subjects[te[0]])
            for tr, te in LeaveOneGroupOut().split(subjects, groups=subjects)
        ]


class GroupedKFold(Protocol):
    """K-fold with whole groups (``recording`` or ``segment``, or any metadata column) held out.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds.
    group_by : str, default="segment"
        Metadata column whose values are kept on one side of each split.
    stratify : bool, default=False
        Use :class:`~sklearn.model_selection.StratifiedGroupKFold` (classification only).
    shuffle : bool, default=True
        Shuffle the groups before splitting.
    seed : int, default=0
        Seed of the shuffling.

    Examples
    --------
    >>> import pandas as pd
    >>> md = pd.DataFrame({"recording": np.repeat(["a", "b", "c", "d"], 2)})
    >>> ds = EpochsDataset(np.zeros((8, 2)), y=np.array([0, 1] * 4), metadata=md)
    >>> folds = list(GroupedKFold(n_splits=2, group_by="recording").split(ds))
    >>> [sorted(set(md.recording[test])) for _, test in folds]
    [['c', 'd'], ['a', 'b']]
    """

    name = "grouped-kfold"

    def __init__(
        self,
        n_splits: int = 5,
        *,
        group_by: str = "segment",
        stratify: bool = False,
        shuffle: bool = True,
        seed: int = 0,
    ) -> None:
        self.n_splits = _check_n_splits(n_splits)
        if not isinstance(group_by, str):
            raise ConfigError(
                f"Invalid value for 'group_by'. Allowed: a metadata column name such as "
                f"'recording' or 'segment'; got {group_by!r}."
            )
        self.group_by = group_by
        self.stratify = bool(stratify)
        self.shuffle = bool(shuffle)
        self.seed = seed

    @property
    def groups(self) -> tuple[str, ...]:
        return (self.group_by,)

    def _splits(self, dataset: EpochsDataset) -> list[Split]:
        groups = dataset.groups(self.group_by)
        n_groups = len(np.unique(groups))
        if n_groups < self.n_splits:
            raise DataFormatError(
                f"grouped-kfold with n_splits={self.n_splits} needs at least {self.n_splits} "
                f"distinct {self.group_by!r} values; found {n_groups}."
            )
        rs = self.seed if self.shuffle else None
        idx = np.arange(dataset.n_samples)
        if self.stratify:
            if not _is_classification(dataset.y):
                raise ConfigError("grouped-kfold with stratify=True needs class labels in y.")
            cv: Any = StratifiedGroupKFold(self.n_splits, shuffle=self.shuffle, random_state=rs)
            it = cv.split(idx, dataset.y, groups)
        else:
            cv = GroupKFold(self.n_splits, shuffle=self.shuffle, random_state=rs)
            it = cv.split(idx, None, groups)
        return [(tr, te, f"fold{k}") for k, (tr, te) in enumerate(it)]


class BlockedTimeSeries(Protocol):
    """Forward-chaining contiguous blocks in time, per recording: never trains on the future.

    Within each recording, samples are ordered by ``onset`` (or by ``trial`` when onsets are
    missing) and cut into ``n_splits + 1`` contiguous blocks
    (:class:`~sklearn.model_selection.TimeSeriesSplit`). Fold ``k`` tests block ``k + 1`` of every
    recording and trains on the blocks before it, minus the last ``gap`` samples. The first block is
    never tested. With overlapping sliding windows, set ``gap`` to at least the number of windows
    that overlap one window, or the leakage guard refuses the split.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds.
    gap : int, default=0
        Number of samples dropped from the end of each training set, before the test block.

    Examples
    --------
    >>> import pandas as pd
    >>> md = pd.DataFrame({"recording": ["r1"] * 6, "onset": np.arange(6.0)})
    >>> ds = EpochsDataset(np.zeros((6, 2)), y=np.array([0, 1] * 3), metadata=md)
    >>> [(train.tolist(), test.tolist()) for train, test in BlockedTimeSeries(n_splits=2).split(ds)]
    [([0, 1], [2, 3]), ([0, 1, 2, 3], [4, 5])]
    """

    name = "blocked-timeseries"

    def __init__(self, n_splits: int = 5, *, gap: int = 0) -> None:
        self.n_splits = _check_n_splits(n_splits)
        if isinstance(gap, bool) or not isinstance(gap, int | np.integer) or gap < 0:
            raise ConfigError(f"Invalid value for 'gap'. Allowed: an integer >= 0; got {gap!r}.")
        self.gap = int(gap)

    def _splits(self, dataset: EpochsDataset) -> list[Split]:
        md = dataset.metadata
        assert md is not None
        recordings = dataset.groups("recording")
        onset = md["onset"].to_numpy(dtype=float)
        trial = md["trial"].to_numpy()
        folds: list[tuple[list[np.ndarray], list[np.ndarray]]] = [
            ([], []) for _ in range(self.n_splits)
        ]
        cv = TimeSeriesSplit(self.n_splits, gap=self.gap)
        for rec in dict.fromkeys(recordings):
            idx = np.flatnonzero(recordings == rec)
            key = onset[idx] if np.all(np.isfinite(onset[idx])) else trial[idx]
            idx = idx[np.argsort(key, kind="stable")]
            need = self.n_splits + 1 + self.gap
            if len(idx) < need:
                raise DataFormatError(
                    f"blocked-timeseries with n_splits={self.n_splits} and gap={self.gap} needs at "
                    f"least {need} samples per recording; recording {rec!r} has {len(idx)}."
                )
            for k, (tr, te) in enumerate(cv.split(idx)):
                folds[k][0].append(idx[tr])
                folds[k][1].append(idx[te])
        return [
            (np.concatenate(tr), np.concatenate(te), f"block{k + 1}")
            for k, (tr, te) in enumerate(folds)
        ]


#: Registry of named protocols: name -> class (constructor parameters via :func:`get_protocol`).
PROTOCOLS: dict[str, type[Protocol]] = {
    "within-session": WithinSession,
    "cross-session": CrossSession,
    "leave-one-subject-out": LeaveOneSubjectOut,
    "leave-one-run-out": LeaveOneRunOut,
    "grouped-kfold": GroupedKFold,
    "blocked-timeseries": BlockedTimeSeries,
    "leave-one-site-out": LeaveOneSiteOut,
    "site-stratified-kfold": SiteStratifiedKFold,
}


def get_protocol(name: str | Protocol, **params: Any) -> Protocol:
    """Return the protocol called ``name`` built with ``params`` (an instance is returned as is).

    Parameters
    ----------
    name : str or Protocol
        One of the keys of :data:`PROTOCOLS`.
    **params
        Constructor parameters, e.g. ``n_splits=5``, ``group_by="recording"``, ``gap=2``.

    Returns
    -------
    protocol : Protocol

    Examples
    --------
    >>> get_protocol("grouped-kfold", group_by="recording").groups
    ('recording',)
    """
    if isinstance(name, Protocol):
        if params:
            raise ConfigError(
                f"Parameters {sorted(params)} cannot be applied to an existing protocol instance."
            )
        return name
    if not isinstance(name, str) or name not in PROTOCOLS:
        raise ConfigError(
            f"Invalid value for 'protocol'. Allowed: {', '.join(repr(k) for k in PROTOCOLS)}; "
            f"got {name!r}."
        )
    try:
        return PROTOCOLS[name](**params)
    except TypeError as err:
        raise ConfigError(f"Invalid parameters for protocol {name!r}: {err}.") from None
