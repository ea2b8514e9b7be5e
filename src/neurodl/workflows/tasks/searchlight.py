"""The ``searchlight`` task: decoding in a sphere around every voxel, leave-one-run-out.

It reads the fMRI :class:`~neurodl.data.VolumeSeries` (no ``data.to_samples``), cuts labelled
samples with :func:`~neurodl.analyses.fmri.glm.fmri_samples`, scores every neighbourhood with
:func:`~neurodl.analyses.fmri.searchlight.searchlight` and writes ``searchlight.nii.gz``. The
classifier is the searchlight's own (shrinkage LDA): the task reads no ``model`` section.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import ConfigDict, Field

from .._progress import progress_bar
from ..config import TaskOptions
from ..registry import RunContext, register_task
from ..results import TaskResult, jsonable
from ._brain_maps import map_on_anatomy
from ._shared import brain_slices, fmt, load_volumes, report_title, versions

__all__ = ["SearchlightOptions", "SearchlightResult", "run_searchlight"]


class SearchlightOptions(TaskOptions):
    """Searchlight: radius (mm), samples and classes.

    Examples
    --------
    >>> opts = SearchlightOptions.model_validate({"radius": 4, "kind": "blocks"})
    >>> opts.radius, opts.kind, opts.labels, opts.detrend, opts.n_jobs
    (4.0, 'blocks', None, 'linear', 1)
    >>> from pydantic import ValidationError
    >>> try:
    ...     SearchlightOptions.model_validate({"kind": "trials"})
    ... except ValidationError as err:
    ...     print(err.errors()[0]["msg"])
    Input should be 'volumes', 'blocks', 'lsa' or 'lss'
    """

    radius: float = Field(6.0, ge=0.0, le=50.0)
    """Sphere radius in mm around each voxel (0: the voxel alone)."""
    kind: Literal["volumes", "blocks", "lsa", "lss"] = "volumes"
    """Samples: 'volumes' (one per labelled volume), 'blocks' (block means), 'lsa' or 'lss' (one GLM
    beta per block; least-squares all / separate)."""
    labels: list[str] | None = None
    """Classes kept, in code order; None: all labels except 'rest'."""
    detrend: Literal["none", "constant", "linear", "quadratic"] = "linear"
    """Per-run detrending before the samples are cut: 'none', 'constant', 'linear' or 'quadratic'
    (volumes/blocks)."""
    n_jobs: int = 1
    """Worker processes scoring the spheres (1: in process)."""


class SearchlightResult(TaskResult):
    """Result of the ``searchlight`` task: a map, so no single ``score_mean``.

    ``score_max``/``score_median`` summarise the per-voxel balanced accuracies (in
    ``searchlight.nii.gz``); ``fraction_above_chance_plus_0.1`` is the share of voxels scoring
    more than 0.1 above chance.

    Examples
    --------
    The fields this task adds to every result's (:func:`run_searchlight` fills them); the
    share above chance is written to ``results.json`` under its dotted key:

    >>> from neurodl.workflows.results import TaskResult
    >>> [k for k in SearchlightResult.model_fields if k not in TaskResult.model_fields]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['classes', 'n_samples', 'n_voxels', 'radius_mm', 'mean_neighbourhood_size', 'score_max',
     'score_median', 'fraction_above_chance_plus_01', 'maps']
    >>> "fraction_above_chance_plus_0.1" in SearchlightResult.json_schema()["properties"]
    True
    """

    model_config = ConfigDict(populate_by_name=True)

    task: Literal["searchlight"] = "searchlight"
    classes: list[Any] | None = None
    n_samples: int
    n_voxels: int
    radius_mm: float
    mean_neighbourhood_size: float | None
    score_max: float | None
    score_median: float | None
    fraction_above_chance_plus_01: float | None = Field(
        alias="fraction_above_chance_plus_0.1",
        description="Share of voxels whose score exceeds chance + 0.1.",
    )
    maps: list[str] | None = Field(None, description="NIfTI maps written to the output folder.")

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe dict written to ``results.json`` (keys as written there)."""
        return jsonable(self.model_dump(mode="python", by_alias=True))

    def summary_lines(self) -> list[str]:
        """Dataset and protocol, then the map's maximum and median against chance."""
        return [
            f"{self.dataset} | {self.protocol} | searchlight (radius {self.radius_mm:g} mm)",
            f"{self.metric}: max {fmt(self.score_max)}, median {fmt(self.score_median)} over "
            f"{self.n_voxels} voxels (chance {fmt(self.chance_level)}, {self.n_splits} splits)",
        ]


