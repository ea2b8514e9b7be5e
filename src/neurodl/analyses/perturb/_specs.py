"""Perturbation specifications: small frozen dataclasses, validated at construction.

A spec only *describes* a perturbation; :func:`~neurodl.analyses.perturb.perturbed` applies it
to a model (forward hooks for unit perturbations, an exactly restored in-place edit for
:class:`ScaleWeights`).

Units and the unit axis
-----------------------
``units`` are non-negative indices along ``axis`` of the layer's output. ``axis=None`` (the
default) picks the feature axis of the output:

- the last axis for ``nn.Linear``, ``nn.RNN``/``nn.GRU``/``nn.LSTM`` and their cells
  (outputs ``(batch, time, hidden)``, ``(time, batch, hidden)`` or ``(batch, hidden)``) and for
  any output with at most 2 dimensions;
- axis 1 otherwise, i.e. the channel axis of ``(batch, channels, ...)`` convolution outputs.

Pass ``axis`` explicitly whenever a layer's layout differs. When a layer returns a tuple
(e.g. ``nn.LSTM`` returns ``(output, (h_n, c_n))``), only its first element is perturbed.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from ...exceptions import ConfigError

__all__ = ["Ablate", "Clamp", "Gain", "Noise", "Perturbation", "ScaleWeights"]

_ABLATION_MODES = ("zero", "mean", "resample")


def _check_name(kind: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{kind!r} must be a module/parameter name (str); got {value!r}.")
    return value


def _check_indices(name: str, value: Any, *, allow_none: bool = False) -> tuple[int, ...] | None:
    if value is None and allow_none:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray, range)):
        raise ConfigError(
            f"{name!r} must be an int or a sequence of non-negative ints; got {value!r}."
        )
    out = []
    for v in list(value):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or int(v) < 0:
            raise ConfigError(f"{name!r} must hold non-negative ints; got {v!r} in {value!r}.")
        out.append(int(v))
    if not out:
        raise ConfigError(f"{name!r} must not be empty; got {value!r}.")
    if len(set(out)) != len(out):
        raise ConfigError(f"{name!r} must not repeat an index; got {value!r}.")
    return tuple(out)


def _check_axis(axis: Any) -> int | None:
    if axis is None:
        return None
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise ConfigError(f"'axis' must be an int or None; got {axis!r}.")
    if int(axis) == 0:
        raise ConfigError("'axis' must not be 0: axis 0 is the batch axis.")
    return int(axis)


def _check_seed(seed: Any) -> None:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ConfigError(f"'seed' must be an int; got {seed!r}.")


def _check_layer_units(spec: Any) -> None:
    """Check ``spec.layer`` and store ``spec.units`` as a tuple of checked indices."""
    _check_name("layer", spec.layer)
    object.__setattr__(spec, "units", _check_indices("units", spec.units))


def _check_real(
    name: str, value: Any, *, minimum: float | None = None, strict: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{name!r} must be a real number; got {value!r}.")
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(f"{name!r} must be finite; got {value!r}.")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        op = ">" if strict else ">="
        raise ConfigError(f"{name!r} must be {op} {minimum:g}; got {value!r}.")
    return value


@dataclass(frozen=True, eq=False)
class Ablate:
    """Silence units of a layer: replace them by zero, their mean, or resampled values.

    Parameters
    ----------
    layer : str
        Module name as in ``model.named_modules()``.
    units : int or sequence of int
        Non-negative unit indices along ``axis``.
    mode : {"zero", "mean", "resample"}, default="zero"
        ``"zero"`` sets the units to 0. ``"mean"`` sets each unit to its mean over all the other
        axes of ``reference`` (e.g. over trials and time). ``"resample"`` copies, for each batch
        element, the units of a randomly drawn reference sample, so ``reference`` must have
        shape ``(n_ref, *output.shape[1:])``.
    reference : ndarray or Tensor of shape (n_ref, ...), optional
        Activations of ``layer`` on reference data, batch axis first, as returned by
        :func:`~neurodl.analyses.perturb.record_activations`. Required by ``"mean"`` and
        ``"resample"``.
    axis : int or None, default=None
        Unit axis of the output (see the module docstring for the default).
    seed : int, default=0
        Seed of the draws of ``"resample"`` (reseeded on entering :func:`perturbed`).

    Examples
    --------
    >>> Ablate("fc1", [3, 7]).units
    (3, 7)
    """

    layer: str
    units: Sequence[int] | int
    mode: Literal["zero", "mean", "resample"] = "zero"
    reference: Any = field(default=None, repr=False)
    axis: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        _check_layer_units(self)
        if self.mode not in _ABLATION_MODES:
            raise ConfigError(
                f"Invalid value for 'mode'. Allowed: {', '.join(map(repr, _ABLATION_MODES))}; "
                f"got {self.mode!r}."
            )
        object.__setattr__(self, "axis", _check_axis(self.axis))
        _check_seed(self.seed)
        if self.mode == "zero":
            return
        if self.reference is None:
            raise ConfigError(
                f"Ablate(mode={self.mode!r}) needs 'reference' activations of layer "
                f"{self.layer!r}; record them with record_activations(model, [layer], inputs)."
            )
        if isinstance(self.reference, torch.Tensor):
            ref = self.reference.detach().cpu().double()
        else:
            ref = torch.as_tensor(np.asarray(self.reference, dtype=float))
        if ref.ndim < 2 or ref.shape[0] == 0:
            raise ConfigError(
                "'reference' must have shape (n_ref, ...) with n_ref >= 1 and at least one unit "
                f"axis; got shape {tuple(ref.shape)}."
            )
        if not torch.isfinite(ref).all():
            raise ConfigError("'reference' must be finite; got NaN/inf values.")
        object.__setattr__(self, "reference", ref)


@dataclass(frozen=True)
class Gain:
    """Neuromodulation: multiply the activations of ``units`` by ``factor``.

    Parameters
    ----------
    layer : str
        Module name as in ``model.named_modules()``.
    units : int or sequence of int
        Non-negative unit indices along ``axis``.
    factor : float
        Multiplicative gain, finite and >= 0 (1 leaves the units unchanged, 0 silences them).
    axis : int or None, default=None
        Unit axis of the output.

    Examples
    --------
    >>> Gain("fc1", 3, factor=1.5).factor
    1.5
    """

    layer: str
    units: Sequence[int] | int
    factor: float
    axis: int | None = None

    def __post_init__(self) -> None:
        _check_layer_units(self)
        object.__setattr__(self, "factor", _check_real("factor", self.factor, minimum=0.0))
        object.__setattr__(self, "axis", _check_axis(self.axis))


@dataclass(frozen=True)
class Noise:
    """Add Gaussian noise of standard deviation ``sd`` to the activations of ``units``.

    Parameters
    ----------
    layer : str
        Module name as in ``model.named_modules()``.
    units : int or sequence of int
        Non-negative unit indices along ``axis``.
    sd : float
        Noise standard deviation, finite and >= 0.
    seed : int, default=0
        Seed of the noise; the generator is reseeded on entering :func:`perturbed`, then each
        forward call (each step of a recurrent cell) draws fresh noise.
    axis : int or None, default=None
        Unit axis of the output.

    Examples
    --------
    >>> Noise("fc1", [0, 1], sd=0.1, seed=3).sd
    0.1
    """

    layer: str
    units: Sequence[int] | int
    sd: float
    seed: int = 0
    axis: int | None = None

    def __post_init__(self) -> None:
        _check_layer_units(self)
        object.__setattr__(self, "sd", _check_real("sd", self.sd, minimum=0.0))
        _check_seed(self.seed)
        object.__setattr__(self, "axis", _check_axis(self.axis))


@dataclass(frozen=True)
class Clamp:
    """Optogenetic-like clamp: hold the activations of ``units`` at ``value``.

    Parameters
    ----------
    layer : str
        Module name as in ``model.named_modules()``.
    units : int or sequence of int
        Non-negative unit indices along ``axis``.
    value : float
        Finite value the units are held at.
    axis : int or None, default=None
        Unit axis of the output.

    Examples
    --------
    >>> Clamp("fc1", 2, value=1.0).value
    1.0
    """

    layer: str
    units: Sequence[int] | int
    value: float
    axis: int | None = None

    def __post_init__(self) -> None:
        _check_layer_units(self)
        object.__setattr__(self, "value", _check_real("value", self.value))
        object.__setattr__(self, "axis", _check_axis(self.axis))


@dataclass(frozen=True)
class ScaleWeights:
    """Scale a block of a parameter in place, restored bit-for-bit on leaving :func:`perturbed`.

    Parameters
    ----------
    parameter : str
        Parameter name as in ``model.named_parameters()`` (e.g. ``"rnn.weight_hh_l0"``).
    factor : float
        Finite multiplicative factor (0 cuts the connections).
    rows, cols : int or sequence of int, optional
        Indices along axis 0 (post-synaptic units) and axis 1 (pre-synaptic units) of the
        parameter; ``None`` means all. Scaling rows=I, cols=E of a recurrent weight matrix scales
        the E->I connections.

    Examples
    --------
    >>> ScaleWeights("rnn.weight_hh_l0", 0.5, rows=[0, 1], cols=[2]).rows
    (0, 1)
    """

    parameter: str
    factor: float
    rows: Sequence[int] | int | None = None
    cols: Sequence[int] | int | None = None

    def __post_init__(self) -> None:
        _check_name("parameter", self.parameter)
        object.__setattr__(self, "factor", _check_real("factor", self.factor))
        object.__setattr__(self, "rows", _check_indices("rows", self.rows, allow_none=True))
        object.__setattr__(self, "cols", _check_indices("cols", self.cols, allow_none=True))


Perturbation = Ablate | Gain | Noise | Clamp | ScaleWeights
