"""Behaviour decoders from binned population activity: Wiener, Kalman, GRU/LSTM.

All decoders are scikit-learn style regressors on *continuous* binned data: ``fit(X, y)`` with
``X`` of shape (n_bins, n_neurons) and ``y`` of shape (n_bins, n_dims) in time order; each builds
its own history (``n_lags`` bins including the current one, zero-padded at the start of a block).

- :class:`WienerFilter`: linear regression with intercept on the lagged counts (Neural_Decoding's
  WienerFilterDecoder) with an L2 penalty chosen by inner contiguous-block CV on the training bins.
- :class:`KalmanFilterDecoder`: linear-Gaussian state-space model with the behaviour as state
  (Wu et al. 2003): ``y_t = A y_{t-1} + w``, ``x_t = H y_t + q``, fitted by least squares and
  run as a forward Kalman filter.
- :class:`RNNDecoder`: GRU or LSTM over history windows
  (:class:`neurodl.models.dynamics.RecurrentDecoder`), trained by the shared engine
  (:func:`neurodl.estimators.torch_engine.train`, MSE, early stopping on a contiguous block).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ...exceptions import ConfigError, DataFormatError
from .._renamed import accepts_old_names
from ._features import history_windows, lagged_features

__all__ = ["KalmanFilterDecoder", "RNNDecoder", "WienerFilter"]


def _check_xy(
    est: BaseEstimator, X: Any, y: Any = None, *, reset: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate ``X`` (n_bins, n_neurons) and, when fitting, ``y`` (n_bins,) or (n_bins, n_dims).

    scikit-learn's :func:`~sklearn.utils.validation.validate_data` (dense finite float arrays,
    ``n_features_in_``); fitting needs >= 2 bins and returns ``y`` as 2-D (``_y_1d_`` remembers
    a 1-D ``y`` so that ``predict`` returns 1-D predictions).
    """
    try:
        if not reset:
            return validate_data(est, X, reset=False, dtype=np.float64), None
        n_x, n_y = _n_rows(X), _n_rows(y)
        if n_x is not None and n_y is not None and n_x != n_y:
            raise DataFormatError(f"{n_x} bins in 'X' but {n_y} in 'y'.")
        x, yy = validate_data(
            est, X, y, dtype=np.float64, multi_output=True, y_numeric=True, ensure_min_samples=2
        )
    except DataFormatError:
        raise
    except ValueError as err:  # sklearn's message, as the package's error type
        raise DataFormatError(str(err)) from None
    yy = np.asarray(yy, dtype=np.float64)
    est._y_1d_ = yy.ndim == 1
    return x, yy.reshape(len(yy), -1)


def _n_rows(a: Any) -> int | None:
    shape = getattr(a, "shape", None)
    if shape is not None:
        return int(shape[0]) if len(shape) else None
    return len(a) if hasattr(a, "__len__") and not isinstance(a, str) else None


def _as_y(est: BaseEstimator, out: np.ndarray) -> np.ndarray:
    out = np.asarray(out).reshape(len(out), -1)
    return out[:, 0] if getattr(est, "_y_1d_", False) else out


class _DecoderTags:
    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.target_tags.multi_output = True
        return tags


class _Standardize:
    def fit(self, x: np.ndarray) -> _Standardize:
        self.mean_, self.scale_ = x.mean(0), x.std(0) + 1e-9
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean_) / self.scale_


