"""The ``biomarker`` report: cohort and exclusions, the subject-level result beside the network,
site decodability, effect sizes with FDR, stability, and what the sample can show."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...report.wording import column_label
from ..registry import RunContext
from ._dynamics_common import new_report, save_report

__all__ = ["write_biomarker_report"]


def write_biomarker_report(ctx: RunContext, result: Any, analysis: Any) -> None:
    """Write ``report.html`` of a :class:`~neurodl.workflows.tasks.biomarker.BiomarkerResult`.

    ``analysis`` is the :class:`~neurodl.analyses.biomarkers.analysis.BiomarkerAnalysis` (for
    the arrays the typed result does not keep: every feature's effect size).

    Examples
    --------
    The typed result of a run, the analysis of the same cohort for the effect sizes, and the
    report written into a folder:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from neurodl.analyses.biomarkers.analysis import biomarker_analysis
    >>> from neurodl.workflows import parse_config, run_config
    >>> from neurodl.workflows.registry import RunContext
    >>> from neurodl.workflows.tasks.biomarker import load_cohort
    >>> from neurodl.workflows.validate import task_options
    >>> cfg = parse_config({
    ...     "task": "biomarker",
    ...     "data": {"source": "simulate", "simulator": "cohort",
    ...              "params": {"n_subjects": 45, "n_features": 8, "n_sites": 3}},
    ...     "evaluation": {"protocol": "leave-one-site-out", "n_permutations": 0, "n_boot": 20},
    ...     "options": {"combat": "on", "top_k": 3},
    ... })
    >>> result = run_config(cfg).result
    >>> analysis = biomarker_analysis(load_cohort(cfg)[0], combat="on", n_boot=20, top_k=3)
    >>> analysis.effects["hedges_g"].shape  # one effect size per feature
    (8,)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_biomarker_report(RunContext(cfg, task_options(cfg), Path(d)), result, analysis)
    ...     html = (Path(d) / "report.html").read_text()
    >>> [s in html for s in ("Site decodability", "Effect sizes", "What this sample can show")]
    [True, True, True]
    """
    from ...report.figures.biomarkers import (
        plot_effect_volcano,
        plot_site_decodability,
        plot_subject_metrics,
    )
    from ...report.figures.statistics import plot_null_distribution

    r = result
    rep = new_report(ctx, str(r.dataset), f"biomarker ({r.unit} level, {r.protocol})")
    ba = r.metrics["balanced_accuracy"]
    rep.add_summary(
        {
            f"{r.unit}s": r.n_subjects,
            "balanced accuracy": ba.estimate,
            "95% CI": f"[{ba.low:.3f}, {ba.high:.3f}]" if ba.low is not None else "n/a",
            "AUC": r.metrics["auc"].estimate,
            "permutation p": r.p_value if r.p_value is not None else "not run",
        }
    )
    # cohort
    rep.add_key_values(
        {"per class": r.per_class, "per site": r.per_site, "excluded (by rule)": r.excluded},
        title=f"Cohort: the {r.unit} is the unit",
        section="Cohort",
    )
    if r.exclusions:
        rep.add_table(
            pd.DataFrame(r.exclusions), title="Every exclusion", section="Cohort", max_rows=100
        )
    # subject-level result
    models = {r.linear_model: {k: v.model_dump() for k, v in r.metrics.items()}}
    if r.network_metrics:
        models[str(r.network_model)] = {k: v.model_dump() for k, v in r.network_metrics.items()}
    rep.add_figure(
        plot_subject_metrics(models),
        title="Subject-level result",
        section="Result",
        caption="Pooled out-of-fold predictions; 95% CIs by bootstrap over subjects.",
    )
    folds = pd.DataFrame(r.fold_metrics).rename(columns=column_label)
    rep.add_table(folds, title="Per fold", section="Result")
    if r.selected_per_fold:
        rep.add_key_values(
            {"chosen per fold": r.selected_per_fold},
            title="Nested selection (training subjects only)",
            section="Result",
        )
    if r.comparison is not None:
        rep.add_section("Linear vs network (same folds)", text=r.comparison.verdict)
    lin = r.models["linear"]
    if lin.null_scores:
        rep.add_figure(
            plot_null_distribution(
                lin.null_scores, lin.score_mean, p_value=lin.p_value, metric="balanced accuracy"
            ),
            title=f"Permutation test (diagnosis permuted across {r.unit}s"
            f"{', within ' + lin.permuted_within if lin.permuted_within else ''})",
            section="Result",
        )
    # site
    if r.site_decodability:
        b, a = r.site_decodability["before"], r.site_decodability["after"]
        rep.add_figure(
            plot_site_decodability(b["balanced_accuracy"], a["balanced_accuracy"], b["chance"]),
            title="Site decodability",
            caption="Balanced accuracy of predicting the site from the features (stratified "
            "5-fold; ComBat fitted on the training subjects of each fold).",
            section="Sites",
        )
    # effect sizes
    es = r.effect_sizes
    rep.add_section(
        "Effect sizes",
        text=f"{es['n_significant']} of {es['n_features']} features differ between the classes "
        f"at FDR {es['alpha']:g} (Benjamini-Hochberg); largest |Hedges' g| "
        f"{es['max_abs_g']:.2f}.",
    )
    rep.add_figure(
        plot_effect_volcano(analysis.effects["hedges_g"], analysis.effects["q"], alpha=es["alpha"]),
        title="Effect size vs FDR-adjusted q",
        section="Effect sizes",
    )
    rep.add_table(
        pd.DataFrame(es["top"]), title="Largest effects (g with 95% CI)", section="Effect sizes"
    )
    if r.stability:
        flat = {k: v for k, v in r.stability.items() if k != "most_selected"}
        rep.add_key_values(flat, title="Stability of the linear weights", section="Stability")
        if r.stability.get("most_selected"):
            rep.add_table(
                pd.DataFrame(r.stability["most_selected"]),
                title="Most often in the top-k across folds",
                section="Stability",
            )
    rep.add_section(
        "What this sample can show", text=" ".join([r.small_sample.statement, *r.notes])
    )
    save_report(rep, ctx, r)
