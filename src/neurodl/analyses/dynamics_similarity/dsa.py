"""Dynamical Similarity Analysis (DSA; Ostrow et al., NeurIPS 2023), own implementation.

Each system's trajectories are delay-embedded (a Hankel matrix), projected on the top ``rank``
right singular vectors of that matrix (HAVOK coordinates, whitened), and a linear operator
``A`` with ``v[t+1] ~ A v[t]`` is fitted by (ridge) least squares: a reduced-rank linear model of
the dynamics. Two systems are then compared by Procrustes analysis over vector fields, the
distance between ``A`` and ``C B C^T`` minimised over orthogonal ``C``. Conjugate systems (one
an invertible linear transform of the other, same eigenvalues) score 0.

The steps and their parameters match the reference package ``dsa-metric`` (import ``DSA``:
``DSA.dmd.DMD`` with ``n_delays``, ``delay_interval``, ``rank``, ``lamb``, and
``DSA.simdist.SimilarityTransformDist`` with ``score_method`` 'angular' | 'euclidean' |
'wasserstein'); the tests check equal scores on the same inputs. Differences: float64 throughout
(the reference embeds in float32), and the orthogonal ``C`` is found with L-BFGS over
``expm(skew)`` from several starts, for both components of O(n), instead of 1500 Adam steps
through a Cayley map (the reference covers reflections by swapping two coordinates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ...exceptions import ConfigError, DataFormatError
from ._checks import as_trajectories, check_float, check_int

__all__ = [
    "SCORE_METHODS",
    "HavokDMD",
    "delay_embed",
    "dsa_distance",
    "fit_havok_dmd",
    "similarity_transform_distance",
]

#: How two operators are compared: after the best orthogonal alignment (angle or Frobenius
#: distance of the unit-norm operators) or by optimal transport of their eigenvalues.
SCORE_METHODS = ("angular", "euclidean", "wasserstein")


def delay_embed(X: Any, n_delays: int, delay_interval: int = 1) -> np.ndarray:
    """Delay embedding (Hankel matrix) of trajectories.

    Parameters
    ----------
    X : array-like of shape (n_conditions, n_times, n_units) or (n_times, n_units)
    n_delays : int
        Number of copies (1 = no embedding).
    delay_interval : int, default=1
        Time steps between copies.

    Returns
    -------
    H : ndarray of shape (n_conditions, n_times - (n_delays - 1) * delay_interval, n_units * n_delays)
        Row ``t`` holds ``[x(t + span), x(t + span - delay_interval), ..., x(t)]`` (newest first,
        as in the reference), ``span = (n_delays - 1) * delay_interval``.

    Examples
    --------
    >>> X = np.arange(10.0).reshape(5, 2)  # 5 time points, 2 units
    >>> H = delay_embed(X, n_delays=2)
    >>> H.shape, H[0, 0].tolist()  # newest copy first: [x(1), x(0)]
    ((1, 4, 4), [2.0, 3.0, 0.0, 1.0])
    """
    x = as_trajectories(X, "X")
    n_delays = check_int(n_delays, "n_delays", 1)
    delay_interval = check_int(delay_interval, "delay_interval", 1)
    span = (n_delays - 1) * delay_interval
    n_rows = x.shape[1] - span
    if n_rows < 2:
        raise DataFormatError(
            f"Too few time points for the delay embedding: n_times={x.shape[1]} with "
            f"n_delays={n_delays} and delay_interval={delay_interval} leaves {n_rows} rows; "
            f"at least {span + 2} time points are needed."
        )
    blocks = [
        x[:, span - d * delay_interval : span - d * delay_interval + n_rows]
        for d in range(n_delays)
    ]
    return np.concatenate(blocks, axis=2)


@dataclass(frozen=True)
class HavokDMD:
    """A fitted HAVOK/DMD model (see :func:`fit_havok_dmd`).

    Attributes
    ----------
    operator : ndarray of shape (rank, rank)
        ``A`` with ``v[t+1] ~ A v[t]`` in the top-``rank`` HAVOK coordinates (reference: ``A_v``).
    singular_values : ndarray of shape (n_units * n_delays,)
        Of the Hankel matrix, all of them.
    rank, n_delays, delay_interval : int

    Examples
    --------
    >>> A = np.array([[0.9, -0.2], [0.2, 0.9]])
    >>> X = np.zeros((50, 2))
    >>> X[0] = [1.0, 0.0]
    >>> for t in range(49):
    ...     X[t + 1] = A @ X[t]
    >>> model = fit_havok_dmd(X, n_delays=2, rank=2)
    >>> model.operator.shape, model.singular_values.shape, model.rank
    ((2, 2), (4,), 2)
    """

    operator: np.ndarray
    singular_values: np.ndarray
    rank: int
    n_delays: int
    delay_interval: int

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of the operator, shape ``(rank,)`` complex."""
        return np.linalg.eigvals(self.operator)

    @property
    def explained_variance(self) -> float:
        """Fraction of the Hankel matrix's variance in the kept ``rank`` coordinates."""
        s2 = self.singular_values**2
        return float(s2[: self.rank].sum() / s2.sum())


