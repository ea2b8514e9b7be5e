"""The ``data`` section of a config: simulators, named datasets or files -> neurodl containers.

Every simulator and sampler is a real import (inside a small function, so nothing heavy is
imported until it is used); the tables below map config names to those functions.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np

from .._logging import logger
from ..exceptions import ConfigError, DataFormatError, DatasetError
from .config import DataConfig
from .files import expand_files, read_files

__all__ = [
    "SAMPLERS",
    "SIMULATORS",
    "check_data",
    "load_data",
    "load_samples",
    "reader_for",
    "reuse_loaded_samples",
]


def _motor_imagery() -> Callable[..., Any]:
    from ..data.simulate import simulate_motor_imagery

    return simulate_motor_imagery


def _evoked() -> Callable[..., Any]:
    from ..data.simulate import simulate_evoked

    return simulate_evoked


def _continuous_seizures() -> Callable[..., Any]:
    from ..data.simulate import simulate_continuous_seizures

    return simulate_continuous_seizures


def _fmri() -> Callable[..., Any]:
    from ..data.simulate import simulate_fmri

    return simulate_fmri


def _latent_population() -> Callable[..., Any]:
    from ..data.simulate import simulate_latent_population

    return simulate_latent_population


def _fingerprint_sessions() -> Callable[..., Any]:
    from ..analyses.fingerprint import simulate_fingerprint_sessions

    return simulate_fingerprint_sessions


#: ``data.simulator`` name -> a function returning the simulator (see :mod:`neurodl.data.simulate`).
SIMULATORS: dict[str, Callable[[], Callable[..., Any]]] = {
    "motor_imagery": _motor_imagery,
    "evoked": _evoked,
    "continuous_seizures": _continuous_seizures,
    "fmri": _fmri,
    "latent_population": _latent_population,
    "fingerprint_sessions": _fingerprint_sessions,
}


def _fmri_volumes() -> Callable[..., Any]:
    from ..io.fmri import volumes_to_dataset

    return volumes_to_dataset


def _fmri_samples() -> Callable[..., Any]:
    from ..analyses.fmri.glm import fmri_samples

    return fmri_samples


def _masked_samples() -> Callable[..., Any]:
    from .fmri_sampler import masked_samples_sampler

    return masked_samples_sampler


def _windows() -> Callable[..., Any]:
    from ..preprocessing import make_windows

    return make_windows


def _epochs() -> Callable[..., Any]:
    from .epochs_sampler import epochs_sampler

    return epochs_sampler


#: ``data.to_samples`` name -> a function returning the sampler, which turns what was loaded
#: into an EpochsDataset (its first argument is what was loaded).
SAMPLERS: dict[str, Callable[[], Callable[..., Any]]] = {
    "fmri_volumes": _fmri_volumes,
    "fmri_samples": _fmri_samples,
    "masked_samples": _masked_samples,
    "windows": _windows,
    "epochs": _epochs,
}


def _known(name: str | None, table: dict[str, Any], where: str, what: str) -> Callable[..., Any]:
    """The function registered as ``name`` in ``table``; an unknown name lists the known ones."""
    if name not in table:
        close = difflib.get_close_matches(str(name), list(table), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"Invalid value at {where!r}: unknown {what} {name!r}.{hint} Known: {', '.join(table)}."
        )
    return table[name]()


def reader_for(data: DataConfig) -> Callable[..., Any] | None:
    """The function ``data.params`` is passed to (simulator, dataset loader or file reader).

    Examples
    --------
    Found from the config alone (no file is read):

    >>> reader_for(DataConfig(source="simulate", simulator="motor_imagery")).__name__
    'simulate_motor_imagery'
    >>> reader_for(DataConfig(source="file", path="sub-01_task-rest_eeg.edf")).__name__
    'read_raw'
    >>> reader_for(DataConfig(source="dataset", dataset="bonn")).__name__
    'read_bonn'
    >>> try:
    ...     reader_for(DataConfig(source="simulate", simulator="motor_imagry"))
    ... except ValueError as err:  # a ConfigError
    ...     print(str(err).split(" Known")[0])
    Invalid value at 'data.simulator': unknown simulator 'motor_imagry'. Did you mean \
