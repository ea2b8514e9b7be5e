"""What the two RSA tasks on the 92-image data share: data folder, hashing, conventions, results.

Both tasks read ``data: {source: dataset, dataset: kriegeskorte92}`` (the registered dataset's
folder under the data root) or ``data: {source: file, path: <folder with the .mat files>}``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from ...exceptions import ConfigError
from ..config import RunConfig
from ..results import TaskResult

__all__ = [
    "BOOTSTRAP",
    "CONVENTIONS",
    "RSATaskResult",
    "check_method",
    "common_values",
    "hash_arrays",
    "kriegeskorte92_folder",
    "provenance_section",
]

#: The resampling choices of :func:`neurodl.analyses.rsa.evaluate_models`.
BOOTSTRAP = Literal["conditions", "subjects", "both"] | None

#: How the numbers of both tasks are defined (written to the results and the report).
CONVENTIONS = {
    "rdm_distance": "model/layer RDMs: correlation distance (1 - Pearson r between patterns), "
    "scipy.spatial.distance.pdist conventions",
    "subject_rdms": "one RDM per subject: the 2 sessions of each of the 4 hIT subjects averaged",
    "score": "mean over subjects of the comparison (method) between the model RDM and each "
    "subject's RDM, not the comparison with the mean RDM",
    "noise_ceiling": "lower: leave-one-subject-out mean RDM; upper: mean RDM of all subjects; "
    "subjects' RDMs z-scored before averaging when ceiling_zscore is true (rsatoolbox's 92-image "
    "demo convention)",
    "bootstrap": "percentile CIs; condition bootstrap resamples images (repeated images' "
    "self-pairs are left out)",
    "pairwise": "two-sided bootstrap p-values of score differences (paired t-tests over subjects "
    "without a bootstrap), Benjamini-Hochberg FDR over all pairs",
}


def check_method(value: str) -> str:
    """Validate an RDM comparison method name (for the options' field validators)."""
    from ...analyses.rsa import COMPARISON_METHODS

    if value not in COMPARISON_METHODS:
        raise ValueError(f"allowed: {sorted(COMPARISON_METHODS)}")
    return value


class RSATaskResult(TaskResult):
    """Keys both RSA tasks write besides the common ones of :class:`TaskResult`."""

    data_hash_method: str
    conventions: dict[str, str]
    provenance: dict[str, Any] = Field(default_factory=dict)
    category_order: list[str] = Field(
        description="Category groups in the order the RDM figures show them."
    )


def kriegeskorte92_folder(cfg: RunConfig) -> tuple[Path, str]:
    """``(folder with the .mat files, dataset name for the results)`` from ``cfg.data``."""
    data = cfg.data
    if data.source == "dataset":
        if data.dataset != "kriegeskorte92":
            raise ConfigError(
                f"Invalid value for 'data.dataset' for task {cfg.task!r}. Allowed: "
                f"'kriegeskorte92'; got {data.dataset!r}."
            )
        from ...datasets.registry import dataset_path

        return dataset_path("kriegeskorte92", data.data_root), "kriegeskorte92"
    if data.source == "file":
        return Path(str(data.path)).expanduser(), f"kriegeskorte92 ({data.path})"
    raise ConfigError(
        f"Invalid value for 'data.source' for task {cfg.task!r}. Allowed: 'dataset', 'file'; "
        f"got {data.source!r}."
    )


def hash_arrays(*arrays: np.ndarray) -> str:
    """sha256 of the arrays' bytes, each tagged with its shape and dtype."""
    h = hashlib.sha256()
    for arr in arrays:
        a = np.ascontiguousarray(arr)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def common_values(cfg: RunConfig, data_hash: str, method: str) -> dict[str, Any]:
    """The result values both tasks fill the same way."""
    from ...evaluation import provenance

    prov = provenance(protocol=None, seed=cfg.seed, data_hash=data_hash, config=cfg.model_dump())
    return {
        "task": cfg.task,
        "name": cfg.name,
        "metric": method,
        "seed": cfg.seed,
        "versions": prov["versions"],
        "data_hash": data_hash,
        "conventions": dict(CONVENTIONS),
        "provenance": prov,
    }


def provenance_section(rep: Any, results: dict[str, Any], config_text: str | None) -> None:
    """The report's last section: run keys, conventions, library versions, the config."""
    rep.add_section("Provenance")
    rep.add_key_values(
        {k: results[k] for k in ("task", "dataset", "comparison_method", "seed", "data_hash")},
        title="Run",
        section="Provenance",
    )
    rep.add_key_values(results["conventions"], title="Conventions", section="Provenance")
    rep.add_key_values(results["versions"], title="Library versions", section="Provenance")
    if config_text:
        rep.add_code(config_text, title="Configuration", language="yaml", section="Provenance")
