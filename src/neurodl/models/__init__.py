"""Torch ``nn.Module`` architectures behind one registry (:mod:`neurodl.models.registry`).

Importing this package does not import torch; :func:`build_model` / :func:`list_models` do.
"""

from .registry import (
    MODELS,
    build_model,
    count_parameters,
    get_model_class,
    list_models,
    register_model,
)

__all__ = [
    "MODELS",
    "build_model",
    "count_parameters",
    "get_model_class",
    "list_models",
    "register_model",
]
