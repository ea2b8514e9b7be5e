"""Noise ceilings: split-half (Spearman-Brown) and from repeat variances; ceiling-normalised scores.

Convention (recorded with every number): a ceiling is the largest **Pearson r** a perfect model
of the repeatable signal can reach against data averaged over ``n_average`` repeats, i.e.
``sqrt(reliability)``, with reliability the correlation between two independent
``n_average``-repeat means. Normalised scores are ``r / ceiling`` (not ``(r / ceiling)**2``).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ...exceptions import ConfigError, DataFormatError

__all__ = [
    "CEILING_METHODS",
    "block_repeats",
    "ceiling_normalize",
    "noise_ceiling",
    "spearman_brown",
    "split_half_reliability",
]

#: ``method`` of :func:`noise_ceiling` -> description.
CEILING_METHODS: dict[str, str] = {
    "split_half": "random halves of the repeats, Pearson r per target, Spearman-Brown corrected",
    "repeats": "signal and noise variance from repeat variance (Hsu et al. 2004; NSD's ncsnr)",
}


def spearman_brown(r: Any, factor: float) -> np.ndarray:
    """Reliability of data ``factor`` times longer: ``factor r / (1 + (factor - 1) r)``.

    Parameters
    ----------
    r : float or ndarray
        Reliability (correlation between two parallel measurements).
    factor : float
        Length ratio (> 0; < 1 steps down).

    Returns
    -------
    ndarray
        Same shape as ``r``; negative reliabilities map to 0.

    Examples
    --------
    >>> float(spearman_brown(0.5, 2))
    0.6666666666666666
    """
    if not np.isfinite(factor) or factor <= 0:
        raise ConfigError(f"Invalid value for 'factor': a positive number; got {factor!r}.")
    r = np.clip(np.asarray(r, dtype=float), 0.0, 1.0)
    return factor * r / (1.0 + (factor - 1.0) * r)


def _check_repeats(data: Any) -> np.ndarray:
    arr = np.asarray(data, dtype=float)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[0] < 2 or arr.shape[1] < 3:
        raise DataFormatError(
            "'data' must have shape (n_repeats >= 2, n_conditions >= 3, n_targets); got "
            f"{np.asarray(data).shape}."
        )
    if not np.all(np.isfinite(arr)):
        raise DataFormatError("'data' contains NaN or inf.")
    return arr


def _pearson_cols(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(0)
    b = b - b.mean(0)
    den = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    return np.divide((a * b).sum(0), den, out=np.zeros(a.shape[1]), where=den > 0)


def split_half_reliability(data: Any, *, n_splits: int = 100, seed: int | None = 0) -> np.ndarray:
    """Mean Pearson r between the means of random halves of the repeats, per target.

    Parameters
    ----------
    data : ndarray of shape (n_repeats, n_conditions, n_targets)
    n_splits : int, default=100
        Random half splits (all distinct splits when there are fewer).
    seed : int or None, default=0

    Returns
    -------
    r_half : ndarray of shape (n_targets,)
        Reliability of a mean over ``n_repeats // 2`` repeats.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> data = rng.standard_normal((40, 2)) + 0.5 * rng.standard_normal((6, 40, 2))
    >>> r = split_half_reliability(data, n_splits=10)
    >>> r.shape, bool((r > 0.8).all())
    ((2,), True)
    """
    arr = _check_repeats(data)
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or n_splits < 1:
        raise ConfigError(f"Invalid value for 'n_splits': a positive int; got {n_splits!r}.")
    n = arr.shape[0]
    half = n // 2
    rng = np.random.default_rng(seed)
    total = np.zeros(arr.shape[2])
    for _ in range(n_splits):
        perm = rng.permutation(n)
        total += _pearson_cols(arr[perm[:half]].mean(0), arr[perm[half : 2 * half]].mean(0))
    return total / n_splits


def noise_ceiling(
    data: Any,
    *,
    method: Literal["split_half", "repeats"] = "split_half",
    n_average: float = 1,
    n_splits: int = 100,
    seed: int | None = 0,
) -> np.ndarray:
    """Noise ceiling (max Pearson r) per target for data averaged over ``n_average`` repeats.

    Parameters
    ----------
    data : ndarray of shape (n_repeats, n_conditions, n_targets)
        Responses to the same conditions measured ``n_repeats`` times.
    method : {"split_half", "repeats"}, default="split_half"
        See :data:`CEILING_METHODS`.
    n_average : float, default=1
        Repeats averaged in the data the model is scored on (1: single trials or runs).
    n_splits, seed
        For ``split_half``.

    Returns
    -------
    ceiling : ndarray of shape (n_targets,)
        ``sqrt(reliability of an n_average mean)``, in [0, 1].

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> signal = rng.standard_normal((40, 2))
    >>> data = signal + rng.standard_normal((4, 40, 2)) * np.array([0.2, 1.0])  # 4 repeats
    >>> noise_ceiling(data, n_average=1).round(1).tolist()  # a reliable and a noisy target
    [1.0, 0.7]
    """
    if method not in CEILING_METHODS:
        raise ConfigError(
            f"Invalid value for 'method'. Allowed: {', '.join(map(repr, CEILING_METHODS))}; "
            f"got {method!r}."
        )
    if not np.isfinite(n_average) or n_average <= 0:
        raise ConfigError(f"Invalid value for 'n_average': a positive number; got {n_average!r}.")
    arr = _check_repeats(data)
    if method == "split_half":
        r_half = split_half_reliability(arr, n_splits=n_splits, seed=seed)
        rel = spearman_brown(r_half, n_average / (arr.shape[0] // 2))
    else:
        noise_var = arr.var(axis=0, ddof=1).mean(axis=0)
        total_var = arr.mean(axis=0).var(axis=0, ddof=1)
        signal_var = np.clip(total_var - noise_var / arr.shape[0], 0.0, None)
        denom = signal_var + noise_var / n_average
        rel = np.divide(signal_var, denom, out=np.zeros_like(denom), where=denom > 0)
    return np.sqrt(np.clip(rel, 0.0, 1.0))


def ceiling_normalize(scores: Any, ceiling: Any, *, min_ceiling: float = 0.1) -> np.ndarray:
    """Scores divided by the noise ceiling, NaN where the ceiling is below ``min_ceiling``.

    Parameters
    ----------
    scores : ndarray of shape (n_targets,)
        Pearson r of the model per target.
    ceiling : ndarray of shape (n_targets,)
    min_ceiling : float, default=0.1
        Targets with less reliable data are left out (their ratio is noise).

    Returns
    -------
    normalized : ndarray of shape (n_targets,)

    Examples
    --------
    >>> ceiling_normalize([0.2, 0.3, 0.1], [0.4, 0.6, 0.05]).round(2).tolist()
    [0.5, 0.5, nan]
    """
    s = np.asarray(scores, dtype=float)
    c = np.asarray(ceiling, dtype=float)
    if s.shape != c.shape:
        raise DataFormatError(
            f"'scores' and 'ceiling' must have the same shape; got {s.shape} and {c.shape}."
        )
    if not 0 <= min_ceiling < 1:
        raise ConfigError(f"Invalid value for 'min_ceiling': in [0, 1); got {min_ceiling!r}.")
    return np.divide(s, c, out=np.full(s.shape, np.nan), where=c >= max(min_ceiling, 1e-12))


def block_repeats(
    data: Any, labels: Any, runs: Any, length: int, *, exclude: Any = ("rest",)
) -> tuple[np.ndarray, list[str]]:
    """Cut block-locked segments so that runs become repeats of the same conditions.

    Parameters
    ----------
    data : ndarray of shape (n_volumes, n_targets)
    labels, runs : array-like of shape (n_volumes,)
    length : int
        Volumes per segment, from the first volume of each block (include the HRF tail).
    exclude : sequence of str, default=("rest",)

    Returns
    -------
    repeats : ndarray of shape (n_runs, n_conditions * length, n_targets)
        Runs that lack a condition, or whose segment would run past the run's end, are dropped.
    conditions : list of str

    Examples
    --------
    >>> data = np.arange(12.0)[:, None]  # 12 volumes, 1 voxel
    >>> labels = ["rest", "a", "a", "b", "b", "rest"] * 2
    >>> runs = [0] * 6 + [1] * 6
    >>> repeats, conditions = block_repeats(data, labels, runs, length=2)
    >>> repeats.shape, [str(c) for c in conditions], repeats[1, :, 0].tolist()
    ((2, 4, 1), ['a', 'b'], [7.0, 8.0, 9.0, 10.0])
    """
    data = np.asarray(data, dtype=float)
    labels = np.asarray(labels).astype(str)
    runs = np.asarray(runs).astype(str)
    conds = sorted(set(labels) - set(exclude))
    out = []
    for r in dict.fromkeys(runs):
        idx = np.flatnonzero(runs == r)
        lab = labels[idx]
        segs = []
        for c in conds:
            hits = np.flatnonzero(lab == c)
            if hits.size == 0 or hits[0] + length > idx.size:
                break
            segs.append(data[idx[hits[0] : hits[0] + length]])
        if len(segs) == len(conds):
            out.append(np.concatenate(segs))
    if len(out) < 2:
        raise DataFormatError("block_repeats found fewer than 2 runs holding every condition.")
    return np.stack(out), conds
