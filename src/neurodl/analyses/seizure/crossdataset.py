"""Cross-dataset protocol: fit on one dataset, evaluate on another recorded elsewhere.

Datasets from different sites differ in sampling rate, amplifier gain and units, channel names
and segment length. Both sides are brought to a common form before anything is fitted:

- an explicit channel mapping per dataset (``{"T3": "T7", ...}``) and a common channel list
  (a channel missing on either side is an error, never silently dropped);
- resampling to a common rate (:func:`neurodl.preprocessing.resample_recording` /
  :class:`~neurodl.preprocessing.Resample`);
- for segment collections, re-windowing into windows of a common length in seconds;
- amplitude scale removed by the features (per-window standardisation for segments, per-recording
  median centring of log features for continuous data), so gains and units do not matter.

The result is reported under its own protocol name, ``"cross-dataset"``; nothing from the test
dataset (labels, statistics) is used for fitting or tuning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...data import EpochsDataset, Recording
from ...exceptions import DataFormatError
from .detector import SeizureDetector, make_window_estimator
from .evaluate import SeizureEvaluation, evaluate_detector
from .features import DEFAULT_BANDS, channel_features

__all__ = [
    "PROTOCOL",
    "CrossDatasetResult",
    "cross_dataset_decode",
    "cross_dataset_seizure",
    "harmonize_epochs",
    "harmonize_recording",
    "map_channels",
    "result_table",
]

#: Protocol name under which cross-dataset results are reported.
PROTOCOL = "cross-dataset"


def map_channels(
    ch_names: Sequence[str], channel_map: Mapping[str, str] | None, channels: Sequence[str] | None
) -> list[int]:
    """Indices of ``channels`` (common names) in ``ch_names`` renamed by ``channel_map``.

    Parameters
    ----------
    ch_names : list of str
        The dataset's own channel names.
    channel_map : dict of str to str or None
        Own name -> common name; names not in the map keep their name.
    channels : list of str or None
        Common channels to keep, in this order; ``None`` keeps all (renamed).

    Returns
    -------
    list of int

    Examples
    --------
    >>> own = ["EEG C3-REF", "EEG C4-REF", "O1"]
    >>> map_channels(own, {"EEG C3-REF": "C3", "EEG C4-REF": "C4"}, ["C4", "O1"])
    [1, 2]
    """
    renamed = [(channel_map or {}).get(c, c) for c in ch_names]
    if len(set(renamed)) != len(renamed):
        raise DataFormatError(f"The channel map gives duplicate names: {renamed}.")
    if channels is None:
        return list(range(len(renamed)))
    missing = [c for c in channels if c not in renamed]
    if missing:
        raise DataFormatError(
            f"Channel(s) {missing} are missing after mapping; available (mapped): {renamed}. "
            "Add them to the channel map or leave them out of 'channels'."
        )
    return [renamed.index(c) for c in channels]


def harmonize_recording(
    rec: Recording,
    *,
    sfreq: float,
    channel_map: Mapping[str, str] | None = None,
    channels: Sequence[str] | None = None,
) -> Recording:
    """Rename/pick channels by an explicit map and resample to the common rate.

    Returns
    -------
    Recording
        New recording with channels ``channels`` (common names) at ``sfreq`` Hz; annotations
        (seconds) unchanged.

    Examples
    --------
    >>> from neurodl.data import Recording
    >>> rec = Recording(np.zeros((2, 2560)), sfreq=256.0, ch_names=["EEG C3-REF", "EEG C4-REF"])
    >>> out = harmonize_recording(rec, sfreq=128.0, channel_map={"EEG C4-REF": "C4"},
    ...                           channels=["C4"])
    >>> out.data.shape, out.sfreq, out.ch_names
    ((1, 1280), 128.0, ['C4'])
    """
    from ...preprocessing import resample_recording

    idx = map_channels(rec.ch_names or [], channel_map, channels)
    out = rec.copy()
    # float64 for MNE's resampler (resample_recording refuses float32 data), back to the
    # original dtype afterwards.
    out.data = np.asarray(rec.data[idx], dtype=np.float64)
    renamed = [(channel_map or {}).get(c, c) for c in rec.ch_names or []]
    out.ch_names = [renamed[i] for i in idx]
    out.ch_types = [rec.ch_types[i] for i in idx]  # type: ignore[index]
    out.units = [rec.units[i] for i in idx]  # type: ignore[index]
    out.info = {**rec.info, "harmonized": {"sfreq": sfreq, "from_sfreq": rec.sfreq}}
    res = resample_recording(out, sfreq)
    res.data = res.data.astype(rec.data.dtype, copy=False)
    return res


def harmonize_epochs(
    ds: EpochsDataset,
    *,
    sfreq: float,
    channel_map: Mapping[str, str] | None = None,
    channels: Sequence[str] | None = None,
    window: float | None = None,
) -> EpochsDataset:
    """Rename/pick channels, resample to ``sfreq`` and cut into windows of ``window`` s.

    Parameters
    ----------
    ds : EpochsDataset
        Segments of shape (n_segments, n_channels, n_times) with ``sfreq``.
    sfreq : float
        Common rate in Hz.
    channel_map, channels
        See :func:`map_channels`.
    window : float or None
        Common window length in seconds: each segment is cut into non-overlapping windows of
        this length (the remainder dropped). ``None`` keeps the segments.

    Returns
    -------
    EpochsDataset
        ``X`` of shape (n_windows, n_common_channels, round(window * sfreq)); metadata keeps
        each window's ``segment`` (for grouping), ``onset`` is the start within the segment.

    Examples
    --------
    >>> from neurodl.data import EpochsDataset
    >>> ds = EpochsDataset(np.zeros((3, 2, 1024)), sfreq=256.0, ch_names=["EEG C3", "EEG C4"])
    >>> out = harmonize_epochs(ds, sfreq=128.0, channel_map={"EEG C3": "C3"}, channels=["C3"],
    ...                        window=2.0)
    >>> out.X.shape, out.sfreq, out.ch_names
    ((6, 1, 256), 128.0, ['C3'])
    """
    from ...preprocessing import Resample

    if ds.sfreq is None or np.asarray(ds.X).ndim != 3:
        raise DataFormatError(
            "harmonize_epochs needs time series with a sampling rate (3-D X and sfreq); got "
            f"X of shape {np.shape(ds.X)} and sfreq={ds.sfreq!r}."
        )
    own = ds.ch_names or [f"ch{i:03d}" for i in range(ds.X.shape[1])]
    idx = map_channels(own, channel_map, channels)
    names = [(channel_map or {}).get(c, c) for c in own]
    X = np.asarray(ds.X, dtype=float)[:, idx]
    X = Resample(new_sfreq=sfreq, sfreq=ds.sfreq).fit_transform(X)
    md = ds.metadata.reset_index(drop=True)  # type: ignore[union-attr]
    y = None if ds.y is None else np.asarray(ds.y)
    if window is not None:
        n_win = round(window * sfreq)
        n_per = X.shape[-1] // n_win
        if n_per < 1:
            raise DataFormatError(
                f"Invalid value for 'window': {window} s ({n_win} samples) is longer than the "
                f"segments ({X.shape[-1]} samples at {sfreq:g} Hz)."
            )
        X = X[..., : n_per * n_win].reshape(len(X), X.shape[1], n_per, n_win)
        X = X.transpose(0, 2, 1, 3).reshape(-1, X.shape[1], n_win)
        md = md.loc[md.index.repeat(n_per)].reset_index(drop=True)
        base = md["onset"].to_numpy(float)
        base = np.where(np.isfinite(base), base, 0.0)
        md["onset"] = base + np.tile(np.arange(n_per) * window, len(ds.X))
        md["trial"] = np.tile(np.arange(n_per), len(ds.X))
        y = None if y is None else np.repeat(y, n_per, axis=0)
    picked = [names[i] for i in idx]
    info = {**ds.info, "harmonized": {"sfreq": sfreq, "from_sfreq": ds.sfreq, "window_s": window}}
    return EpochsDataset(X, y, md, sfreq, picked, ds.classes, info)


@dataclass
class CrossDatasetResult:
    """Scores of a model fitted on one dataset and tested on another.

    Attributes
    ----------
    protocol : str
        Always ``"cross-dataset"``.
    train, test : str
        Dataset names.
    scores : dict
        ``balanced_accuracy`` and ``roc_auc`` (binary) on the test dataset.
    n_train, n_test : int
        Windows on each side.
    details : dict
        Common rate, channels, window length.

    Examples
    --------
    >>> from neurodl.data import EpochsDataset
    >>> rng = np.random.default_rng(0)
    >>> y = np.array([0, 1] * 20)
    >>> X = rng.standard_normal((40, 2, 256)) * (1 + 2 * y[:, None, None])
    >>> train, test = (EpochsDataset(X[s], y[s], sfreq=128.0) for s in (slice(20), slice(20, 40)))
    >>> res = cross_dataset_decode(train, test)
    >>> res.protocol, res.n_train, res.n_test, sorted(res.scores)
    ('cross-dataset', 20, 20, ['balanced_accuracy', 'roc_auc'])
    """

    protocol: str
    train: str
    test: str
    scores: dict[str, float]
    n_train: int
    n_test: int
    details: dict[str, Any] = field(default_factory=dict)


def _standardized_features(X: np.ndarray, sfreq: float, bands: Any) -> np.ndarray:
    Xs = (X - X.mean(-1, keepdims=True)) / (X.std(-1, keepdims=True) + 1e-12)
    F, _ = channel_features(Xs, sfreq, features=("line_length", "bandpower"), bands=bands)
    return F.reshape(len(F), -1)


def cross_dataset_decode(
    train: EpochsDataset,
    test: EpochsDataset,
    *,
    estimator: str | Any = "logistic_regression",
    estimator_params: Mapping[str, Any] | None = None,
    bands: Any = DEFAULT_BANDS,
    train_name: str = "train",
    test_name: str = "test",
    seed: int = 0,
) -> CrossDatasetResult:
    """Fit a window classifier on ``train`` and score it on ``test`` (already harmonised).

    Features are computed on each window standardised to zero mean and unit variance (so
    amplitude scale and units do not matter): log line length and log band power per channel.

    Parameters
    ----------
    train, test : EpochsDataset
        Same sampling rate, channels and window length (see :func:`harmonize_epochs`); labels
        ``y`` on both, the same classes.

    Returns
    -------
    CrossDatasetResult

    Examples
    --------
    >>> from neurodl.data import EpochsDataset
    >>> rng = np.random.default_rng(0)
    >>> y = np.array([0, 1] * 20)
    >>> t = np.arange(256) / 128.0
    >>> X = rng.standard_normal((40, 2, 256)) + 3 * y[:, None, None] * np.sin(2 * np.pi * 10 * t)
    >>> a = EpochsDataset(X[:20], y[:20], sfreq=128.0)
    >>> b = EpochsDataset(X[20:], y[20:], sfreq=128.0)
    >>> res = cross_dataset_decode(a, b, train_name="A", test_name="B")
    >>> res.train, res.test, res.scores["balanced_accuracy"]
    ('A', 'B', 1.0)
    """
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    for name, ds in (("train", train), ("test", test)):
        if ds.y is None or ds.sfreq is None or np.asarray(ds.X).ndim != 3:
            raise DataFormatError(f"{name!r} needs labelled time series (3-D X, y and sfreq).")
    if not np.isclose(train.sfreq, test.sfreq) or train.X.shape[1:] != test.X.shape[1:]:  # type: ignore[arg-type]
        raise DataFormatError(
            "train and test must be harmonised first (same rate, channels, window); got "
            f"{train.sfreq} Hz {train.X.shape[1:]} vs {test.sfreq} Hz {test.X.shape[1:]}."
        )
    est, kind = make_window_estimator(estimator, seed=seed, params=estimator_params)
    if kind != "features":
        raise DataFormatError("cross_dataset_decode uses feature-based estimators only.")
    Ftr = _standardized_features(np.asarray(train.X, float), float(train.sfreq), bands)  # type: ignore[arg-type]
    Fte = _standardized_features(np.asarray(test.X, float), float(test.sfreq), bands)  # type: ignore[arg-type]
    est.fit(Ftr, np.asarray(train.y))
    y_te = np.asarray(test.y)
    pred = est.predict(Fte)
    scores = {"balanced_accuracy": float(balanced_accuracy_score(y_te, pred))}
    if len(np.unique(y_te)) == 2 and len(np.unique(train.y)) == 2:  # type: ignore[arg-type]
        scores["roc_auc"] = float(roc_auc_score(y_te, est.predict_proba(Fte)[:, 1]))
    return CrossDatasetResult(
        PROTOCOL,
        train_name,
        test_name,
        scores,
        len(Ftr),
        len(Fte),
        {"sfreq": train.sfreq, "channels": train.ch_names, "n_times": train.X.shape[-1]},
    )


def cross_dataset_seizure(
    train: Sequence[Recording],
    test: Sequence[Recording],
    detector: SeizureDetector,
    *,
    sfreq: float,
    channels: Sequence[str],
    train_map: Mapping[str, str] | None = None,
    test_map: Mapping[str, str] | None = None,
) -> SeizureEvaluation:
    """Fit a seizure detector on one dataset (post-processing tuned on it) and score another.

    Both datasets are harmonised to ``sfreq`` and ``channels`` through their explicit maps.

    Returns
    -------
    SeizureEvaluation
        With ``protocol == "cross-dataset"``; per-subject rows are the test dataset's subjects.

    Examples
    --------
    >>> from neurodl.analyses.seizure import PostProcessing, SeizureDetector
    >>> from neurodl.data.simulate.seizures import simulate_continuous_seizures
    >>> a = simulate_continuous_seizures(n_subjects=2, duration_hours=0.1, n_channels=4)
    >>> b = simulate_continuous_seizures(n_subjects=1, duration_hours=0.1, n_channels=4, seed=1)
    >>> det = SeizureDetector(postprocessing=PostProcessing(smooth=3))
    >>> ev = cross_dataset_seizure(a, b, det, sfreq=64.0, channels=["Fp1", "C3"])
    >>> ev.protocol, ev.summary["n_subjects"]
    ('cross-dataset', 1)
    """
    tr = [
        harmonize_recording(r, sfreq=sfreq, channel_map=train_map, channels=channels) for r in train
    ]
    te = [
        harmonize_recording(r, sfreq=sfreq, channel_map=test_map, channels=channels) for r in test
    ]
    det = SeizureDetector(**{p: getattr(detector, p) for p in _detector_params()}).fit(tr)
    ev = evaluate_detector(det, te, protocol=PROTOCOL)
    ev.summary["postprocessing"] = det.postprocessing_.as_dict()
    ev.summary["common_sfreq"] = float(sfreq)
    ev.summary["channels"] = list(channels)
    return ev


def _detector_params() -> list[str]:
    import inspect

    return list(inspect.signature(SeizureDetector).parameters)


def result_table(results: Sequence[CrossDatasetResult]) -> pd.DataFrame:
    """One row per cross-dataset result (protocol, train, test, scores).

    Examples
    --------
    >>> res = CrossDatasetResult("cross-dataset", "A", "B", {"balanced_accuracy": 0.8}, 100, 50)
    >>> table = result_table([res])
    >>> table.shape, table.loc[0, "test"], float(table.loc[0, "balanced_accuracy"])
    ((1, 6), 'B', 0.8)
    """
    return pd.DataFrame(
        [
            {
                "protocol": r.protocol,
                "train": r.train,
                "test": r.test,
                **r.scores,
                "n_train": r.n_train,
                "n_test": r.n_test,
            }
            for r in results
        ]
    )
