"""Run a validated config end to end and write its outputs safely.

The output folder is written atomically: everything goes to a temporary sibling folder that
replaces the target only when the run succeeded, so a failed run never destroys a previous result
and an existing folder is never overwritten without ``overwrite=True``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._logging import logger
from ..exceptions import ConfigError, DataFormatError, OutputExistsError
from .config import DataConfig, RunConfig

__all__ = ["SAMPLERS", "SIMULATORS", "RunResult", "load_data", "load_samples", "run_config"]

#: ``data.simulator`` name -> function in :mod:`neurodl.data.simulate`.
SIMULATORS = {
    "motor_imagery": "simulate_motor_imagery",
    "evoked": "simulate_evoked",
    "continuous_seizures": "simulate_continuous_seizures",
    "fmri": "simulate_fmri",
    "latent_population": "simulate_latent_population",
}

#: ``data.to_samples`` name -> "module:function" turning what was loaded into an EpochsDataset.
SAMPLERS = {
    "fmri_volumes": "neurodl.io.fmri:volumes_to_dataset",
    "fmri_samples": "neurodl.analyses.fmri.glm:fmri_samples",
    "windows": "neurodl.preprocessing:make_windows",
    "epochs": "neurodl.preprocessing:epochs_from_annotations",
}


@dataclass
class RunResult:
    """What a run produced: the results dict and the paths written."""

    results: dict[str, Any]
    out_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)


def _call(func: Any, what: str, *args: Any, **params: Any) -> Any:
    try:
        return func(*args, **params)
    except TypeError as err:
        raise ConfigError(f"Invalid parameters for {what}: {err}.") from None


def load_data(data: DataConfig, *, seed: int = 0) -> tuple[Any, str]:
    """Return ``(object, name)``: what the simulator, dataset or file reader gives."""
    if data.source == "simulate":
        from ..data import simulate

        if data.simulator not in SIMULATORS:
            raise ConfigError(
                f"Unknown simulator {data.simulator!r} at 'data.simulator'. "
                f"Known: {', '.join(SIMULATORS)}."
            )
        func = getattr(simulate, SIMULATORS[data.simulator])
        obj = _call(func, f"simulator {data.simulator!r}", **{"seed": seed, **data.params})
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
        import importlib

        ((sampler, params),) = data.to_samples.items()
        if sampler not in SAMPLERS:
            raise ConfigError(
                f"Unknown sampler {sampler!r} at 'data.to_samples'. Known: {', '.join(SAMPLERS)}."
            )
        module, func_name = SAMPLERS[sampler].split(":")
        func = getattr(importlib.import_module(module), func_name)
        obj = _call(func, f"sampler {sampler!r}", obj, **params)
    return obj, name


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


def _prepare_out(out_dir: Path, overwrite: bool) -> Path:
    if out_dir.exists() and not overwrite:
        raise OutputExistsError(
            f"Output folder {str(out_dir)!r} already exists; pass --overwrite (overwrite=True) "
            "to replace it, or choose another --out."
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))


def _commit_out(tmp: Path, out_dir: Path) -> None:
    if out_dir.exists():
        backup = out_dir.with_name(f".{out_dir.name}.old-{time.time_ns()}")
        out_dir.rename(backup)
        tmp.rename(out_dir)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        tmp.rename(out_dir)


def jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, paths and non-finite floats into JSON-safe values."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.integer | np.bool_):
        return obj.item()
    if isinstance(obj, np.floating | float):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def run_config(
    cfg: RunConfig,
    out_dir: str | Path | None = None,
    *,
    overwrite: bool = False,
    config_text: str | None = None,
) -> RunResult:
    """Run the task described by ``cfg``; write ``results.json`` and ``report.html``.

    Parameters
    ----------
    cfg : RunConfig
        A validated config (see :func:`neurodl.workflows.config.load_config`).
    out_dir : path or None
        Output folder; ``None`` computes the results without writing anything.
    overwrite : bool
        Replace an existing ``out_dir`` (only after the new run succeeded).
    config_text : str or None
        The config file as the user wrote it, shown in the report.
    """
    from .. import __version__
    from .tasks import get_runner

    t0 = time.perf_counter()
    out = Path(out_dir) if out_dir is not None else None
    tmp = _prepare_out(out, overwrite) if out is not None else None
    try:
        results = get_runner(cfg.task)(cfg, tmp, config_text)
        results.setdefault("task", cfg.task)
        results.setdefault("name", cfg.name)
        results.setdefault("seed", cfg.seed)
        results.setdefault("config", cfg.model_dump())
        results["neurodl_version"] = __version__
        results["duration_s"] = round(time.perf_counter() - t0, 2)
        results = jsonable(results)
        run = RunResult(results)
        if tmp is not None and out is not None:
            (tmp / "results.json").write_text(json.dumps(results, indent=2))
            _commit_out(tmp, out)
            run.out_dir = out
            run.files = {p.name: out / p.name for p in out.iterdir()}
        return run
    except BaseException:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
