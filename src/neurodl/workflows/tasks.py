"""Registry of run tasks: each maps a config's ``task`` to an options model and a runner.

A runner is ``run(cfg, out_dir, config_text) -> dict``: it computes the results, writes its
report (and any maps or tables) into ``out_dir`` (a temporary folder that becomes the output
folder only when the run succeeds) and returns the results dict. :func:`~neurodl.workflows.run.run_config`
adds the common keys and writes ``results.json``.

Task modules are imported lazily, so registering a task costs nothing at import time.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

__all__ = ["TASKS", "TaskSpec", "get_runner", "register_task"]


@dataclass(frozen=True)
class TaskSpec:
    """A task: its options model, where its runner lives, and a one-line description."""

    name: str
    options: type[BaseModel]
    runner: str  # "module:function" inside neurodl.workflows
    description: str


TASKS: dict[str, TaskSpec] = {}


def register_task(name: str, options: type[BaseModel], runner: str, description: str) -> TaskSpec:
    """Register a task; a duplicate name raises."""
    if name in TASKS:
        raise ValueError(f"Task {name!r} is already registered.")
    spec = TaskSpec(name, options, runner, description)
    TASKS[name] = spec
    return spec


def get_runner(name: str) -> Callable[[Any, Path | None, str | None], dict[str, Any]]:
    """Import and return the runner of task ``name``."""
    spec = TASKS[name]
    module, func = spec.runner.split(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), func)


def _register_builtin() -> None:
    from typing import Literal

    from pydantic import StrictBool

    from .config import ModelConfig, TaskOptions

    class DecodingOptions(TaskOptions):
        """Decoding options: an optional baseline model run beside the main one on the same
        splits, and which of the two the permutation test refits (``auto``: the baseline when
        the main model is a network and a baseline is given, else the main model)."""

        baseline: ModelConfig | None = None
        permutation_model: Literal["auto", "model", "baseline"] = "auto"
        saliency: StrictBool | Literal["auto"] = "auto"
        """Channel/time attributions of the model refitted on all samples (``auto``: networks
        only; classical models get permutation channel importance when ``true``)."""
        pairwise: Literal["auto", "cv", "predictions", "off"] = "auto"
        """Per-pair scores for more than 2 classes: a binary CV per pair (``cv``), or derived
        from the multi-class CV predictions (``predictions``); ``auto``: ``cv`` for classical
        models with at most 45 pairs, else ``predictions``."""

    register_task(
        "decoding",
        DecodingOptions,
        "decoding:run_decoding",
        "classify (or regress) labelled samples under a leakage-safe protocol",
    )
    from .rsa import RSA_TASKS

    register_task("rsa_fixed_models", *RSA_TASKS["rsa_fixed_models"])
    register_task("rsa_network", *RSA_TASKS["rsa_network"])
    from .seizure import SeizureOptions

    register_task(
        "seizure",
        SeizureOptions,
        "seizure:run_seizure",
        "detect seizure events in continuous recordings, scored per subject as SzCORE does",
    )

    from .fmri import EncodingOptions, SearchlightOptions, TimeResolvedOptions

    register_task(
        "searchlight", SearchlightOptions, "fmri:run_searchlight", "fMRI searchlight decoding map"
    )
    register_task(
        "encoding", EncodingOptions, "fmri:run_encoding", "fMRI FIR encoding with noise ceilings"
    )
    register_task(
        "time_resolved",
        TimeResolvedOptions,
        "fmri:run_time_resolved",
        "sliding-window decoding + TRF",
    )

    from .dynamics import (
        BehaviorDecodingOptions,
        ForecastingOptions,
        LatentsOptions,
        SpikeTrialDecodingOptions,
    )

    register_task(
        "behavior_decoding",
        BehaviorDecodingOptions,
        "dynamics:run_behavior_decoding",
        "binned activity -> behaviour: Wiener, Kalman, GRU/LSTM",
    )
    register_task(
        "spike_trial_decoding",
        SpikeTrialDecodingOptions,
        "dynamics:run_spike_trial_decoding",
        "units aligned to trials -> trial label, permutation p",
    )
    register_task(
        "forecasting",
        ForecastingOptions,
        "dynamics:run_forecasting",
        "population activity k bins ahead: persistence, AR, GRU; bits/spike by horizon",
    )
    register_task(
        "latents",
        LatentsOptions,
        "dynamics:run_latents",
        "LFADS-style latent dynamics: co-bps, fp-bps, vel R^2, forecasting",
    )


_register_builtin()
