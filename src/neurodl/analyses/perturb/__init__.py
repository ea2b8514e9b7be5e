"""Perturbations of any torch model without touching its code: lesions and neuromodulation.

Specs (:class:`Ablate`, :class:`Gain`, :class:`Noise`, :class:`Clamp`, :class:`ScaleWeights`)
describe a perturbation; :func:`perturbed` applies them with forward hooks and exactly restored
weight edits inside a ``with`` block. :func:`unit_importance`, :func:`lesion_curve` and
:func:`dose_response` score a model under perturbations with a user-given ``score_fn``.
"""

from ._apply import perturbed, record_activations
from ._importance import dose_response, lesion_curve, unit_importance
from ._specs import Ablate, Clamp, Gain, Noise, Perturbation, ScaleWeights

__all__ = [
    "Ablate",
    "Clamp",
    "Gain",
    "Noise",
    "Perturbation",
    "ScaleWeights",
    "dose_response",
    "lesion_curve",
    "perturbed",
    "record_activations",
    "unit_importance",
]
