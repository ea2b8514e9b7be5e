"""Building a decoder: a registered model behind the per-fold preprocessing, and its curves."""

from __future__ import annotations

from typing import Any

__all__ = ["LearningCurves", "make_decoder", "without_callbacks"]


class LearningCurves:
    """Epoch callback that collects the training history of every fit of a neural estimator.

    :func:`sklearn.base.clone` deep-copies an estimator's parameters; this object returns itself
    from ``__deepcopy__``, so every clone made by cross-validation reports to the same
    collector (in fold order when folds run in this process; with ``n_jobs != 1`` the folds run
    in other processes and no curves are collected). A record with ``epoch == 0`` starts a new
    curve.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodl.estimators import NeuralClassifier
    >>> curves = LearningCurves()
    >>> X, y = np.random.default_rng(0).standard_normal((20, 2, 16)), np.tile([0, 1], 10)
    >>> net = NeuralClassifier("linear", max_epochs=3, validation_fraction=0.0, random_state=0,
    ...                        callbacks=[curves]).fit(X, y)
    >>> len(curves.curves), len(curves.to_results()[0]["epoch"])  # one fit of 3 epochs
    (1, 3)
    """

    def __init__(self) -> None:
        self.curves: list[list[dict[str, float]]] = []

    def __call__(self, record: dict[str, Any]) -> None:
        if record.get("epoch") == 0 or not self.curves:
            self.curves.append([])
        self.curves[-1].append(dict(record))

    def __deepcopy__(self, memo: dict[int, Any]) -> LearningCurves:
        return self

    def to_results(self) -> list[dict[str, list[float]]]:
        """One dict of per-epoch columns (``epoch``, ``train_loss``, ``valid_loss``, ...) per fit."""
        out = []
        for curve in self.curves:
            keys = [k for k in curve[0] if k != "time_s"]
            out.append({k: [float(r.get(k, float("nan"))) for r in curve] for k in keys})
        return out


def make_decoder(
    name: str,
    params: dict[str, Any] | None = None,
    *,
    preprocessing: Any = None,
    seed: int = 0,
    sfreq: float | None = None,
    data_info: dict[str, Any] | None = None,
    callbacks: list[Any] | None = None,
) -> Any:
    """A registered estimator, preceded by the per-fold preprocessing steps (if any).

    Parameters
    ----------
    name : str
        A model name known to :func:`neurodl.estimators.make_estimator` (classical, neural or
        an ensemble).
    params : dict, optional
        The model's parameters.
    preprocessing : sklearn transformer or None
        Steps fitted inside each training fold (e.g. the second half of
        :func:`neurodl.preprocessing.split_preprocessing`); prepended as a pipeline step.
    seed : int, default=0
        Seed of the estimator.
    sfreq : float or None
        The data's sampling rate, for models that take one (``fbcsp``, the networks).
    data_info : dict, optional
        The samples' ``info``: fills the hyperparameters a network class lists in its
        ``data_params`` attribute (e.g. ``voxel_cnn``'s ``mask``) unless ``params`` sets them.
    callbacks : list, optional
        Epoch callbacks given to neural estimators (e.g. :class:`LearningCurves`).

    Returns
    -------
    estimator : scikit-learn estimator or Pipeline ``[("preprocessing", ...), ("model", ...)]``

    Examples
    --------
    >>> type(make_decoder("lda", {"shrinkage": "auto"})).__name__
    'Pipeline'
    """
    from sklearn.pipeline import Pipeline

    from ...estimators import is_neural, make_estimator

    params = dict(params or {})
    if callbacks and is_neural(name):
        params["callbacks"] = list(callbacks)
    if data_info and is_neural(name):
        from ...models import get_model_class

        for key in getattr(get_model_class(name), "data_params", ()):
            if key not in params and key in data_info:
                params[key] = data_info[key]
    est = make_estimator(name, seed=seed, sfreq=sfreq, **params)
    if preprocessing is None:
        return est
    return Pipeline([("preprocessing", preprocessing), ("model", est)])


def without_callbacks(estimator: Any) -> Any:
    """An unfitted clone of ``estimator`` with every ``*callbacks`` parameter cleared.

    Refits that are not the reported cross-validation (permutations, pairwise CVs, the
    saliency refit) must not report to the run's learning-curve collector.

    Examples
    --------
    >>> from neurodl.estimators import NeuralClassifier
    >>> net = NeuralClassifier("linear", callbacks=[LearningCurves()])
    >>> without_callbacks(net).get_params()["callbacks"], len(net.get_params()["callbacks"])
    (None, 1)
    """
    from sklearn.base import clone

    est = clone(estimator)
    clear = {k: None for k, v in est.get_params(deep=True).items() if k.endswith("callbacks") and v}
    if clear:
        est.set_params(**clear)
    return est
