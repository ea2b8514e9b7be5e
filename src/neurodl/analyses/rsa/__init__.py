"""Representational similarity analysis: RDMs, comparisons, inference, CKA, predictivity.

Functional core: :func:`compute_rdm` -> :class:`RDMs` -> :func:`evaluate_models` (the one inference
entry point). :func:`cka` and :func:`linear_predictivity` compare feature spaces directly.
Activation extraction (torch) lives in :mod:`neurodl.analyses.rsa.activations`, imported on demand.
"""

from __future__ import annotations

from .cka import cka
from .compare import COMPARISON_METHODS, compare_rdms, compare_vectors, similarity_matrix
from .inference import RSAResult, evaluate_models, fdr_bh
from .kriegeskorte92 import read_kriegeskorte92
from .noise_ceiling import NoiseCeiling, noise_ceiling, zscore_rdms
from .predictivity import linear_predictivity, split_half_ceiling
from .rdm import RDMs, compute_rdm, load_features, load_rdms, noise_precision, patterns_from_trials

__all__ = [
    "COMPARISON_METHODS",
    "NoiseCeiling",
    "RDMs",
    "RSAResult",
    "cka",
    "compare_rdms",
    "compare_vectors",
    "compute_rdm",
    "evaluate_models",
    "fdr_bh",
    "linear_predictivity",
    "load_features",
    "load_rdms",
    "noise_ceiling",
    "noise_precision",
    "patterns_from_trials",
    "read_kriegeskorte92",
    "similarity_matrix",
    "split_half_ceiling",
    "zscore_rdms",
]
