"""Declarative preprocessing: step names -> transformers, and ``build_pipeline``."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ..exceptions import ConfigError
from ._base import check_positive
from .features import LogBandPower, Vectorizer
from .filters import BandpassFilter, NotchFilter
from .resample import Resample
from .scaling import ChannelStandardScaler

__all__ = ["PREPROCESSING_STEPS", "build_pipeline"]

#: Step name -> transformer class. Steps with an ``sfreq`` parameter get it from
#: :func:`build_pipeline` (updated after a ``resample`` step).
PREPROCESSING_STEPS: dict[str, type] = {
    "bandpass": BandpassFilter,
    "notch": NotchFilter,
    "resample": Resample,
    "standardize": ChannelStandardScaler,
    "log_bandpower": LogBandPower,
    "vectorize": Vectorizer,
    "feature_standardize": StandardScaler,
}


def _params_of(cls: type) -> list[str]:
    sig = inspect.signature(cls.__init__)  # type: ignore[misc]
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [n for n, p in sig.parameters.items() if n != "self" and p.kind not in kinds]


def build_pipeline(
    steps: Sequence[Mapping[str, Mapping[str, Any] | None]], *, sfreq: float
) -> Pipeline:
    """Build a scikit-learn Pipeline from a list of one-key step dicts.

    Parameters
    ----------
    steps : list of dict
        Each ``{name: {param: value, ...}}`` with ``name`` a key of
        :data:`PREPROCESSING_STEPS`, e.g. ``[{"bandpass": {"l_freq": 8, "h_freq": 30}},
        {"log_bandpower": {}}]``. Parameters may be omitted (``{"vectorize": None}``).
    sfreq : float
        Sampling rate of the input in Hz, passed to every step that takes ``sfreq``; a
        ``resample`` step changes it for the steps after it.

    Returns
    -------
    Pipeline
        Steps named after their keys (``bandpass``, ``bandpass_2`` for a repeat...). Parameter
        values are validated now, so a bad config fails here rather than in ``fit``.

    Examples
    --------
    >>> pipe = build_pipeline([{"bandpass": {"l_freq": 8, "h_freq": 30}},
    ...                        {"log_bandpower": {}}], sfreq=250.0)
    >>> [name for name, _ in pipe.steps]
    ['bandpass', 'log_bandpower']
    """
    current = check_positive("sfreq", sfreq)
    if isinstance(steps, (str, Mapping)) or not isinstance(steps, Sequence) or not steps:
        raise ConfigError(f"'steps' must be a non-empty list of one-key dicts; got {steps!r}.")
    built: list[tuple[str, Any]] = []
    known = ", ".join(sorted(PREPROCESSING_STEPS))
    for i, step in enumerate(steps):
        if not isinstance(step, Mapping) or len(step) != 1:
            raise ConfigError(
                f"steps[{i}] must be a dict with exactly one key (the step name); got {step!r}."
            )
        ((name, params),) = step.items()
        if name not in PREPROCESSING_STEPS:
            raise ConfigError(
                f"Unknown preprocessing step {name!r} in steps[{i}]. Known steps: {known}."
            )
        params = {} if params is None else params
        if not isinstance(params, Mapping):
            raise ConfigError(
                f"Parameters of step {name!r} (steps[{i}]) must be a dict; got {params!r}."
            )
        cls = PREPROCESSING_STEPS[name]
        allowed = _params_of(cls)
        user = [p for p in allowed if p != "sfreq"]
        for key in params:
            if key not in allowed:
                raise ConfigError(
                    f"Unknown parameter {key!r} for step {name!r} (steps[{i}]). "
                    f"Allowed: {', '.join(user) or 'none'}."
                )
        kwargs = dict(params)
        if "sfreq" in allowed:
            if "sfreq" in kwargs and float(kwargs["sfreq"]) != current:
                raise ConfigError(
                    f"Step {name!r} (steps[{i}]) sets sfreq={kwargs['sfreq']!r} but the data "
                    f"reaching it are sampled at {current:g} Hz; leave 'sfreq' out."
                )
            kwargs["sfreq"] = current
        est = cls(**kwargs)
        if hasattr(est, "_check_params"):
            est._check_params()
        if name == "resample":
            current = check_positive("new_sfreq", est.new_sfreq)
        label, k = name, 2
        while label in {n for n, _ in built}:
            label, k = f"{name}_{k}", k + 1
        built.append((label, est))
    return Pipeline(built)
