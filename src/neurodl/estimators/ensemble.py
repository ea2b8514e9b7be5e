"""A seed ensemble: one classifier recipe fitted with several random seeds, probabilities averaged.

A network's score across subjects moves with its initialisation and batch order as much as with
its recipe; averaging the class probabilities of the same recipe fitted with ``n_seeds`` seeds
(a "deep ensemble", Lakshminarayanan et al. 2017) removes part of that variance without changing
the recipe. Unlike :class:`sklearn.ensemble.VotingClassifier`, :meth:`SeedEnsemble.fit` takes
``groups`` and hands them to every member, so a network's inner validation split (early
stopping) keeps whole subjects apart as it does alone. Built by name as
``make_estimator("seed_ensemble", member={"name": ..., "params": {...}}, n_seeds=5)``.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from ..exceptions import ConfigError, NotFittedError

__all__ = ["SeedEnsemble"]


def _takes(est: Any, name: str) -> bool:
    try:
        return name in inspect.signature(est.fit).parameters
    except (TypeError, ValueError):
        return False


class SeedEnsemble(ClassifierMixin, BaseEstimator):
    """Average the class probabilities of one classifier fitted with ``n_seeds`` seeds.

    Member ``i`` is ``clone(estimator)`` with ``random_state = base_seed + i`` (the parameter
    must exist: a recipe without randomness gives identical members), fitted on the same data.

    Parameters
    ----------
    estimator : classifier
        Any scikit-learn classifier with a ``random_state`` parameter and ``predict_proba``
        (e.g. :class:`~neurodl.estimators.NeuralClassifier`).
    n_seeds : int, default 5
        Number of members (at least 2).
    base_seed : int, default 0
        Seed of the first member; the others follow.

    Attributes
    ----------
    estimators_ : list of fitted classifiers, one per seed
    classes_ : ndarray of shape (n_classes,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import SGDClassifier
    >>> from neurodl.estimators.ensemble import SeedEnsemble
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 4)); y = (X[:, 0] > 0).astype(int)
    >>> ens = SeedEnsemble(SGDClassifier(loss="log_loss"), n_seeds=3).fit(X, y)
    >>> [m.random_state for m in ens.estimators_]
    [0, 1, 2]
    >>> proba = ens.predict_proba(X)
    >>> proba.shape, bool(np.allclose(proba.sum(1), 1.0))
    ((80, 2), True)
    >>> mean = np.mean([m.predict_proba(X) for m in ens.estimators_], axis=0)
    >>> bool(np.allclose(proba, mean)), float((ens.predict(X) == y).mean()) > 0.9
    (True, True)
    """

    def __init__(self, estimator: Any = None, n_seeds: int = 5, base_seed: int = 0):
        self.estimator = estimator
        self.n_seeds = n_seeds
        self.base_seed = base_seed

    def _check(self) -> None:
        if self.estimator is None or "random_state" not in self.estimator.get_params(deep=False):
            raise ConfigError(
                "Invalid value for 'estimator' of 'seed_ensemble'. Allowed: a classifier with "
                f"a 'random_state' parameter; got {self.estimator!r}."
            )
        n = self.n_seeds
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
            raise ConfigError(
                f"Invalid value for 'n_seeds' of 'seed_ensemble'. Allowed: an integer >= 2; "
                f"got {n!r}."
            )

    def fit(self, X: Any, y: Any, groups: Any = None) -> SeedEnsemble:
        """Fit every member on ``X`` (n_samples, ...) and ``y`` (n_samples,); returns self.

        ``groups`` (n_samples,), when given, reaches every member whose ``fit`` takes it.
        """
        self._check()
        self.estimators_ = []
        for i in range(int(self.n_seeds)):
            est = clone(self.estimator).set_params(random_state=int(self.base_seed) + i)
            kw = {"groups": groups} if groups is not None and _takes(est, "groups") else {}
            self.estimators_.append(est.fit(X, y, **kw))
        self.classes_ = self.estimators_[0].classes_
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Mean class probability over the members, shape (n_samples, n_classes)."""
        if not hasattr(self, "estimators_"):
            raise NotFittedError("This SeedEnsemble is not fitted yet; call fit(X, y) first.")
        return np.mean([est.predict_proba(X) for est in self.estimators_], axis=0)

    def predict(self, X: Any) -> np.ndarray:
        """The class with the highest mean probability, shape (n_samples,)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
