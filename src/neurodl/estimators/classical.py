"""Classical baselines behind one registry: in our field they often win.

Every entry builds a fresh scikit-learn estimator from keyword parameters and a seed. Entries that
take features (2-D) flatten 3-D input automatically; entries that take signals need 3-D input
``(n_samples, n_channels, n_times)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ..exceptions import ConfigError, DataFormatError

__all__ = ["CLASSICAL_MODELS", "Flatten", "ModelSpec", "make_classical", "register_classical"]


class Flatten(TransformerMixin, BaseEstimator):
    """Reshape ``(n_samples, ...)`` to ``(n_samples, n_features)``; 2-D input passes through."""

    def fit(self, X: Any, y: Any = None) -> Flatten:
        X = np.asarray(X)
        if X.ndim < 2:
            raise DataFormatError(f"Flatten needs at least 2-D input; got shape {X.shape}.")
        self.n_features_in_ = int(np.prod(X.shape[1:]))
        return self

    def transform(self, X: Any) -> np.ndarray:
        X = np.asarray(X)
        return X.reshape(len(X), -1)


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: how to build the estimator and what input it takes."""

    name: str
    build: Callable[..., Any]
    input: Literal["features", "signals"]
    task: Literal["classification", "regression"]
    description: str


CLASSICAL_MODELS: dict[str, ModelSpec] = {}


def register_classical(
    name: str,
    *,
    input: Literal["features", "signals"],
    task: Literal["classification", "regression"] = "classification",
    description: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering a builder ``f(seed, **params) -> estimator`` under ``name``."""

    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        if name in CLASSICAL_MODELS:
            raise ValueError(f"Model {name!r} is already registered.")
        CLASSICAL_MODELS[name] = ModelSpec(
            name, func, input, task, description or (func.__doc__ or "").strip()
        )
        return func

    return deco


@register_classical(
    "logistic_regression", input="features", description="Standardise + L2 logistic regression"
)
def _logreg(seed: int, C: float = 1.0, max_iter: int = 1000) -> Pipeline:
    from sklearn.linear_model import LogisticRegression

    return make_pipeline(
        Flatten(), StandardScaler(), LogisticRegression(C=C, max_iter=max_iter, random_state=seed)
    )


@register_classical("lda", input="features", description="Shrinkage LDA (Ledoit-Wolf)")
def _lda(seed: int, shrinkage: str | float = "auto") -> Pipeline:
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    return make_pipeline(
        Flatten(), StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage=shrinkage)
    )


@register_classical("linear_svm", input="features", description="Standardise + linear SVM")
def _svm(seed: int, C: float = 1.0) -> Pipeline:
    from sklearn.svm import SVC

    return make_pipeline(Flatten(), StandardScaler(), SVC(kernel="linear", C=C, random_state=seed))


@register_classical("ridge", input="features", task="regression", description="Standardise + ridge")
def _ridge(seed: int, alpha: float = 1.0) -> Pipeline:
    from sklearn.linear_model import Ridge

    return make_pipeline(Flatten(), StandardScaler(), Ridge(alpha=alpha))


@register_classical(
    "tangent_space_lr",
    input="signals",
    description="Covariances (OAS) -> Riemannian tangent space -> logistic regression",
)
def _ts_lr(seed: int, estimator: str = "oas", C: float = 1.0) -> Pipeline:
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace
    from sklearn.linear_model import LogisticRegression

    return make_pipeline(
        Covariances(estimator=estimator),
        TangentSpace(metric="riemann"),
        LogisticRegression(C=C, max_iter=1000, random_state=seed),
    )


@register_classical("csp_lda", input="signals", description="CSP (MNE, log-variance) -> LDA")
def _csp_lda(seed: int, n_components: int = 6, reg: str | float | None = "ledoit_wolf") -> Pipeline:
    from mne.decoding import CSP
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    return make_pipeline(
        CSP(n_components=n_components, reg=reg, log=True), LinearDiscriminantAnalysis()
    )


def make_classical(name: str, *, seed: int = 0, **params: Any) -> Any:
    """Build the registered estimator ``name`` with ``params``.

    Raises
    ------
    ConfigError
        Unknown model name (the message lists the known ones) or unknown parameter.
    """
    if name not in CLASSICAL_MODELS:
        raise ConfigError(
            f"Unknown model {name!r}. Known models: {', '.join(sorted(CLASSICAL_MODELS))}."
        )
    spec = CLASSICAL_MODELS[name]
    import inspect

    allowed = [p for p in inspect.signature(spec.build).parameters if p != "seed"]
    unknown = [p for p in params if p not in allowed]
    if unknown:
        raise ConfigError(f"Unknown parameter(s) {unknown} for model {name!r}. Allowed: {allowed}.")
    return spec.build(seed, **params)
