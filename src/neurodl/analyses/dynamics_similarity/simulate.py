"""Simulated linear dynamical systems with known conjugacy, for tests, benchmarks and controls.

Three 2-D dynamics with different eigenvalues (Ostrow et al. 2023, Fig. 2):

* ``rotation``: a damped rotation (complex pair ``r e^{+-i theta}``),
* ``line_attractor``: one eigenvalue 1 (integration along a line), one decaying,
* ``stable_point``: two decaying eigenvalues (a stable fixed point),

embedded in ``n_units`` dimensions by a random linear map. Two systems are *conjugate* when one
is an invertible linear transform of the other (same eigenvalues): :func:`conjugate_pair` makes
such pairs and non-conjugate ones (different dynamics, each with its own random embedding).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...exceptions import ConfigError
from ._checks import check_float, check_int

__all__ = ["DYNAMICS", "conjugate_pair", "dynamics_matrix", "simulate_linear_system"]

#: Names of the simulated 2-D dynamics.
DYNAMICS = ("rotation", "line_attractor", "stable_point")


def dynamics_matrix(kind: str, *, rng: np.random.Generator | None = None) -> np.ndarray:
    """The 2x2 update matrix of one kind of dynamics (parameters jittered when ``rng`` is given).

    Returns
    -------
    A : ndarray of shape (2, 2)
        ``x[t+1] = A x[t]``. Eigenvalues: rotation ``0.97 e^{+-0.25 i}``; line attractor
        ``{1.0, 0.8}``; stable point ``{0.9, 0.8}`` (each jittered by a few percent).

    Examples
    --------
    >>> A = dynamics_matrix("line_attractor")
    >>> A.shape, np.sort(np.abs(np.linalg.eigvals(A))).round(2).tolist()
    ((2, 2), [0.8, 1.0])
    """
    if kind not in DYNAMICS:
        raise ConfigError(
            f"Invalid value for 'kind'. Allowed: {', '.join(DYNAMICS)}; got {kind!r}."
        )
    j = (lambda: 1.0 + 0.03 * rng.uniform(-1, 1)) if rng is not None else (lambda: 1.0)
    if kind == "rotation":
        theta, r = 0.25 * j(), min(0.97 * j(), 0.995)
        return r * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    if kind == "line_attractor":
        return np.diag([1.0, 0.8 * j()])
    return np.diag([0.9 * j(), 0.8 * j()])


def simulate_linear_system(
    A: Any,
    *,
    n_conditions: int = 8,
    n_times: int = 50,
    n_units: int | None = None,
    noise: float = 0.02,
    embedding: Any = None,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Trajectories of ``x[t+1] = A x[t] + noise`` from random starts, optionally embedded.

    Parameters
    ----------
    A : array-like of shape (d, d)
    n_conditions, n_times : int
        Trajectories (one per random start on the unit circle / sphere) and their length.
    n_units : int, optional
        Embed in this many units with a random Gaussian map (ignored when ``embedding`` is given).
    noise : float, default=0.02
        SD of the process noise.
    embedding : array-like of shape (d, n_units), optional
        The embedding map itself (rows: latent dimensions).
    seed : int or Generator

    Returns
    -------
    trajectories : ndarray of shape (n_conditions, n_times, n_units or d)

    Examples
    --------
    >>> A = dynamics_matrix("rotation")
    >>> X = simulate_linear_system(A, n_conditions=3, n_times=10, n_units=6, seed=0)
    >>> X.shape
    (3, 10, 6)
    """
    a = np.asarray(A, dtype=float)
    n_conditions = check_int(n_conditions, "n_conditions", 1)
    n_times = check_int(n_times, "n_times", 2)
    noise = check_float(noise, "noise", 0.0)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    d = a.shape[0]
    x = np.zeros((n_conditions, n_times, d))
    start = rng.standard_normal((n_conditions, d))
    x[:, 0] = start / np.linalg.norm(start, axis=1, keepdims=True)
    for t in range(1, n_times):
        x[:, t] = x[:, t - 1] @ a.T + noise * rng.standard_normal((n_conditions, d))
    if embedding is None and n_units is not None:
        embedding = rng.standard_normal((d, check_int(n_units, "n_units", 1)))
    return x if embedding is None else x @ np.asarray(embedding, dtype=float)


def conjugate_pair(
    kind_x: str,
    kind_y: str | None = None,
    *,
    n_conditions: int = 8,
    n_times: int = 50,
    n_units: int = 10,
    noise: float = 0.02,
    shared_starts: bool = False,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Two systems' trajectories: conjugate (``kind_y`` None or equal) or not.

    A conjugate pair shares one jittered update matrix; each system has its own random embedding.
    A non-conjugate pair draws the two kinds' matrices. With ``shared_starts`` both systems start
    from the same states and receive the same noise draws (a conjugate pair is then exactly
    ``Y = X M`` for an invertible ``M``, sample by sample); otherwise each has its own.

    Returns
    -------
    X, Y : ndarray of shape (n_conditions, n_times, n_units)

    Examples
    --------
    >>> X, Y = conjugate_pair("rotation", n_conditions=4, n_times=20, n_units=5)
    >>> X.shape, Y.shape
    ((4, 20, 5), (4, 20, 5))
    """
    rng = np.random.default_rng(seed)
    a = dynamics_matrix(kind_x, rng=rng)
    b = a if kind_y is None or kind_y == kind_x else dynamics_matrix(kind_y, rng=rng)
    common = {"n_conditions": n_conditions, "n_times": n_times, "noise": noise}
    seed_x, seed_y = rng.integers(0, 2**32, size=2)
    embed_x, embed_y = rng.standard_normal((2, 2, n_units))
    x = simulate_linear_system(a, embedding=embed_x, seed=int(seed_x), **common)
    y_seed = int(seed_x) if shared_starts else int(seed_y)
    return x, simulate_linear_system(b, embedding=embed_y, seed=y_seed, **common)
