"""Estimators: classical baselines and neural networks behind one scikit-learn API.

:func:`make_estimator` builds either kind by name: classical names resolve through
:data:`~neurodl.estimators.classical.CLASSICAL_MODELS`, neural names through the model registry
(:func:`neurodl.models.list_models`) wrapped in :class:`NeuralClassifier` /
:class:`NeuralRegressor`. Importing this package does not import torch.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..exceptions import ConfigError
from .classical import CLASSICAL_MODELS, make_classical
from .neural import NeuralClassifier, NeuralRegressor

__all__ = [
    "CLASSICAL_MODELS",
    "ENSEMBLES",
    "NeuralClassifier",
    "NeuralRegressor",
    "is_neural",
    "make_classical",
    "make_estimator",
]

#: Neural estimator class per task.
NEURAL_TASKS: dict[str, type] = {
    "classification": NeuralClassifier,
    "regression": NeuralRegressor,
}


def _soft_vote(
    *, seed: int = 0, sfreq: float | None = None, members: Any = None, weights: Any = None
) -> Any:
    """Soft vote (mean class probability) of other registry models, each fitted on the same data.

    ``members``: a list of ``{"name": ..., "params": {...}}`` (any classical or neural entry);
    ``weights``: one weight per member (default equal). Built on
    :class:`sklearn.ensemble.VotingClassifier` (``voting="soft"``).
    """
    from sklearn.ensemble import VotingClassifier

    if not isinstance(members, list) or len(members) < 2:
        raise ConfigError(
            "Invalid value for 'members' of 'soft_vote'. Allowed: a list of at least 2 "
            f"{{name, params}} entries; got {members!r}."
        )
    estimators = []
    for i, m in enumerate(members):
        if not isinstance(m, dict) or "name" not in m or set(m) - {"name", "params"}:
            raise ConfigError(
                f"Invalid value for 'members[{i}]' of 'soft_vote'. Allowed: a dict with 'name' "
                f"and optional 'params'; got {m!r}."
            )
        if m["name"] in ENSEMBLES:
            raise ConfigError(f"'soft_vote' members cannot be ensembles; got {m['name']!r}.")
        est = make_estimator(m["name"], seed=seed, sfreq=sfreq, **dict(m.get("params") or {}))
        estimators.append((f"m{i}_{m['name']}", est))
    if weights is not None and (not isinstance(weights, list) or len(weights) != len(members)):
        raise ConfigError(
            f"Invalid value for 'weights' of 'soft_vote'. Allowed: one number per member "
            f"({len(members)}); got {weights!r}."
        )
    return VotingClassifier(estimators, voting="soft", weights=weights)


#: Ensembles of other registry entries, built by :func:`make_estimator` (``params`` name the
#: members). Not "neural" for :func:`is_neural`: no epoch callbacks or network attributions.
ENSEMBLES: dict[str, Callable[..., Any]] = {"soft_vote": _soft_vote}


def is_neural(name: str) -> bool:
    """Whether ``name`` is a registered torch model (rather than a classical baseline)."""
    if name in CLASSICAL_MODELS:
        return False
    from ..models import list_models

    return name in list_models()


def make_estimator(
    name: str,
    *,
    seed: int = 0,
    sfreq: float | None = None,
    n_chans: int | None = None,
    n_times: int | None = None,
    n_outputs: int | None = None,
    **params: Any,
) -> Any:
    """Build the estimator ``name``: a classical baseline or a network in a neural estimator.

    Parameters
    ----------
    name : str
        A key of :data:`CLASSICAL_MODELS` or a registered model name.
    seed : int, default=0
        Seed (``random_state`` of neural estimators).
    sfreq : float or None
        Sampling rate of the data: passed to neural models, and to classical entries that
        take one (``make_classical(data_sfreq=...)``).
    n_chans, n_times, n_outputs : int or None
        Accepted for callers that know the input shape; neural estimators read the shape from
        the data in ``fit``, so these are not needed and are ignored.
    **params
        Classical models: the builder's parameters. Neural models: any
        :class:`NeuralClassifier` parameter (``max_epochs``, ``lr``, ``cropped``, ...),
        ``task`` (``"classification"``, default, or ``"regression"``), ``model_params``, and any
        other key is passed to the model as a hyperparameter (merged into ``model_params``).

    Returns
    -------
    estimator : scikit-learn compatible estimator

    Raises
    ------
    ConfigError
        Unknown name (the message lists classical and neural names) or parameter.

    Examples
    --------
    >>> make_estimator("lda", seed=0).steps[-1][0]
    'lineardiscriminantanalysis'
    >>> est = make_estimator("mlp", seed=1, max_epochs=5, n_hidden=8)
    >>> type(est).__name__, est.max_epochs, est.model_params, est.random_state
    ('NeuralClassifier', 5, {'n_hidden': 8}, 1)
    """
    if name in ENSEMBLES:
        return ENSEMBLES[name](seed=seed, sfreq=sfreq, **params)
    if name in CLASSICAL_MODELS:
        if sfreq is not None and "data_sfreq" in inspect.signature(make_classical).parameters:
            params["data_sfreq"] = sfreq  # for entries that take the data's rate
        return make_classical(name, seed=seed, **params)
    from ..models import list_models

    neural = list_models()
    if name not in neural:
        raise ConfigError(
            f"Unknown model {name!r}. Classical models: {', '.join(sorted(CLASSICAL_MODELS))}; "
            f"neural models: {', '.join(neural)}."
        )
    task = params.pop("task", "classification")
    if task not in NEURAL_TASKS:
        raise ConfigError(
            f"Invalid value for 'task'. Allowed: {', '.join(map(repr, NEURAL_TASKS))}; "
            f"got {task!r}."
        )
    cls = NEURAL_TASKS[task]
    allowed = set(inspect.signature(cls.__init__).parameters) - {"self", "model"}
    est_params = {k: v for k, v in params.items() if k in allowed}
    model_params = dict(est_params.pop("model_params", None) or {})
    model_params.update({k: v for k, v in params.items() if k not in allowed})
    if sfreq is not None and "sfreq" not in est_params:
        est_params["sfreq"] = float(sfreq)
    est_params.setdefault("random_state", seed)
    return cls(name, model_params or None, **est_params)
