"""Classical baselines behind one registry: in our field they often win.

Every entry builds a fresh scikit-learn estimator from keyword parameters and a seed. Entries that
take features (2-D) flatten 3-D input automatically; entries that take signals need 3-D input
``(n_samples, n_channels, n_times)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ..data.epochs import epochs_array
from ..exceptions import ConfigError, DataFormatError

__all__ = [
    "CLASSICAL_MODELS",
    "COV_ESTIMATORS",
    "FBCSP_BANDS",
    "LOGBANDPOWER_BANDS",
    "FilterBankCSP",
    "Flatten",
    "ModelSpec",
    "QuietMNE",
    "RequireChannels",
    "make_classical",
    "register_classical",
]


class Flatten(TransformerMixin, BaseEstimator):
    """Reshape ``(n_samples, ...)`` to ``(n_samples, n_features)``; 2-D input passes through.

    Examples
    --------
    >>> Flatten().fit_transform(np.zeros((5, 3, 4))).shape
    (5, 12)
    """

    def fit(self, X: Any, y: Any = None) -> Flatten:
        X = np.asarray(epochs_array(X))
        if X.ndim < 2:
            raise DataFormatError(f"Flatten needs at least 2-D input; got shape {X.shape}.")
        self.n_features_in_ = int(np.prod(X.shape[1:]))
        return self

    def transform(self, X: Any) -> np.ndarray:
        X = np.asarray(epochs_array(X))
        return X.reshape(len(X), -1)


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: how to build the estimator and what input it takes.

    Examples
    --------
    >>> spec = CLASSICAL_MODELS["csp_lda"]
    >>> spec.input, spec.task
    ('signals', 'classification')
    """

    name: str
    build: Callable[..., Any]
    input: Literal["features", "signals"]
    task: Literal["classification", "regression"]
    description: str


CLASSICAL_MODELS: dict[str, ModelSpec] = {}


