"""Leakage guard: refuse train/test splits that share a group or overlap in time."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..data import EpochsDataset, as_epochs_dataset
from ..exceptions import LeakageError

__all__ = ["check_no_leakage"]

_N_EXAMPLES = 5


def _as_index(idx: np.ndarray | Sequence[int], n: int, name: str) -> np.ndarray:
    arr = np.asarray(idx)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ValueError(f"Boolean '{name}' must have shape ({n},); got {arr.shape}.")
        return np.flatnonzero(arr)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise ValueError(
            f"'{name}' must be a 1-D array of integer indices; got dtype {arr.dtype}, "
            f"shape {arr.shape}."
        )
    if arr.size and (arr.min() < -n or arr.max() >= n):
        raise ValueError(
            f"'{name}' holds indices outside [0, {n}); got min {arr.min()}, max {arr.max()}."
        )
    return arr % n if arr.size else arr.astype(np.intp)


def check_no_leakage(
    dataset: EpochsDataset,
    train_idx: np.ndarray | Sequence[int],
    test_idx: np.ndarray | Sequence[int],
    *,
    group_by: str | Sequence[str] | None = ("segment",),
    check_overlap: bool = True,
) -> None:
    """Raise :class:`~neurodl.exceptions.LeakageError` if a split leaks between train and test.

    Three checks, in order:

    1. no sample index is on both sides;
    2. for each column in ``group_by``, no value appears on both sides (e.g. one subject in train
       and test under leave-one-subject-out, or windows of one segment on both sides);
    3. if ``check_overlap`` and ``dataset.info["window_s"]`` is set, no training window overlaps a
       test window of the same recording in time (from metadata ``recording`` and ``onset``;
       windows touching end-to-start do not overlap).

    Parameters
    ----------
    dataset : EpochsDataset
        The samples with their metadata.
    train_idx, test_idx : array-like of int of shape (n_train,), (n_test,)
        Indices (or boolean masks) of the training and test samples.
    group_by : str or sequence of str or None, default=("segment",)
        Metadata columns that must be disjoint; pass a protocol's ``groups``. None or ``()``
        checks no column.
    check_overlap : bool, default=True
        Check the temporal overlap of windows (skipped when the window length is unknown).

    Raises
    ------
    LeakageError
        Naming the column, example values and counts, or the recording and overlapping onsets.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from neurodl.data import EpochsDataset
    >>> md = pd.DataFrame({"subject": ["1", "1", "2", "2"]})
    >>> ds = EpochsDataset(np.zeros((4, 2)), metadata=md)
    >>> check_no_leakage(ds, [0, 1], [2, 3], group_by="subject")  # fine
    >>> check_no_leakage(ds, [0, 2], [1, 3], group_by="subject")
    Traceback (most recent call last):
    ...
    neurodl.exceptions.LeakageError: ...
    """
    dataset = as_epochs_dataset(dataset)
    n = dataset.n_samples
    train = _as_index(train_idx, n, "train_idx")
    test = _as_index(test_idx, n, "test_idx")

    both = np.intersect1d(train, test)
    if both.size:
        raise LeakageError(
            f"{both.size} sample index(es) are in both train and test, e.g. "
            f"{both[:_N_EXAMPLES].tolist()}."
        )

    cols: tuple[str, ...] = (
        () if group_by is None else ((group_by,) if isinstance(group_by, str) else tuple(group_by))
    )
    for col in cols:
        values = dataset.groups(col)
        shared, n_tr, n_te = _shared_values(values[train], values[test])
        if shared.size:
            examples = ", ".join(
                f"{v!r} (train {n_tr[i]}, test {n_te[i]})"
                for i, v in enumerate(shared[:_N_EXAMPLES].tolist())
            )
            raise LeakageError(
                f"{shared.size} value(s) of metadata column {col!r} appear in both train and "
                f"test: {examples}. Use a protocol that keeps each {col!r} on one side."
            )

    if check_overlap:
        _check_overlap(dataset, train, test)


def _shared_values(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return values in both ``a`` and ``b`` with their counts in each."""
    ua, ca = np.unique(a, return_counts=True)
    ub, cb = np.unique(b, return_counts=True)
    shared, ia, ib = np.intersect1d(ua, ub, assume_unique=True, return_indices=True)
    return shared, ca[ia], cb[ib]


def _check_overlap(dataset: EpochsDataset, train: np.ndarray, test: np.ndarray) -> None:
    window = dataset.info.get("window_s") if dataset.info else None
    if window is None:
        return
    try:
        w = float(window)
    except (TypeError, ValueError):
        raise ValueError(
            f"dataset.info['window_s'] must be a number of seconds; got {window!r}."
        ) from None
    if not np.isfinite(w) or w <= 0:
        return
    md = dataset.metadata
    assert md is not None
    onset = md["onset"].to_numpy(dtype=float)
    rec = dataset.groups("recording")
    tol = 1e-9 * max(1.0, w)
    shared_recs = np.intersect1d(rec[train], rec[test])
    for r in shared_recs:
        t_tr = np.sort(onset[train][rec[train] == r])
        t_te = onset[test][rec[test] == r]
        t_tr, t_te = t_tr[np.isfinite(t_tr)], t_te[np.isfinite(t_te)]
        if not (t_tr.size and t_te.size):
            continue
        # a train onset s overlaps test window [t, t + w) iff t - w < s < t + w
        lo = np.searchsorted(t_tr, t_te - w + tol, side="left")
        hi = np.searchsorted(t_tr, t_te + w - tol, side="right")
        bad = np.flatnonzero(hi > lo)
        if bad.size:
            pairs = ", ".join(
                f"test {t_te[i]:g} s ~ train {t_tr[lo[i]]:g} s" for i in bad[:_N_EXAMPLES]
            )
            raise LeakageError(
                f"{bad.size} test window(s) of recording {r!r} overlap training windows in time "
                f"(window {w:g} s): {pairs}. Group windows by recording/segment, or leave a gap "
                f"between training and test windows."
            )