@register_task(
    "searchlight",
    options=SearchlightOptions,
    result=SearchlightResult,
    reads=("data", "options"),
    description="decode in a sphere around every voxel (leave-one-run-out) -> accuracy map",
)
def run_searchlight(ctx: RunContext) -> SearchlightResult:
    """Searchlight decoding with leave-one-run-out folds; writes ``searchlight.nii.gz``.

    Examples
    --------
    Runs through :func:`neurodl.workflows.run_config` (the registry finds it by ``task``). A
    simulated fMRI volume of 4 x 4 x 3 voxels, 4 runs of face and house blocks; one balanced
    accuracy per voxel of the brain mask, written as a map of the volume's shape:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import nibabel as nib
    >>> from neurodl.workflows import parse_config, run_config
    >>> cfg = parse_config({
    ...     "task": "searchlight",
    ...     "data": {"source": "simulate", "simulator": "fmri",
    ...              "params": {"n_runs": 4, "n_categories": 2, "shape": [4, 4, 3],
    ...                         "n_blocks_per_category": 2}},
    ...     "options": {"radius": 1.5, "kind": "blocks"},
    ...     "report": {"enabled": False},
    ... })
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     run = run_config(cfg, Path(tmp) / "out")
    ...     shape = nib.load(run.files["searchlight.nii.gz"]).shape
    >>> sorted(run.files), shape
    (['results.json', 'searchlight.nii.gz'], (4, 4, 3))
    >>> res = run.result
    >>> res.classes, res.n_samples, res.n_voxels, res.n_splits, res.chance_level
    (['face', 'house'], 16, 20, 4, 0.5)
    >>> res.score_max > res.chance_level + 0.2  # the voxels carrying the category signal
    True
    """
    from ...analyses.fmri.glm import fmri_samples
    from ...analyses.fmri.searchlight import searchlight, searchlight_map, sphere_neighbors
    from ...evaluation import chance_level

    cfg, opts = ctx.cfg, ctx.options
    vs, name = load_volumes(cfg)
    ds = fmri_samples(vs, kind=opts.kind, labels=opts.labels, detrend=opts.detrend)
    mask = vs.mask if vs.mask is not None else np.ones(vs.shape3d, bool)
    neighbors = sphere_neighbors(mask, opts.radius, affine=vs.affine)
    groups = ds.metadata["run"].to_numpy()
    with progress_bar("searchlight", unit="batch") as cb:
        scores = searchlight(ds.X, ds.y, neighbors, groups=groups, n_jobs=opts.n_jobs, progress=cb)
    chance = float(chance_level(ds.y, "balanced_accuracy"))
    maps = None
    if ctx.out_dir is not None:
        import nibabel as nib

        nib.save(searchlight_map(vs, scores), str(ctx.out_dir / "searchlight.nii.gz"))
        maps = ["searchlight.nii.gz"]
    result = SearchlightResult.create(
        task="searchlight",
        name=cfg.name,
        dataset=name,
        protocol="leave-one-run-out",
        metric="balanced_accuracy",
        chance_level=chance,
        n_splits=len(np.unique(groups)),
        seed=cfg.seed,
        versions=versions(),
        data_hash=ds.data_hash(),
        classes=ds.classes,
        n_samples=int(ds.n_samples),
        n_voxels=len(scores),
        radius_mm=opts.radius,
        mean_neighbourhood_size=float(np.mean([len(n) for n in neighbors])),
        score_max=float(scores.max()),
        score_median=float(np.median(scores)),
        fraction_above_chance_plus_01=float(np.mean(scores > chance + 0.1)),
        maps=maps,
    )
    if ctx.write_report:
        write_searchlight_report(
            ctx.out_dir / "report.html",
            result=result,
            volumes=vs,
            scores=scores,
            config_text=ctx.config_text,
            title=cfg.report.title,
        )
    return result


#: Keys of the result shown in the report's "Results" table (the task's own findings).
_REPORTED = (
    "dataset", "protocol", "metric", "classes", "n_samples", "n_voxels", "radius_mm",
    "mean_neighbourhood_size", "chance_level", "score_max", "score_median",
    "fraction_above_chance_plus_0.1", "maps",
)  # fmt: skip


def write_searchlight_report(
    path: Path,
    *,
    result: SearchlightResult,
    volumes: Any,
    scores: np.ndarray,
    config_text: str | None = None,
    title: str | None = None,
) -> Path:
    """The searchlight report: the map's summary, its slices and the results table."""
    from ...report import Report

    res = result.to_dict()
    rep = Report(report_title(title, res["name"]), subtitle=f"{res['dataset']} - searchlight")
    rep.add_summary({"max balanced accuracy": scores.max(), "chance": res["chance_level"]})
    rep.add_figure(
        brain_slices(volumes, scores, "Searchlight balanced accuracy", "balanced accuracy"),
        title="Searchlight map",
        caption=f"Radius {res['radius_mm']} mm, leave-one-run-out, classes {res['classes']}.",
    )
    rep.add_figure(
        map_on_anatomy(volumes, scores, title="Searchlight balanced accuracy",
                       label="balanced accuracy", threshold=res["chance_level"]),
        title="Searchlight map on anatomy",
        caption="Voxels above chance over the mean EPI (nilearn plot_stat_map).",
    )  # fmt: skip
    rep.add_key_values({k: res[k] for k in _REPORTED if res.get(k) is not None}, title="Results")
    if config_text:
        rep.add_code(config_text, title="Config")
    return rep.save(path)
