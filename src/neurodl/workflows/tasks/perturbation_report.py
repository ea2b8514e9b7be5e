"""The ``perturbation`` report: unit importance, targeted vs random lesions, gain dose-response
and the psychometric curves per gain level.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import RunContext
from ._dynamics_common import fmt, new_report, save_report

__all__ = ["write_perturbation_report"]


def write_perturbation_report(ctx: RunContext, result: Any) -> None:
    """Write ``report.html`` of a :class:`~neurodl.workflows.tasks.perturbation.PerturbationResult`."""
    import pandas as pd

    from ...report.figures.task_models import plot_dose_response, plot_psychometric

    rep = new_report(ctx, str(result.dataset), "perturbations of a task-trained network")
    t = result.training
    rep.add_summary(
        {
            "intact held-out accuracy": fmt(result.baseline_accuracy),
            "chance": fmt(result.chance_level),
            "network": f"{result.network} ({result.n_hidden} hidden units, layer {result.layer!r})",
            "epochs": f"{t.n_epochs} ({t.stopped_reason})",
            "state_dict unchanged": str(result.state_dict_unchanged),
        }
    )
    if result.importance:
        imp = pd.DataFrame([r.model_dump() for r in result.importance])
        rep.add_figure(
            plot_dose_response(
                imp["rank"],
                {"accuracy drop": (imp["drop"], None, None)},
                xlabel="unit rank (1 = most important)",
                ylabel="accuracy drop",
                title=f"Single-unit ablations ({result.lesion_mode})",
            ),
            title="Unit importance",
            section="Importance",
        )
        rep.add_table(imp, title="Most important units", section="Importance")
    if result.lesion_curve:
        lc = pd.DataFrame([r.model_dump() for r in result.lesion_curve])
        rep.add_figure(
            plot_dose_response(
                lc["size"],
                {
                    "targeted (top-k)": (lc["targeted"], None, None),
                    f"random ({result.lesion_n_random} draws, {result.lesion_ci:.0%} CI)": (
                        lc["random_mean"],
                        lc["random_low"],
                        lc["random_high"],
                    ),
                },
                xlabel="lesion size (units)",
                ylabel="held-out accuracy",
                chance=result.chance_level,
                title="Targeted vs random lesions",
            ),
            title="Lesion curve",
            section="Lesions",
        )
        rep.add_table(lc, title="Lesion curve", section="Lesions")
    if result.dose_response:
        dr = pd.DataFrame([r.model_dump() for r in result.dose_response])
        for target, rows in dr.groupby("target", sort=False):
            rep.add_figure(
                plot_dose_response(
                    rows["level"],
                    {"accuracy": (rows["accuracy"], None, None)},
                    xlabel=f"{target} gain ({rows['parameter'].iloc[0]})",
                    ylabel="held-out accuracy",
                    chance=result.chance_level,
                    title=f"{target.capitalize()} gain",
                ),
                title=f"{target.capitalize()} gain dose-response",
                section="Gain",
            )
        rep.add_table(dr, title="Gain dose-response", section="Gain")
    for target in dict.fromkeys(p.target for p in result.psychometric):
        curves = [p for p in result.psychometric if p.target == target]
        first = curves[0]
        groups = {
            f"gain {p.level:g} (slope {fmt(p.slope)})": (
                p.levels,
                [np.nan if v is None else v for v in p.p_choice1],
            )
            for p in curves[1:]
        }
        rep.add_figure(
            plot_psychometric(
                first.levels,
                [np.nan if v is None else v for v in first.p_choice1],
                xlabel=first.stimulus,
                ylabel="fraction of choice_1",
                groups=groups,
                title=f"{target} gain {first.level:g} (points) and other levels",
            ),
            title=f"Psychometric curves per {target} gain level",
            section="Behaviour",
        )
    save_report(rep, ctx, result)
