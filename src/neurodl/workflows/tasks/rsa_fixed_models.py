"""The ``rsa_fixed_models`` task: the 92-image data set's fixed model RDMs vs human IT.

A thin runner over :func:`neurodl.analyses.rsa.evaluate_models`: the model RDMs of
Kriegeskorte et al. (2008) against the 4 subjects' session-averaged human-IT RDMs, with the
noise ceiling, bootstrap CIs, optional permutation p-values and pairwise tests with FDR. It
reads only the ``data`` and ``options`` sections.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from ...exceptions import ConfigError
from .._progress import progress_bar
from ..config import TaskOptions
from ..registry import RunContext, register_task
from ..results import ModelStats, jsonable
from ._rsa_common import (
    BOOTSTRAP,
    RSATaskResult,
    check_method,
    common_values,
    hash_arrays,
    kriegeskorte92_folder,
)

__all__ = ["RSAFixedModelsOptions", "RSAFixedModelsResult", "run_rsa_fixed_models"]


class RSAFixedModelsOptions(TaskOptions):
    """Options of ``rsa_fixed_models``.

    Examples
    --------
    Two of the 8 model RDMs, bootstrapped over subjects; the rest keeps its defaults:

    >>> opts = RSAFixedModelsOptions.model_validate(
    ...     {"models": ["animacy", "EVA"], "bootstrap": "subjects"}
    ... )
    >>> opts.models, opts.method, opts.bootstrap, opts.n_bootstrap, opts.n_permutations
    (['animacy', 'EVA'], 'pearson', 'subjects', 1000, 0)

    An unknown comparison method is refused with the allowed ones:

    >>> from neurodl.workflows import parse_config
    >>> parse_config({"task": "rsa_fixed_models", "options": {"method": "pearsn"},
    ...               "data": {"source": "dataset", "dataset": "kriegeskorte92"}})
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: Invalid config (mapping): invalid value at 'options.method': Value error, allowed: ['cosine', 'kendall_tau_a', 'pearson', 'spearman', 'whitened_cosine', 'whitened_pearson'] (got 'pearsn').
    """

    models: list[str] | None = None
    """Model RDM names from ``92_modelRDMs.mat`` (default: all 8)."""
    method: str = "pearson"
    """RDM comparison between each model RDM and each subject's hIT RDM: 'pearson', 'spearman',
    'kendall_tau_a', 'cosine', 'whitened_cosine' or 'whitened_pearson'."""
    bootstrap: BOOTSTRAP = "conditions"
    """What is resampled for the CIs and pairwise tests: 'conditions' (images), 'subjects' or
    'both'; None: no bootstrap."""
    n_bootstrap: int = Field(1000, ge=1, le=1_000_000)
    """Bootstrap resamples."""
    n_permutations: int = Field(0, ge=0, le=1_000_000)
    """Condition-label permutations of the model RDMs for per-model p-values; 0: none."""
    ceiling_zscore: bool = True
    """Z-score the subjects' RDMs before averaging them in the noise ceiling."""
    confidence: float = Field(0.95, gt=0.0, lt=1.0)
    """Confidence level of the bootstrap intervals (e.g. 0.95)."""
    alpha: float = Field(0.05, gt=0.0, lt=1.0)
    """Threshold of the FDR-corrected pairwise p-values marked in the report."""

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        return check_method(value)


