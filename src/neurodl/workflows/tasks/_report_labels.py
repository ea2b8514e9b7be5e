"""What a decoding report names: each test fold by its subject/session/run, and every
preprocessing step of the run with where it was applied.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["describe_folds", "preprocessing_steps"]

_COLUMNS = ("subject", "session", "run")


def _values(values: np.ndarray) -> str:
    return ", ".join(str(v) for v in values)


def describe_folds(metadata: Any, test_indices: Sequence[Any]) -> list[str]:
    """One label per fold naming what it tests: ``"subject 01, session 2"``, ``"run 04"``.

    A column (subject, session, run) is named when it varies in the data set and the fold tests
    at most three of its values; folds that would get the same label are numbered
    (``"subject 01, session 1 (fold 2 of 5)"``). Data without sessions (the placeholder session
    ``"0"`` on every sample, see :func:`neurodl.data.has_sessions`) never get a session named: a
    column with one value is never named.

    Parameters
    ----------
    metadata : DataFrame of n_samples rows
        The samples' metadata (``subject``, ``session``, ``run`` columns where present).
    test_indices : sequence of int arrays
        The test samples of each fold (``CVResult.test_indices``).

    Returns
    -------
    list of str of length n_folds
    """
    varying = [c for c in _COLUMNS if c in metadata and metadata[c].nunique() > 1]
    labels = []
    for k, idx in enumerate(test_indices):
        parts = []
        for col in varying:
            vals = np.unique(metadata[col].to_numpy()[np.asarray(idx, int)].astype(str))
            if len(vals) == 1:
                parts.append(f"{col} {vals[0]}")
            elif len(vals) <= 3:
                parts.append(f"{col}s {_values(vals)}")
        labels.append(", ".join(parts) or f"fold {k + 1}")
    counts = Counter(labels)
    seen: Counter[str] = Counter()
    out = []
    for lab in labels:
        if counts[lab] > 1 and not lab.startswith("fold "):
            seen[lab] += 1
            lab = f"{lab} (fold {seen[lab]} of {counts[lab]})"
        out.append(lab)
    return out


def _is_fmri(to_samples: dict[str, Any] | None) -> bool:
    return bool(to_samples) and "fmri_samples" in (to_samples or {})


def _masked_steps(params: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``masked_samples`` sampler's masking, then its per-run cleaning steps, in order."""
    masker = params.get("masker", "voxels")
    steps = [
        {
            "step": f"fMRI samples (nilearn masker: {masker})",
            "params": {k: v for k, v in params.items() if k != "clean"},
            "applied": "when cutting the data into samples",
        }
    ]
    clean = params.get("clean")
    clean = {"detrend": True, "standardize": True} if clean is None else dict(clean)
    per_run = "per run (nilearn.signal.clean), on each feature's time series, before the split"
    if clean.get("detrend"):
        steps.append({"step": "detrend", "params": {"type": "linear"}, "applied": per_run})
    cuts = {k: clean[k] for k in ("high_pass", "low_pass") if clean.get(k) is not None}
    if cuts:
        steps.append({"step": "filter (butterworth)", "params": cuts, "applied": per_run})
    if clean.get("confounds") is not None:
        steps.append({"step": "confound regression",
                      "params": {"confounds": str(clean["confounds"])}, "applied": per_run})  # fmt: skip
    if clean.get("standardize"):
        steps.append({"step": "standardise (z-score)", "params": {}, "applied": per_run})
    return steps


def preprocessing_steps(
    preprocessing: list[dict[str, dict[str, Any]]],
    n_before_split: int,
    to_samples: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Every preprocessing step of a run, in order, with where it was applied.

    Parameters
    ----------
    preprocessing : list of {name: params}
        The config's ``preprocessing`` steps.
    n_before_split : int
        How many leading steps work on each sample alone (applied once, before splitting).
    to_samples : dict, optional
        The config's ``data.to_samples`` (``{sampler: params}``): the cutting into samples and,
        for fMRI, the per-run detrend and standardisation.

    Returns
    -------
    list of dict
        ``{"step": str, "params": dict, "applied": str}`` per step.
    """
    steps: list[dict[str, Any]] = []
    for name, params in (to_samples or {}).items():
        params = dict(params or {})
        if _is_fmri(to_samples):
            kind = params.get("kind", "volumes")
            steps.append(
                {
                    "step": f"fMRI samples ({kind})",
                    "params": {
                        k: v for k, v in params.items() if k not in ("detrend", "standardize")
                    },
                    "applied": "when cutting the data into samples",
                }
            )
            detrend = params.get("detrend", "linear")
            if detrend and detrend != "none":
                steps.append(
                    {
                        "step": "detrend",
                        "params": {"type": detrend},
                        "applied": "per run, on each voxel's time series, before the split",
                    }
                )
            if params.get("standardize", True):
                steps.append(
                    {
                        "step": "standardise (z-score)",
                        "params": {},
                        "applied": "per run, on each voxel's time series, before the split",
                    }
                )
        elif name == "masked_samples":
            steps.extend(_masked_steps(params))
        else:
            steps.append(
                {"step": name, "params": params, "applied": "when cutting the data into samples"}
            )
    for k, step in enumerate(preprocessing):
        ((name, params),) = step.items()
        steps.append(
            {
                "step": name,
                "params": dict(params or {}),
                "applied": "once, on each sample alone, before the split"
                if k < n_before_split
                else "inside each fold, fitted on the training samples only",
            }
        )
    return steps
