"""How close generated windows are to real ones: spectra, sliced Wasserstein, two-sample test.

Three scores for real windows ``X_real`` and generated windows ``X_fake``, both of shape
``(n_windows, n_chans, n_times)``:

- :func:`spectral_distance`: mean absolute difference, in dB, between the mean log power
  spectra (Welch, :func:`scipy.signal.welch`) of the two sets, over channels and frequencies up
  to ``fmax``. 0 when the average spectra agree.
- :func:`sliced_wasserstein`: mean over random unit directions of the 1-D Wasserstein-1
  distance (:func:`scipy.stats.wasserstein_distance`) between the projections of the flattened
  windows, both sets divided by the real set's overall SD first (unit-free).
- :func:`c2st_auc`: classifier two-sample test (Lopez-Paz & Oquab 2017): cross-validated ROC AUC
  of a logistic regression telling real from generated windows by their log band powers per
  channel. 0.5: indistinguishable; 1.0: every window told apart.

:func:`sample_quality` returns all three, and the same scores for two disjoint halves of the
real set (what a perfect generator would score with that many windows; ``real_vs_real_*``).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> a, b = rng.standard_normal((2, 40, 2, 128))
>>> round(c2st_auc(a, b, sfreq=128.0), 1) <= 0.7
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import DataFormatError

__all__ = ["c2st_auc", "sample_quality", "sliced_wasserstein", "spectral_distance"]


def _pair(X_real: Any, X_fake: Any) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(X_real, dtype=np.float64), np.asarray(X_fake, dtype=np.float64)
    if a.ndim != 3 or b.ndim != 3 or a.shape[1:] != b.shape[1:]:
        raise DataFormatError(
            "X_real and X_fake must be 3-D (n_windows, n_chans, n_times) with the same channels "
            f"and length; got shapes {a.shape} and {b.shape}."
        )
    if len(a) < 2 or len(b) < 2:
        raise DataFormatError(f"Need at least 2 windows per set; got {len(a)} and {len(b)}.")
    return a, b


def _log_psd(X: np.ndarray, sfreq: float, fmax: float | None) -> tuple[np.ndarray, np.ndarray]:
    """log10 Welch PSD of each window: (n, n_chans, n_freqs), and the frequencies."""
    from scipy.signal import welch

    nper = min(X.shape[-1], max(8, round(sfreq)))
    f, p = welch(X, fs=sfreq, nperseg=nper, axis=-1)
    keep = (f > 0) & (f <= (fmax if fmax is not None else sfreq / 2))
    return np.log10(np.maximum(p[..., keep], 1e-30)), f[keep]


def spectral_distance(
    X_real: Any, X_fake: Any, *, sfreq: float, fmax: float | None = None
) -> float:
    """Mean |difference| in dB between the sets' mean log spectra (channels x frequencies).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> real = rng.standard_normal((20, 2, 128))
    >>> fake = 3 * rng.standard_normal((20, 2, 128))  # the wrong amplitude
    >>> round(spectral_distance(real, fake, sfreq=128.0), 1)  # close to 20 log10(3) = 9.5 dB
    9.3
    """
    a, b = _pair(X_real, X_fake)
    la, _ = _log_psd(a, sfreq, fmax)
    lb, _ = _log_psd(b, sfreq, fmax)
    return float(10.0 * np.mean(np.abs(la.mean(0) - lb.mean(0))))


def sliced_wasserstein(
    X_real: Any, X_fake: Any, *, n_projections: int = 200, seed: int = 0
) -> float:
    """Mean 1-D Wasserstein-1 distance over random directions of the flattened windows.

    Both sets are divided by the real set's SD (over all values) first.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> real = rng.standard_normal((20, 2, 128))
    >>> fake = 3 * rng.standard_normal((20, 2, 128))  # the wrong amplitude
    >>> bool(sliced_wasserstein(real, fake) > sliced_wasserstein(real[:10], real[10:]))
    True
    """
    from scipy.stats import wasserstein_distance

    a, b = _pair(X_real, X_fake)
    sd = a.std() or 1.0
    a, b = a.reshape(len(a), -1) / sd, b.reshape(len(b), -1) / sd
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal((a.shape[1], n_projections))
    theta /= np.linalg.norm(theta, axis=0, keepdims=True)
    pa, pb = a @ theta, b @ theta
    return float(np.mean([wasserstein_distance(pa[:, k], pb[:, k]) for k in range(n_projections)]))


def c2st_auc(
    X_real: Any,
    X_fake: Any,
    *,
    sfreq: float,
    fmax: float | None = None,
    n_splits: int = 5,
    seed: int = 0,
) -> float:
    """Cross-validated AUC of a classifier telling real from generated windows (log spectra).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> real = rng.standard_normal((20, 2, 128))
    >>> fake = 3 * rng.standard_normal((20, 2, 128))  # the wrong amplitude
    >>> round(c2st_auc(real, fake, sfreq=128.0), 2)  # 0.5: indistinguishable, 1: always told apart
    1.0
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    a, b = _pair(X_real, X_fake)
    feats = np.concatenate([_log_psd(a, sfreq, fmax)[0], _log_psd(b, sfreq, fmax)[0]])
    feats = feats.reshape(len(feats), -1)
    label = np.r_[np.zeros(len(a)), np.ones(len(b))]
    k = int(min(n_splits, len(a), len(b)))
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    cv = StratifiedKFold(k, shuffle=True, random_state=seed)
    p = cross_val_predict(clf, feats, label, cv=cv, method="predict_proba")[:, 1]
    return float(roc_auc_score(label, p))


def sample_quality(
    X_real: Any, X_fake: Any, *, sfreq: float, fmax: float | None = None, seed: int = 0
) -> dict[str, float]:
    """All three scores for (real, generated) and for two random halves of the real set.

    Returns
    -------
    dict
        ``spectral_distance_db``, ``sliced_wasserstein``, ``c2st_auc`` and the same keys
        prefixed ``real_vs_real_`` (needs at least 4 real windows).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> real = rng.standard_normal((20, 2, 128))
    >>> fake = 3 * rng.standard_normal((20, 2, 128))  # the wrong amplitude
    >>> q = sample_quality(real, fake, sfreq=128.0)
    >>> sorted(q)[:3], bool(q["spectral_distance_db"] > q["real_vs_real_spectral_distance_db"])
    (['c2st_auc', 'real_vs_real_c2st_auc', 'real_vs_real_sliced_wasserstein'], True)
    """
    a, b = _pair(X_real, X_fake)
    out = {
        "spectral_distance_db": spectral_distance(a, b, sfreq=sfreq, fmax=fmax),
        "sliced_wasserstein": sliced_wasserstein(a, b, seed=seed),
        "c2st_auc": c2st_auc(a, b, sfreq=sfreq, fmax=fmax, seed=seed),
    }
    if len(a) >= 4:
        perm = np.random.default_rng(seed).permutation(len(a))
        h1, h2 = a[perm[: len(a) // 2]], a[perm[len(a) // 2 :]]
        out["real_vs_real_spectral_distance_db"] = spectral_distance(h1, h2, sfreq=sfreq, fmax=fmax)
        out["real_vs_real_sliced_wasserstein"] = sliced_wasserstein(h1, h2, seed=seed)
        out["real_vs_real_c2st_auc"] = c2st_auc(h1, h2, sfreq=sfreq, fmax=fmax, seed=seed)
    return out