class RSAFixedModelsResult(RSATaskResult):
    """Result of ``rsa_fixed_models`` (``results.json``).

    ``models`` holds each model RDM's own statistics: ``score_mean`` (mean over subjects),
    ``score_ci`` (bootstrap), ``block_scores`` (one score per subject) and, with
    ``n_permutations``, its permutation ``p_value``. The top-level ``score_mean``, ``score_ci``
    and ``p_value`` are those of ``best_model``.

    Examples
    --------
    :func:`run_rsa_fixed_models` fills it from the 92-image data; here one made by hand from
    the smallest honest values (one model RDM scored against two subjects):

    >>> eva = {"name": "EVA", "role": "candidate", "kind": "fixed RDM", "score_mean": 0.259,
    ...        "score_ci": [0.2, 0.3], "block_scores": {"BE": 0.25, "KO": 0.268}}
    >>> res = RSAFixedModelsResult.create(
    ...     dataset="kriegeskorte92", metric="pearson", score_mean=0.259, score_ci=[0.2, 0.3],
    ...     models={"EVA": eva}, comparison_method="pearson", data_hash_method="sha256",
    ...     conventions={}, category_order=["human body"], n_subjects=2, subjects=["BE", "KO"],
    ...     n_conditions=92, model_names=["EVA"], scores={"EVA": 0.259}, best_model="EVA",
    ...     noise_ceiling={"lower": 0.39, "upper": 0.68}, bootstrap="conditions",
    ...     n_bootstrap=1000, confidence=0.95, n_permutations=0,
    ...     hit_vs_mit_fig1={"pearson": 0.491, "spearman": 0.43},
    ...     score_convention="mean over subjects",
    ... )
    >>> for line in res.summary_lines():
    ...     print(line)
    kriegeskorte92 | rsa_fixed_models | 1 model RDMs vs hIT
    EVA: 95% CI [0.200, 0.300], 2 subjects
    hIT vs mIT (fig. 1): pearson r = 0.491
    >>> RSAFixedModelsResult.from_dict(res.to_dict()) == res  # as read from results.json
    True
    """

    task: Literal["rsa_fixed_models"] = "rsa_fixed_models"
    comparison_method: str
    n_subjects: int
    subjects: list[str]
    n_conditions: int
    model_names: list[str]
    scores: dict[str, float | None] = Field(description="Model name -> mean score over subjects.")
    best_model: str
    n_degenerate: dict[str, int | None] | None = Field(
        None, description="Model name -> bootstrap samples where its score was undefined."
    )
    noise_ceiling: dict[str, Any] = Field(
        description="lower, upper, method, zscore_before_averaging, convention and ci (rows "
        "lower/upper bound, columns CI low/high; None without a condition bootstrap)."
    )
    bootstrap: Literal["conditions", "subjects", "both"] | None
    n_bootstrap: int
    confidence: float
    n_permutations: int
    pairwise_test: str | None = None
    pairwise_p_fdr: list[list[float | None]] | None = None
    hit_vs_mit_fig1: dict[str, float | None]
    score_convention: str

    def summary_lines(self) -> list[str]:
        """Dataset and task, the best model with its CI, the noise ceiling and hIT vs mIT."""
        lines = [f"{self.dataset} | {self.task} | {len(self.model_names)} model RDMs vs hIT"]
        if self.summary:
            lines.append(self.summary)
        ci = self.score_ci or [None, None]
        extra = []
        if ci[0] is not None and ci[1] is not None:
            extra.append(f"{round(100 * self.confidence)}% CI [{ci[0]:.3f}, {ci[1]:.3f}]")
        if self.p_value is not None:
            extra.append(f"permutation p = {self.p_value:.4f}")
        extra.append(f"{self.n_subjects} subjects")
        lines.append(f"{self.best_model}: {', '.join(extra)}")
        fig1 = self.hit_vs_mit_fig1.get(self.comparison_method)
        if fig1 is not None:
            lines.append(f"hIT vs mIT (fig. 1): {self.comparison_method} r = {fig1:.3f}")
        return lines


def _model_stats(res: Any, subjects: list[str], n_permutations: int) -> dict[str, ModelStats]:
    """Each model RDM's own statistics (``res`` is an :class:`~neurodl.analyses.rsa.RSAResult`)."""
    perm = res.p_values is not None
    return {
        name: ModelStats.model_validate(
            jsonable(
                {
                    "name": name,
                    "role": "candidate",
                    "kind": "fixed RDM",
                    "score_mean": res.scores[i],
                    "score_ci": None if res.ci is None else res.ci[i],
                    "ci_method": None
                    if res.ci is None
                    else f"percentile bootstrap ({res.bootstrap})",
                    "block_scores": dict(zip(subjects, res.subject_scores[i], strict=True)),
                    "p_value": res.p_values[i] if perm else None,
                    "n_permutations": n_permutations if perm else 0,
                    "permuted_within": "conditions of the model RDM" if perm else None,
                }
            )
        )
        for i, name in enumerate(res.model_names)
    }


