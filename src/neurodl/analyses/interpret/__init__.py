"""Interpretation of fitted decoders: attributions back to channels, time and frequency.

:func:`attribute` (integrated gradients or gradient x input of a fitted network, summarised per
channel, time sample and frequency), :func:`permutation_importance` and :func:`band_importance`
(occlusion for any estimator).

Modules: :mod:`~neurodl.analyses.interpret.gradients` (gradient x input, integrated gradients),
:mod:`~neurodl.analyses.interpret.attribution` (their summary per channel, time and frequency),
:mod:`~neurodl.analyses.interpret.occlusion` (permutation and band-stop importance).
"""

from __future__ import annotations

from .attribution import ATTRIBUTION_METHODS, Attribution, attribute
from .gradients import gradient_x_input, integrated_gradients
from .occlusion import (
    DEFAULT_BANDS,
    OCCLUSION_MODES,
    Importance,
    band_importance,
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
