"""Comparing the dynamics and geometry of two systems (model vs recording, model vs model).

* :mod:`.alignment`: CCA (:func:`cca_similarity`) and angular Procrustes distance
  (:func:`procrustes_distance`, Williams et al. 2021) between sample clouds.
* :mod:`.dsa`: Dynamical Similarity Analysis (Ostrow et al. 2023; own implementation checked
  against ``dsa-metric``): delay embedding -> HAVOK/DMD operator -> Procrustes over vector fields.
* :mod:`.inference`: :func:`compare_dynamics` (CCA, Procrustes, DSA, RSA side by side) with
  condition / time shuffle nulls and bootstrap CIs over conditions.
* :mod:`.simulate`: linear systems with known conjugacy (rotation, line attractor, stable point).

Arrays are ``(n_conditions, n_times, n_units)`` or ``(n_times, n_units)``.
"""

from __future__ import annotations

from .alignment import canonical_correlations, cca_similarity, procrustes_align, procrustes_distance
from .dsa import (
    SCORE_METHODS,
    HavokDMD,
    delay_embed,
    dsa_distance,
    fit_havok_dmd,
    similarity_transform_distance,
)
from .inference import (
    METHODS,
    NULL_KINDS,
    DynamicsComparison,
    MethodComparison,
    bootstrap_conditions,
    bootstrap_trials,
    compare_dynamics,
    rsa_similarity,
    shuffle_null,
)
from .simulate import DYNAMICS, conjugate_pair, dynamics_matrix, simulate_linear_system

__all__ = [
    "DYNAMICS",
    "METHODS",
    "NULL_KINDS",
    "SCORE_METHODS",
    "DynamicsComparison",
    "HavokDMD",
    "MethodComparison",
    "bootstrap_conditions",
    "bootstrap_trials",
    "canonical_correlations",
    "cca_similarity",
    "compare_dynamics",
    "conjugate_pair",
    "delay_embed",
    "dsa_distance",
    "dynamics_matrix",
    "fit_havok_dmd",
    "procrustes_align",
    "procrustes_distance",
    "rsa_similarity",
    "shuffle_null",
    "similarity_transform_distance",
    "simulate_linear_system",
]
