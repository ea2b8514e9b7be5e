"""The encoding report: held-out r and noise-ceiling maps, normalised scores, encoder comparison.

It reads only the typed :class:`~neurodl.workflows.tasks.encoding.EncodingResult` and the
per-voxel arrays the run computed (for the maps).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..results import TaskResult
from ._brain_maps import map_on_anatomy
from ._shared import brain_slices, report_title

__all__ = ["write_encoding_report"]

#: Common keys left out of the report's "Results" table (run bookkeeping, shown elsewhere).
_NOT_REPORTED = (
    "schema_version", "task", "name", "seed", "versions", "models", "config",
    "neurodl_version", "duration_s", "summary", "score_ci", "p_value",
)  # fmt: skip


def write_encoding_report(
    path: Path,
    *,
    result: TaskResult,
    volumes: Any,
    scores: Mapping[str, np.ndarray],
    normalized: Mapping[str, np.ndarray],
    ceiling: np.ndarray,
    config_text: str | None = None,
    title: str | None = None,
) -> Path:
    """Write the encoding report.

    Parameters
    ----------
    path : Path
    result : EncodingResult
    volumes : VolumeSeries
        The data (for mapping voxel values back to slices).
    scores, normalized : mapping of str to ndarray
        Held-out r and ceiling-normalised r per voxel of each fitted encoder.
    ceiling : ndarray
        The noise ceiling per voxel.

    Examples
    --------
    A run on simulated fMRI with its report turned off writes the per-voxel maps; read back
    inside the mask, they give the report its arrays:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import nibabel as nib
    >>> from neurodl.analyses.encoding.ceiling import ceiling_normalize
    >>> from neurodl.workflows import parse_config, run_config
    >>> from neurodl.workflows.data import load_data
    >>> cfg = parse_config({
    ...     "task": "encoding",
    ...     "data": {"source": "simulate", "simulator": "fmri",
    ...              "params": {"n_runs": 4, "n_categories": 2, "shape": [6, 6, 3],
    ...                         "n_blocks_per_category": 2}},
    ...     "options": {"n_delays": 4, "test_runs": [4], "segment_length": 8, "cv_folds": 3},
    ...     "report": {"enabled": False},
    ... })
    >>> volumes, _ = load_data(cfg.data, seed=cfg.seed)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     run = run_config(cfg, Path(d) / "run")
    ...     voxels = {f: nib.load(p).get_fdata()[volumes.mask] for f, p in run.files.items()
    ...               if f.endswith(".nii.gz")}
    ...     r, ceiling = voxels["encoding_r.nii.gz"], voxels["noise_ceiling.nii.gz"]
    ...     path = write_encoding_report(
    ...         Path(d) / "report.html", result=run.result, volumes=volumes,
    ...         scores={"ridge": r}, normalized={"ridge": ceiling_normalize(r, ceiling)},
    ...         ceiling=ceiling, title="Faces and houses",
    ...     )
    ...     html = path.read_text()
    >>> r.shape, "Faces and houses" in html
    ((64,), True)
    >>> [s in html for s in ("Noise ceiling map", "Ceiling-normalised scores")]
    [True, True]
    """
    from ...report import Report
    from ...report.figures.fmri import plot_ceiling_normalized_scores, plot_encoder_comparison

    res = result.to_dict()
    encoder = res["encoder"]
    feats = f"FIR ({res['n_delays']} delays)" if res["features"] == "fir" else "features from file"
    rep = Report(
        report_title(title, res["name"]),
        subtitle=f"{res['dataset']} - {feats} - {encoder} encoder",
    )
    summary: dict[str, Any] = {}
    for n, r in scores.items():
        summary[f"{n}: held-out r (median)"] = float(np.median(r))
        summary[f"{n}: held-out r (max)"] = float(r.max())
        med = res["encoders"][n]["normalized_median"]
        summary[f"{n}: normalised r (median)"] = float("nan") if med is None else med
    rep.add_summary(summary)
    for n, r in scores.items():
        rep.add_figure(
            brain_slices(volumes, r, f"Held-out r ({n})", "Pearson r"), title=f"Encoding map: {n}"
        )
        rep.add_figure(
            map_on_anatomy(volumes, r, title=f"Held-out r ({n})", label="Pearson r"),
            title=f"Encoding map on anatomy: {n}",
            caption="Held-out r of every voxel over the mean EPI (nilearn plot_stat_map).",
        )
    rep.add_figure(
        brain_slices(volumes, ceiling, "Noise ceiling", "max r"), title="Noise ceiling map"
    )
    rep.add_figure(
        plot_ceiling_normalized_scores(normalized),
        title="Ceiling-normalised scores",
        caption=f"Voxels with ceiling >= {res['min_ceiling']}; dashed: the ceiling.",
    )
    if len(scores) > 1:
        rep.add_figure(
            plot_encoder_comparison(scores["ridge"], scores[encoder], encoder=encoder),
            title=f"Per-voxel r: {encoder} vs ridge",
            caption="Same train and test runs; dashed: equal r.",
        )
    rep.add_key_values(
        {k: v for k, v in res.items() if k not in _NOT_REPORTED and v is not None},
        title="Results",
    )
    if config_text:
        rep.add_code(config_text, title="Config")
    return rep.save(path)
