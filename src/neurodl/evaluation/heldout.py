"""A permutation test on held-out predictions: a model's own p-value without refitting it.

Refitting a network on hundreds of permuted label sets is rarely affordable; this test keeps
every fold's trained model and its test-set predictions and permutes only the *test* labels.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data import EpochsDataset
from ..exceptions import ConfigError
from .crossval import CVResult, _fold_score
from .metrics import get_metric
from .protocols import Protocol, get_protocol
from .stats import (
    PermutationResult,
    _check_n_permutations,
    _resolve_unit,
    permutation_labels,
)

__all__ = ["held_out_permutation_test"]


def _fold_values(
    metric: Any,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_score: np.ndarray | None,
    fold: np.ndarray,
    n_folds: int,
    classes: np.ndarray | None,
) -> np.ndarray:
    """Fold scores of label rows: ``y_true`` (n_rows, n_tested) -> (n_rows, n_folds)."""
    out = np.empty((len(y_true), n_folds))
    vectorised = metric.batch is not None and not metric.needs_proba and y_pred.ndim == 1
    for k in range(n_folds):
        m = fold == k
        if vectorised:
            out[:, k] = metric.batch(y_true[:, m], y_pred[m][None, :])
            continue
        for r, labels in enumerate(y_true):
            score = None if y_score is None else y_score[m]
            out[r, k] = _fold_score(metric, labels[m], y_pred[m], score, classes)
    return out


def _aggregate_rows(values: np.ndarray, blocks: list[str], by_block: bool) -> np.ndarray:
    """:func:`~neurodl.evaluation.crossval._aggregate` for every row of (n_rows, n_folds)."""
    with warnings.catch_warnings():  # an all-NaN block stays NaN, silently, as in CV
        warnings.simplefilter("ignore", RuntimeWarning)
        if by_block:
            names = np.asarray(blocks)
            values = np.stack(
                [np.nanmean(values[:, names == b], axis=1) for b in dict.fromkeys(blocks)], axis=1
            )
        return np.nanmean(values, axis=1)


def held_out_permutation_test(
    cv: CVResult,
    dataset: EpochsDataset,
    protocol: str | Protocol,
    *,
    n_permutations: int = 1000,
    seed: int = 0,
    within: str | Sequence[str] | None = "protocol",
    unit: str | None = "auto",
) -> PermutationResult:
    """Test a cross-validated score against chance by permuting the held-out labels only.

    Each fold's model stays as trained; its test predictions are scored against the test
    labels permuted *inside that fold's test set* (and inside the protocol's exchangeability
    blocks, moving whole segments when each carries one label), and the fold scores are
    aggregated as :func:`~neurodl.evaluation.cross_validate` aggregates them.

    Why this is valid, and what it tests: a fold's model never saw its test labels, so under
    the null hypothesis that the signals carry no information about the labels, the test
    labels are exchangeable given everything the model was trained on and predicted; the
    permutation distribution of each fold's score is then exact conditionally on the training
    fold (permuting only within the test set keeps its class counts, which the training labels
    fix for a finite block). It tests the trained models' predictions, not the learning
    procedure: unlike :func:`~neurodl.evaluation.permutation_test`, which refits the model on
    every permutation (Ojala & Garriga 2010, test 1), it does not account for the variability
    of training, and across folds it treats the per-fold permutations as independent (a sample
    used for training in one fold and for testing in another is permuted only in the fold that
    tests it). ``tests/evaluation/test_heldout_permutation.py`` measures its false-positive rate on
    simulated data with no effect. It costs no refit, so networks can have their own p-value.

    Parameters
    ----------
    cv : CVResult
        From :func:`~neurodl.evaluation.cross_validate` with ``return_predictions=True``.
    dataset : EpochsDataset
        The samples ``cv`` was computed on (for the blocks and segments).
    protocol : str or Protocol
        The protocol ``cv`` used (its ``aggregate_by_block`` and ``permute_within``).
    n_permutations : int, default=1000
        Permutations of the held-out labels.
    seed : int, default=0
        Seed of the permutations.
    within : str or sequence of str or None, default="protocol"
        Metadata column(s) inside which test labels move, in addition to the fold's test set;
        ``"protocol"`` uses :attr:`~neurodl.evaluation.Protocol.permute_within`.
    unit : str or None, default="auto"
        Metadata column whose groups are permuted as wholes (see
        :func:`~neurodl.evaluation.permutation_test`).

    Returns
    -------
    result : PermutationResult
        ``score`` equals ``cv.score``; ``within`` names the blocks with the prefix
        ``"fold test set"``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis as LDA
    >>> from neurodl.data import EpochsDataset
    >>> from neurodl.evaluation import cross_validate
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1], 40)
    >>> ds = EpochsDataset(rng.normal(size=(80, 3)) + y[:, None], y=y)
    >>> cv = cross_validate(LDA(), ds, "within-session")
    >>> res = held_out_permutation_test(cv, ds, "within-session", n_permutations=199)
    >>> res.p_value
    0.005
    """
    _check_n_permutations(n_permutations)
    if cv.y_pred is None or cv.fold is None or cv.sample_index is None:
        raise ConfigError(
            "held_out_permutation_test needs the pooled predictions: cross-validate with "
            "return_predictions=True."
        )
    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    metric = get_metric(cv.metric)
    if metric.needs_proba and cv.y_score is None:
        raise ConfigError(
            f"Metric {metric.name!r} needs class scores, but the cross-validation kept none."
        )
    classes = None if cv.classes is None else np.asarray(cv.classes)
    if within == "protocol":
        within = list(proto.permute_within) or None
    idx = np.asarray(cv.sample_index)
    fold = np.asarray(cv.fold)
    blocks = fold.astype(str)
    if within is not None:
        cols = within if isinstance(within, str) else list(within)
        blocks = np.char.add(np.char.add(blocks, "|"), dataset.groups(cols)[idx].astype(str))
    y_all = np.asarray(dataset.y)
    unit_col = _resolve_unit(dataset, y_all, unit)
    units = None
    if unit_col is not None:
        units = np.char.add(np.char.add(blocks, "|"), dataset.groups(unit_col)[idx].astype(str))
    y_true = np.asarray(cv.y_true)
    n_folds = len(cv.scores)
    fold_blocks = list(cv.blocks)

    def scores(rows: np.ndarray) -> np.ndarray:
        values = _fold_values(metric, rows, cv.y_pred, cv.y_score, fold, n_folds, classes)
        return _aggregate_rows(values, fold_blocks, proto.aggregate_by_block)

    observed = float(scores(y_true[None])[0])
    rngs = [np.random.default_rng(c) for c in np.random.SeedSequence(seed).spawn(n_permutations)]
    null = scores(np.stack([permutation_labels(y_true, blocks, units, r) for r in rngs]))
    if metric.greater_is_better:
        n_extreme = int(np.sum(~(null < observed)))  # NaN counts as extreme (conservative)
    else:
        n_extreme = int(np.sum(~(null > observed)))
    p = (1 + n_extreme) / (1 + n_permutations)
    within_name = "fold test set" + (
        "" if within is None else "/" + (within if isinstance(within, str) else "/".join(within))
    )
    return PermutationResult(
        observed, null, p, metric.name, within_name, unit_col, method="held_out"
    )
