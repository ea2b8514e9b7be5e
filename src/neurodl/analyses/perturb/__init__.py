"""Perturbations of any torch model without touching its code: lesions and neuromodulation.

Specs (:class:`Ablate`, :class:`Gain`, :class:`Noise`, :class:`Clamp`, :class:`ScaleWeights`)
describe a perturbation; :func:`perturbed` applies them with forward hooks and exactly restored
weight edits inside a ``with`` block. :func:`unit_importance`, :func:`lesion_curve` and
:func:`dose_response` score a model under perturbations with a user-given ``score_fn``;
:func:`unit_selectivity`, :func:`cluster_units` and :func:`cluster_lesions` choose which units
(or convolution channels, axis 1) to lesion, beside matched random sets.
"""

from ._apply import perturbed, record_activations, state_dict_hash, unit_axis
from ._importance import dose_response, lesion_curve, unit_importance
from ._specs import Ablate, Clamp, Gain, Noise, Perturbation, ScaleWeights
from ._targeting import (
    cluster_lesions,
    cluster_units,
    lesion_sizes,
    unit_responses,
    unit_selectivity,
)

__all__ = [
    "Ablate",
    "Clamp",
    "Gain",
    "Noise",
    "Perturbation",
    "ScaleWeights",
    "cluster_lesions",
    "cluster_units",
    "dose_response",
    "lesion_curve",
    "lesion_sizes",
    "perturbed",
    "record_activations",
    "state_dict_hash",
    "unit_axis",
    "unit_importance",
    "unit_responses",
    "unit_selectivity",
]
