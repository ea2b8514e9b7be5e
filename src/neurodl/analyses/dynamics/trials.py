"""Trial decoding from spike counts: rows, labels and windows of a trial table, then statistics.

One trial is one sample: the spike count of every unit in a window ``[a + start, a + stop]``
around the trial's alignment time ``a`` (a trial-table column, optionally plus another column
such as a reaction time), optionally per bin and square-rooted. The label is a column of the
same table (its distinct values, or above/below a threshold). :func:`decode_trial_label`
cross-validates a model on these samples with :func:`neurodl.analyses.decoding.decode` and
returns one flat dictionary of statistics.

Typical use::

    rows = trial_rows(spikes.trials, "old_new", keep=[1, 2])
    counts = trial_window_counts(spikes, rows=rows, t_start=0.2, t_after=1.7)
    sel = counts.trials[rows]
    y, names = trial_labels(sel, "old_new", names=["new", "old"])
    ds = trial_dataset(counts.X[rows], y, sel, classes=names, subject=spikes.subject)
    stats, _ = decode_trial_label(trial_estimator("lda"), ds, n_permutations=200)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...data import EpochsDataset, SpikeTrains
from ...exceptions import ConfigError, DataFormatError
from .binning import bin_trials

__all__ = [
    "TrialCounts",
    "decode_trial_label",
    "label_values",
    "trial_dataset",
    "trial_estimator",
    "trial_labels",
    "trial_rows",
    "trial_window_counts",
]


def _check_column(table: pd.DataFrame, column: str, where: str) -> None:
    if column not in table.columns:
        raise ConfigError(
            f"Invalid value for '{where}'. Allowed: a trial-table column {list(table.columns)}; "
            f"got {column!r}."
        )


def trial_rows(
    table: pd.DataFrame,
    column: str,
    keep: Sequence[Any] | None = None,
    *,
    base: np.ndarray | None = None,
    dropna: bool = True,
    min_trials: int = 0,
    where: str = "column",
) -> np.ndarray:
    """Rows of a trial table with a usable value in ``column``.

    Parameters
    ----------
    table : DataFrame of shape (n_trials, ...)
        The trial table.
    column : str
        The column tested.
    keep : sequence, optional
        Only rows whose value is one of these (e.g. drop a 'no response' code).
    base : ndarray of bool, shape (n_trials,), optional
        Rows eligible at all (e.g. a trial filter); default all.
    dropna : bool, default=True
        Drop rows whose value is missing.
    min_trials : int, default=0
        Raise when fewer rows are selected.
    where : str, default="column"
        Name of ``column`` in error messages (e.g. ``"options.label.column"``).

    Returns
    -------
    rows : ndarray of bool, shape (n_trials,)

    Raises
    ------
    ConfigError
        ``column`` is not a column of ``table`` (the message names it and the columns).
    DataFormatError
        Fewer than ``min_trials`` rows selected.

    Examples
    --------
    >>> table = pd.DataFrame({"choice": ["L", "R", None, "L"]})
    >>> trial_rows(table, "choice").tolist(), trial_rows(table, "choice", keep=["R"]).tolist()
    ([True, True, False, True], [False, True, False, False])
    """
    _check_column(table, column, where)
    rows = np.ones(len(table), bool) if base is None else np.asarray(base, bool).copy()
    if dropna:
        rows &= table[column].notna().to_numpy()
    if keep is not None:
        rows &= table[column].isin(keep).to_numpy()
    if rows.sum() < min_trials:
        raise DataFormatError(
            f"Only {int(rows.sum())} trials match the filter and '{where}' = {column!r}; "
            f"need >= {min_trials}."
        )
    return rows


def trial_labels(
    table: pd.DataFrame,
    column: str,
    *,
    threshold: float | None = None,
    names: Sequence[str] | None = None,
    where: str = "column",
) -> tuple[np.ndarray, list[str]]:
    """Integer class labels of trials from one column of their table.

    Parameters
    ----------
    table : DataFrame of shape (n_trials, ...)
        The selected trials (no missing value in ``column``).
    column : str
        The label column.
    threshold : float, optional
        Label ``value >= threshold`` as 1 and the rest as 0. Default: one class per distinct
        value, in sorted order (numbers by value, anything else as strings; see
        :func:`label_values`).
    names : sequence of str, optional
        Class names (one per class, in label order); default the values as written (``"1"``
        for a code read as ``1.0``; strings as they are) (or ``"<column> < t"``,
        ``">= t"`` with a threshold).
    where : str, default="column"
        Name of ``column`` in error messages; ``names`` is reported as ``<where minus
        '.column'>.names``.

    Returns
    -------
    y : ndarray of int, shape (n_trials,)
    names : list of str
        One per class.

    Raises
    ------
    ConfigError
        Unknown ``column``, or ``names`` of the wrong length (the message lists the values).

    Examples
    --------
    >>> table = pd.DataFrame({"choice": ["L", "R", "L"], "contrast": [0.1, 0.8, 0.5]})
    >>> y, names = trial_labels(table, "choice")
    >>> y.tolist(), names
    ([0, 1, 0], ['L', 'R'])
    >>> y, names = trial_labels(table, "contrast", threshold=0.5)
    >>> y.tolist(), names
    ([0, 1, 1], ['contrast < 0.5', '>= 0.5'])
    """
    _check_column(table, column, where)
    values = table[column]
    if threshold is not None:
        y = (values.to_numpy(dtype=float) >= threshold).astype(int)
        return y, list(names or [f"{column} < {threshold:g}", f">= {threshold:g}"])
    classes, y = label_values(values)
    shown = [str(c) for c in classes]
    if names is not None and len(names) != len(classes):
        stem = where.removesuffix(".column") if where.endswith(".column") else where
        raise ConfigError(
            f"Invalid value for '{stem}.names'. Allowed: {len(classes)} names, one per value "
            f"of {column!r} ({', '.join(shown)}, in this order); got {list(names)!r}."
        )
    return y, list(names) if names is not None else shown


def label_values(values: pd.Series | Sequence[Any]) -> tuple[list[Any], np.ndarray]:
    """The distinct values of a label column with their types, and each trial's class index.

    Numbers sort by value and keep their type, whole-valued floats becoming ``int`` (a column
    of codes read as float because of missing values elsewhere gives ``1``, not ``1.0``);
    anything else is compared as strings (strings stay strings).

    Parameters
    ----------
    values : Series or sequence of shape (n_trials,)
        The label of each trial (no missing value).

    Returns
    -------
    classes : list of int, float or str
        The distinct values in class order.
    y : ndarray of int, shape (n_trials,)
        Index of each trial's value in ``classes``.

    Examples
    --------
    >>> classes, y = label_values(pd.Series([2.0, 1.0, 2.0]))  # codes read as floats
    >>> classes, y.tolist()
    ([1, 2], [1, 0, 1])
    """
    arr = np.asarray(pd.Series(values).to_numpy())
    numeric = arr.dtype.kind in "biuf" and arr.dtype.kind != "b"
    if numeric:
        uniq, y = np.unique(arr.astype(float), return_inverse=True)
        whole = bool(np.all(np.isfinite(uniq)) and np.all(uniq == np.round(uniq)))
        classes: list[Any] = [int(v) if whole else float(v) for v in uniq]
    else:
        uniq, y = np.unique(arr.astype(str), return_inverse=True)
        classes = [str(v) for v in uniq]
    return classes, np.asarray(y, dtype=int).ravel()


@dataclass
class TrialCounts:
    """Spike counts in a trial-aligned window (what :func:`trial_window_counts` returns).

    Attributes
    ----------
    X : ndarray of float, shape (n_trials, n_bins * n_units)
        Counts per trial (bin-major: bin 0's units, then bin 1's...), square-rooted when asked;
        rows not selected are 0.
    trials : DataFrame of shape (n_trials, ...)
        The trial table (index reset) with the column ``_window_start`` (absolute seconds).
    window : tuple of float
        ``(start, stop)`` of the window relative to the alignment time, in seconds.
    n_bins : int

    Examples
    --------
    >>> import pandas as pd
    >>> from neurodl.data import SpikeTrains
    >>> rng = np.random.default_rng(0)
    >>> starts = 2.0 * np.arange(40)  # 40 trials of 1 s, one every 2 s
    >>> old = np.tile([0, 1], 20)
    >>> rate = np.array([[5, 5, 5], [15, 5, 5]])  # spikes per trial: unit 0 fires more on "old"
    >>> times = [np.concatenate([s + rng.uniform(0, 1, rng.poisson(rate[o, u]))
    ...                          for s, o in zip(starts, old)]) for u in range(3)]
    >>> trials = pd.DataFrame({"start_time": starts, "stop_time": starts + 1.0,
    ...                        "old_new": np.where(old, "old", "new")})
    >>> spikes = SpikeTrains(times, trials=trials)
    >>> counts = trial_window_counts(spikes, t_start=0.0, t_after=1.0, bin_size=0.5, sqrt=False)
    >>> type(counts).__name__, counts.X.shape, counts.n_bins, counts.window
    ('TrialCounts', (40, 6), 2, (0.0, 1.0))
    >>> counts.X[1].tolist()  # bin 0's three units, then bin 1's
    [8.0, 5.0, 5.0, 10.0, 1.0, 1.0]
    """

    X: np.ndarray
    trials: pd.DataFrame
    window: tuple[float, float]
    n_bins: int


def trial_window_counts(
    spikes: SpikeTrains,
    *,
    rows: np.ndarray | None = None,
    align: str = "start_time",
    align_shift: str | None = None,
    t_start: float | None = None,
    t_before: float = 0.0,
    t_after: float | None = None,
    bin_size: float | None = None,
    sqrt: bool = True,
) -> TrialCounts:
    """Spike counts of every unit in a window around each trial's alignment time.

    The window is ``[a + start, a + t_after]`` with ``a = trials[align] (+ trials[align_shift])``
    and ``start = t_start`` (or ``-t_before``). Counts are taken with
    :func:`~neurodl.analyses.dynamics.bin_trials` (a spike at time ``t`` counts in the bin with
    ``left <= t < right``; the last bin also includes its right edge).

    Parameters
    ----------
    spikes : SpikeTrains
        With a trial table (``start_time``, ``stop_time`` and the columns named here).
    rows : ndarray of bool, shape (n_trials,), optional
        Trials counted (others are left 0); default all.
    align : str, default="start_time"
        Column of alignment times (seconds).
    align_shift : str, optional
        Column added to ``align`` (seconds; e.g. a reaction time counted from ``stop_time``).
    t_start : float, optional
        Window start relative to the alignment time; overrides ``t_before``.
    t_before : float, default=0.0
        Seconds before the alignment time (start ``-t_before``) when ``t_start`` is None.
    t_after : float, optional
        Window end relative to the alignment time; default the shortest
        ``stop_time - a`` among the counted trials.
    bin_size : float, optional
        None: one count per unit over the whole window; else ``floor(width / bin_size)`` bins.
    sqrt : bool, default=True
        Square-root the counts (variance stabilisation).

    Returns
    -------
    TrialCounts
        ``X`` of shape (n_trials, n_bins * n_units), the table with ``_window_start``, the window.

    Raises
    ------
    ConfigError
        Unknown ``align``/``align_shift`` column, or a window that ends before it starts.
    DataFormatError
        No trial table, or a missing alignment time in a counted trial.

    Examples
    --------
    >>> import pandas as pd
    >>> from neurodl.data import SpikeTrains
    >>> rng = np.random.default_rng(0)
    >>> starts = 2.0 * np.arange(40)  # 40 trials of 1 s, one every 2 s
    >>> old = np.tile([0, 1], 20)
    >>> rate = np.array([[5, 5, 5], [15, 5, 5]])  # spikes per trial: unit 0 fires more on "old"
    >>> times = [np.concatenate([s + rng.uniform(0, 1, rng.poisson(rate[o, u]))
    ...                          for s, o in zip(starts, old)]) for u in range(3)]
    >>> trials = pd.DataFrame({"start_time": starts, "stop_time": starts + 1.0,
    ...                        "old_new": np.where(old, "old", "new")})
    >>> spikes = SpikeTrains(times, trials=trials)
    >>> new = (trials["old_new"] == "new").to_numpy()
    >>> counts = trial_window_counts(spikes, rows=new, t_before=0.5, t_after=1.0)
    >>> counts.X.shape, counts.window  # one square-rooted count per unit over the window
    ((40, 3), (-0.5, 1.0))
    >>> bool((counts.X[~new] == 0).all())  # rows not counted stay 0
    True
    >>> counts.trials["_window_start"][:2].tolist()  # absolute seconds
    [-0.5, 1.5]
    """
    if spikes.trials is None:
        raise DataFormatError("'spikes' has no trial table; trial windows need one.")
    table = spikes.trials.reset_index(drop=True)
    used = np.ones(len(table), bool) if rows is None else np.asarray(rows, bool)
    for col in [align, align_shift]:
        if col is not None and col not in table.columns:
            raise ConfigError(
                f"Invalid value for 'align'/'align_shift'. Allowed: a trial-table column "
                f"({list(table.columns)}); got {col!r}."
            )
    anchor = table[align].to_numpy(float).copy()
    if align_shift is not None:
        anchor += table[align_shift].to_numpy(float)
    if not np.isfinite(anchor[used]).all():
        raise DataFormatError("Missing alignment times in the selected trials.")
    start = t_start if t_start is not None else -t_before
    if t_after is None:
        t_after = float(np.min(table["stop_time"].to_numpy(float)[used] - anchor[used]))
    if not t_after > start:
        raise ConfigError(
            f"The window must end after it starts; got start {start!r} and t_after {t_after!r}."
        )
    width = t_after - start
    bin_size = bin_size or width
    shifted = dataclasses.replace(spikes, trials=table.assign(_window_start=anchor + start))
    n_bins = int(np.floor(width / bin_size + 1e-9))
    counts = np.zeros((len(table), n_bins, spikes.n_units))
    counts[used] = bin_trials(
        shifted, bin_size, align="_window_start", t_after=width, trials=np.flatnonzero(used)
    )
    X = counts.reshape(len(table), -1).astype(float)
    return TrialCounts(
        np.sqrt(X) if sqrt else X, shifted.trials, (float(start), float(t_after)), n_bins
    )


def trial_dataset(
    X: np.ndarray,
    y: np.ndarray,
    trials: pd.DataFrame,
    *,
    classes: Sequence[str] | None = None,
    subject: str | None = None,
    session: str | None = None,
    onset: str = "start_time",
    source: str = "",
) -> EpochsDataset:
    """Trials as an :class:`~neurodl.data.EpochsDataset` (one sample and one segment per trial).

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_features)
        Features of the selected trials (e.g. ``TrialCounts.X[rows]``).
    y : ndarray of int, shape (n_trials,)
    trials : DataFrame of shape (n_trials, ...)
        The selected rows of the trial table (same order as ``X``).
    classes : sequence of str, optional
        Class names.
    subject, session : str, optional
        Recorded in the metadata (``"0"`` when None): one subject and session for all trials.
    onset : str, default="start_time"
        Column of ``trials`` stored as the samples' ``onset``.
    source : str, default=""
        Stored as ``info["source"]``.

    Returns
    -------
    EpochsDataset
        Metadata columns ``subject, session, run, recording, segment, trial, onset``.

    Examples
    --------
    >>> table = pd.DataFrame({"start_time": [0.0, 2.0, 4.0], "choice": ["L", "R", "L"]})
    >>> y, names = trial_labels(table, "choice")
    >>> ds = trial_dataset(np.ones((3, 5)), y, table, classes=names, subject="P1", source="choice")
    >>> ds.X.shape, ds.classes, ds.y.tolist()
    ((3, 5), ['L', 'R'], [0, 1, 0])
    >>> ds.metadata[["subject", "segment", "onset"]].to_dict("list")  # one segment per trial
    {'subject': ['P1', 'P1', 'P1'], 'segment': ['0', '1', '2'], 'onset': [0.0, 2.0, 4.0]}
    """
    if not (len(X) == len(y) == len(trials)):
        raise DataFormatError(
            f"X, y and trials must have one row per trial; got {len(X)}, {len(y)}, {len(trials)}."
        )
    _check_column(trials, onset, "onset")
    md = pd.DataFrame(
        {
            "subject": str(subject or "0"),
            "session": str(session or "0"),
            "run": "0",
            "recording": "0",
            "segment": [str(i) for i in range(len(trials))],
            "trial": np.arange(len(trials)),
            "onset": trials[onset].to_numpy(float),
        }
    )
    names = list(classes) if classes is not None else None
    return EpochsDataset(X, y, md, None, None, names, {"source": source})


def trial_estimator(
    model: str,
    *,
    seed: int = 0,
    params: Mapping[str, Any] | None = None,
    inner_search: Mapping[str, Any] | None = None,
    metric: str = "balanced_accuracy",
) -> Any:
    """A model by name, optionally wrapped in a nested search of one parameter.

    Parameters
    ----------
    model : str
        Any name of :func:`neurodl.estimators.make_estimator`.
    seed : int, default=0
    params : mapping, optional
        Parameters of the model.
    inner_search : mapping, optional
        ``{"param": "C", "values": [...], "n_splits": 5}``: a :class:`GridSearchCV` over
        ``values`` of ``param`` (of the final pipeline step) with a shuffled stratified inner
        CV (``n_splits`` folds, default 5) on each training set, scored with ``metric`` when
        scikit-learn knows it (else the model's own score).
    metric : str, default="balanced_accuracy"

    Returns
    -------
    estimator : scikit-learn estimator (unfitted)

    Raises
    ------
    ConfigError
        ``inner_search`` names a parameter the model's final step does not have.

    Examples
    --------
    >>> est = trial_estimator("lda")
    >>> [name for name, _ in est.steps]
    ['flatten', 'standardscaler', 'lineardiscriminantanalysis']
    >>> search = trial_estimator("logistic_regression",
    ...                          inner_search={"param": "C", "values": [0.1, 1.0]})
    >>> type(search).__name__, search.param_grid
    ('GridSearchCV', {'logisticregression__C': [0.1, 1.0]})
    >>> try:
    ...     trial_estimator("lda", inner_search={"param": "C", "values": [0.1, 1.0]})
    ... except ValueError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    Invalid value for 'inner_search.param'. Allowed: a parameter of the final step of model 'lda'
    (covariance_estimator, n_components, priors, shrinkage, solver, store_covariance, tol);
    got 'C'.
    """
    from sklearn.metrics import get_scorer_names
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from ...estimators import make_estimator

    est = make_estimator(model, seed=seed, **dict(params or {}))
    if inner_search is None:
        return est
    param = inner_search.get("param", "C")
    steps = getattr(est, "steps", None)
    key = f"{steps[-1][0]}__{param}" if steps else param
    if key not in est.get_params():
        prefix = f"{steps[-1][0]}__" if steps else ""
        names = [k[len(prefix) :] for k in est.get_params() if k.startswith(prefix)]
        allowed = sorted(k for k in names if "__" not in k)
        raise ConfigError(
            f"Invalid value for 'inner_search.param'. Allowed: a parameter of the final "
            f"step of model {model!r} ({', '.join(a for a in allowed if a)}); got {param!r}."
        )
    values = list(inner_search["values"])
    if len(values) < 2:
        raise ConfigError(
            f"Invalid value for 'inner_search.values'. Allowed: at least 2 values; got {values!r}."
        )
    return GridSearchCV(
        est,
        {key: values},
        cv=StratifiedKFold(inner_search.get("n_splits", 5), shuffle=True, random_state=seed),
        scoring=metric if metric in get_scorer_names() else None,
    )


def decode_trial_label(
    estimator: Any,
    dataset: EpochsDataset,
    protocol: Any = "within-session",
    metric: str = "balanced_accuracy",
    *,
    label: str | None = None,
    seed: int = 0,
    n_permutations: int = 0,
    n_boot: int = 1000,
    ci: float = 0.95,
    progress: Any = None,
) -> tuple[dict[str, Any], Any]:
    """Cross-validated score, CI, chance level, permutation p-value and timing of trial labels.

    Runs :func:`neurodl.analyses.decoding.decode` (labels permuted within the protocol's
    blocks: with one subject and session, across all trials). When ``estimator`` is a
    parameter search (e.g. from :func:`trial_estimator` with ``inner_search``), it is also
    refitted on all trials and the value it selects is reported (information only: the score
    comes from the nested cross-validation).

    Parameters
    ----------
    estimator : scikit-learn estimator
        Unfitted; cloned per fold.
    dataset : EpochsDataset
        ``X`` of shape (n_trials, n_features), integer ``y`` of shape (n_trials,), ``classes``.
    protocol : str or Protocol, default="within-session"
    metric : str, default="balanced_accuracy"
    label : str, optional
        Name of the label reported as ``"label"`` (default ``dataset.info["source"]``).
    seed : int, default=0
    n_permutations : int, default=0
        0 skips the permutation test.
    n_boot : int, default=1000
        Bootstrap resamples of the CI (0: t-interval over folds).
    ci : float, default=0.95
    progress : callable, optional
        Passed to :func:`neurodl.analyses.decoding.decode` (``progress(label)`` -> a context
        manager yielding ``callback(done, total)``).

    Returns
    -------
    stats : dict
        ``label, n_trials, classes, class_counts, score_mean, score_ci, ci_method, fold_scores,
        chance_level, p_value, n_permutations, inner_selected, fit_time_s, time_per_epoch_s,
        latency_per_trial_s`` (plain Python values; ``p_value`` and ``inner_selected`` None when
        not computed).
    decoding : DecodingResult
        The full result (fold predictions, the permutation null distribution).

    Examples
    --------
    >>> import pandas as pd
    >>> from neurodl.data import SpikeTrains
    >>> rng = np.random.default_rng(0)
    >>> starts = 2.0 * np.arange(40)  # 40 trials of 1 s, one every 2 s
    >>> old = np.tile([0, 1], 20)
    >>> rate = np.array([[5, 5, 5], [15, 5, 5]])  # spikes per trial: unit 0 fires more on "old"
    >>> times = [np.concatenate([s + rng.uniform(0, 1, rng.poisson(rate[o, u]))
    ...                          for s, o in zip(starts, old)]) for u in range(3)]
    >>> trials = pd.DataFrame({"start_time": starts, "stop_time": starts + 1.0,
    ...                        "old_new": np.where(old, "old", "new")})
    >>> spikes = SpikeTrains(times, trials=trials)
    >>> counts = trial_window_counts(spikes, t_after=1.0)
    >>> y, names = trial_labels(counts.trials, "old_new")
    >>> ds = trial_dataset(counts.X, y, counts.trials, classes=names, source="old_new")
    >>> stats, res = decode_trial_label(trial_estimator("lda"), ds, n_permutations=19, n_boot=200)
    >>> stats["label"], stats["classes"], stats["class_counts"], stats["chance_level"]
    ('old_new', ['new', 'old'], [20, 20], 0.5)
    >>> stats["score_mean"] > 0.8, stats["p_value"]  # unit 0 gives the label away; p = 1/20
    (True, 0.05)
    """
    from sklearn.base import clone

    from ..decoding import decode

    res = decode(
        estimator,
        dataset,
        protocol,
        metric,
        seed=seed,
        n_permutations=n_permutations,
        n_boot=n_boot,
        ci=ci,
        progress=progress,
    )
    scores = res.main_scores
    cv, y = scores.cv, np.asarray(dataset.y).astype(int)
    names = list(dataset.classes) if dataset.classes is not None else [str(c) for c in np.unique(y)]
    selected = None
    if any(hasattr(estimator, a) for a in ("param_grid", "param_distributions")):
        fitted = clone(estimator).fit(dataset.X, y)
        selected = float(next(iter(fitted.best_params_.values())))
    timing = scores.timing
    stats = {
        "label": label if label is not None else dataset.info.get("source", ""),
        "n_trials": len(y),
        "classes": names,
        "class_counts": np.bincount(y, minlength=len(names)).tolist(),
        "score_mean": float(scores.score),
        "score_ci": [float(scores.ci[0]), float(scores.ci[1])],
        "ci_method": scores.ci_method,
        "fold_scores": [float(s) for s in cv.scores],
        "chance_level": float(res.chance_level),
        "p_value": scores.p_value,
        "n_permutations": n_permutations,
        "inner_selected": selected,
        "fit_time_s": timing["fit_time_s_per_fold"],
        "time_per_epoch_s": None,  # not recorded for trial decoders
        "latency_per_trial_s": timing["predict_time_s_per_sample"],
    }
    return stats, res
