"""Standardisation: per-channel scaling fitted on training data, causal moving standardisation."""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from ..data import Recording
from ..exceptions import ConfigError, DataFormatError
from ._base import check_epochs_data, check_fitted, check_n_channels, check_positive

__all__ = ["ChannelStandardScaler", "exponential_moving_standardize"]

_T = TypeVar("_T", np.ndarray, Recording)


class ChannelStandardScaler(TransformerMixin, BaseEstimator):
    """Standardise each channel with a mean and standard deviation learned in ``fit``.

    The statistics are computed over samples and time of the training data only; ``transform``
    applies those training statistics to any data (so test data never inform the scaling).

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract the per-channel training mean.
    with_std : bool, default=True
        Divide by the per-channel training standard deviation (a zero deviation counts as 1).

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,)
    scale_ : ndarray of shape (n_channels,)
    n_channels_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(5.0, 2.0, (10, 3, 50))
    >>> Xt = ChannelStandardScaler().fit_transform(X)
    >>> bool(np.allclose(Xt.mean(axis=(0, 2)), 0) and np.allclose(Xt.std(axis=(0, 2)), 1))
    True
    """

    def __init__(self, with_mean: bool = True, with_std: bool = True) -> None:
        self.with_mean = with_mean
        self.with_std = with_std

    def fit(self, X: Any, y: Any = None) -> ChannelStandardScaler:
        """Learn per-channel statistics from X of shape (n_samples, n_channels, n_times)."""
        X = check_epochs_data(X)
        n_ch = X.shape[1]
        self.mean_ = X.mean(axis=(0, 2)) if self.with_mean else np.zeros(n_ch)
        if self.with_std:
            std = X.std(axis=(0, 2))
            scale = np.where(
                std < 10 * np.finfo(float).eps * np.maximum(np.abs(self.mean_), 1), 1.0, std
            )
        else:
            scale = np.ones(n_ch)
        self.scale_ = scale
        self.n_channels_ = n_ch
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return ``(X - mean_) / scale_`` per channel, shape (n_samples, n_channels, n_times)."""
        check_fitted(self, ["mean_", "scale_"])
        X = check_epochs_data(X)
        check_n_channels(self, X)
        return (X - self.mean_[None, :, None]) / self.scale_[None, :, None]

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Undo :meth:`transform`."""
        check_fitted(self, ["mean_", "scale_"])
        X = check_epochs_data(X)
        check_n_channels(self, X)
        return X * self.scale_[None, :, None] + self.mean_[None, :, None]


def exponential_moving_standardize(
    data: _T, factor_new: float = 1e-3, init_block_size: int | None = None, eps: float = 1e-4
) -> _T:
    r"""Standardise each channel causally with exponentially weighted running mean and variance.

    As braindecode's ``exponential_moving_standardize``: with :math:`\alpha` = ``factor_new``,
    :math:`m_t` is the exponentially weighted mean of :math:`x_0 .. x_t` (pandas ``ewm(alpha,
    adjust=True)``), :math:`v_t` the same average of :math:`(x_s - m_s)^2`, and the output is
    :math:`(x_t - m_t) / \max(\sqrt{v_t}, \text{eps})`. Output sample ``t`` depends only on input
    samples ``0..t``, except that the first ``init_block_size`` samples, if given, are
    standardised with the mean and standard deviation of that block.

    Parameters
    ----------
    data : ndarray of shape (n_channels, n_times) or Recording
        Continuous signals.
    factor_new : float, default=1e-3
        Weight of the newest sample, in (0, 1].
    init_block_size : int or None, default=None
        Number of initial samples standardised with their own block statistics.
    eps : float, default=1e-4
        Floor of the standard deviation.

    Returns
    -------
    ndarray of shape (n_channels, n_times) or Recording
        Same type as ``data``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(3.0, 2.0, (2, 5000))
    >>> out = exponential_moving_standardize(x, factor_new=0.01)
    >>> out.shape, bool(abs(out[:, 1000:].mean()) < 0.2)
    ((2, 5000), True)
    """
    if isinstance(data, Recording):
        out = data.copy()
        out.data = exponential_moving_standardize(data.data, factor_new, init_block_size, eps)
        return out
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim != 2:
        raise DataFormatError(
            f"data must have shape (n_channels, n_times) (2 dimensions); got shape {arr.shape}."
        )
    if not np.isfinite(arr).all():
        raise DataFormatError(f"data contains {int((~np.isfinite(arr)).sum())} NaN/inf values.")
    alpha = check_positive("factor_new", factor_new)
    if alpha > 1:  # type: ignore[operator]
        raise ConfigError(f"'factor_new' must be in (0, 1]; got {factor_new!r}.")
    check_positive("eps", eps)
    if init_block_size is not None and (
        not isinstance(init_block_size, (int, np.integer)) or init_block_size < 1
    ):
        raise ConfigError(
            f"'init_block_size' must be a positive integer or None; got {init_block_size!r}."
        )
    df = pd.DataFrame(arr.T)
    demeaned = df - df.ewm(alpha=alpha).mean()
    var = (demeaned * demeaned).ewm(alpha=alpha).mean().to_numpy()
    standardized = demeaned.to_numpy() / np.maximum(eps, np.sqrt(var))
    if init_block_size is not None:
        block = arr.T[:init_block_size]
        standardized[:init_block_size] = (block - block.mean(axis=0)) / np.maximum(
            eps, block.std(axis=0)
        )
    return standardized.T
