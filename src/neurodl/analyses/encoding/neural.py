"""The neural encoding model, re-exported: it is an estimator and lives in
:mod:`neurodl.estimators.encoder` (built by ``make_estimator("neural_encoder")``)."""

from __future__ import annotations

from ...estimators.encoder import ENCODER_MODELS, NeuralEncoder, pearson_per_target

__all__ = ["ENCODER_MODELS", "NeuralEncoder", "pearson_per_target"]