def fit_havok_dmd(
    X: Any,
    *,
    n_delays: int = 1,
    delay_interval: int = 1,
    rank: int | None = None,
    lamb: float = 0.0,
) -> HavokDMD:
    """Fit the reduced-rank linear operator of one system (HAVOK DMD, principal-component regression).

    Parameters
    ----------
    X : array-like of shape (n_conditions, n_times, n_units) or (n_times, n_units)
        Conditions (or trials) are separate trajectories: no transition across them.
    n_delays, delay_interval : int
        See :func:`delay_embed`.
    rank : int, optional
        HAVOK coordinates kept (default: all, ``n_units * n_delays`` at most).
    lamb : float, default=0.0
        Ridge penalty of the least-squares fit.

    Returns
    -------
    model : HavokDMD

    Examples
    --------
    >>> A = np.array([[0.9, -0.2], [0.2, 0.9]])  # a damped rotation
    >>> X = np.zeros((50, 2))
    >>> X[0] = [1.0, 0.0]
    >>> for t in range(49):
    ...     X[t + 1] = A @ X[t]
    >>> model = fit_havok_dmd(X)
    >>> np.sort(np.abs(np.linalg.eigvals(model.operator))).round(3).tolist()  # |0.9 +- 0.2i|
    [0.922, 0.922]
    """
    H = delay_embed(X, n_delays, delay_interval)
    rank = check_int(rank, "rank", 1, allow_none=True)
    lamb = check_float(lamb, "lamb", 0.0)
    n_cond, n_rows, n_feat = H.shape
    if n_cond * n_rows < n_feat:
        raise DataFormatError(
            f"The delay embedding has more columns ({n_feat} = units x n_delays) than rows "
            f"({n_cond * n_rows}); reduce 'n_delays' or the number of units."
        )
    _, s, vh = np.linalg.svd(H.reshape(-1, n_feat).T, full_matrices=False)
    max_rank = int(np.sum(s > s[0] * 1e-12)) if s[0] > 0 else 0
    if max_rank == 0:
        raise DataFormatError("'X' is all zeros: no dynamics to fit.")
    if rank is None:
        rank = max_rank
    elif rank > max_rank:
        raise ConfigError(
            f"Invalid value for 'rank'. Allowed: an integer <= {max_rank} (the rank of the "
            f"delay embedding); got {rank}."
        )
    v = vh.T[:, :rank].reshape(n_cond, n_rows, rank)
    v_minus = v[:, :-1].reshape(-1, rank)
    v_plus = v[:, 1:].reshape(-1, rank)
    gram = v_minus.T @ v_minus + lamb * np.eye(rank)
    operator = np.linalg.solve(gram, v_minus.T @ v_plus).T
    return HavokDMD(operator, s, rank, n_delays, delay_interval)


