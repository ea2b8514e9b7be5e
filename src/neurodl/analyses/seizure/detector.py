"""Seizure detector: window classifier -> probability trace -> post-processing -> events.

The window classifier is pluggable: a name from :data:`WINDOW_ESTIMATORS` (classical models on
channel-summarised features), any sklearn classifier with ``predict_proba`` (on features), or a
neural model name handled by ``neurodl.estimators.make_estimator`` when that function exists
(it then receives the raw windows of shape (n_windows, n_channels, n_times)).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..._logging import logger
from ...data import Recording
from ...exceptions import ConfigError, DataFormatError, NotFittedError
from .features import DEFAULT_BANDS, channel_features, summarize_channels
from .postprocess import PostProcessing, probabilities_to_events, tune_postprocessing
from .scoring import ScoringParams, events_from_annotations

__all__ = [
    "WINDOW_ESTIMATORS",
    "RecordingWindows",
    "SeizureDetector",
    "make_window_estimator",
    "prepare_recording",
]


def _logreg(seed: int, C: float = 1.0, max_iter: int = 2000) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        StandardScaler(),
        LogisticRegression(C=C, max_iter=max_iter, class_weight="balanced", random_state=seed),
    )


def _hgb(
    seed: int, max_iter: int = 200, learning_rate: float = 0.1, max_leaf_nodes: int = 31
) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=max_iter,
        learning_rate=learning_rate,
        max_leaf_nodes=max_leaf_nodes,
        class_weight="balanced",
        random_state=seed,
    )


#: Classical window classifiers on features: name -> builder(seed, **params).
WINDOW_ESTIMATORS: dict[str, Callable[..., Any]] = {
    "logistic_regression": _logreg,
    "hist_gradient_boosting": _hgb,
}


def make_window_estimator(
    estimator: str | Any,
    *,
    seed: int = 0,
    params: Mapping[str, Any] | None = None,
    n_chans: int | None = None,
    n_times: int | None = None,
    sfreq: float | None = None,
) -> tuple[Any, str]:
    """Build the window classifier and say what it takes as input.

    Parameters
    ----------
    estimator : str or estimator
        A name in :data:`WINDOW_ESTIMATORS`, a neural model name (when
        ``neurodl.estimators.make_estimator`` exists), or an unfitted sklearn classifier with
        ``fit`` and ``predict_proba`` (used on features).
    seed : int
    params : dict, optional
        Parameters of the named estimator.
    n_chans, n_times, sfreq : optional
        Signal shape, passed to a neural estimator builder that accepts them.

    Returns
    -------
    estimator : object
        A fresh, unfitted classifier.
    input : {"features", "signals"}

    Examples
    --------
    >>> est, kind = make_window_estimator("logistic_regression", seed=0)
    >>> type(est).__name__, kind
    ('Pipeline', 'features')
    """
    from sklearn.base import clone

    params = dict(params or {})
    if not isinstance(estimator, str):
        if not (hasattr(estimator, "fit") and hasattr(estimator, "predict_proba")):
            raise ConfigError(
                "'estimator' must be a name or a classifier with fit and predict_proba; got "
                f"{type(estimator).__name__}."
            )
        return clone(estimator), "features"
    if estimator in WINDOW_ESTIMATORS:
        build = WINDOW_ESTIMATORS[estimator]
        allowed = [p for p in inspect.signature(build).parameters if p != "seed"]
        unknown = [p for p in params if p not in allowed]
        if unknown:
            raise ConfigError(
                f"Unknown parameter(s) {unknown} for estimator {estimator!r}. Allowed: {allowed}."
            )
        return build(seed, **params), "features"
    from ... import estimators as est_module

    make = getattr(est_module, "make_estimator", None)
    if make is None:
        raise ConfigError(
            f"Invalid value for 'estimator'. Allowed: {', '.join(map(repr, WINDOW_ESTIMATORS))} "
            f"(neural models need neurodl.estimators.make_estimator, not available); "
            f"got {estimator!r}."
        )
    sig = inspect.signature(make).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.values())
    extra = {"seed": seed, "n_chans": n_chans, "n_times": n_times, "n_outputs": 2, "sfreq": sfreq}
    kwargs = {k: v for k, v in extra.items() if v is not None and (takes_any or k in sig)}
    return make(estimator, **{**kwargs, **params}), "signals"


@dataclass
class RecordingWindows:
    """Windows of one recording: a regular grid for traces, pure windows for training.

    Attributes
    ----------
    recording_id, subject : str
    duration : float
        Seconds.
    window, stride : float
        Seconds.
    onsets : ndarray of shape (n_windows,)
        Grid window starts (s).
    features : ndarray of shape (n_windows, n_features)
        Grid windows' features, centred on the recording median.
    labels : ndarray of shape (n_windows,)
        1 where the grid window's centre lies inside a reference event.
    train_features : ndarray of shape (n_train, n_features)
        Windows cut by :func:`~neurodl.preprocessing.make_windows` with
        ``label_from_annotations`` (never crossing a seizure boundary), same centring.
    train_labels : ndarray of shape (n_train,)
    reference : ndarray of shape (n_events, 2)
    signals, train_signals : ndarray or None
        Raw windows, kept only for estimators that take signals.

    Examples
    --------
    >>> from neurodl.data.simulate.seizures import simulate_continuous_seizures
    >>> recs = simulate_continuous_seizures(n_subjects=3, duration_hours=0.1, n_channels=4)
    >>> rw = prepare_recording(recs[0], window=4.0, stride=2.0)
    >>> rw.features.shape, rw.onsets[:3].tolist(), rw.reference.shape
    ((179, 33), [0.0, 2.0, 4.0], (1, 2))
    """

    recording_id: str
    subject: str
    duration: float
    window: float
    stride: float
    onsets: np.ndarray
    features: np.ndarray
    labels: np.ndarray
    train_features: np.ndarray
    train_labels: np.ndarray
    reference: np.ndarray
    feature_names: list[str] = field(default_factory=list)
    signals: np.ndarray | None = None
    train_signals: np.ndarray | None = None

    def trace(self, proba: np.ndarray) -> dict[str, Any]:
        """The dict :func:`tune_postprocessing` takes, for these windows and ``proba``."""
        return {
            "subject": self.subject,
            "onsets": self.onsets,
            "proba": proba,
            "reference": self.reference,
            "duration": self.duration,
            "window": self.window,
            "stride": self.stride,
        }


def _centre_labels(onsets: np.ndarray, window: float, events: np.ndarray) -> np.ndarray:
    centre = onsets + window / 2.0
    lab = np.zeros(len(onsets), dtype=int)
    for on, off in events:
        lab[(centre >= on) & (centre < off)] = 1
    return lab


def prepare_recording(
    rec: Recording,
    *,
    window: float = 4.0,
    stride: float = 2.0,
    features: Sequence[str] = ("line_length", "bandpower", "relative_bandpower"),
    bands: Any = DEFAULT_BANDS,
    label: str = "seizure",
    keep_signals: bool = False,
) -> RecordingWindows:
    """Window one recording and compute its features (labels used only for training windows).

    The grid windows (used for probability traces, events and AUROC) are placed without
    looking at the annotations, so the test-time window grid carries no label information.

    Examples
    --------
    >>> from neurodl.data.simulate.seizures import simulate_continuous_seizures
    >>> recs = simulate_continuous_seizures(n_subjects=3, duration_hours=0.1, n_channels=4)
    >>> rw = prepare_recording(recs[0])  # 4 s windows every 2 s, 360 s of 4-channel EEG
    >>> rw.features.shape, rw.labels.shape, len(rw.feature_names)
    ((179, 33), (179,), 33)
    """
    from ...preprocessing import make_windows

    if not isinstance(rec, Recording):
        raise DataFormatError(f"Expected a Recording; got {type(rec).__name__}.")
    ref = events_from_annotations(rec.annotations, label)
    grid = make_windows(rec, window=window, stride=stride)
    win_s, stride_s = float(grid.info["window_s"]), float(grid.info["stride_s"])
    onsets = grid.metadata["onset"].to_numpy(float)
    F, names = channel_features(np.asarray(grid.X), rec.sfreq, features=features, bands=bands)
    S, snames = summarize_channels(F, names)
    centre = np.median(S, axis=0)
    if len(ref):
        tr = make_windows(rec, window=window, stride=stride, label_from_annotations={label: 1})
        Ft, _ = channel_features(np.asarray(tr.X), rec.sfreq, features=features, bands=bands)
        St = summarize_channels(Ft, names)[0] - centre
        yt = np.asarray(tr.y, dtype=int)
        Xt = np.asarray(tr.X, dtype=np.float32) if keep_signals else None
    else:
        St, yt = S - centre, np.zeros(len(S), dtype=int)
        Xt = np.asarray(grid.X, dtype=np.float32) if keep_signals else None
    return RecordingWindows(
        recording_id=rec.recording_id,
        subject=str(rec.subject or rec.recording_id),
        duration=float(rec.duration),
        window=win_s,
        stride=stride_s,
        onsets=onsets,
        features=S - centre,
        labels=_centre_labels(onsets, win_s, ref),
        train_features=St,
        train_labels=yt,
        reference=ref,
        feature_names=snames,
        signals=np.asarray(grid.X, dtype=np.float32) if keep_signals else None,
        train_signals=Xt,
    )


class SeizureDetector:
    """Window classifier + post-processing tuned on the training recordings only.

    Parameters
    ----------
    window, stride : float, default=4.0, 2.0
        Window length and step in seconds.
    estimator : str or estimator, default="logistic_regression"
        See :func:`make_window_estimator`.
    estimator_params : dict, optional
    features : sequence of str
        Feature families (see :data:`~neurodl.analyses.seizure.features.SEIZURE_FEATURES`).
    bands : sequence of (float, float)
    postprocessing : PostProcessing or None
        Fixed post-processing; ``None`` tunes it on out-of-fold traces of the training subjects.
    grid : dict, optional
        Post-processing grid (see :func:`tune_postprocessing`).
    objective : {"sensitivity", "f1"}, default="sensitivity"
    fa_budget : float, default=1.0
        False alarms per 24 h allowed while tuning.
    inner_splits : int, default=3
        Folds (grouped by subject, else by recording) for the out-of-fold traces.
    scoring : ScoringParams, optional
    label : str, default="seizure"
    seed : int, default=0

    Attributes
    ----------
    estimator_ : fitted classifier
    input_ : {"features", "signals"}
    postprocessing_ : PostProcessing
    tuning_ : DataFrame or None
        The tuning grid with its validation metrics.

    Examples
    --------
    >>> from neurodl.data.simulate.seizures import simulate_continuous_seizures
    >>> recs = simulate_continuous_seizures(n_subjects=3, duration_hours=0.1, n_channels=4)
    >>> from neurodl.analyses.seizure import PostProcessing
    >>> det = SeizureDetector(postprocessing=PostProcessing(smooth=3)).fit(recs[:2])
    >>> onsets, proba = det.predict_proba(recs[2])
    >>> proba.shape, det.detect(recs[2]).shape  # (n_windows,), (n_events, 2)
    ((179,), (1, 2))
    """

    def __init__(
        self,
        window: float = 4.0,
        stride: float = 2.0,
        estimator: str | Any = "logistic_regression",
        estimator_params: Mapping[str, Any] | None = None,
        features: Sequence[str] = ("line_length", "bandpower", "relative_bandpower"),
        bands: Any = DEFAULT_BANDS,
        postprocessing: PostProcessing | None = None,
        grid: Mapping[str, Sequence[Any]] | None = None,
        objective: str = "sensitivity",
        fa_budget: float = 1.0,
        inner_splits: int = 3,
        scoring: ScoringParams | None = None,
        label: str = "seizure",
        seed: int = 0,
    ) -> None:
        self.window = window
        self.stride = stride
        self.estimator = estimator
        self.estimator_params = estimator_params
        self.features = features
        self.bands = bands
        self.postprocessing = postprocessing
        self.grid = grid
        self.objective = objective
        self.fa_budget = fa_budget
        self.inner_splits = inner_splits
        self.scoring = scoring
        self.label = label
        self.seed = seed

    # ------------------------------------------------------------------ helpers
    def prepare(self, rec: Recording | RecordingWindows) -> RecordingWindows:
        """Window a recording with this detector's settings (pass-through if prepared)."""
        if isinstance(rec, RecordingWindows):
            return rec
        keep = isinstance(self.estimator, str) and self.estimator not in WINDOW_ESTIMATORS
        return prepare_recording(
            rec,
            window=self.window,
            stride=self.stride,
            features=self.features,
            bands=self.bands,
            label=self.label,
            keep_signals=keep,
        )

    def _new_estimator(self, rw: RecordingWindows) -> tuple[Any, str]:
        shape = rw.signals.shape if rw.signals is not None else (0, None, None)
        return make_window_estimator(
            self.estimator,
            seed=self.seed,
            params=self.estimator_params,
            n_chans=shape[1],
            n_times=shape[2],
            sfreq=None if rw.signals is None else shape[2] / rw.window,
        )

    @staticmethod
    def _train_xy(prepared: Sequence[RecordingWindows], kind: str) -> tuple[np.ndarray, np.ndarray]:
        if kind == "signals":
            X = np.concatenate([p.train_signals for p in prepared])  # type: ignore[misc]
        else:
            X = np.concatenate([p.train_features for p in prepared])
        y = np.concatenate([p.train_labels for p in prepared])
        if len(np.unique(y)) < 2:
            raise DataFormatError(
                "The training recordings need both seizure and non-seizure windows; got "
                f"only class {np.unique(y).tolist()} (label {np.unique(y)!r})."
            )
        return X, y

    def _fit_one(self, prepared: Sequence[RecordingWindows]) -> tuple[Any, str]:
        est, kind = self._new_estimator(prepared[0])
        X, y = self._train_xy(prepared, kind)
        est.fit(X, y)
        return est, kind

    @staticmethod
    def _proba(est: Any, kind: str, rw: RecordingWindows) -> np.ndarray:
        X = rw.signals if kind == "signals" else rw.features
        p = np.asarray(est.predict_proba(X))
        return p[:, 1] if p.ndim == 2 else p.ravel()

    def _inner_traces(self, prepared: Sequence[RecordingWindows]) -> list[dict[str, Any]]:
        from sklearn.model_selection import GroupKFold

        subjects = np.array([p.subject for p in prepared])
        groups = (
            subjects if len(set(subjects)) > 1 else np.array([p.recording_id for p in prepared])
        )
        n = min(int(self.inner_splits), len(set(groups)))
        if n < 2:
            return []
        traces = []
        for tr, va in GroupKFold(n_splits=n).split(np.zeros(len(groups)), groups=groups):
            train = [prepared[i] for i in tr]
            if len(np.unique(np.concatenate([p.train_labels for p in train]))) < 2:
                continue
            est, kind = self._fit_one(train)
            traces.extend(prepared[i].trace(self._proba(est, kind, prepared[i])) for i in va)
        return traces

    # ------------------------------------------------------------------ API
    def fit(self, recordings: Sequence[Recording | RecordingWindows]) -> SeizureDetector:
        """Fit the window classifier and tune post-processing on these recordings only.

        Parameters
        ----------
        recordings : list of Recording or RecordingWindows
            Training recordings with ``label`` annotations.

        Returns
        -------
        self
        """
        if isinstance(recordings, Recording | RecordingWindows):
            recordings = [recordings]
        if not recordings:
            raise DataFormatError("SeizureDetector.fit needs at least one recording; got 0.")
        prepared = [self.prepare(r) for r in recordings]
        if self.postprocessing is not None:
            if not isinstance(self.postprocessing, PostProcessing):
                raise ConfigError(
                    "'postprocessing' must be a PostProcessing or None; got "
                    f"{type(self.postprocessing).__name__}."
                )
            self.postprocessing_, self.tuning_ = self.postprocessing, None
        else:
            traces = self._inner_traces(prepared)
            if traces:
                self.postprocessing_, self.tuning_ = tune_postprocessing(
                    traces,
                    grid=self.grid,
                    objective=self.objective,
                    fa_budget=self.fa_budget,
                    scoring=self.scoring,
                )
            else:
                logger.info("Too few training groups to tune post-processing; using defaults.")
                self.postprocessing_, self.tuning_ = PostProcessing(), None
        self.estimator_, self.input_ = self._fit_one(prepared)
        logger.info("Seizure detector post-processing: %s", self.postprocessing_)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "estimator_"):
            raise NotFittedError("This SeizureDetector is not fitted yet; call fit first.")

    def predict_proba(self, rec: Recording | RecordingWindows) -> tuple[np.ndarray, np.ndarray]:
        """Seizure probability of each grid window.

        Returns
        -------
        onsets : ndarray of shape (n_windows,)
        proba : ndarray of shape (n_windows,)
        """
        self._check_fitted()
        rw = self.prepare(rec)
        return rw.onsets, self._proba(self.estimator_, self.input_, rw)

    def detect(self, rec: Recording | RecordingWindows) -> np.ndarray:
        """Seizure events (onset, offset) in seconds, shape (n_events, 2)."""
        self._check_fitted()
        rw = self.prepare(rec)
        onsets, proba = self.predict_proba(rw)
        return probabilities_to_events(
            onsets, proba, window=rw.window, stride=rw.stride, params=self.postprocessing_
        )

    def detect_annotations(self, rec: Recording | RecordingWindows) -> pd.DataFrame:
        """Detected events as a table with columns onset, offset, duration."""
        ev = self.detect(rec)
        return pd.DataFrame(
            {"onset": ev[:, 0], "offset": ev[:, 1], "duration": ev[:, 1] - ev[:, 0]}
        )
