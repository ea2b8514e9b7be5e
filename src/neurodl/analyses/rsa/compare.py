"""Comparisons between RDMs, vectorised over stacks.

Every function here works on condensed vectors of shape ``(..., n_pairs)`` and may contain NaN
entries (ignored pairwise, as in a condition bootstrap where a condition drawn twice yields
undefined self-pairs). A degenerate comparison (a constant vector, fewer than 2 valid pairs)
gives NaN, never an exception.

Methods
-------
``'pearson'``, ``'spearman'`` (Pearson on ranks, average ties), ``'kendall_tau_a'``,
``'cosine'``, and the rsatoolbox-style whitened measures ``'whitened_cosine'`` (rsatoolbox
``cosine_cov``) and ``'whitened_pearson'`` (``corr_cov``): ``a' V^-1 b / sqrt(a' V^-1 a b' V^-1 b)``
with ``V`` the covariance of distance estimates under i.i.d. pattern noise (``V = 2 I + B B'``,
``B`` the unsigned pair/condition incidence matrix), inverted exactly with the Woodbury identity.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.stats import rankdata

from neurodl.exceptions import ConfigError, DataFormatError

from .rdm import RDMs, _n_conditions_from_pairs

__all__ = ["COMPARISON_METHODS", "compare_rdms", "compare_vectors", "similarity_matrix"]


def _masked(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a, b = np.broadcast_arrays(a, b)
    valid = np.isfinite(a) & np.isfinite(b)
    return np.where(valid, a, 0.0), np.where(valid, b, 0.0), valid


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    return np.where(np.isfinite(out) & (den > 1e-300), out, np.nan)


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b, _ = _masked(a, b)
    return _safe_div((a * b).sum(-1), np.sqrt((a * a).sum(-1) * (b * b).sum(-1)))


def _pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b, valid = _masked(a, b)
    n = valid.sum(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(valid, a - a.sum(-1, keepdims=True) / n, 0.0)
        b = np.where(valid, b - b.sum(-1, keepdims=True) / n, 0.0)
    out = _safe_div((a * b).sum(-1), np.sqrt((a * a).sum(-1) * (b * b).sum(-1)))
    return np.where(n[..., 0] >= 2, out, np.nan)


def _rank(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    return rankdata(np.where(valid, x, np.nan), axis=-1, nan_policy="omit")


def _spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.broadcast_arrays(a, b)
    valid = np.isfinite(a) & np.isfinite(b)
    return _pearson(_rank(a, valid), _rank(b, valid))


def _kendall_tau_a(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.broadcast_arrays(a, b)
    shape = a.shape[:-1]
    a2 = a.reshape(-1, a.shape[-1])
    b2 = b.reshape(-1, b.shape[-1])
    out = np.empty(a2.shape[0])
    for k in range(a2.shape[0]):  # O(n^2) memory per pair of vectors; chunked over rows
        valid = np.isfinite(a2[k]) & np.isfinite(b2[k])
        x, y = a2[k][valid], b2[k][valid]
        n = x.size
        if n < 2:
            out[k] = np.nan
            continue
        total = 0.0
        step = max(1, int(4e6 // n))
        for s in range(0, n, step):
            sx = np.sign(x[s : s + step, None] - x[None, :]).astype(np.int8)
            sy = np.sign(y[s : s + step, None] - y[None, :]).astype(np.int8)
            total += float(np.sum(sx * sy, dtype=np.int64))
        out[k] = total / (n * (n - 1))  # ordered pairs count each unordered pair twice
    return out.reshape(shape)


@lru_cache(maxsize=8)
def _v_inverse(n_cond: int) -> np.ndarray:
    """Exact inverse of V = 2 I + B B' (B: n_pairs x n_cond unsigned incidence), via Woodbury."""
    iu = np.triu_indices(n_cond, k=1)
    B = np.zeros((len(iu[0]), n_cond))
    rows = np.arange(len(iu[0]))
    B[rows, iu[0]] = 1.0
    B[rows, iu[1]] = 1.0
    inner = 2.0 * np.eye(n_cond) + B.T @ B
    return 0.5 * (np.eye(len(rows)) - B @ np.linalg.solve(inner, B.T))


def _whitened(center: bool) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def func(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = np.broadcast_arrays(a, b)
        n_cond = _n_conditions_from_pairs(a.shape[-1])
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            return _whitened_nan(a, b, center)
        if center:
            a = a - a.mean(-1, keepdims=True)
            b = b - b.mean(-1, keepdims=True)
        Vi = _v_inverse(n_cond)
        bw = b @ Vi
        aw = a @ Vi
        return _safe_div((a * bw).sum(-1), np.sqrt((a * aw).sum(-1) * (b * bw).sum(-1)))

    return func


def _whitened_nan(a: np.ndarray, b: np.ndarray, center: bool) -> np.ndarray:
    """Whitened comparison on the valid pairs only (slow path, used with NaN entries)."""
    n_cond = _n_conditions_from_pairs(a.shape[-1])
    iu = np.triu_indices(n_cond, k=1)
    a2, b2 = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
    out = np.empty(a2.shape[0])
    for k in range(a2.shape[0]):
        valid = np.isfinite(a2[k]) & np.isfinite(b2[k])
        if valid.sum() < 2:
            out[k] = np.nan
            continue
        B = np.zeros((int(valid.sum()), n_cond))
        r = np.arange(B.shape[0])
        B[r, iu[0][valid]] = 1.0
        B[r, iu[1][valid]] = 1.0
        V = 2.0 * np.eye(B.shape[0]) + B @ B.T
        x, y = a2[k][valid], b2[k][valid]
        if center:
            x, y = x - x.mean(), y - y.mean()
        vy, vx = np.linalg.solve(V, y), np.linalg.solve(V, x)
        out[k] = _safe_div(np.asarray(x @ vy), np.sqrt(np.asarray((x @ vx) * (y @ vy))))
    return out.reshape(a.shape[:-1])


COMPARISON_METHODS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "pearson": _pearson,
    "spearman": _spearman,
    "kendall_tau_a": _kendall_tau_a,
    "cosine": _cosine,
    "whitened_cosine": _whitened(center=False),
    "whitened_pearson": _whitened(center=True),
}


