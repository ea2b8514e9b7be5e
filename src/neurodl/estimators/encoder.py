"""A neural encoding model: features -> all targets jointly through a small torch network.

:class:`NeuralEncoder` is the network counterpart of
:class:`~neurodl.analyses.encoding.RidgeCVPerTarget`: it maps a feature matrix
``X`` of shape (n_samples, n_features) (an FIR-delayed design, network activations convolved
with an HRF...) to responses ``Y`` of shape (n_samples, n_targets) (voxels, channels) with one
network whose output layer has one unit per target, so the hidden layer is shared by all
targets (a nonlinear reduced-rank regression for ``model="mlp"``; plain multi-output linear
regression for ``model="linear"``). Training is :class:`neurodl.estimators.NeuralRegressor`
(AdamW with decoupled weight decay, early stopping on an inner validation split grouped by
run when ``groups`` is given). Inputs and targets are standardised with statistics of the
training samples passed to ``fit`` only.

``score`` returns the held-out Pearson r of every target (the usual encoding score), not a
scalar R^2. Re-exported by :mod:`neurodl.analyses.encoding.neural` (its earlier home).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ..exceptions import ConfigError, DataFormatError

__all__ = ["ENCODER_MODELS", "NeuralEncoder", "pearson_per_target"]

#: Networks the encoder can train: registered model name -> what it computes.
ENCODER_MODELS: dict[str, str] = {
    "mlp": "features -> linear -> ReLU -> dropout -> linear (one output per target)",
    "linear": "features -> linear (one output per target)",
}


def pearson_per_target(Y_pred: Any, Y: Any) -> np.ndarray:
    """Pearson r between matching columns of two arrays.

    Parameters
    ----------
    Y_pred, Y : array-like of shape (n_samples, n_targets) or (n_samples,)
        Predicted and observed responses.

    Returns
    -------
    r : ndarray of shape (n_targets,)
        Correlation per column; ``0`` where either column is constant.

    Examples
    --------
    >>> import numpy as np
    >>> pearson_per_target(np.arange(5.0), 2 * np.arange(5.0) + 1).round(6)
    array([1.])
    """
    a = np.asarray(Y_pred, dtype=np.float64)
    b = np.asarray(Y, dtype=np.float64)
    a = a.reshape(len(a), -1)
    b = b.reshape(len(b), -1)
    if a.shape != b.shape:
        raise DataFormatError(
            f"Y_pred and Y must have the same shape (n_samples, n_targets); got {a.shape} and "
            f"{b.shape}."
        )
    a = a - a.mean(0)
    b = b - b.mean(0)
    den = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    return np.divide((a * b).sum(0), den, out=np.zeros(a.shape[1]), where=den > 1e-300)


def _check_matrix(name: str, arr: Any, *, allow_1d: bool) -> np.ndarray:
    try:
        out = np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataFormatError(f"{name} must be a numeric array; got {type(arr).__name__}.") from err
    if out.ndim == 1 and allow_1d:
        out = out[:, None]
    if out.ndim != 2:
        shape = "(n_samples, n_targets) or (n_samples,)" if allow_1d else "(n_samples, n_features)"
        raise DataFormatError(f"{name} must be 2-D {shape}; got shape {out.shape}.")
    if out.shape[0] < 1 or out.shape[1] < 1:
        raise DataFormatError(f"{name} must have at least one row and column; got {out.shape}.")
    if not np.isfinite(out).all():
        n_bad = int((~np.isfinite(out)).sum())
        raise DataFormatError(f"{name} has {n_bad} non-finite values (NaN or inf).")
    return out


class NeuralEncoder(BaseEstimator):
    """Features -> all targets jointly with an MLP (or linear) network.

    Parameters
    ----------
    model : {"mlp", "linear"}, default="mlp"
        The network (see :data:`ENCODER_MODELS`).
    n_hidden : int, default=64
        Hidden units of the MLP (ignored by ``"linear"``).
    dropout : float, default=0.0
        Dropout after the hidden layer (MLP only).
    max_epochs : int, default=200
    batch_size : int, default=64
    lr : float, default=1e-3
        AdamW learning rate.
    weight_decay : float, default=1e-2
        AdamW decoupled weight decay.
    patience : int, default=20
        Early-stopping patience in epochs (the best epoch's weights are restored).
    validation_fraction : float, default=0.2
        Share of the training samples (of the runs, when ``groups`` is given) held out for
        early stopping. ``0``: no early stopping, train ``max_epochs``.
    schedule : {"cosine", "onecycle", None}, default="cosine"
    num_threads : int or None, default=None
        Torch threads during fit/predict (``None``: unchanged).
    device : str, default="auto"
    random_state : int or None, default=0

    Attributes
    ----------
    regressor_ : NeuralRegressor
        The fitted network estimator (targets standardised inside it).
    x_mean_, x_scale_ : ndarray of shape (n_features,)
        Input standardisation learnt in ``fit``.
    n_features_in_, n_targets_ : int
    n_epochs_, best_epoch_ : int
    stopped_reason_ : str

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4))
    >>> Y = X @ rng.normal(size=(4, 6)) + 0.1 * rng.normal(size=(300, 6))
    >>> enc = NeuralEncoder("linear", max_epochs=60, lr=1e-2, num_threads=1).fit(X[:200], Y[:200])
    >>> bool(enc.score(X[200:], Y[200:]).min() > 0.9)
    True
    """

    def __init__(
        self,
        model: str = "mlp",
        *,
        n_hidden: int = 64,
        dropout: float = 0.0,
        max_epochs: int = 200,
        batch_size: int = 64,
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        patience: int = 20,
        validation_fraction: float = 0.2,
        schedule: str | None = "cosine",
        num_threads: int | None = None,
        device: str = "auto",
        random_state: int | None = 0,
    ) -> None:
        self.model = model
        self.n_hidden = n_hidden
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.schedule = schedule
        self.num_threads = num_threads
        self.device = device
        self.random_state = random_state

    def _regressor(self) -> Any:
        from .neural import NeuralRegressor

        if self.model not in ENCODER_MODELS:
            raise ConfigError(
                f"Invalid value for 'model'. Allowed: {sorted(ENCODER_MODELS)}; got {self.model!r}."
            )
        params: dict[str, Any] = {}
        if self.model == "mlp":
            if isinstance(self.n_hidden, bool) or not isinstance(self.n_hidden, int | np.integer):
                raise ConfigError(
                    f"Invalid value for 'n_hidden'. Allowed: an int >= 1; got {self.n_hidden!r}."
                )
            params = {"n_hidden": int(self.n_hidden), "dropout": float(self.dropout)}
        frac = self.validation_fraction
        return NeuralRegressor(
            self.model,
            params,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            schedule=self.schedule,
            early_stopping=bool(frac),
            patience=self.patience,
            validation_fraction=frac,
            num_threads=self.num_threads,
            device=self.device,
            random_state=self.random_state,
        )

    def fit(self, X: Any, Y: Any, groups: Any = None) -> NeuralEncoder:
        """Train on features ``X`` and responses ``Y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        Y : array-like of shape (n_samples, n_targets) or (n_samples,)
        groups : array-like of shape (n_samples,), optional
            Run (or session) of each sample: the early-stopping split holds out whole runs.

        Returns
        -------
        self : NeuralEncoder
        """
        X = _check_matrix("X", X, allow_1d=False)
        Y2 = _check_matrix("Y", Y, allow_1d=True)
        if len(X) != len(Y2):
            raise DataFormatError(
                f"X and Y must have the same number of samples; got {len(X)} and {len(Y2)}."
            )
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != (len(X),):
                raise DataFormatError(
                    f"groups must have one entry per sample, shape ({len(X)},); got {groups.shape}."
                )
        reg = self._regressor()
        self._y_1d = np.ndim(Y) == 1
        self.x_mean_ = X.mean(0)
        scale = X.std(0)
        self.x_scale_ = np.where(scale > 0, scale, 1.0)
        Xs = ((X - self.x_mean_) / self.x_scale_).astype(np.float32)
        reg.fit(Xs, Y2, groups=groups)
        self.regressor_ = reg
        self.n_features_in_ = X.shape[1]
        self.n_targets_ = Y2.shape[1]
        self.n_epochs_ = reg.n_epochs_
        self.best_epoch_ = reg.best_epoch_
        self.stopped_reason_ = reg.stopped_reason_
        self.history_ = reg.history_
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted responses of shape (n_samples, n_targets) (``(n_samples,)`` for 1-D Y)."""
        check_is_fitted(self, "regressor_")
        X = _check_matrix("X", X, allow_1d=False)
        if X.shape[1] != self.n_features_in_:
            raise DataFormatError(
                f"X has {X.shape[1]} features; the encoder was fitted on "
                f"n_features={self.n_features_in_}."
            )
        Xs = ((X - self.x_mean_) / self.x_scale_).astype(np.float32)
        out = np.asarray(self.regressor_.predict(Xs), dtype=np.float64).reshape(len(X), -1)
        return out[:, 0] if self._y_1d else out

    def score(self, X: Any, Y: Any) -> np.ndarray:
        """Pearson r per target between ``predict(X)`` and ``Y``, shape (n_targets,)."""
        return pearson_per_target(self.predict(X), Y)
