"""Run independent units of work on the configured backend, in unit order, with a result cache.

:func:`run_units` is the one fan-out point of neurodl: cross-validation folds and permutations
(and any other independent units) call it with a unit function, the inputs all units share and
the list of units. The result list does not depend on the backend: each unit carries everything
that makes it deterministic (its split, its seed), so local, joblib and Ray runs give the same
numbers, bit for bit where the unit's computation is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._logging import logger
from .cache import UnitCache
from .config import ExecutionConfig, get_execution

__all__ = ["run_units"]


def run_units(
    fn: Callable[[Any, Any], Any],
    units: Sequence[Any],
    *,
    shared: Any = None,
    n_jobs: int | None = 1,
    execution: ExecutionConfig | Mapping[str, Any] | str | None = None,
    progress: Callable[[int, int], Any] | None = None,
) -> list[Any]:
    """Return ``[fn(shared, unit) for unit in units]``, computed on the configured backend.

    Parameters
    ----------
    fn : callable
        ``fn(shared, unit) -> result``; a module-level function (workers import it by name).
    units : sequence
        The independent units (e.g. ``(train, test)`` index pairs, seed sequences).
    shared : object
        Inputs common to all units (data arrays, estimator, splits). Sent once: Ray puts it in
        the object store; joblib memory-maps its large arrays.
    n_jobs : int or None, default=1
        Local backend: 1 or None runs the units in this process, any other value in a joblib
        pool of that many workers (-1: all cores). Ignored by the Ray backend.
    execution : ExecutionConfig, mapping, str or None
        Backend settings; None uses :func:`~neurodl.execution.get_execution`.
    progress : callable or None
        Called as ``progress(n_done, n_units)`` as units finish (cached ones count as done).

    Returns
    -------
    results : list
        One result per unit, in the order of ``units``.

    Examples
    --------
    >>> def affine(shared, unit):
    ...     return shared["a"] * unit + shared["b"]
    >>> run_units(affine, [0, 1, 2], shared={"a": 2, "b": 1})
    [1, 3, 5]
    """
    cfg = get_execution() if execution is None else ExecutionConfig.from_value(execution)
    units = list(units)
    n = len(units)
    results: list[Any] = [None] * n
    cache = UnitCache(cfg.cache_dir, fn, shared) if cfg.cache_dir is not None else None
    keys: list[str] = []
    todo = list(range(n))
    if cache is not None:
        keys = [cache.key(u) for u in units]
        todo = []
        for i, key in enumerate(keys):
            found = cache.load(key)
            if found is UnitCache.MISSING:
                todo.append(i)
            else:
                results[i] = found
    n_done = n - len(todo)
    logger.info(
        "run_units: %d units of %s on backend %s (%d from the cache)",
        n,
        getattr(fn, "__qualname__", fn),
        cfg.backend,
        n_done,
    )
    if progress is not None and n_done:
        progress(n_done, n)

    def on_result(j: int, result: Any) -> None:
        nonlocal n_done
        i = todo[j]
        results[i] = result
        if cache is not None:
            cache.save(keys[i], result)
        n_done += 1
        if progress is not None:
            progress(n_done, n)

    if not todo:
        return results
    if cfg.backend == "ray":
        from .ray_backend import run_on_ray

        run_on_ray(fn, shared, [units[i] for i in todo], cfg, on_result)
    elif n_jobs in (None, 1):
        for j, i in enumerate(todo):
            on_result(j, fn(shared, units[i]))
    else:
        from joblib import Parallel, delayed

        gen = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(fn)(shared, units[i]) for i in todo
        )
        for j, result in enumerate(gen):
            on_result(j, result)
    return results