'motor_imagery'?
    """
    if data.source == "simulate":
        return _known(data.simulator, SIMULATORS, "data.simulator", "simulator")
    if data.source == "dataset":
        from ..datasets import get_dataset

        try:
            return get_dataset(str(data.dataset)).loader
        except DatasetError as err:
            raise ConfigError(f"Invalid value at 'data.dataset': {err}") from None
    from ..io import _resolve

    first = expand_files(data)[0] if data.source == "files" else Path(str(data.path))
    return _resolve(first)


def check_data(data: DataConfig, *, where: str = "data") -> None:
    """Validate ``data``'s names and parameters against the functions they are passed to.

    Checks the simulator/dataset/reader name and ``params`` (names, required ones, types), the
    sampler of ``to_samples`` and its parameters, and ``reject``; reads no data (a ``files``
    pattern is expanded to find the reader).

    Raises
    ------
    ConfigError
        Naming the offending key, what is allowed and what was given.

    Examples
    --------
    >>> seizures = {"source": "simulate", "simulator": "continuous_seizures",
    ...             "params": {"duration_hours": 0.5}}
    >>> check_data(DataConfig(**seizures, to_samples={"windows": {"window": 2.0, "stride": 1.0}}))
    >>> bad = [DataConfig(source="simulate", simulator="evoked", params={"n_trial": 40}),
    ...        DataConfig(**seizures, to_samples={"window": {"window": 2.0, "stride": 1.0}}),
    ...        DataConfig(**seizures, to_samples={"windows": {"window": 2.0}})]
    >>> for data in bad:
    ...     try:
    ...         check_data(data)
    ...     except ValueError as err:  # a ConfigError
    ...         print(str(err).split(" Allowed")[0].split(" Known")[0])
    Invalid parameter 'n_trial' at 'data.params' for simulate_evoked(). Did you mean 'n_trials'?
    Invalid value at 'data.to_samples': unknown sampler 'window'. Did you mean 'windows'?
    Missing required parameter(s) 'stride' at 'data.to_samples.windows' for make_windows().
    """
    from .params import check_params

    func = reader_for(data)
    if func is not None:
        provided = {"seed"} if data.source == "simulate" else set()
        if data.source == "files":
            provided |= {"subject", "session", "run"}
        check_params(
            func,
            data.params,
            where=f"{where}.params",
            skip=0 if data.source == "simulate" else 1,
            provided=provided,
        )
    if data.to_samples:
        ((sampler, params),) = data.to_samples.items()
        fn = _known(sampler, SAMPLERS, f"{where}.to_samples", "sampler")
        check_params(fn, params or {}, where=f"{where}.to_samples.{sampler}", skip=1)
    if data.reject:
        from ..preprocessing import reject_by_amplitude

        check_params(reject_by_amplitude, data.reject, where=f"{where}.reject", skip=1)


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

    Examples
    --------
    >>> data = DataConfig(source="simulate", simulator="motor_imagery",
    ...                   params={"n_subjects": 2, "n_sessions": 1, "n_trials": 20,
    ...                           "n_channels": 4})
    >>> ds, name = load_data(data, seed=1)
    >>> name, ds.X.shape, ds.classes  # 2 subjects x 20 trials, 4 channels, 2 s at 128 Hz
    ('simulated:motor_imagery', (40, 4, 256), ['left_hand', 'right_hand'])
    >>> pop, name = load_data(DataConfig(source="simulate", simulator="latent_population"))
    >>> name, type(pop).__name__  # not every source gives labelled samples
    ('simulated:latent_population', 'LatentPopulation')
    """
    from .._config import get_config
    from .._logging import use_log_level

    if get_config("pseudonymise_subjects"):
        with use_log_level("WARNING"):
            return _load_data(data, seed=seed)
    return _load_data(data, seed=seed)


def _load_data(data: DataConfig, *, seed: int = 0) -> tuple[Any, str]:
    from ..data import EpochsDataset

    func = reader_for(data)
    if data.source == "simulate":
        obj = _call(func, f"simulator {data.simulator!r}", **{"seed": seed, **data.params})
        name = f"simulated:{data.simulator}"
    elif data.source == "dataset":
        from ..datasets import load_dataset

        obj = load_dataset(data.dataset, data_root=data.data_root, **data.params)
        name = str(data.dataset)
    elif data.source == "files":
        obj, name = read_files(data)
        if len(obj) == 1:
            obj = obj[0]
        elif not data.to_samples and all(isinstance(o, EpochsDataset) for o in obj):
            obj = _concatenate(obj)
    else:
        from ..io import read

        obj = read(data.path, **data.params)
        name = Path(str(data.path)).name
    if data.to_samples:
        ((sampler, params),) = data.to_samples.items()
        fn = _known(sampler, SAMPLERS, "data.to_samples", "sampler")
        if isinstance(obj, list) and sampler != "windows":  # one recording per file: per file
            parts = [_call(fn, f"sampler {sampler!r}", o, **(params or {})) for o in obj]
            obj = _concatenate(parts)
        else:
            obj = _call(fn, f"sampler {sampler!r}", obj, **(params or {}))
    return _pseudonymised(obj, name)


