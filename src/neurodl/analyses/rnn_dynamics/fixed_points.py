"""Fixed and slow points of a recurrent update ``F(h, x)`` (Sussillo & Barak, 2013).

:func:`find_fixed_points` minimises ``q(h) = 0.5 * ||F(h, x) - h||^2`` from many initial states
in one batch (Adam, then damped Gauss-Newton / Levenberg-Marquardt polishing), keeps the points
with ``q < tol_q`` (fixed points) and ``tol_q <= q < tol_slow`` (slow points), removes
duplicates, and linearises ``F`` at each point. The update is treated as a discrete-time map:
a fixed point is *stable* when every Jacobian eigenvalue has ``|lambda| < 1``. For a
continuous-time leaky RNN analyse its Euler map ``h + dt/tau * (-h + f(W h + U x + b))`` (see
:func:`~neurodl.analyses.rnn_dynamics.leaky_rnn_update`); the criterion is that of the map.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = [
    "STABILITY_LABELS",
    "FixedPoints",
    "classify_stability",
    "find_fixed_points",
    "sample_states",
]

STABILITY_LABELS = ("stable", "unstable", "saddle", "marginal")


@dataclass(frozen=True)
class FixedPoints:
    """Fixed points of a recurrent map, their linearisation and stability.

    Attributes
    ----------
    points : ndarray of shape (n_points, n_hidden)
    q : ndarray of shape (n_points,)
        ``0.5 * ||F(h) - h||^2`` at each point (all below ``tol_q``).
    jacobians : ndarray of shape (n_points, n_hidden, n_hidden)
        ``dF/dh`` at each point.
    eigenvalues : ndarray of shape (n_points, n_hidden), complex
        Eigenvalues of each Jacobian, sorted by decreasing modulus.
    stability : ndarray of shape (n_points,), str
        ``"stable"`` (all ``|lambda| < 1``), ``"unstable"`` (all ``|lambda| > 1``),
        ``"saddle"`` (some inside, some outside the unit circle) or ``"marginal"`` (at least one
        ``|lambda|`` within ``tol_eig`` of 1, none outside).
    inputs : ndarray of shape (n_points, n_inputs) or None
        The input held constant at each point.
    slow_points, slow_q, slow_eigenvalues, slow_stability
        The same for slow points (``tol_q <= q < tol_slow``).
    n_initial : int
        Number of initial states.
    time_s : float
        Wall time of the search.
    params : dict
        The search settings.
    localisation : ndarray of shape (n_points,)
        Estimated distance of each fixed point to the exact one, ``||pinv(J - I) (F(h) - h)||``
        (one Newton step); large where ``J`` has an eigenvalue near 1, where a tiny ``q`` does
        not pin the point down. Duplicates are merged within ``tol_unique`` plus the two
        points' localisations.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from neurodl.analyses.rnn_dynamics import leaky_rnn_update
    >>> # linear units, W with eigenvalues 1 and 0.5: every point on the first axis is fixed
    >>> update = leaky_rnn_update(np.diag([1.0, 0.5]), activation=lambda z: z)
    >>> starts = np.random.default_rng(0).uniform(-1, 1, size=(8, 2))
    >>> fps = find_fixed_points(update, starts, max_iters=200)
    >>> fps.points.shape[1], fps.eigenvalues.shape[1], set(fps.stability.tolist())
    (2, 2, {'marginal'})
    """

    points: np.ndarray
    q: np.ndarray
    jacobians: np.ndarray
    eigenvalues: np.ndarray
    stability: np.ndarray
    inputs: np.ndarray | None
    slow_points: np.ndarray
    slow_q: np.ndarray
    slow_jacobians: np.ndarray
    slow_eigenvalues: np.ndarray
    slow_stability: np.ndarray
    n_initial: int
    time_s: float
    params: dict = field(default_factory=dict)
    localisation: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def n_points(self) -> int:
        """Number of (deduplicated) fixed points."""
        return int(self.points.shape[0])

    def _select(self, label: str) -> np.ndarray:
        return self.points[self.stability == label]

    @property
    def stable(self) -> np.ndarray:
        """Stable fixed points, shape (n_stable, n_hidden)."""
        return self._select("stable")

    @property
    def unstable(self) -> np.ndarray:
        """Unstable fixed points (all directions expanding), shape (n, n_hidden)."""
        return self._select("unstable")

    @property
    def saddle(self) -> np.ndarray:
        """Saddle points, shape (n_saddle, n_hidden)."""
        return self._select("saddle")

    @property
    def marginal(self) -> np.ndarray:
        """Marginally stable points (an eigenvalue on the unit circle), shape (n, n_hidden)."""
        return self._select("marginal")

    def counts(self) -> dict[str, int]:
        """Number of fixed points per stability label."""
        return {lab: int(np.sum(self.stability == lab)) for lab in STABILITY_LABELS}

    def to_dict(self) -> dict:
        """Return a JSON-friendly summary (points, q, eigenvalue moduli, labels, counts)."""
        return {
            "points": self.points.tolist(),
            "q": self.q.tolist(),
            "eigenvalue_moduli": np.abs(self.eigenvalues).tolist(),
            "stability": self.stability.tolist(),
            "counts": self.counts(),
            "n_slow_points": int(self.slow_points.shape[0]),
            "n_initial": self.n_initial,
            "time_s": self.time_s,
            "localisation": np.asarray(self.localisation).tolist(),
            "params": dict(self.params),
        }


def classify_stability(eigenvalues, *, tol_eig: float = 1e-5) -> np.ndarray:
    """Label points of a discrete-time map from their Jacobian eigenvalues.

    Parameters
    ----------
    eigenvalues : array-like of shape (n_points, n_hidden)
    tol_eig : float, default=1e-5
        Moduli within ``tol_eig`` of 1 count as marginal: equal to 1 up to the resolution of the
        eigenvalues of a float32 network's Jacobian (about 100 float32 epsilons). Trained memory
        states sit close to 1 without being marginal (a GRU's stable states often have
        ``|lambda|`` 0.999-0.9999, i.e. time constants of 1000-10000 steps); slowness is a time
        scale, not a stability class: see :func:`detect_line_attractor` for that question.

    Returns
    -------
    labels : ndarray of shape (n_points,), str
        One of :data:`STABILITY_LABELS` per point.

    Examples
    --------
    >>> classify_stability([[0.5, 0.2], [1.5, 1.2], [1.5, 0.5], [1.0, 0.5]]).tolist()
    ['stable', 'unstable', 'saddle', 'marginal']
    """
    mod = np.abs(np.asarray(eigenvalues))
    if mod.ndim != 2:
        raise ValueError(
            f"Invalid value for 'eigenvalues': expected shape (n_points, n_hidden); got {mod.shape}."
        )
    inside = mod < 1 - tol_eig
    outside = mod > 1 + tol_eig
    labels = np.full(mod.shape[0], "marginal", dtype=object)
    labels[inside.all(axis=1)] = "stable"
    labels[outside.all(axis=1)] = "unstable"
    labels[outside.any(axis=1) & ~outside.all(axis=1)] = "saddle"
    return labels.astype(str)


def sample_states(trajectories, n: int, *, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """Draw initial states from recorded hidden-state trajectories, plus Gaussian noise.

    Parameters
    ----------
    trajectories : array-like of shape (n_trials, n_steps, n_hidden) or (n_samples, n_hidden)
        Hidden states visited by the network (a torch tensor is detached).
    n : int
        Number of states to draw (with replacement).
    noise : float, default=0.0
        Standard deviation of the isotropic Gaussian noise added to each state.
    seed : int, default=0

    Returns
    -------
    states : ndarray of shape (n, n_hidden)

    Examples
    --------
    >>> hidden = np.random.default_rng(0).standard_normal((4, 10, 3))  # trials, steps, units
    >>> sample_states(hidden, 5, noise=0.01).shape
    (5, 3)
    """
    if isinstance(trajectories, torch.Tensor):
        trajectories = trajectories.detach().cpu().numpy()
    arr = np.asarray(trajectories, dtype=float)
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise ValueError(
            "Invalid value for 'trajectories': expected shape (n_trials, n_steps, n_hidden) or "
            f"(n_samples, n_hidden); got {arr.shape}."
        )
    arr = arr.reshape(-1, arr.shape[-1])
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"Invalid value for 'trajectories': {int(np.sum(~np.isfinite(arr)))} non-finite values."
        )
    if int(n) < 1:
        raise ValueError(f"Invalid value for 'n': must be >= 1; got {n}.")
    if noise < 0:
        raise ValueError(f"Invalid value for 'noise': must be >= 0; got {noise}.")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, arr.shape[0], size=int(n))
    return arr[idx] + noise * rng.standard_normal((int(n), arr.shape[1]))


def _as_states(initial_states, dtype) -> torch.Tensor:
    if isinstance(initial_states, torch.Tensor):
        initial_states = initial_states.detach().cpu().numpy()
    arr = np.asarray(initial_states, dtype=float)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(
            "Invalid value for 'initial_states': expected an array of shape "
            f"(n_states, n_hidden); got shape {arr.shape}."
        )
    bad = int(np.sum(~np.isfinite(arr)))
    if bad:
        raise ValueError(
            f"Invalid value for 'initial_states': {bad} non-finite values (NaN or inf)."
        )
    return torch.as_tensor(arr, dtype=dtype)


def _as_inputs(inputs, n_states: int, dtype) -> torch.Tensor | None:
    if inputs is None:
        return None
    if isinstance(inputs, torch.Tensor):
        inputs = inputs.detach().cpu().numpy()
    arr = np.asarray(inputs, dtype=float)
    if arr.ndim == 1:
        arr = np.broadcast_to(arr, (n_states, arr.shape[0]))
    if arr.ndim != 2 or arr.shape[0] != n_states:
        raise ValueError(
            "Invalid value for 'inputs': expected shape (n_inputs,) or "
            f"(n_states={n_states}, n_inputs); got {np.shape(inputs)}."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("Invalid value for 'inputs': contains non-finite values (NaN or inf).")
    return torch.as_tensor(np.ascontiguousarray(arr), dtype=dtype)


def _call(update, h, x) -> torch.Tensor:
    out = update(h, x)
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"'update' must return a torch.Tensor; got {type(out).__name__}.")
    if out.shape != h.shape:
        raise ValueError(
            f"Invalid value for 'update': it returned shape {tuple(out.shape)} for states of "
            f"shape {tuple(h.shape)}; F(h, x) must return the next state with the shape of h."
        )
    return out


def _q(update, h, x) -> torch.Tensor:
    return 0.5 * ((_call(update, h, x) - h) ** 2).sum(dim=1)


def _jacobians(update, h, x, chunk: int = 256) -> torch.Tensor:
    """Batched Jacobians dF/dh, shape (n_states, n_hidden, n_hidden); rows of h independent."""
    out = []
    for start in range(0, h.shape[0], chunk):
        hb = h[start : start + chunk].detach()
        xb = None if x is None else x[start : start + chunk]

        def summed(hh, xb=xb):
            return _call(update, hh, xb).sum(dim=0)

        jac = torch.autograd.functional.jacobian(summed, hb, vectorize=True)
        out.append(jac.permute(1, 0, 2).detach())  # (n_out, batch, n_in) -> (batch, out, in)
    return torch.cat(out, dim=0)


def _optimise(update, h, x, *, max_iters, lr, polish_iters, tol_q):
    h = h.clone().requires_grad_(True)
    opt = torch.optim.Adam([h], lr=lr)
    for _ in range(max_iters):
        opt.zero_grad()
        q = _q(update, h, x)
        if float(q.detach().max()) < tol_q:
            break
        q.sum().backward()
        opt.step()
    h = h.detach()
    # Levenberg-Marquardt polishing: solve (A^T A + mu I) d = -A^T r, A = J - I, r = F(h) - h.
    # A point leaves the active set once q < tol_q * 1e-8 or its damping has grown to 1e8
    # (about ten failed steps: q is at the update's rounding floor, e.g. ~1e-15 in float32).
    eye = torch.eye(h.shape[1], dtype=h.dtype)
    mu = torch.full((h.shape[0],), 1e-3, dtype=h.dtype)
    with torch.no_grad():
        q = _q(update, h, x)
    for _ in range(polish_iters):
        active = torch.nonzero((q >= tol_q * 1e-8) & (mu < 1e8)).flatten()
        if active.numel() == 0:
            break
        ha = h[active]
        xa = None if x is None else x[active]
        with torch.no_grad():
            r = _call(update, ha, xa) - ha
        a = _jacobians(update, ha, xa) - eye
        at = a.transpose(1, 2)
        lhs = at @ a + mu[active, None, None] * eye
        step = torch.linalg.solve(lhs, -(at @ r[:, :, None]))[:, :, 0]
        with torch.no_grad():
            h_new = ha + step
            q_new = _q(update, h_new, xa)
        # a step counts only if it lowers q by more than rounding noise (0.1%), so points at
        # the update's floating-point floor stop instead of random-walking there
        better = torch.isfinite(q_new) & (q_new < q[active] * (1 - 1e-3))
        h[active] = torch.where(better[:, None], h_new, ha)
        q[active] = torch.where(better, q_new, q[active])
        mu[active] = torch.where(better, mu[active] * 0.3, mu[active] * 10).clamp(1e-12, 1e9)
    return h, q


def _localisation(update, h, x, chunk: int = 256) -> np.ndarray:
    """Estimated distance of each state to the exact fixed point: ``||pinv(J - I) r||``.

    One Newton step from ``h`` towards the root of ``F(h) - h`` (``r = F(h) - h``, ``J = dF/dh``).
    Where ``J`` has an eigenvalue close to 1 (a slow direction, as in a saturated GRU) a tiny
    residual still leaves the point far from the exact fixed point along that direction; exactly
    singular directions (a continuum of fixed points) are left out (relative ``rcond`` 1e-6).
    """
    out = np.zeros(h.shape[0])
    eye = np.eye(h.shape[1])
    for start in range(0, h.shape[0], chunk):
        hb = h[start : start + chunk]
        xb = None if x is None else x[start : start + chunk]
        with torch.no_grad():
            r = (_call(update, hb, xb) - hb).numpy()
        a = _jacobians(update, hb, xb).numpy() - eye
        step = np.linalg.pinv(a, rcond=1e-6) @ r[:, :, None]
        out[start : start + chunk] = np.linalg.norm(step[:, :, 0], axis=1)
    return out


def _unique(
    points: np.ndarray, q: np.ndarray, tol: float, spread: np.ndarray | None = None
) -> np.ndarray:
    """Indices of points kept greedily by increasing q, none a duplicate of a kept one.

    ``i`` duplicates a kept ``k`` when ``||p_i - p_k|| <= tol + spread_i + spread_k``: within
    ``tol`` of each other, widened by how far each may lie from its exact fixed point.
    """
    spread = np.zeros(len(points)) if spread is None else spread
    kept: list[int] = []
    for i in np.argsort(q, kind="stable"):
        if kept:
            dist = np.linalg.norm(points[kept] - points[i], axis=1)
            if np.any(dist <= tol + spread[kept] + spread[i]):
                continue
        kept.append(int(i))
    return np.asarray(kept, dtype=int)


def find_fixed_points(
    update: Callable,
    initial_states,
    *,
    inputs=None,
    tol_q: float = 1e-8,
    tol_slow: float = 1e-4,
    max_iters: int = 500,
    lr: float = 1e-2,
    polish_iters: int = 50,
    tol_unique: float = 1e-3,
    tol_eig: float = 1e-5,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
) -> FixedPoints:
    """Find fixed and slow points of ``F(h, x)`` by minimising ``q = 0.5 ||F(h, x) - h||^2``.

    Parameters
    ----------
    update : callable
        ``update(h, x) -> h_next`` on torch tensors, ``h`` of shape (n_states, n_hidden), ``x``
        of shape (n_states, n_inputs) or ``None``; rows must be independent. Build one from a
        torch module with :func:`cell_update` or :func:`layer_update`.
    initial_states : array-like of shape (n_states, n_hidden)
        Starting points, e.g. from :func:`sample_states`.
    inputs : array-like of shape (n_inputs,) or (n_states, n_inputs), optional
        Constant input held at each state; ``None`` passes ``x=None`` to ``update``.
    tol_q : float, default=1e-8
        Points with ``q < tol_q`` are fixed points.
    tol_slow : float, default=1e-4
        Points with ``tol_q <= q < tol_slow`` are reported as slow points.
    max_iters : int, default=500
        Adam iterations.
    lr : float, default=1e-2
        Adam learning rate.
    polish_iters : int, default=50
        Levenberg-Marquardt iterations after Adam (0 to skip; a point stops once its ``q``
        cannot be lowered further). Polishing pulls slow points onto the nearest exact fixed
        point; skip it to keep slow points (e.g. to look for a line attractor).
    tol_unique : float, default=1e-3
        Fixed points closer than ``tol_unique`` plus their two localisations (estimated distances
        to the exact fixed point, see :class:`FixedPoints`) are duplicates; the one with lower
        ``q`` is kept. Slow points: closer than ``tol_unique``.
    tol_eig : float, default=1e-5
        Eigenvalue moduli within ``tol_eig`` of 1 are marginal (see :func:`classify_stability`).
    dtype : torch.dtype, default=torch.float64
        Dtype of the search; the adapters cast to the module's own dtype.
    seed : int, default=0
        Seeds torch for updates that draw random numbers.

    Returns
    -------
    result : FixedPoints

    Examples
    --------
    >>> import numpy as np, torch
    >>> from neurodl.analyses.rnn_dynamics import leaky_rnn_update
    >>> # linear units, W with eigenvalues 1 and 0.5: every point on the first axis is fixed
    >>> update = leaky_rnn_update(np.diag([1.0, 0.5]), activation=lambda z: z)
    >>> starts = np.random.default_rng(0).uniform(-1, 1, size=(8, 2))
    >>> fps = find_fixed_points(update, starts, max_iters=200)
    >>> bool(np.allclose(fps.points[:, 1], 0, atol=1e-3)), bool((fps.q < 1e-8).all())
    (True, True)
    """
    if not callable(update):
        raise TypeError(f"'update' must be callable F(h, x); got {type(update).__name__}.")
    if not 0 < tol_q <= tol_slow:
        raise ValueError(
            f"Invalid tolerances: need 0 < tol_q <= tol_slow; got tol_q={tol_q}, "
            f"tol_slow={tol_slow}."
        )
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    h0 = _as_states(initial_states, dtype)
    x = _as_inputs(inputs, h0.shape[0], dtype)
    with torch.no_grad():
        _call(update, h0[:1], None if x is None else x[:1])  # shape check, clear error early
    h, q = _optimise(
        update, h0, x, max_iters=max_iters, lr=lr, polish_iters=polish_iters, tol_q=tol_q
    )
    pts, qs = h.numpy(), q.numpy()
    xs = None if x is None else x.numpy()

    def part(mask, localise):
        idx = np.flatnonzero(mask)
        spread = np.zeros(idx.size)
        if localise and idx.size:
            xl = None if x is None else x[idx]
            spread = _localisation(update, torch.as_tensor(pts[idx], dtype=dtype), xl)
        keep = _unique(pts[idx], qs[idx], tol_unique, spread) if idx.size else idx
        idx, spread = idx[keep], spread[keep]
        n_hid = pts.shape[1]
        if idx.size:
            xi = None if x is None else x[idx]
            jac = _jacobians(update, torch.as_tensor(pts[idx], dtype=dtype), xi).numpy()
            eig = np.linalg.eigvals(jac)
            eig = np.take_along_axis(eig, np.argsort(-np.abs(eig), axis=1), axis=1)
        else:
            jac = np.zeros((0, n_hid, n_hid))
            eig = np.zeros((0, n_hid), dtype=complex)
        labels = classify_stability(eig, tol_eig=tol_eig)
        return idx, jac, eig, labels, spread

    finite = np.isfinite(qs)
    fi, fj, fe, fl, f_spread = part(finite & (qs < tol_q), localise=True)
    # slow points are not converged: their Newton distance measures the slow flow, not an error
    si, sj, se, sl, _ = part(finite & (qs >= tol_q) & (qs < tol_slow), localise=False)
    params = {
        "tol_q": tol_q,
        "tol_slow": tol_slow,
        "max_iters": max_iters,
        "lr": lr,
        "polish_iters": polish_iters,
        "tol_unique": tol_unique,
        "tol_eig": tol_eig,
        "seed": seed,
    }
    return FixedPoints(
        points=pts[fi], q=qs[fi], jacobians=fj, eigenvalues=fe, stability=fl,
        inputs=None if xs is None else xs[fi],
        slow_points=pts[si], slow_q=qs[si], slow_jacobians=sj, slow_eigenvalues=se,
        slow_stability=sl, n_initial=int(h0.shape[0]), time_s=time.perf_counter() - t0,
        params=params, localisation=f_spread,
    )  # fmt: skip