def _initial_rotations(a: np.ndarray, b: np.ndarray, n_random: int, seed: int) -> list[np.ndarray]:
    """Starting points in both components of O(n).

    The identity and a reflection; the map aligning the eigenvectors of the symmetric parts
    (sorted by eigenvalue; exact for conjugate normal operators up to signs) and its reflected
    twin; ``n_random`` Haar-random orthogonal matrices.
    """
    n = a.shape[0]
    reflect = np.eye(n)
    reflect[0, 0] = -1.0
    _, va = np.linalg.eigh((a + a.T) / 2)
    _, vb = np.linalg.eigh((b + b.T) / 2)
    aligned = va @ vb.T
    starts = [np.eye(n), reflect, aligned, va @ reflect @ vb.T]
    rng = np.random.default_rng(seed)
    for _ in range(n_random):
        q, r = np.linalg.qr(rng.standard_normal((n, n)))
        starts.append(q * np.sign(np.diag(r)))
    return starts


def _orthogonal_fit(a: np.ndarray, b: np.ndarray, n_starts: int, seed: int) -> np.ndarray:
    """Orthogonal ``C`` maximising ``tr(a^T C b C^T)``: L-BFGS over ``C = expm(P - P^T) R0``.

    Each start ``R0`` (see :func:`_initial_rotations`; ``n_starts`` random ones besides the four
    fixed) is refined within its component of O(n); the exact gradient comes from the Frechet
    derivative of the matrix exponential (:func:`scipy.linalg.expm_frechet`). The best is kept.
    """
    from scipy.linalg import expm, expm_frechet
    from scipy.optimize import minimize

    n = a.shape[0]
    if n == 1:
        return np.eye(1)

    def value_grad(p: np.ndarray, r: np.ndarray) -> tuple[float, np.ndarray]:
        p = p.reshape(n, n)
        s = p - p.T
        c = expm(s) @ r
        g = a @ c @ b.T + a.T @ c @ b  # d tr(a^T C b C^T) / dC
        m = expm_frechet(s.T, g @ r.T, compute_expm=False)  # adjoint of the Frechet derivative
        return -float(np.trace(a.T @ c @ b @ c.T)), -(m - m.T).ravel()

    best, best_c = -np.inf, np.eye(n)
    for r in _initial_rotations(a, b, n_starts, seed):
        res = minimize(
            value_grad,
            np.zeros(n * n),
            args=(r,),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": 500, "gtol": 1e-8, "ftol": 1e-12},
        )
        if -res.fun > best:
            p = res.x.reshape(n, n)
            best, best_c = -res.fun, expm(p - p.T) @ r
    return best_c