def _concatenate(parts: list[Any]) -> Any:
    """Samples cut from several recordings as one EpochsDataset (classes must agree)."""
    from ..data import EpochsDataset

    if len(parts) == 1:
        return parts[0]
    classes = [p.classes for p in parts]
    if any(c != classes[0] for c in classes):
        raise DataFormatError(
            f"The files give different classes ({classes[0]} and "
            f"{next(c for c in classes if c != classes[0])}): name every class in the "
            "sampler's event_id so each file uses the same codes."
        )
    return EpochsDataset.concatenate(parts)


def _pseudonymised(obj: Any, name: str) -> tuple[Any, str]:
    """Subject codes replaced by pseudonyms when the ``pseudonymise_subjects`` setting is on."""
    from .._config import get_config

    if not get_config("pseudonymise_subjects"):
        return obj, name
    from ..privacy import pseudonymise_subjects, remember_pseudonyms, replace_codes

    obj, mapping = pseudonymise_subjects(obj, key=get_config("pseudonym_key"))
    remember_pseudonyms(mapping)  # run_config scrubs the outputs, the CLI its log lines
    return obj, replace_codes(name, mapping)


#: Samples loaded in this run, by config: filled inside :func:`reuse_loaded_samples` only.
_LOADED: ContextVar[dict[str, tuple[Any, str]] | None] = ContextVar("_LOADED", default=None)


@contextmanager
def reuse_loaded_samples() -> Iterator[None]:
    """Within this block, :func:`load_samples` reads each data section once.

    The run checks the samples (:func:`neurodl.workflows.precheck.check_samples`) before the
    task loads them; the task then gets the same object instead of reading the files again.

    Examples
    --------
    >>> data = DataConfig(source="simulate", simulator="evoked",
    ...                   params={"n_subjects": 1, "n_trials": 20, "n_channels": 4})
    >>> with reuse_loaded_samples():
    ...     first, _ = load_samples(data)
    ...     again, _ = load_samples(data)
    >>> first is again  # read once inside the block
    True
    >>> load_samples(data)[0] is first  # outside it, read again
    False
    """
    token = _LOADED.set({})
    try:
        yield
    finally:
        _LOADED.reset(token)


def load_samples(data: DataConfig, *, seed: int = 0, need_labels: bool = True) -> tuple[Any, str]:
    """Like :func:`load_data`, but require labelled samples (an EpochsDataset).

    Examples
    --------
    >>> data = DataConfig(source="simulate", simulator="evoked",
    ...                   params={"n_subjects": 2, "n_trials": 20, "n_channels": 4})
    >>> ds, name = load_samples(data)
    >>> ds.n_samples, ds.classes
    (40, ['non_target', 'target'])
    >>> try:  # a latent population has no samples: the message says what to add
    ...     load_samples(DataConfig(source="simulate", simulator="latent_population"))
    ... except ValueError as err:  # a DataFormatError
    ...     print(str(err).split(". ")[0])
    This task needs labelled samples (an EpochsDataset); simulated:latent_population gave \
a LatentPopulation
    """
    cache = _LOADED.get()
    key = f"{seed}|{need_labels}|{data.model_dump_json()}"
    if cache is not None and key in cache:
        return cache[key]
    out = _load_samples(data, seed=seed, need_labels=need_labels)
    if cache is not None:
        cache[key] = out
    return out


def _load_samples(data: DataConfig, *, seed: int, need_labels: bool) -> tuple[Any, str]:
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
    if ds.n_samples == 0:
        raise DataFormatError(
            f"The data from {name} give no samples (every epoch dropped or no event found): "
            "check the sampler's event_id, tmin/tmax and reject thresholds."
        )
    if need_labels and len(np.unique(np.asarray(ds.y), axis=0)) < 2:
        value = np.asarray(ds.y)[0] if ds.n_samples else None
        raise DataFormatError(
            f"The data from {name} have a single label value ({value!r} for all "
            f"{ds.n_samples} samples): nothing to decode. Check the labels or the sampler's "
            "event_id / labels."
        )
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