def _check_method(method: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    if method not in COMPARISON_METHODS:
        raise ConfigError(
            f"Invalid value for 'method'. Allowed: {sorted(COMPARISON_METHODS)}; got {method!r}."
        )
    return COMPARISON_METHODS[method]


def compare_vectors(a: np.ndarray, b: np.ndarray, *, method: str = "pearson") -> np.ndarray:
    """Compare condensed RDM vectors that broadcast against each other.

    Parameters
    ----------
    a, b : ndarray of shape (..., n_pairs)
        Broadcastable stacks of condensed vectors; NaN entries are ignored pairwise.
    method : str, default='pearson'
        One of :data:`COMPARISON_METHODS`.

    Returns
    -------
    similarity : ndarray of the broadcast shape without the last axis (NaN where degenerate)

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    >>> compare_vectors(a, np.array([1.0, 2.0, 4.0])).round(3)
    array([ 0.982, -0.982])
    >>> compare_vectors(a, np.array([1.0, 2.0, 4.0]), method="spearman").round(3)
    array([ 1., -1.])
    """
    func = _check_method(method)
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape[-1] != b.shape[-1]:
        raise DataFormatError(
            f"RDM vectors must have the same number of pairs; got {a.shape[-1]} and {b.shape[-1]}."
        )
    return func(a, b)


def _unit_center(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    n = valid.sum(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid, x - np.where(valid, x, 0.0).sum(-1, keepdims=True) / n, 0.0)


_UNIT_TRANSFORMS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "pearson": _unit_center,
    "spearman": lambda x, valid: _unit_center(_rank(x, valid), valid),
    "cosine": lambda x, valid: np.where(valid, x, 0.0),
}


def _unit_vectors(x: np.ndarray, valid: np.ndarray, method: str) -> np.ndarray:
    y = _UNIT_TRANSFORMS[method](x, valid)
    norm = np.sqrt((y * y).sum(-1, keepdims=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = y / norm
    bad = (norm <= 1e-300) | (valid.sum(-1, keepdims=True) < 2)
    return np.where(bad, np.nan, out)


def similarity_matrix(a: np.ndarray, b: np.ndarray, *, method: str = "pearson") -> np.ndarray:
    """All-pairs comparison of two stacks, vectorised with matrix products where possible.

    Parameters
    ----------
    a : ndarray of shape (..., n_a, n_pairs)
    b : ndarray of shape (..., n_b, n_pairs)
        Leading dimensions broadcast. When every vector of one leading index shares the same NaN
        pattern (as in a condition bootstrap), 'pearson', 'spearman' and 'cosine' reduce to one
        matrix product; otherwise each pair is compared on its own valid entries.

    Returns
    -------
    similarity : ndarray of shape (..., n_a, n_b)

    Examples
    --------
    >>> import numpy as np
    >>> a = np.random.default_rng(0).normal(size=(3, 6))
    >>> S = similarity_matrix(a, a[:2])
    >>> S.shape, np.diag(S[:2]).round(3).tolist()
    ((3, 2), [1.0, 1.0])
    """
    _check_method(method)
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if method in _UNIT_TRANSFORMS:
        va, vb = np.isfinite(a), np.isfinite(b)
        ra, rb = va[..., :1, :], vb[..., :1, :]
        same_a = bool(np.all(va == ra))
        same_b = bool(np.all(vb == rb))
        if same_a and same_b and bool(np.all(np.equal(*np.broadcast_arrays(ra, rb)))):
            ua = _unit_vectors(a, va, method)
            ub = _unit_vectors(b, vb, method)
            return np.clip(ua @ np.swapaxes(ub, -1, -2), -1.0, 1.0)
    return compare_vectors(a[..., :, None, :], b[..., None, :, :], method=method)


def _as_rdms(x: Any, name: str) -> RDMs:
    if isinstance(x, RDMs):
        return x
    try:
        return RDMs(x)
    except DataFormatError as err:
        raise DataFormatError(f"'{name}': {err}") from None


def compare_rdms(a: RDMs | Any, b: RDMs | Any, *, method: str = "pearson") -> np.ndarray:
    """Compare every RDM of ``a`` with every RDM of ``b``.

    Parameters
    ----------
    a, b : RDMs or ndarray of shape (n_rdms, n_pairs)
        Arrays are read as stacks of condensed vectors; a square matrix is rejected
        (use :meth:`RDMs.from_matrices`).
    method : str, default='pearson'
        One of :data:`COMPARISON_METHODS`.

    Returns
    -------
    similarity : ndarray of shape (n_rdms_a, n_rdms_b)

    Examples
    --------
    >>> import numpy as np
    >>> compare_rdms(np.array([[1.0, 2.0, 3.0]]), np.array([[2.0, 4.0, 6.5]])).round(3)
    array([[0.998]])
    """
    ra, rb = _as_rdms(a, "a"), _as_rdms(b, "b")
    if ra.n_conditions != rb.n_conditions:
        raise DataFormatError(
            f"RDMs must share their conditions; got {ra.n_conditions} and {rb.n_conditions} conditions."
        )
    return similarity_matrix(ra.dissimilarities, rb.dissimilarities, method=method)