class WienerFilter(_DecoderTags, RegressorMixin, BaseEstimator):
    """Wiener filter: linear regression of behaviour on ``n_lags`` bins of activity.

    The features are the raw lagged counts ``[X_t, X_{t-1}, ..., X_{t-n_lags+1}]`` (zero-padded
    at the start) and the model has an intercept, as in Neural_Decoding's WienerFilterDecoder,
    with an L2 penalty. By default (``alpha=None``) the penalty is chosen from ``alphas`` by an
    inner contiguous-block CV (:class:`~neurodl.analyses.dynamics.ContiguousBlockCV` with
    ``n_splits`` blocks and a gap of ``n_lags`` bins) on the training bins only, scored by the
    mean R^2 over the behaviour dimensions (scikit-learn's ``RidgeCV``).

    Parameters
    ----------
    n_lags : int, default=10
        Bins of history including the current bin (1 = current bin only).
    alpha : float or None, default=None
        Fixed ridge penalty; None selects it by inner contiguous-block CV.
    alphas : sequence of float or None, default=None
        Candidate penalties for the inner CV; None = ``np.logspace(-2, 6, 17)``.
    n_splits : int, default=5
        Number of contiguous blocks of the inner CV.

    Attributes
    ----------
    alpha_ : float
        The penalty used (fixed or selected).
    model_ : sklearn.linear_model.Ridge or RidgeCV

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.poisson(2.0, (300, 5)).astype(float)
    >>> y = X[:, :2] + 0.5 * np.roll(X[:, 2:4], 1, axis=0)
    >>> WienerFilter(n_lags=2, alpha=1e-3).fit(X, y).score(X, y) > 0.95
    True
    """

    def __init__(
        self,
        n_lags: int = 10,
        alpha: float | None = None,
        alphas: Any = None,
        n_splits: int = 5,
    ) -> None:
        self.n_lags = n_lags
        self.alpha = alpha
        self.alphas = alphas
        self.n_splits = n_splits

    def fit(self, X: Any, y: Any) -> WienerFilter:
        from sklearn.linear_model import Ridge, RidgeCV

        from ._cv import ContiguousBlockCV

        x, yy = _check_xy(self, X, y, reset=True)
        feats = lagged_features(x, self.n_lags)
        if self.alpha is not None:
            ok = isinstance(self.alpha, int | float | np.number) and not isinstance(
                self.alpha, bool
            )
            if not ok or not self.alpha >= 0:
                raise ConfigError(
                    f"Invalid value for 'alpha'. Allowed: a number >= 0 or None; got {self.alpha!r}."
                )
            self.model_ = Ridge(alpha=float(self.alpha)).fit(feats, yy)
            self.alpha_ = float(self.alpha)
        else:
            alphas = np.logspace(-2, 6, 17) if self.alphas is None else np.asarray(self.alphas)
            numeric = alphas.dtype.kind in "iuf"
            if not numeric or alphas.ndim != 1 or alphas.size == 0 or not (alphas > 0).all():
                raise ConfigError(
                    "Invalid value for 'alphas'. Allowed: a non-empty list of numbers > 0; "
                    f"got {self.alphas!r}."
                )
            cv = ContiguousBlockCV(self.n_splits, gap=int(self.n_lags))
            self.model_ = RidgeCV(alphas=alphas, cv=cv).fit(feats, yy)
            self.alpha_ = float(self.model_.alpha_)
        self.n_outputs_ = yy.shape[1]
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        x, _ = _check_xy(self, X, reset=False)
        return _as_y(self, self.model_.predict(lagged_features(x, self.n_lags)))


