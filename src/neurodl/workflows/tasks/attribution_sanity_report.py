"""The ``attribution_sanity`` report: scores against the truth, the sanity-check table with a
verdict for every map, stability, and the maps beside the planted sources and suppressors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import RunContext
from ._dynamics_common import new_report, save_report

__all__ = ["write_attribution_sanity_report"]


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def write_attribution_sanity_report(ctx: RunContext, result: Any) -> None:
    """Write ``report.html`` of an :class:`~.attribution_sanity.AttributionSanityResult`.

    Examples
    --------
    A tiny run computed without writing anything, then its report written into a folder:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from neurodl.workflows import parse_config, run_config
    >>> from neurodl.workflows.registry import RunContext
    >>> from neurodl.workflows.validate import task_options
    >>> cfg = parse_config({
    ...     "task": "attribution_sanity",
    ...     "options": {
    ...         "simulation": {"n_trials": 60, "n_channels": 5, "sfreq": 16},
    ...         "network": {"max_epochs": 2},
    ...         "network_methods": ["saliency"], "linear_methods": ["linear_pattern"],
    ...         "n_splits": 2, "n_explain": 10, "n_seeds": 1, "checks": False,
    ...     },
    ... })
    >>> result = run_config(cfg).result
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_attribution_sanity_report(RunContext(cfg, task_options(cfg), Path(d)), result)
    ...     html = (Path(d) / "report.html").read_text()
    >>> [s in html for s in ("Ground truth", "Methods against the truth", "Sanity checks")]
    [True, True, True]
    """
    import pandas as pd

    from ...report.figures.attribution import plot_attribution_maps

    rep = new_report(ctx, str(result.dataset), "attribution methods against a planted truth")
    truth = result.truth
    names = result.ch_names
    src = [names[i] for i in truth["source_channels"]]
    sup = [names[i] for i in truth["suppressor_channels"]]
    rep.add_summary(
        {
            "network balanced accuracy": round(result.models["network"].score_mean, 3),
            "linear balanced accuracy": round(result.models["linear"].score_mean, 3),
            "goal met by": ", ".join(result.goal_met_by) or "none",
            "maps failing a check": ", ".join(result.flagged) or "none",
        }
    )
    lo, hi = truth["window"]
    rep.add_section(
        "Ground truth",
        text=(
            f"The class signal (a {truth['frequency']:g} Hz burst whose sign is the class) sits on "
            f"{', '.join(src)} between {lo:g} and {hi:g} s (band {truth['band'][0]:.1f}-"
            f"{truth['band'][1]:.1f} Hz). Suppressors {', '.join(sup) or 'none'} record the "
            "sources' distractor noise and no class signal: a linear model uses them to cancel "
            "that noise, so its weights (filters) load on them; its activation patterns (Haufe et "
            "al. 2014) should not. Goal: >= 80% of the |map| on the sources and < 5% on the "
            "suppressors. Maps are computed on held-out samples (pooled over folds)."
        ),
    )
    rows = [
        {
            "method": m.method,
            "model": m.model,
            "mass on sources": _pct(m.mass_sources),
            "mass on suppressors": _pct(m.mass_suppressors),
            "mass in window (flat map)": f"{_pct(m.mass_window)} ({_pct(m.window_share)})",
            "rank accuracy (channels)": m.rank_channels,
            "rank accuracy (elements)": m.rank_elements,
            "stability folds": m.stability_folds,
            "stability seeds": m.stability_seeds,
            "sanity": m.verdict,
            "goal": "met" if m.meets_goal else "-",
        }
        for m in result.methods
    ]
    rep.add_table(pd.DataFrame(rows), title="Methods against the truth", section="Scores")
    checks = [
        {
            "method": m.method,
            "check": c.check,
            "step": c.step,
            "rank correlation": c.rank_correlation,
            "verdict": c.verdict + ("" if c.final else " (cascading step)"),
        }
        for m in result.methods
        for c in m.checks
    ]
    rep.add_section(
        "Sanity checks",
        text=(
            "Model randomisation re-initialises the layers from the output down (cascading, "
            "ending with all layers random); label randomisation refits on permuted labels. "
            "Spearman rank correlation of |map| before and after; a map whose correlation stays "
            f"above {result.threshold:g} after full randomisation or the label refit describes "
            "the input rather than the model and fails (Adebayo et al. 2018). Checks use "
            f"{result.n_check_samples} held-out samples of the first fold."
        ),
    )
    if checks:
        rep.add_table(
            pd.DataFrame(checks), title="Sanity checks", section="Sanity checks", max_rows=500
        )
    maps = {m.method: np.array(m.map, dtype=float) for m in result.methods}
    times = np.arange(len(next(iter(maps.values()))[0])) / result.sfreq
    rep.add_figure(
        plot_attribution_maps(
            maps,
            names,
            times=times,
            sources=truth["source_channels"],
            suppressors=truth["suppressor_channels"],
            window=(lo, hi),
            verdicts={m.method: m.verdict for m in result.methods},
        ),
        title="Maps (|map| / max, held-out, pooled over folds)",
        section="Maps",
        caption="(S): true source channels, (U): suppressors; dashed: the true window; "
        "[verdict] of the sanity checks.",
    )
    save_report(rep, ctx, result)
