"""Hyper-parameter search spaces: validated distributions and reproducible trial sampling.

A space maps a parameter name to one distribution, written as a one-key mapping:

==============================  =====================================================
``{grid: [v1, v2, ...]}``       every value is tried (crossed with the other grids)
``{choice: [v1, v2, ...]}``     one value drawn uniformly per trial
``{uniform: [low, high]}``      a float drawn uniformly in ``[low, high)``
``{loguniform: [low, high]}``   a float drawn uniformly in log space (``0 < low``)
``{randint: [low, high]}``      an integer drawn uniformly in ``[low, high)``
==============================  =====================================================

The trials are drawn once, before any fitting, from ``numpy.random.default_rng(seed)``
(:func:`sample_configs`): every backend (local, Ray Tune) scores the same configurations.

Examples
--------
>>> space = SearchSpace.from_mapping({"C": {"grid": [0.1, 1.0]}, "l1": {"choice": [0, 1]}})
>>> [c["C"] for c in sample_configs(space, n_trials=2, seed=0)]
[0.1, 0.1, 1.0, 1.0]
"""

from __future__ import annotations

import difflib
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import ConfigError

__all__ = ["DISTRIBUTIONS", "SearchSpace", "sample_configs"]

#: distribution name -> what its argument is
DISTRIBUTIONS = {
    "grid": "a non-empty list of values, all tried",
    "choice": "a non-empty list of values, one drawn per trial",
    "uniform": "[low, high] with low < high",
    "loguniform": "[low, high] with 0 < low < high",
    "randint": "[low, high] integers with low < high (high excluded)",
}
_MAX_GRID = 10_000


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _check_dimension(name: str, spec: Any, where: str) -> tuple[str, Any]:
    path = f"{where}.{name}" if where else name
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise ConfigError(
            f"Invalid search space at {path!r}: each parameter takes a mapping with one "
            f"distribution, e.g. {{loguniform: [0.0001, 0.01]}} or {{grid: [1, 10]}}; got "
            f"{spec!r}."
        )
    ((kind, arg),) = spec.items()
    if kind not in DISTRIBUTIONS:
        close = difflib.get_close_matches(str(kind), list(DISTRIBUTIONS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"Unknown distribution {kind!r} at {path!r}.{hint} Allowed: {', '.join(DISTRIBUTIONS)}."
        )
    if kind in ("grid", "choice"):
        if not isinstance(arg, list | tuple) or not arg:
            raise ConfigError(
                f"Invalid search space at {path!r}: {kind} takes {DISTRIBUTIONS[kind]}; "
                f"got {arg!r}."
            )
        return kind, list(arg)
    ok = isinstance(arg, list | tuple) and len(arg) == 2 and all(_is_number(v) for v in arg)
    if ok and kind == "randint":
        ok = all(isinstance(v, int) for v in arg)
    if ok:
        low, high = arg
        ok = low < high and (kind != "loguniform" or low > 0)
    if not ok:
        raise ConfigError(
            f"Invalid search space at {path!r}: {kind} takes {DISTRIBUTIONS[kind]}; got {arg!r}."
        )
    return kind, (arg[0], arg[1])


@dataclass(frozen=True)
class SearchSpace:
    """A validated search space: parameter name -> ``(distribution, argument)``.

    Build it with :meth:`from_mapping`; :func:`sample_configs` draws the trials.

    Attributes
    ----------
    dimensions : dict of str to tuple
        ``{name: (kind, arg)}`` with ``kind`` a key of :data:`DISTRIBUTIONS`.

    Examples
    --------
    >>> SearchSpace.from_mapping({"lr": {"loguniform": [1e-4, 1e-2]}}).is_grid
    False
    """

    dimensions: Mapping[str, tuple[str, Any]]

    @classmethod
    def from_mapping(cls, space: Mapping[str, Any], *, where: str = "") -> SearchSpace:
        """Validate ``{name: {distribution: argument}}``; ``where`` prefixes error paths."""
        if isinstance(space, SearchSpace):
            return space
        if not isinstance(space, Mapping) or not space:
            raise ConfigError(
                f"Invalid search space{f' at {where!r}' if where else ''}: a non-empty mapping "
                f"of parameter name to distribution is needed; got {space!r}."
            )
        dims = {}
        for name, spec in space.items():
            if not isinstance(name, str) or not name:
                raise ConfigError(f"Invalid parameter name {name!r} in the search space.")
            dims[name] = _check_dimension(name, spec, where)
        out = cls(dims)
        if out.grid_size > _MAX_GRID:
            raise ConfigError(
                f"The search grid has {out.grid_size} points (more than {_MAX_GRID}); use "
                f"'choice' or a continuous distribution with n_trials instead."
            )
        return out

    @property
    def is_grid(self) -> bool:
        """True when every dimension is a ``grid`` (the space is enumerated, not sampled)."""
        return all(kind == "grid" for kind, _ in self.dimensions.values())

    @property
    def grid_size(self) -> int:
        """Number of points of the crossed ``grid`` dimensions (1 without any)."""
        return math.prod(len(a) for k, a in self.dimensions.values() if k == "grid")

    def to_dict(self) -> dict[str, Any]:
        """``{name: {kind: argument}}`` (JSON-safe when the values are)."""
        return {n: {k: list(a)} for n, (k, a) in self.dimensions.items()}


def _draw(kind: str, arg: Any, rng: np.random.Generator) -> Any:
    if kind == "choice":
        value = arg[int(rng.integers(len(arg)))]
        return value.item() if isinstance(value, np.generic) else value
    if kind == "uniform":
        return float(rng.uniform(arg[0], arg[1]))
    if kind == "loguniform":
        return float(np.exp(rng.uniform(np.log(arg[0]), np.log(arg[1]))))
    return int(rng.integers(arg[0], arg[1]))  # randint


def sample_configs(
    space: SearchSpace | Mapping[str, Any], n_trials: int | None = None, seed: int = 0
) -> list[dict[str, Any]]:
    """The trial configurations: every grid point, ``n_trials`` draws of the rest at each.

    Parameters
    ----------
    space : SearchSpace or mapping
        See :class:`SearchSpace`.
    n_trials : int or None
        Draws of the sampled dimensions per grid point; None: 1 for a grid-only space, else
        10. A grid-only space takes only None or 1 (its points are enumerated).
    seed : int, default=0
        Seed of the draws.

    Returns
    -------
    configs : list of dict
        ``grid_size * n_trials`` configurations, grid points in order, parameters in the
        order of ``space``.

    Examples
    --------
    >>> space = {"C": {"grid": [0.1, 1.0]}, "tol": {"loguniform": [1e-5, 1e-3]}}
    >>> configs = sample_configs(space, n_trials=2)  # 2 draws of tol at each grid point
    >>> len(configs), [c["C"] for c in configs]
    (4, [0.1, 0.1, 1.0, 1.0])
    """
    space = SearchSpace.from_mapping(space)
    if n_trials is None:
        n_trials = 1 if space.is_grid else 10
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ConfigError(f"Invalid value for 'n_trials'. Allowed: an int >= 1; got {n_trials!r}.")
    if space.is_grid and n_trials != 1:
        raise ConfigError(
            f"Invalid value for 'n_trials': {n_trials} repeats of a grid-only space (every "
            f"point is tried once); leave n_trials out, or draw values with 'choice'."
        )
    grid_names = [n for n, (k, _) in space.dimensions.items() if k == "grid"]
    grids = [space.dimensions[n][1] for n in grid_names]
    rng = np.random.default_rng(seed)
    out = []
    for point in itertools.product(*grids):
        fixed = dict(zip(grid_names, point, strict=True))
        for _ in range(n_trials):
            cfg = {}
            for name, (kind, arg) in space.dimensions.items():
                cfg[name] = fixed[name] if kind == "grid" else _draw(kind, arg, rng)
            out.append(cfg)
    return out
