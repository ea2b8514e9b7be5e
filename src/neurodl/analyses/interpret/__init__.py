"""Interpretation of fitted decoders: attributions back to channels, time and frequency.

:func:`attribute` (integrated gradients or gradient x input of a fitted network, summarised per
channel, time sample and frequency), :func:`permutation_importance` and :func:`band_importance`
(occlusion for any estimator).
"""

from __future__ import annotations

from .attribution import (
    ATTRIBUTION_METHODS,
    DEFAULT_BANDS,
    OCCLUSION_MODES,
    Attribution,
    Importance,
    attribute,
    band_importance,
    gradient_x_input,
    integrated_gradients,
    permutation_importance,
)

__all__ = [
    "ATTRIBUTION_METHODS",
    "DEFAULT_BANDS",
    "OCCLUSION_MODES",
    "Attribution",
    "Importance",
    "attribute",
    "band_importance",
    "gradient_x_input",
    "integrated_gradients",
    "permutation_importance",
]