def register_classical(
    name: str,
    *,
    input: Literal["features", "signals"],
    task: Literal["classification", "regression"] = "classification",
    description: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering a builder ``f(seed, **params) -> estimator`` under ``name``.

    Examples
    --------
    A nearest-centroid baseline on flattened, standardised trials, then built by name (taken
    off the registry again at the end, so that other examples see the usual list):

    >>> from sklearn.neighbors import NearestCentroid
    >>> @register_classical(
    ...     "nearest_centroid", input="features", description="Standardise + nearest class mean"
    ... )
    ... def _nearest_centroid(seed, shrink_threshold=None):
    ...     return make_pipeline(
    ...         Flatten(), StandardScaler(), NearestCentroid(shrink_threshold=shrink_threshold)
    ...     )
    >>> try:
    ...     spec = CLASSICAL_MODELS["nearest_centroid"]
    ...     print(spec.input, spec.task, "|", spec.description)
    ...     rng = np.random.default_rng(0)
    ...     y = np.tile([0, 1], 10)
    ...     X = rng.normal(size=(20, 3, 5)) + y[:, None, None]
    ...     print(make_classical("nearest_centroid").fit(X, y).score(X, y) > 0.9)
    ...     try:  # a name is registered once
    ...         register_classical("nearest_centroid", input="features")(_nearest_centroid)
    ...     except ValueError as err:
    ...         print(err)
    ... finally:
    ...     del CLASSICAL_MODELS["nearest_centroid"]
    features classification | Standardise + nearest class mean
    True
    Model 'nearest_centroid' is already registered.
    """

    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        if name in CLASSICAL_MODELS:
            raise ValueError(f"Model {name!r} is already registered.")
        CLASSICAL_MODELS[name] = ModelSpec(
            name, func, input, task, description or (func.__doc__ or "").strip()
        )
        return func

    return deco


@register_classical(
    "logistic_regression", input="features", description="Standardise + L2 logistic regression"
)
def _logreg(seed: int, C: float = 1.0, max_iter: int = 1000) -> Pipeline:
    from sklearn.linear_model import LogisticRegression

    return make_pipeline(
        Flatten(), StandardScaler(), LogisticRegression(C=C, max_iter=max_iter, random_state=seed)
    )


@register_classical("lda", input="features", description="Shrinkage LDA (Ledoit-Wolf)")
def _lda(seed: int, shrinkage: str | float = "auto") -> Pipeline:
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    return make_pipeline(
        Flatten(), StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage=shrinkage)
    )


@register_classical("linear_svm", input="features", description="Standardise + linear SVM")
def _svm(seed: int, C: float = 1.0) -> Pipeline:
    from sklearn.svm import SVC

    return make_pipeline(Flatten(), StandardScaler(), SVC(kernel="linear", C=C, random_state=seed))


@register_classical("ridge", input="features", task="regression", description="Standardise + ridge")
def _ridge(seed: int, alpha: float = 1.0) -> Pipeline:
    from sklearn.linear_model import Ridge

    return make_pipeline(Flatten(), StandardScaler(), Ridge(alpha=alpha))


#: Covariance estimators offered to the Riemannian entries: shrinkage keeps the matrices
#: positive definite when channels are linearly dependent (average reference, duplicated or
#: interpolated channels), where the plain sample covariance makes pyRiemann fail.
COV_ESTIMATORS: dict[str, str] = {
    "oas": "Oracle Approximating Shrinkage",
    "lwf": "Ledoit-Wolf shrinkage",
    "scm": "sample covariance (no shrinkage; fails on rank-deficient data)",
}


def _check_cov_estimator(estimator: str) -> str:
    if estimator not in COV_ESTIMATORS:
        raise ConfigError(
            f"Invalid value for 'estimator'. Allowed: {', '.join(map(repr, COV_ESTIMATORS))}; "
            f"got {estimator!r}."
        )
    return estimator


class RequireChannels(TransformerMixin, BaseEstimator):
    """Pass 3-D signals through after checking their shape; fail early with a clear message.

    Parameters
    ----------
    min_channels : int, default=1
        Smallest number of channels the following step can use.
    model : str, default=""
        Name of the model, quoted in the error message.

    Examples
    --------
    >>> RequireChannels(min_channels=2, model="csp_lda").fit_transform(np.zeros((3, 4, 10))).shape
    (3, 4, 10)
    >>> try:
    ...     RequireChannels(min_channels=2, model="csp_lda").fit(np.zeros((3, 1, 10)))
    ... except ValueError as err:
    ...     print(type(err).__name__)
    DataFormatError
    """

    def __init__(self, min_channels: int = 1, model: str = "") -> None:
        self.min_channels = min_channels
        self.model = model

    def _check(self, X: Any) -> np.ndarray:
        X = np.asarray(epochs_array(X))
        if X.ndim != 3:
            raise DataFormatError(
                f"Model {self.model!r} needs signals of shape (n_samples, n_channels, n_times); "
                f"got an array of shape {X.shape}. Do not vectorise or extract features first."
            )
        if X.shape[1] < self.min_channels:
            raise DataFormatError(
                f"Model {self.model!r} needs at least {self.min_channels} channels; the data have "
                f"{X.shape[1]}. Spatial filters (CSP) and covariances need several channels: use "
                "'logbandpower_lr' for single-channel data."
            )
        return X

    def fit(self, X: Any, y: Any = None) -> RequireChannels:
        """Check ``X`` of shape (n_samples, n_channels, n_times)."""
        self.n_channels_ = self._check(X).shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return ``X`` unchanged (as an array) after the shape check."""
        return self._check(X)


class QuietMNE(TransformerMixin, BaseEstimator):
    """Run an MNE transformer (e.g. :class:`mne.decoding.CSP`) with MNE's log level at "error".

    MNE's decoding classes log several lines per fit; inside cross-validation and permutation
    tests that floods the terminal. The wrapped transformer is cloned and fitted as is.

    Parameters
    ----------
    estimator : sklearn transformer
        The MNE transformer to wrap.

    Attributes
    ----------
    estimator_ : sklearn transformer
        The fitted clone.

    Examples
    --------
    >>> from mne.decoding import CSP
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((20, 4, 100)), np.tile([0, 1], 10)
    >>> QuietMNE(CSP(n_components=2)).fit(X, y).transform(X).shape  # fitted without log lines
    (20, 2)
    """

    def __init__(self, estimator: Any = None) -> None:
        self.estimator = estimator

    def fit(self, X: Any, y: Any = None) -> QuietMNE:
        """Fit a clone of ``estimator`` on ``X`` of shape (n_samples, n_channels, n_times)."""
        from mne.utils import use_log_level
        from sklearn.base import clone

        self.estimator_ = clone(self.estimator)
        with use_log_level("error"):
            self.estimator_.fit(X, y)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Transform ``X`` with the fitted clone."""
        from mne.utils import use_log_level
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "estimator_")
        with use_log_level("error"):
            return self.estimator_.transform(X)


def _covariance_steps(model: str, estimator: str, delays: Any) -> list[Any]:
    """Shape check + shrinkage covariances, time-delay embedded when ``delays`` is set.

    Without ``delays`` the matrices are the spatial covariances (>= 2 channels needed). With
    ``delays`` (an int ``d``: lags ``0..d-1``; or a list of lags in samples, lag 0 added) each
    channel is stacked with delayed copies of itself before the covariance (Lemm et al. 2005),
    so the matrices also carry the signal's autocorrelation, i.e. its spectrum: this makes the
    Riemannian models usable on single-channel data such as Bonn.
    """
    from pyriemann.estimation import Covariances, TimeDelayCovariances

    estimator = _check_cov_estimator(estimator)
    if delays is None:
        return [RequireChannels(2, model), Covariances(estimator=estimator)]
    lags = [delays] if isinstance(delays, int | np.integer) else delays
    ok = isinstance(lags, list | tuple) and all(
        isinstance(d, int | np.integer) and not isinstance(d, bool) and d >= 1 for d in lags
    )
    if not ok or (isinstance(delays, int | np.integer) and delays < 2):
        raise ConfigError(
            f"Invalid value for 'delays' of model {model!r}. Allowed: None, an int >= 2 or a list "
            f"of positive ints (lags in samples); got {delays!r}."
        )
    delays = int(delays) if isinstance(delays, int | np.integer) else [int(d) for d in delays]
    return [RequireChannels(1, model), TimeDelayCovariances(delays=delays, estimator=estimator)]


@register_classical(
    "tangent_space_lr",
    input="signals",
    description="Shrinkage covariances (OAS) -> Riemannian tangent space -> logistic regression",
)
def _ts_lr(
    seed: int, estimator: str = "oas", C: float = 1.0, delays: int | list[int] | None = None
) -> Pipeline:
    from pyriemann.tangentspace import TangentSpace
    from sklearn.linear_model import LogisticRegression

    return make_pipeline(
        *_covariance_steps("tangent_space_lr", estimator, delays),
        TangentSpace(metric="riemann"),
        LogisticRegression(C=C, max_iter=1000, random_state=seed),
    )


@register_classical(
    "mdm",
    input="signals",
    description="Shrinkage covariances (OAS) -> minimum distance to Riemannian class means",
)
def _mdm(
    seed: int,
    estimator: str = "oas",
    metric: str = "riemann",
    delays: int | list[int] | None = None,
) -> Pipeline:
    from pyriemann.classification import MDM

    return make_pipeline(*_covariance_steps("mdm", estimator, delays), MDM(metric=metric))


@register_classical("csp_lda", input="signals", description="CSP (MNE, log-variance) -> LDA")
def _csp_lda(seed: int, n_components: int = 6, reg: str | float | None = "ledoit_wolf") -> Pipeline:
    from mne.decoding import CSP
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    return make_pipeline(
        RequireChannels(2, "csp_lda"),
        QuietMNE(CSP(n_components=n_components, reg=reg, log=True, rank="full")),
        LinearDiscriminantAnalysis(),
    )


#: Default filter bank of FBCSP (Ang et al. 2008): 4 Hz wide bands from 4 to 40 Hz.
FBCSP_BANDS: tuple[tuple[float, float], ...] = tuple((f, f + 4.0) for f in range(4, 40, 4))


def _check_bands(bands: Any, sfreq: float) -> np.ndarray:
    try:
        arr = np.asarray(bands, dtype=float).reshape(-1, 2)
    except (TypeError, ValueError):
        raise ConfigError(
            f"'bands' must be a list of (low, high) pairs in Hz; got {bands!r}."
        ) from None
    bad = [tuple(b) for b in arr.tolist() if not (0 < b[0] < b[1] < sfreq / 2)]
    if len(arr) == 0 or bad:
        raise ConfigError(
            f"Invalid value for 'bands'. Allowed: (low, high) pairs with 0 < low < high < Nyquist "
            f"({sfreq / 2:g} Hz at sfreq={sfreq:g}); got {bands!r}."
        )
    return arr


class FilterBankCSP(TransformerMixin, BaseEstimator):
    """Filter-bank CSP features (Ang et al. 2008): band-pass per band, CSP per band, concatenate.

    Each band is filtered with :func:`mne.filter.filter_data` (4th-order zero-phase Butterworth,
    which suits short epochs where an FIR filter would be longer than the signal); a
    :class:`mne.decoding.CSP` with log-variance output is fitted per band on the training data.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    bands : sequence of (float, float), default=FBCSP_BANDS
        Pass bands in Hz.
    n_components : int, default=4
        CSP components per band.
    reg : str or float or None, default="ledoit_wolf"
        Covariance regularisation of each CSP (see :class:`mne.decoding.CSP`).

    Attributes
    ----------
    bands_ : ndarray of shape (n_bands, 2)
    csps_ : list of mne.decoding.CSP
        One fitted CSP per band.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1], 10)
    >>> X = rng.standard_normal((20, 4, 256))  # 20 trials, 4 channels, 2 s at 128 Hz
    >>> fb = FilterBankCSP(sfreq=128.0, bands=[(8, 12), (12, 16)], n_components=2)
    >>> fb.fit_transform(X, y).shape  # 2 bands x 2 CSP components
    (20, 4)
    """

    def __init__(
        self,
        sfreq: float = 1.0,
        bands: Any = FBCSP_BANDS,
        n_components: int = 4,
        reg: str | float | None = "ledoit_wolf",
    ) -> None:
        self.sfreq = sfreq
        self.bands = bands
        self.n_components = n_components
        self.reg = reg

    def _filter(self, X: np.ndarray, band: np.ndarray) -> np.ndarray:
        from mne.filter import filter_data

        iir = {"order": 4, "ftype": "butter", "output": "sos"}
        return filter_data(
            X, self.sfreq, band[0], band[1], method="iir", iir_params=iir, verbose="error"
        )

    def fit(self, X: Any, y: Any) -> FilterBankCSP:
        """Fit one CSP per band on X of shape (n_samples, n_channels, n_times)."""
        from mne.decoding import CSP

        X = np.asarray(X, dtype=float)
        self.bands_ = _check_bands(self.bands, float(self.sfreq))
        self.csps_ = []
        for band in self.bands_:
            csp = CSP(n_components=self.n_components, reg=self.reg, log=True, rank="full")
            self.csps_.append(QuietMNE(csp).fit(self._filter(X, band), y))
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return log-variance features of shape (n_samples, n_bands * n_components)."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "csps_")
        X = np.asarray(X, dtype=float)
        return np.concatenate(
            [csp.transform(self._filter(X, band)) for band, csp in zip(self.bands_, self.csps_)],
            axis=1,
        )


#: Feature-selection scores for FBCSP.
FBCSP_SELECTORS: dict[str, str] = {
    "mutual_info": "mutual information (Ang et al. 2008, as in MIBIF)",
    "anova": "ANOVA F-value",
}


@register_classical(
    "fbcsp",
    input="signals",
    description="Filter bank (MNE IIR) -> CSP per band -> best k features -> LDA",
)
def _fbcsp(
    seed: int,
    sfreq: float,
    bands: Any = FBCSP_BANDS,
    n_components: int = 4,
    k: int = 8,
    selector: str = "mutual_info",
    reg: str | float | None = "ledoit_wolf",
) -> Pipeline:
    from functools import partial

    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.feature_selection import SelectKBest, f_classif, mutual_info_classif

    if selector not in FBCSP_SELECTORS:
        raise ConfigError(
            f"Invalid value for 'selector'. Allowed: {', '.join(map(repr, FBCSP_SELECTORS))}; "
            f"got {selector!r}."
        )
    bands = _check_bands(bands, float(sfreq)).tolist()
    n_features = len(bands) * n_components
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n_features:
        raise ConfigError(
            f"Invalid value for 'k'. Allowed: an int in [1, {n_features}] (n_bands x "
            f"n_components); got {k!r}."
        )
    score = {"mutual_info": partial(mutual_info_classif, random_state=seed), "anova": f_classif}
    return make_pipeline(
        RequireChannels(2, "fbcsp"),
        FilterBankCSP(sfreq=sfreq, bands=bands, n_components=n_components, reg=reg),
        SelectKBest(score[selector], k=k),
        LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"),
    )


#: Default bands of the log-bandpower baseline (Hz): delta to gamma; bands reaching past the
#: Nyquist frequency of the data are cut there (or dropped).
LOGBANDPOWER_BANDS: tuple[tuple[float, float], ...] = (
    (0.5, 4.0),
    (4.0, 8.0),
    (8.0, 13.0),
    (13.0, 20.0),
    (20.0, 30.0),
    (30.0, 45.0),
    (45.0, 70.0),
)


@register_classical(
    "logbandpower_lr",
    input="signals",
    description="Log band power per channel (Welch) -> standardise -> logistic regression",
)
def _logbandpower_lr(
    seed: int,
    sfreq: float,
    bands: Any = None,
    C: float = 1.0,
    nperseg: int | None = None,
) -> Pipeline:
    from sklearn.linear_model import LogisticRegression

    from ..preprocessing import LogBandPower

    if bands is None:  # the default bands, cut at the Nyquist frequency
        nyq = float(sfreq) / 2
        bands = [(lo, min(hi, 0.99 * nyq)) for lo, hi in LOGBANDPOWER_BANDS if lo < 0.9 * nyq]
    bands = [list(b) for b in _check_bands(bands, float(sfreq)).tolist()]
    return make_pipeline(
        RequireChannels(1, "logbandpower_lr"),
        LogBandPower(sfreq=sfreq, bands=bands, nperseg=nperseg),
        StandardScaler(),
        LogisticRegression(C=C, max_iter=2000, random_state=seed),
    )


def make_classical(
    name: str, *, seed: int = 0, data_sfreq: float | None = None, **params: Any
) -> Any:
    """Build the registered estimator ``name`` with ``params``.

    Parameters
    ----------
    name : str
        A key of :data:`CLASSICAL_MODELS`.
    seed : int, default=0
        Random state of the estimator.
    data_sfreq : float or None
        Sampling rate of the data in Hz, given to models that take ``sfreq`` (``fbcsp``,
        ``logbandpower_lr``) when ``params`` does not set it; ignored by the others.
    **params
        The model's parameters (the builder's keyword arguments).

    Returns
    -------
    estimator : sklearn estimator
        An unfitted estimator (usually a :class:`~sklearn.pipeline.Pipeline`).

    Raises
    ------
    ConfigError
        Unknown model name (the message lists the known ones), unknown parameter, invalid
        parameter value, or a model that needs ``sfreq`` without one.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((20, 4, 100)), np.tile([0, 1], 10)
    >>> clf = make_classical("tangent_space_lr", seed=0).fit(X, y)
    >>> clf.predict(X).shape
    (20,)
    """
    import inspect

    if name not in CLASSICAL_MODELS:
        raise ConfigError(
            f"Unknown model {name!r}. Known models: {', '.join(sorted(CLASSICAL_MODELS))}."
        )
    spec = CLASSICAL_MODELS[name]
    signature = inspect.signature(spec.build).parameters
    allowed = [p for p in signature if p != "seed"]
    unknown = [p for p in params if p not in allowed]
    if unknown:
        raise ConfigError(f"Unknown parameter(s) {unknown} for model {name!r}. Allowed: {allowed}.")
    if "sfreq" in signature and "sfreq" not in params:
        if data_sfreq is None:
            raise ConfigError(
                f"Model {name!r} needs the sampling rate: pass 'sfreq' in its params (the "
                "decoding workflow passes the data's rate); got none."
            )
        params["sfreq"] = data_sfreq
    if "sfreq" in params:
        sfreq = params["sfreq"]
        if isinstance(sfreq, bool) or not isinstance(sfreq, int | float) or not sfreq > 0:
            raise ConfigError(
                f"Invalid value for 'sfreq' of model {name!r}. Allowed: a positive number (Hz); "
                f"got {sfreq!r}."
            )
    return spec.build(seed, **params)
