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


def _load_architectures() -> None:
    """Import every architecture module, which registers its models (imports torch).

    The list is explicit, without discovery: a new architecture module is added here.
    """
    from . import (  # noqa: F401
        brainnet,
        deep4,
        dynamics,
        eegnet,
        recurrent,
        riemann,
        shallow,
        simple,
        spectral,
        tcn,
        tsmnet,
        vision,
        volumetric,
    )


__all__ = [
    "MODELS",
    "build_model",
    "count_parameters",
    "get_model_class",
    "list_models",
    "register_model",
]