class KalmanFilterDecoder(_DecoderTags, RegressorMixin, BaseEstimator):
    """Kalman filter with the behaviour as the hidden state (Wu et al. 2003).

    Parameters
    ----------
    C : float, default=1.0
        Scales the fitted state noise ``W`` (larger trusts the neural observations more, as in
        Neural_Decoding's ``C``).
    n_lags : int, default=1
        Observation features: the current bin (1) or the mean over the last ``n_lags`` bins.
    ridge : float, default=1e-3
        Ridge added to the state and observation least-squares fits.

    Examples
    --------
    A smooth 2-D behaviour read out by 8 noisy neurons: the state model ``A`` is 2 x 2, the
    observation model ``H`` 8 x 2, and held-out bins are decoded well:

    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(400) / 20
    >>> y = np.c_[np.sin(t), np.cos(0.7 * t)]
    >>> X = y @ rng.normal(size=(2, 8)) + 0.5 * rng.normal(size=(400, 8))
    >>> kf = KalmanFilterDecoder().fit(X[:300], y[:300])
    >>> kf.A_.shape, kf.H_.shape, kf.predict(X[300:]).shape
    ((2, 2), (8, 2), (100, 2))
    >>> kf.score(X[300:], y[300:]) > 0.7
    True
    """

    def __init__(self, C: float = 1.0, n_lags: int = 1, ridge: float = 1e-3) -> None:
        self.C = C
        self.n_lags = n_lags
        self.ridge = ridge

    def _obs(self, x: np.ndarray) -> np.ndarray:
        lag = lagged_features(self.scaler_.transform(x), self.n_lags)
        return lag.reshape(len(x), self.n_lags, -1).mean(axis=1)

    def fit(self, X: Any, y: Any) -> KalmanFilterDecoder:
        x, yy = _check_xy(self, X, y, reset=True)
        if not self.C > 0:
            raise ConfigError(f"Invalid value for 'C'. Allowed: > 0; got {self.C!r}.")
        self.scaler_ = _Standardize().fit(x)
        z = self._obs(x)
        self.y_mean_ = yy.mean(0)
        s = yy - self.y_mean_
        d = s.shape[1]
        s0, s1 = s[:-1], s[1:]
        A = np.linalg.solve(s0.T @ s0 + self.ridge * np.eye(d), s0.T @ s1).T
        W = np.cov((s1 - s0 @ A.T).T).reshape(d, d) / self.C
        H = np.linalg.solve(s.T @ s + self.ridge * np.eye(d), s.T @ z).T
        self.z_mean_ = z.mean(0) - H @ np.zeros(d)
        res = z - self.z_mean_ - s @ H.T
        Q = np.cov(res.T) + self.ridge * np.eye(z.shape[1])
        self.A_, self.W_, self.H_, self.Q_ = A, W, H, Q
        self.P0_ = np.cov(s.T).reshape(d, d)
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "A_")
        x, _ = _check_xy(self, X, reset=False)
        z = self._obs(x) - self.z_mean_
        A, W, H, Q = self.A_, self.W_, self.H_, self.Q_
        d = A.shape[0]
        # Information form of the update: only d x d inverses (n_neurons may be large).
        Qi = np.linalg.inv(Q)
        HtQiH = H.T @ Qi @ H
        HtQi = H.T @ Qi
        s = np.zeros(d)
        P = self.P0_.copy()
        out = np.empty((len(z), d))
        for t in range(len(z)):
            s_pred = A @ s
            P_pred = A @ P @ A.T + W
            P = np.linalg.inv(np.linalg.inv(P_pred) + HtQiH)
            s = s_pred + P @ HtQi @ (z[t] - H @ s_pred)
            out[t] = s
        return _as_y(self, out + self.y_mean_)