@register_task(
    "rsa_fixed_models",
    options=RSAFixedModelsOptions,
    result=RSAFixedModelsResult,
    reads=("data", "options"),
    description="92-image RSA: fixed model RDMs vs human IT (noise ceiling, bootstrap, "
    "pairwise FDR)",
)
def run_rsa_fixed_models(ctx: RunContext) -> RSAFixedModelsResult:
    """Evaluate the fixed model RDMs against hIT; write ``report.html`` into ``ctx.out_dir``.

    Examples
    --------
    Runs through :func:`neurodl.workflows.run_config` (the registry finds it by ``task``) on
    the 92-image data set (``source: dataset``, ``dataset: kriegeskorte92``, or ``source:
    file`` with its folder); a simulated source is refused:

    >>> from neurodl.workflows import parse_config, run_config
    >>> from neurodl.workflows.registry import get_task
    >>> spec = get_task("rsa_fixed_models")
    >>> spec.run is run_rsa_fixed_models, sorted(spec.reads)
    (True, ['data', 'options'])
    >>> cfg = parse_config({"task": "rsa_fixed_models",
    ...                     "data": {"source": "simulate", "simulator": "fmri"}})
    >>> run_config(cfg)
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: Invalid value for 'data.source' for task 'rsa_fixed_models'. Allowed: 'dataset', 'file'; got 'simulate'.
    """
    from ...analyses.rsa import compare_rdms, evaluate_models, read_kriegeskorte92
    from ...report.figures.rsa import CATEGORY_GROUPS

    cfg, opts = ctx.cfg, ctx.options
    folder, ds_name = kriegeskorte92_folder(cfg)
    k92 = read_kriegeskorte92(folder)
    models = k92["models"]
    if opts.models is not None:
        unknown = [m for m in opts.models if m not in models.names]
        if unknown or not opts.models:
            raise ConfigError(
                f"Invalid value for 'options.models'. Allowed: names from {models.names}; "
                f"got {opts.models!r}."
            )
        models = models.subset([models.names.index(m) for m in opts.models])
    hit = k92["hIT"].average_by("subject")
    fig1 = k92["fig1"]
    with progress_bar("rsa_fixed_models bootstrap", unit="resample") as cb:
        res = evaluate_models(
            models,
            hit,
            method=opts.method,
            bootstrap=opts.bootstrap,
            n_bootstrap=opts.n_bootstrap,
            n_permutations=opts.n_permutations,
            ceiling_zscore=opts.ceiling_zscore,
            confidence=opts.confidence,
            seed=cfg.seed,
            progress=cb,
        )
    summary = res.to_dict()
    hit_vs_mit = {
        m: float(compare_rdms(fig1.subset(0), fig1.subset(1), method=m)[0, 0])
        for m in ("pearson", "spearman")
    }
    best = int(np.nanargmax(res.scores))
    nc = res.noise_ceiling
    result = RSAFixedModelsResult.create(
        **common_values(cfg, hash_arrays(hit.dissimilarities, models.dissimilarities), opts.method),
        dataset=ds_name,
        score_mean=res.scores[best],
        score_ci=None if res.ci is None else res.ci[best],
        p_value=None if res.p_values is None else res.p_values[best],
        n_splits=None,
        models=_model_stats(res, list(hit.names), opts.n_permutations),
        comparison_method=opts.method,
        data_hash_method="sha256 of the RDM arrays (float64, shape-tagged) used",
        n_subjects=hit.n_rdms,
        subjects=hit.names,
        n_conditions=hit.n_conditions,
        model_names=res.model_names,
        scores=dict(zip(res.model_names, res.scores.tolist(), strict=True)),
        best_model=res.model_names[best],
        n_degenerate=None
        if res.n_degenerate is None
        else dict(zip(res.model_names, res.n_degenerate, strict=True)),
        noise_ceiling={**summary["noise_ceiling"], "ci": summary["ceiling_ci"]},
        bootstrap=opts.bootstrap,
        n_bootstrap=opts.n_bootstrap if opts.bootstrap else 0,
        confidence=opts.confidence,
        n_permutations=opts.n_permutations,
        pairwise_test=summary["pairwise_test"],
        pairwise_p_fdr=summary["pairwise_p_fdr"],
        hit_vs_mit_fig1=hit_vs_mit,
        score_convention=summary["convention"],
        category_order=list(CATEGORY_GROUPS),
        summary=f"best model {res.model_names[best]}: {opts.method} r = {res.scores[best]:.3f}; "
        f"noise ceiling [{nc.lower:.3f}, {nc.upper:.3f}]",
    )
    if ctx.write_report:
        from .rsa_fixed_models_report import write_fixed_models_report

        write_fixed_models_report(
            ctx.out_dir / "report.html",
            result=result,
            rsa=res,
            hit=hit,
            models=models,
            fig1=fig1,
            alpha=opts.alpha,
            config_text=ctx.config_text,
            title=cfg.report.title,
        )
    return result
