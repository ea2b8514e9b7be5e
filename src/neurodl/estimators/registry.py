"""The one estimator factory: :func:`make_estimator` builds every estimator by name.

Names resolve, in this order, through

- :data:`ENSEMBLES` (``"soft_vote"``: a soft vote of other entries; ``"seed_ensemble"``: one
  entry fitted with several seeds, probabilities averaged);
- :data:`~neurodl.estimators.classical.CLASSICAL_MODELS` (``"lda"``, ``"csp_lda"``, ...);
- :data:`ESTIMATOR_CLASSES`: estimator classes built from keyword parameters: the dynamics
  decoders, forecasters and latent models (:mod:`neurodl.estimators.dynamics`) and the neural
  encoding model (:class:`~neurodl.estimators.encoder.NeuralEncoder`);
- the torch model registry (:func:`neurodl.models.list_models`), each model wrapped in a
  :class:`~neurodl.estimators.NeuralClassifier` / :class:`~neurodl.estimators.NeuralRegressor`.

The per-kind factories of the dynamics analyses (:func:`make_decoder`, :func:`make_forecaster`)
map their short names (``"wiener"``, ``"rnn"``...) to entries of :data:`ESTIMATOR_CLASSES` and
call :func:`make_estimator`; :data:`DECODERS` and :data:`FORECASTERS` are views of that table.
Importing this module does not import torch.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import ConfigError
from .classical import CLASSICAL_MODELS, make_classical
from .dynamics import (
    LFADS,
    KalmanFilterDecoder,
    LinearARForecaster,
    PersistenceForecaster,
    RNNDecoder,
    RNNForecaster,
    SequentialAutoencoder,
    WienerFilter,
)
from .encoder import NeuralEncoder
from .neural import NeuralClassifier, NeuralRegressor

__all__ = [
    "DECODERS",
    "ENSEMBLES",
    "ESTIMATOR_CLASSES",
    "FORECASTERS",
    "NEURAL_TASKS",
    "PRETRAINED",
    "EstimatorEntry",
    "is_neural",
    "list_estimators",
    "make_decoder",
    "make_estimator",
    "make_forecaster",
]

#: Neural estimator class per task.
NEURAL_TASKS: dict[str, type] = {
    "classification": NeuralClassifier,
    "regression": NeuralRegressor,
}


@dataclass(frozen=True)
class EstimatorEntry:
    """An estimator class in :data:`ESTIMATOR_CLASSES`.

    Attributes
    ----------
    cls : type
        The estimator class (``__init__`` takes keyword parameters).
    kind : {"decoder", "forecaster", "latent", "encoder"}
    short_name : str
        Its name for the per-kind factory (``make_decoder("wiener")``).
    defaults : dict
        Parameters preset by this entry (overridable).

    Examples
    --------
    ``"ridge_decoder"`` is the Wiener filter with one lag preset; :func:`make_estimator`
    applies the preset:

    >>> entry = ESTIMATOR_CLASSES["ridge_decoder"]
    >>> entry.cls.__name__, entry.kind, entry.short_name, entry.defaults
    ('WienerFilter', 'decoder', 'ridge', {'n_lags': 1})
    >>> make_estimator("ridge_decoder")
    WienerFilter(n_lags=1)
    """

    cls: type
    kind: str
    short_name: str
    defaults: dict[str, Any] = field(default_factory=dict)


#: Estimator classes by name: the one table from names to classes outside the classical and
#: neural-model registries.
ESTIMATOR_CLASSES: dict[str, EstimatorEntry] = {
    "wiener_filter": EstimatorEntry(WienerFilter, "decoder", "wiener"),
    "ridge_decoder": EstimatorEntry(WienerFilter, "decoder", "ridge", {"n_lags": 1}),
    "kalman_filter": EstimatorEntry(KalmanFilterDecoder, "decoder", "kalman"),
    "rnn_decoder": EstimatorEntry(RNNDecoder, "decoder", "rnn"),
    "rnn_decoder_gru": EstimatorEntry(RNNDecoder, "decoder", "gru", {"cell": "gru"}),
    "rnn_decoder_lstm": EstimatorEntry(RNNDecoder, "decoder", "lstm", {"cell": "lstm"}),
    "persistence_forecaster": EstimatorEntry(PersistenceForecaster, "forecaster", "persistence"),
    "linear_ar_forecaster": EstimatorEntry(LinearARForecaster, "forecaster", "linear_ar"),
    "rnn_forecaster": EstimatorEntry(RNNForecaster, "forecaster", "rnn"),
    "lfads": EstimatorEntry(LFADS, "latent", "lfads"),
    "sequential_autoencoder": EstimatorEntry(SequentialAutoencoder, "latent", "autoencoder"),
    "neural_encoder": EstimatorEntry(NeuralEncoder, "encoder", "neural"),
}


def _short_names(kind: str) -> dict[str, str]:
    """Short name -> entry name of the entries of ``kind``."""
    return {e.short_name: name for name, e in ESTIMATOR_CLASSES.items() if e.kind == kind}


#: Decoder short name -> class (entries without preset parameters), for ``make_decoder``.
DECODERS: dict[str, type] = {
    e.short_name: e.cls
    for e in ESTIMATOR_CLASSES.values()
    if e.kind == "decoder" and not e.defaults
}
#: Forecaster short name -> class.
FORECASTERS: dict[str, type] = {
    e.short_name: e.cls for e in ESTIMATOR_CLASSES.values() if e.kind == "forecaster"
}


def _member(spec: Any, key: str, ensemble: str, seed: int, sfreq: float | None) -> Any:
    """Build one member ``{"name": ..., "params": {...}}`` of an ensemble (not an ensemble)."""
    if not isinstance(spec, dict) or "name" not in spec or set(spec) - {"name", "params"}:
        raise ConfigError(
            f"Invalid value for '{key}' of '{ensemble}'. Allowed: a dict with 'name' and "
            f"optional 'params'; got {spec!r}."
        )
    if spec["name"] in ENSEMBLES:
        raise ConfigError(f"'{ensemble}' members cannot be ensembles; got {spec['name']!r}.")
    return make_estimator(spec["name"], seed=seed, sfreq=sfreq, **dict(spec.get("params") or {}))


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
        est = _member(m, f"members[{i}]", "soft_vote", seed, sfreq)  # checks m first
        estimators.append((f"m{i}_{m['name']}", est))
    if weights is not None and (not isinstance(weights, list) or len(weights) != len(members)):
        raise ConfigError(
            f"Invalid value for 'weights' of 'soft_vote'. Allowed: one number per member "
            f"({len(members)}); got {weights!r}."
        )
    return VotingClassifier(estimators, voting="soft", weights=weights)


def _seed_ensemble(
    *, seed: int = 0, sfreq: float | None = None, member: Any = None, n_seeds: int = 5
) -> Any:
    """One registry model fitted with ``n_seeds`` seeds (``seed``, ``seed + 1``, ...), averaged.

    ``member``: ``{"name": ..., "params": {...}}`` (any classical or neural entry with a
    ``random_state``); see :class:`~neurodl.estimators.ensemble.SeedEnsemble`.
    """
    from .ensemble import SeedEnsemble

    est = _member(member, "member", "seed_ensemble", seed, sfreq)
    ens = SeedEnsemble(est, n_seeds=n_seeds, base_seed=seed)
    ens._check()
    return ens


#: Ensembles of other registry entries, built by :func:`make_estimator` (``params`` name the
#: members). Not "neural" for :func:`is_neural`: no epoch callbacks or network attributions.
ENSEMBLES: dict[str, Callable[..., Any]] = {
    "soft_vote": _soft_vote,
    "seed_ensemble": _seed_ensemble,
}


def _ssl_finetune(*, seed: int, sfreq: float | None, **params: Any) -> Any:
    from .pretraining import FineTunedClassifier  # imports torch: only when asked for

    params.setdefault("random_state", seed)
    if sfreq is not None:
        params.setdefault("sfreq", float(sfreq))
    try:
        return FineTunedClassifier(**params)
    except TypeError as err:
        raise ConfigError(f"Invalid parameters for estimator 'ssl_finetune': {err}.") from None


#: Networks that start from a self-supervised encoder (``pretrained``, see
#: :mod:`neurodl.estimators.pretraining`): name -> builder ``(seed, sfreq, **params)``.
PRETRAINED: dict[str, Callable[..., Any]] = {"ssl_finetune": _ssl_finetune}


def is_neural(name: str) -> bool:
    """Whether ``name`` is a registered torch model (rather than a classical baseline).

    Examples
    --------
    >>> is_neural("eegnet"), is_neural("lda"), is_neural("wiener_filter")
    (True, False, False)
    >>> is_neural("no_such_model")
    False
    """
    if name in CLASSICAL_MODELS or name in ESTIMATOR_CLASSES:
        return False
    from ..models import list_models

    return name in list_models()


def list_estimators() -> dict[str, list[str]]:
    """Every name :func:`make_estimator` knows, by family.

    Returns
    -------
    names : dict
        ``"ensemble"``, ``"classical"``, ``"decoder"``, ``"forecaster"``, ``"latent"``,
        ``"encoder"``, ``"neural"`` (registered torch models) and ``"pretrained"`` (networks
        started from a self-supervised encoder), each a sorted list.

    Examples
    --------
    >>> names = list_estimators()
    >>> list(names)
    ['ensemble', 'classical', 'decoder', 'forecaster', 'latent', 'encoder', 'neural', 'pretrained']
    >>> names["ensemble"], names["forecaster"]
    (['seed_ensemble', 'soft_vote'], ['linear_ar_forecaster', 'persistence_forecaster', 'rnn_forecaster'])
    >>> "lda" in names["classical"], "eegnet" in names["neural"], names["pretrained"]
    (True, True, ['ssl_finetune'])
    """
    from ..models import list_models

    names: dict[str, list[str]] = {
        "ensemble": sorted(ENSEMBLES),
        "classical": sorted(CLASSICAL_MODELS),
    }
    for name, entry in ESTIMATOR_CLASSES.items():
        names.setdefault(entry.kind, []).append(name)
    names["neural"] = sorted(list_models())
    names["pretrained"] = sorted(PRETRAINED)
    return {k: sorted(v) for k, v in names.items()}


def _build_class(name: str, seed: int, params: dict[str, Any]) -> Any:
    entry = ESTIMATOR_CLASSES[name]
    params = {**entry.defaults, **params}
    if "random_state" in entry.cls().get_params(deep=False):
        params.setdefault("random_state", seed)
    try:
        return entry.cls(**params)
    except TypeError as err:
        raise ConfigError(f"Invalid parameters for estimator {name!r}: {err}.") from None


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
    """Build the estimator ``name``: any classical, ensemble, dynamics, encoding or neural one.

    Parameters
    ----------
    name : str
        A key of :data:`ENSEMBLES`, :data:`CLASSICAL_MODELS`, :data:`ESTIMATOR_CLASSES`, or a
        registered model name (:func:`list_estimators` lists them all).
    seed : int, default=0
        Seed: ``random_state`` of the estimators that have one (unless ``params`` sets it).
    sfreq : float or None
        Sampling rate of the data: passed to neural models, and to classical entries that
        take one (``make_classical(data_sfreq=...)``); ignored by estimator classes.
    n_chans, n_times, n_outputs : int or None
        Accepted for callers that know the input shape; estimators read the shape from the
        data in ``fit``, so these are not needed and are ignored.
    **params
        Classical models: the builder's parameters. Estimator classes: their constructor
        parameters. Neural models: any :class:`NeuralClassifier` parameter (``max_epochs``,
        ``lr``, ``cropped``, ...), ``task`` (``"classification"``, default, or
        ``"regression"``), ``model_params``, and any other key is passed to the model as a
        hyperparameter (merged into ``model_params``).

    Returns
    -------
    estimator : scikit-learn compatible estimator

    Raises
    ------
    ConfigError
        Unknown name (the message lists every known name) or parameter.

    Examples
    --------
    >>> make_estimator("lda", seed=0).steps[-1][0]
    'lineardiscriminantanalysis'
    >>> est = make_estimator("mlp", seed=1, max_epochs=5, n_hidden=8)
    >>> type(est).__name__, est.max_epochs, est.model_params, est.random_state
    ('NeuralClassifier', 5, {'n_hidden': 8}, 1)
    >>> dec = make_estimator("rnn_decoder_lstm", seed=2, max_epochs=10)
    >>> type(dec).__name__, dec.cell, dec.max_epochs, dec.random_state
    ('RNNDecoder', 'lstm', 10, 2)
    """
    if name in ENSEMBLES:
        return ENSEMBLES[name](seed=seed, sfreq=sfreq, **params)
    if name in CLASSICAL_MODELS:
        if sfreq is not None and "data_sfreq" in inspect.signature(make_classical).parameters:
            params["data_sfreq"] = sfreq  # for entries that take the data's rate
        return make_classical(name, seed=seed, **params)
    if name in ESTIMATOR_CLASSES:
        return _build_class(name, seed, params)
    if name in PRETRAINED:
        return PRETRAINED[name](seed=seed, sfreq=sfreq, **params)
    from ..models import list_models

    neural = list_models()
    if name not in neural:
        raise ConfigError(
            f"Unknown model {name!r}. Classical models: {', '.join(sorted(CLASSICAL_MODELS))}; "
            f"ensembles: {', '.join(sorted(ENSEMBLES))}; estimators: "
            f"{', '.join(sorted(ESTIMATOR_CLASSES))}; pretrained: {', '.join(sorted(PRETRAINED))}; "
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


def _make_kind(kind: str, label: str, name: str, seed: int | None, params: dict[str, Any]) -> Any:
    names = _short_names(kind)
    if name not in names:
        raise ConfigError(
            f"Invalid value for {label!r}. Allowed: {', '.join(map(repr, sorted(names)))}; "
            f"got {name!r}."
        )
    if seed is not None:
        return make_estimator(names[name], seed=seed, **params)
    return make_estimator(names[name], **params)


def make_decoder(name: str, *, seed: int | None = None, **params: Any) -> Any:
    """Build behaviour decoder ``name`` through :func:`make_estimator`.

    ``"wiener"``, ``"kalman"``, ``"rnn"``; ``"ridge"`` = Wiener with ``n_lags=1``;
    ``"gru"``/``"lstm"`` = RNN with that cell. ``seed`` (default: the class default) is the
    ``random_state`` of the RNN decoders.

    Examples
    --------
    >>> type(make_decoder("ridge")).__name__, make_decoder("ridge").n_lags
    ('WienerFilter', 1)
    """
    return _make_kind("decoder", "decoder", name, seed, params)


def make_forecaster(name: str, *, seed: int | None = None, **params: Any) -> Any:
    """Build forecaster ``name`` (``"persistence"``, ``"linear_ar"``, ``"rnn"``) by name.

    ``seed`` (default: the class default) is the ``random_state`` of the RNN forecaster.

    Examples
    --------
    >>> make_forecaster("linear_ar", horizons=[1, 3]).horizons
    [1, 3]
    """
    return _make_kind("forecaster", "forecaster", name, seed, params)