@accepts_old_names
class RNNDecoder(_DecoderTags, RegressorMixin, BaseEstimator):
    """GRU or LSTM decoder over history windows (continuous behaviour).

    Parameters
    ----------
    cell : {"gru", "lstm"}, default="gru"
    n_lags : int, default=10
        History window in bins (including the current one).
    hidden_size : int, default=64
    dropout : float, default=0.3
    max_epochs : int, default=200
    batch_size : int, default=64
    lr : float, default=3e-3
    weight_decay : float, default=1e-4
    patience : int, default=20
        Early stopping on the last ``validation_fraction`` of the training bins (a contiguous block).
    validation_fraction : float, default=0.15
    n_ensemble : int, default=1
        Number of independently seeded networks whose predictions are averaged.
    random_state : int, default=0
        Seed of the weights, batch order and validation split.

    Attributes
    ----------
    history_ : list of dict
        Training history (losses, ``time_per_epoch_s``) of each network.
    latency_per_bin_ : float
        Inference time per bin (seconds), measured on the training bins at the end of ``fit``.

    Examples
    --------
    A small GRU over 5-bin histories trained for 2 epochs on 150 bins (with a validation
    block at the end of them), then applied to the next 50 bins:

    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(200) / 20
    >>> y = np.c_[np.sin(t), np.cos(0.7 * t)]
    >>> X = y @ rng.normal(size=(2, 8)) + 0.5 * rng.normal(size=(200, 8))
    >>> rnn = RNNDecoder(n_lags=5, hidden_size=8, max_epochs=2, batch_size=32, random_state=0)
    >>> rnn = rnn.fit(X[:150], y[:150])
    >>> rnn.predict(X[150:]).shape, len(rnn.models_), rnn.history_[0]["n_epochs"]
    ((50, 2), 1, 2)
    >>> RNNDecoder(n_ensemble=0).fit(X, y)
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: Invalid value for 'n_ensemble'. Allowed: an integer >= 1; got 0.
    """

    def __init__(
        self,
        cell: str = "gru",
        n_lags: int = 10,
        hidden_size: int = 64,
        dropout: float = 0.3,
        max_epochs: int = 200,
        batch_size: int = 64,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        patience: int = 20,
        validation_fraction: float = 0.15,
        n_ensemble: int = 1,
        random_state: int = 0,
    ) -> None:
        self.cell = cell
        self.n_lags = n_lags
        self.hidden_size = hidden_size
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.n_ensemble = n_ensemble
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> RNNDecoder:
        from ...models.dynamics import RecurrentDecoder
        from ._engine import fit_network

        x, yy = _check_xy(self, X, y, reset=True)
        if not 0 <= self.validation_fraction < 1:
            raise ConfigError(
                f"Invalid value for 'validation_fraction'. Allowed: [0, 1); got {self.validation_fraction!r}."
            )
        if (
            isinstance(self.n_ensemble, bool)
            or not isinstance(self.n_ensemble, int)
            or (self.n_ensemble < 1)
        ):
            raise ConfigError(
                f"Invalid value for 'n_ensemble'. Allowed: an integer >= 1; got {self.n_ensemble!r}."
            )
        self.scaler_ = _Standardize().fit(x)
        self.y_mean_, self.y_scale_ = yy.mean(0), yy.std(0) + 1e-9
        w = history_windows(self.scaler_.transform(x), self.n_lags).astype(np.float32)
        t = ((yy - self.y_mean_) / self.y_scale_).astype(np.float32)
        n_val = round(self.validation_fraction * len(w))
        cut = len(w) - n_val
        # Validation: the last contiguous block, after a gap of n_lags bins (no shared history).
        has_val = n_val > self.n_lags + 5
        val_x = w[cut + self.n_lags :] if has_val else None
        val_y = t[cut + self.n_lags :] if has_val else None

        def build() -> Any:
            return RecurrentDecoder(
                x.shape[1],
                self.n_lags,
                yy.shape[1],
                cell=self.cell,
                hidden_size=self.hidden_size,
                dropout=self.dropout,
            )

        self.models_, self.history_ = [], []
        for k in range(self.n_ensemble):
            model, hist = fit_network(
                build,
                w[:cut],
                t[:cut],
                val_x,
                val_y,
                max_epochs=self.max_epochs,
                batch_size=self.batch_size,
                lr=self.lr,
                weight_decay=self.weight_decay,
                patience=self.patience,
                seed=self.random_state + k,
            )
            self.models_.append(model)
            self.history_.append(hist)
        t0 = time.perf_counter()
        self._predict_windows(w)
        self.latency_per_bin_ = (time.perf_counter() - t0) / len(w)
        return self

    def _predict_windows(self, w: np.ndarray) -> np.ndarray:
        import torch

        wt = torch.as_tensor(w, dtype=torch.float32)
        with torch.no_grad():
            return np.mean([m(wt).numpy() for m in self.models_], axis=0)

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "models_")
        x, _ = _check_xy(self, X, reset=False)
        w = history_windows(self.scaler_.transform(x), self.n_lags)
        return _as_y(self, self._predict_windows(w) * self.y_scale_ + self.y_mean_)
