"""The ``data`` section of a config: simulators, named datasets or files -> neurodl containers.

Every simulator and sampler is a real import (inside a small function, so nothing heavy is
imported until it is used); the tables below map config names to those functions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._logging import logger
from ..exceptions import ConfigError, DataFormatError
from .config import DataConfig

__all__ = ["SAMPLERS", "SIMULATORS", "load_data", "load_samples"]


def _motor_imagery(**kw: Any) -> Any:
    from ..data.simulate import simulate_motor_imagery

    return simulate_motor_imagery(**kw)


def _evoked(**kw: Any) -> Any:
    from ..data.simulate import simulate_evoked

    return simulate_evoked(**kw)


def _continuous_seizures(**kw: Any) -> Any:
    from ..data.simulate import simulate_continuous_seizures

    return simulate_continuous_seizures(**kw)


def _fmri(**kw: Any) -> Any:
    from ..data.simulate import simulate_fmri

    return simulate_fmri(**kw)


def _latent_population(**kw: Any) -> Any:
    from ..data.simulate import simulate_latent_population

    return simulate_latent_population(**kw)


#: ``data.simulator`` name -> simulator (see :mod:`neurodl.data.simulate`).
SIMULATORS: dict[str, Callable[..., Any]] = {
    "motor_imagery": _motor_imagery,
    "evoked": _evoked,
    "continuous_seizures": _continuous_seizures,
    "fmri": _fmri,
    "latent_population": _latent_population,
}


def _fmri_volumes(obj: Any, **kw: Any) -> Any:
    from ..io.fmri import volumes_to_dataset

    return volumes_to_dataset(obj, **kw)


def _fmri_samples(obj: Any, **kw: Any) -> Any:
    from ..analyses.fmri.glm import fmri_samples

    return fmri_samples(obj, **kw)


def _windows(obj: Any, **kw: Any) -> Any:
    from ..preprocessing import make_windows

    return make_windows(obj, **kw)


def _epochs(obj: Any, **kw: Any) -> Any:
    from ..preprocessing import epochs_from_annotations

    return epochs_from_annotations(obj, **kw)


#: ``data.to_samples`` name -> function turning what was loaded into an EpochsDataset.
SAMPLERS: dict[str, Callable[..., Any]] = {
    "fmri_volumes": _fmri_volumes,
    "fmri_samples": _fmri_samples,
    "windows": _windows,
    "epochs": _epochs,
}


def _call(func: Any, what: str, *args: Any, **params: Any) -> Any:
    try:
        return func(*args, **params)
    except TypeError as err:
        raise ConfigError(f"Invalid parameters for {what}: {err}.") from None


def load_data(data: DataConfig, *, seed: int = 0) -> tuple[Any, str]:
    """Return ``(object, name)``: what the simulator, dataset or file reader gives.

    With the ``pseudonymise_subjects`` setting on, subject codes are replaced by pseudonyms
    (see :mod:`neurodl.privacy`) and the readers log only warnings (their INFO lines would name
    the codes before they are known).
    """
    from .._config import get_config
    from .._logging import use_log_level

    if get_config("pseudonymise_subjects"):
        with use_log_level("WARNING"):
            return _load_data(data, seed=seed)
    return _load_data(data, seed=seed)


def _load_data(data: DataConfig, *, seed: int = 0) -> tuple[Any, str]:
    if data.source == "simulate":
        if data.simulator not in SIMULATORS:
            raise ConfigError(
                f"Unknown simulator {data.simulator!r} at 'data.simulator'. "
                f"Known: {', '.join(SIMULATORS)}."
            )
        obj = _call(
            SIMULATORS[data.simulator],
            f"simulator {data.simulator!r}",
            **{"seed": seed, **data.params},
        )
        name = f"simulated:{data.simulator}"
    elif data.source == "dataset":
        from ..datasets import load_dataset

        obj = load_dataset(data.dataset, data_root=data.data_root, **data.params)
        name = str(data.dataset)
    else:
        from ..io import read

        obj = read(data.path, **data.params)
        name = Path(str(data.path)).name
    if data.to_samples:
        ((sampler, params),) = data.to_samples.items()
        if sampler not in SAMPLERS:
            raise ConfigError(
                f"Unknown sampler {sampler!r} at 'data.to_samples'. Known: {', '.join(SAMPLERS)}."
            )
        obj = _call(SAMPLERS[sampler], f"sampler {sampler!r}", obj, **params)
    return _pseudonymised(obj, name)


def _pseudonymised(obj: Any, name: str) -> tuple[Any, str]:
    """Subject codes replaced by pseudonyms when the ``pseudonymise_subjects`` setting is on."""
    from .._config import get_config

    if not get_config("pseudonymise_subjects"):
        return obj, name
    from ..privacy import pseudonymise_subjects, remember_pseudonyms, replace_codes

    obj, mapping = pseudonymise_subjects(obj, key=get_config("pseudonym_key"))
    remember_pseudonyms(mapping)  # run_config scrubs the outputs, the CLI its log lines
    return obj, replace_codes(name, mapping)


def load_samples(data: DataConfig, *, seed: int = 0, need_labels: bool = True) -> tuple[Any, str]:
    """Like :func:`load_data`, but require labelled samples (an EpochsDataset)."""
    from ..data import EpochsDataset

    ds, name = load_data(data, seed=seed)
    if not isinstance(ds, EpochsDataset):
        raise DataFormatError(
            f"This task needs labelled samples (an EpochsDataset); {name} gave a "
            f"{type(ds).__name__}. Add 'data.to_samples' (one of {', '.join(SAMPLERS)}) "
            "to cut samples from it."
        )
    if need_labels and ds.y is None:
        raise DataFormatError(f"The data from {name} have no labels (y); this task needs them.")
    if data.reject:
        from ..preprocessing import reject_by_amplitude

        ds, report = _call(reject_by_amplitude, "'data.reject'", ds, **data.reject)
        ds.info["rejection"] = {
            "n_total": report.n_total,
            "n_dropped": report.n_dropped,
            "dropped": [int(i) for i in report.dropped],
            "reasons": {str(k): v for k, v in report.reasons.items()},
            "thresholds": dict(data.reject),
        }
        logger.info("Artifact rejection: %s", report)
    logger.info("Data %s: %s", name, ds)
    return ds, name
