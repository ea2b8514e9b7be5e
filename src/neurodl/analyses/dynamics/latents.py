"""Latent dynamics models (LFADS-style VAE, sequential autoencoder), re-exported.

They are estimators and live in :mod:`neurodl.estimators.dynamics.latents`.
"""

from __future__ import annotations

from ...estimators.dynamics.latents import (
    LFADS,
    OBSERVATION_MEAN,
    OBSERVATION_NLL,
    SequentialAutoencoder,
)

__all__ = ["LFADS", "OBSERVATION_MEAN", "OBSERVATION_NLL", "SequentialAutoencoder"]
