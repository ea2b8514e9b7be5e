"""Estimators: classical baselines and neural networks behind one scikit-learn API.

:func:`make_estimator` builds either kind by name: classical names resolve through
:data:`~neurodl.estimators.classical.CLASSICAL_MODELS`, neural names through the model registry
(:func:`neurodl.models.list_models`) wrapped in :class:`NeuralClassifier` /
:class:`NeuralRegressor`. Importing this package does not import torch.
"""

from __future__ import annotations

import inspect
from typing import Any

from ..exceptions import ConfigError
from .classical import CLASSICAL_MODELS, make_classical
from .neural import NeuralClassifier, NeuralRegressor

__all__ = [
    "CLASSICAL_MODELS",
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
