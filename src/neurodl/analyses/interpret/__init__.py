"""Interpretation of fitted decoders: attributions, their sanity checks and linear patterns.

:func:`attribute` (captum: integrated gradients, DeepLIFT, gradient x input, saliency, occlusion,
feature ablation of a fitted network, summarised per channel, time sample, frequency and band),
:func:`permutation_importance` and :func:`band_importance` (occlusion for any estimator),
:func:`linear_patterns` (Haufe et al. 2014: patterns, not filters, of linear models), the
sanity checks of Adebayo et al. 2018 (:func:`model_randomisation`, :func:`label_randomisation`,
:func:`map_stability`) and scores against a planted truth (:func:`score_map`,
:func:`attribution_study`).

Modules: :mod:`~neurodl.analyses.interpret.gradients` (per-sample maps through captum),
:mod:`~neurodl.analyses.interpret.attribution` (their summaries),
:mod:`~neurodl.analyses.interpret.importance` (permutation and band-stop importance),
:mod:`~neurodl.analyses.interpret.linear` (filters and patterns),
:mod:`~neurodl.analyses.interpret.sanity` (randomisation checks, stability),
:mod:`~neurodl.analyses.interpret.truth` and :mod:`~neurodl.analyses.interpret.study`
(simulated ground truth).
"""

from __future__ import annotations

from .attribution import ATTRIBUTION_METHODS, Attribution, attribute, band_sums
from .gradients import (
    deeplift,
    feature_ablation,
    gradient_x_input,
    integrated_gradients,
    occlusion,
    saliency,
)
from .importance import (
    DEFAULT_BANDS,
    OCCLUSION_MODES,
    Importance,
    band_importance,
    permutation_importance,
)
from .linear import LinearMaps, linear_gradient_x_input, linear_patterns
from .sanity import (
    SANITY_THRESHOLD,
    SanityCheck,
    fit_on_permuted_labels,
    label_randomisation,
    map_stability,
    model_randomisation,
    rank_correlation,
    sanity_verdict,
)
from .study import AttributionStudy, MethodResult, attribution_study
from .truth import score_map

__all__ = [
    "ATTRIBUTION_METHODS",
    "DEFAULT_BANDS",
    "OCCLUSION_MODES",
    "SANITY_THRESHOLD",
    "Attribution",
    "AttributionStudy",
    "Importance",
    "LinearMaps",
    "MethodResult",
    "SanityCheck",
    "attribute",
    "attribution_study",
    "band_importance",
    "band_sums",
    "deeplift",
    "feature_ablation",
    "fit_on_permuted_labels",
    "gradient_x_input",
    "integrated_gradients",
    "label_randomisation",
    "linear_gradient_x_input",
    "linear_patterns",
    "map_stability",
    "model_randomisation",
    "occlusion",
    "permutation_importance",
    "rank_correlation",
    "saliency",
    "sanity_verdict",
    "score_map",
]