def _wasserstein(ea: np.ndarray, eb: np.ndarray) -> float:
    """Optimal transport (uniform weights, squared distance) between two eigenvalue sets."""
    from scipy.optimize import linear_sum_assignment

    n = max(ea.size, eb.size)
    ea = np.concatenate([ea, np.zeros(n - ea.size)])
    eb = np.concatenate([eb, np.zeros(n - eb.size)])
    cost = np.abs(ea[:, None] - eb[None, :]) ** 2
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def similarity_transform_distance(
    A: Any,
    B: Any,
    *,
    score_method: Literal["angular", "euclidean", "wasserstein"] = "angular",
    n_starts: int = 8,
    seed: int = 0,
) -> float:
    """Procrustes analysis over vector fields: distance between two linear operators.

    Parameters
    ----------
    A, B : array-like of shape (n, n)
        Operators (e.g. :attr:`HavokDMD.operator`).
    score_method : {'angular', 'euclidean', 'wasserstein'}, default='angular'
        'angular': ``arccos(tr(A^T C B C^T))`` for unit-Frobenius-norm ``A``, ``B`` and the best
        orthogonal ``C`` (radians, 0 to pi); 'euclidean': ``||A - C B C^T||_F`` for the same;
        'wasserstein': mean squared distance of optimally matched eigenvalues (unnormalised
        operators; sizes may differ, the smaller set is padded with zeros).
    n_starts : int, default=8
        Random starts of the orthogonal search, besides four fixed ones (identity, a
        reflection, the eigenvector alignment of the symmetric parts and its reflection).
    seed : int, default=0
        Seed of the random starts.

    Returns
    -------
    distance : float

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> A = np.array([[0.9, -0.2], [0.2, 0.9]])
    >>> Q = np.linalg.qr(rng.standard_normal((2, 2)))[0]
    >>> round(similarity_transform_distance(A, Q.T @ A @ Q), 3)  # same dynamics, rotated
    0.0
    """
    if score_method not in SCORE_METHODS:
        raise ConfigError(
            f"Invalid value for 'score_method'. Allowed: {', '.join(SCORE_METHODS)}; "
            f"got {score_method!r}."
        )
    n_starts = check_int(n_starts, "n_starts", 0)
    a, b = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    for name, m in (("A", a), ("B", b)):
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise DataFormatError(f"{name!r} must be a square matrix; got shape {m.shape}.")
    if score_method == "wasserstein":
        return _wasserstein(np.linalg.eigvals(a), np.linalg.eigvals(b))
    if a.shape != b.shape:
        raise DataFormatError(
            f"'A' and 'B' must have the same shape for score_method={score_method!r}; got "
            f"{a.shape} and {b.shape} (use the same 'rank', or score_method='wasserstein')."
        )
    if not (np.linalg.norm(a) > 0 and np.linalg.norm(b) > 0):
        raise DataFormatError("'A' or 'B' is all zeros: the distance is undefined.")
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    c = _orthogonal_fit(a, b, n_starts, seed)
    if score_method == "angular":
        return float(np.arccos(np.clip(np.trace(a.T @ c @ b @ c.T), -1.0, 1.0)))
    return float(np.linalg.norm(a - c @ b @ c.T))


def dsa_distance(
    X: Any,
    Y: Any,
    *,
    n_delays: int = 1,
    delay_interval: int = 1,
    rank: int | None = None,
    lamb: float = 0.0,
    score_method: Literal["angular", "euclidean", "wasserstein"] = "angular",
    n_starts: int = 8,
    seed: int = 0,
) -> float:
    """DSA distance between two systems' trajectories (0 = conjugate dynamics).

    Parameters
    ----------
    X, Y : array-like of shape (n_conditions, n_times, n_units) or (n_times, n_units)
        Each system's trajectories; conditions, time points and units may differ between the two.
    n_delays, delay_interval, rank, lamb
        See :func:`fit_havok_dmd` (the same for both systems). ``rank=None`` uses the smaller of
        the two embeddings' ranks.
    score_method, n_starts, seed
        See :func:`similarity_transform_distance`.

    Returns
    -------
    distance : float

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> theta = 0.3
    >>> rot = 0.97 * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    >>> x = np.zeros((4, 30, 2)); x[:, 0] = rng.standard_normal((4, 2))
    >>> for t in range(1, 30): x[:, t] = x[:, t - 1] @ rot.T
    >>> q, _ = np.linalg.qr(rng.standard_normal((2, 2)))
    >>> round(dsa_distance(x, x @ q), 4)
    0.0
    """
    if rank is None:
        full = [
            fit_havok_dmd(d, n_delays=n_delays, delay_interval=delay_interval, lamb=lamb)
            for d in (X, Y)
        ]
        rank = min(m.rank for m in full)
    ma = fit_havok_dmd(X, n_delays=n_delays, delay_interval=delay_interval, rank=rank, lamb=lamb)
    mb = fit_havok_dmd(Y, n_delays=n_delays, delay_interval=delay_interval, rank=rank, lamb=lamb)
    return similarity_transform_distance(
        ma.operator, mb.operator, score_method=score_method, n_starts=n_starts, seed=seed
    )
