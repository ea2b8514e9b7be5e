"""Line attractors: a connected 1-D set of fixed/slow points with one eigenvalue near 1."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .fixed_points import FixedPoints

__all__ = ["LineAttractor", "detect_line_attractor"]


@dataclass(frozen=True)
class LineAttractor:
    """A set of fixed/slow points with one eigenvalue near 1, lying along a line.

    Attributes
    ----------
    detected : bool
        ``n_points >= min_points`` and ``variance_ratio >= min_variance``.
    n_points : int
        Candidate points (one eigenvalue within ``tol_eig`` of 1, the rest inside).
    variance_ratio : float
        Fraction of the candidates' variance on their first principal component (nan if < 2).
    direction : ndarray of shape (n_hidden,)
        Unit first principal direction (sign: largest-magnitude entry positive).
    center : ndarray of shape (n_hidden,)
        Mean of the candidate points.
    extent : float
        Range of the candidates' projections on ``direction``.
    indices : ndarray of int
        Indices of the candidates in ``concatenate([points, slow_points])``.
    n_considered : int
        Fixed (and slow) points examined, whatever their eigenvalues.
    variance_ratio_all : float
        Fraction of the variance of *all* examined points on their first principal component:
        whether the fixed/slow points lie along a line at all (nan if fewer than 2).
    leading_moduli : ndarray of shape (n_considered,)
        Largest eigenvalue modulus of each examined point (> 1: an unstable direction, so the
        point is not on an attracting line even if it lies on a line).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from neurodl.analyses.rnn_dynamics import leaky_rnn_update
    >>> # linear units, W with eigenvalues 1 and 0.5: every point on the first axis is fixed
    >>> update = leaky_rnn_update(np.diag([1.0, 0.5]), activation=lambda z: z)
    >>> starts = np.random.default_rng(0).uniform(-1, 1, size=(8, 2))
    >>> from neurodl.analyses.rnn_dynamics import find_fixed_points
    >>> line = detect_line_attractor(find_fixed_points(update, starts), min_points=3)
    >>> line.detected, (line.direction.round(3) + 0.0).tolist()  # along the first axis
    (True, [1.0, 0.0])
    """

    detected: bool
    n_points: int
    variance_ratio: float
    direction: np.ndarray
    center: np.ndarray
    extent: float
    indices: np.ndarray
    n_considered: int = 0
    variance_ratio_all: float = float("nan")
    leading_moduli: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def summary(self) -> dict:
        """JSON-friendly numbers: detection, counts, variance on the line, leading moduli."""
        mod = self.leading_moduli
        return {
            "detected": bool(self.detected),
            "n_points": int(self.n_points),
            "n_considered": int(self.n_considered),
            "variance_ratio": _finite_or_none(self.variance_ratio),
            "variance_ratio_all": _finite_or_none(self.variance_ratio_all),
            "extent": _finite_or_none(self.extent),
            "leading_modulus_median": float(np.median(mod)) if mod.size else None,
            "leading_modulus_max": float(np.max(mod)) if mod.size else None,
        }


def _finite_or_none(value: float) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def _pc1_ratio(points: np.ndarray) -> float:
    """Fraction of the variance of ``points`` on their first principal component."""
    if points.shape[0] < 2:
        return float("nan")
    s = np.linalg.svd(points - points.mean(axis=0), compute_uv=False)
    var = s**2
    return float(var[0] / var.sum()) if var.sum() > 0 else float("nan")


def detect_line_attractor(
    fixed_points: FixedPoints,
    *,
    tol_eig: float = 1e-2,
    min_points: int = 5,
    min_variance: float = 0.9,
    include_slow: bool = True,
) -> LineAttractor:
    """Detect a line attractor among the fixed (and slow) points.

    Candidates are points whose Jacobian has exactly one eigenvalue within ``tol_eig`` of
    ``1 + 0j`` and all others with ``|lambda| < 1 - tol_eig``. A line is reported when there
    are at least ``min_points`` candidates and their first principal component carries at least
    ``min_variance`` of their variance.

    Parameters
    ----------
    fixed_points : FixedPoints
    tol_eig : float, default=1e-2
    min_points : int, default=5
    min_variance : float, default=0.9
    include_slow : bool, default=True
        Also consider slow points.

    Returns
    -------
    line : LineAttractor

    Examples
    --------
    >>> import numpy as np, torch
    >>> from neurodl.analyses.rnn_dynamics import leaky_rnn_update
    >>> # linear units, W with eigenvalues 1 and 0.5: every point on the first axis is fixed
    >>> update = leaky_rnn_update(np.diag([1.0, 0.5]), activation=lambda z: z)
    >>> starts = np.random.default_rng(0).uniform(-1, 1, size=(8, 2))
    >>> from neurodl.analyses.rnn_dynamics import find_fixed_points
    >>> line = detect_line_attractor(find_fixed_points(update, starts), min_points=3)
    >>> line.detected, line.n_points, round(line.variance_ratio, 3)
    (True, 8, 1.0)
    """
    pts, eig = fixed_points.points, fixed_points.eigenvalues
    if include_slow:
        pts = np.concatenate([pts, fixed_points.slow_points])
        eig = np.concatenate([eig, fixed_points.slow_eigenvalues])
    n_hid = pts.shape[1]
    extra = {
        "n_considered": int(pts.shape[0]),
        "variance_ratio_all": _pc1_ratio(pts),
        "leading_moduli": np.abs(eig).max(axis=1) if eig.size else np.zeros(pts.shape[0]),
    }
    near_one = np.abs(eig - 1) < tol_eig
    inside = np.abs(eig) < 1 - tol_eig
    cand = np.flatnonzero((near_one.sum(axis=1) == 1) & ((near_one | inside).all(axis=1)))
    sel = pts[cand]
    if sel.shape[0] < 2:
        return LineAttractor(
            False, int(sel.shape[0]), float("nan"), np.full(n_hid, np.nan),
            sel.mean(axis=0) if sel.shape[0] else np.full(n_hid, np.nan), 0.0, cand, **extra,
        )  # fmt: skip
    center = sel.mean(axis=0)
    _, s, vt = np.linalg.svd(sel - center, full_matrices=False)
    var = s**2
    ratio = float(var[0] / var.sum()) if var.sum() > 0 else float("nan")
    direction = vt[0] * np.sign(vt[0][np.argmax(np.abs(vt[0]))])
    proj = (sel - center) @ direction
    detected = bool(sel.shape[0] >= min_points and ratio >= min_variance)
    return LineAttractor(
        detected, int(sel.shape[0]), ratio, direction, center, float(np.ptp(proj)), cand, **extra
    )
