"""The reports of the perturbation tasks.

``perturbation``: unit importance, targeted vs random lesions, gain dose-response and the
psychometric curves per gain level. ``perturbation_decoder`` and ``perturbation_rsa``: lesion
curves (targeted vs random, CIs over repeats), gains, channels and clusters.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...report.wording import metric_label
from ..registry import RunContext
from ._dynamics_common import fmt, new_report, save_report

__all__ = ["write_decoder_lesion_report", "write_perturbation_report", "write_rsa_lesion_report"]


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


def _curve_figure(
    rows: list[Any], x: str, xlabel: str, ylabel: str, chance: Any, title: str
) -> Any:
    """One line per strategy (with its CI band) from :class:`CurvePoint` rows."""
    from ...report.figures.task_models import plot_dose_response

    strategies = list(dict.fromkeys(r.strategy for r in rows))
    levels = [getattr(r, x) for r in rows if r.strategy == strategies[0]]
    curves = {}
    for s in strategies:
        sel = [r for r in rows if r.strategy == s]
        curves[s] = (
            [np.nan if r.score is None else r.score for r in sel],
            [np.nan if r.ci_low is None else r.ci_low for r in sel],
            [np.nan if r.ci_high is None else r.ci_high for r in sel],
        )
    return plot_dose_response(
        levels, curves, xlabel=xlabel, ylabel=ylabel, chance=chance, title=title
    )


def _rows_table(rows: list[Any]) -> Any:
    import pandas as pd

    return pd.DataFrame([{k: v for k, v in r.model_dump().items() if k != "values"} for r in rows])


def write_decoder_lesion_report(ctx: RunContext, result: Any) -> None:
    """Write ``report.html`` of a ``perturbation_decoder`` result."""
    import pandas as pd

    rep = new_report(ctx, str(result.dataset), "lesions of a decoding network's feature maps")
    rep.add_summary(
        {
            f"intact held-out {metric_label(result.metric)}": fmt(result.score_mean),
            "chance": fmt(result.chance_level),
            "network": f"{result.model}, layer {result.layer!r} ({result.n_units} units)",
            "repeats": f"{len(result.repeats)} (seeds {result.seeds} x {result.n_splits} folds)",
            "ablation": result.mode,
            "state_dict unchanged": str(result.state_dict_unchanged),
        }
    )
    rep.add_figure(
        _curve_figure(
            result.curve,
            "fraction",
            f"fraction of {result.layer!r} lesioned",
            f"held-out {metric_label(result.metric)}",
            result.chance_level,
            f"Targeted vs random lesions ({result.ci_level:.0%} CI over repeats)",
        ),
        title="Lesion curves",
        section="Lesions",
    )
    rep.add_table(_rows_table(result.curve), title="Lesion curves", section="Lesions")
    rep.add_table(
        pd.DataFrame([r.model_dump() for r in result.channels]).head(20),
        title="Channels by training-fold selectivity",
        section="Channels",
    )
    if result.gain:
        rep.add_figure(
            _curve_figure(
                result.gain,
                "level",
                f"gain of {result.gain_channels} ({result.gain_layer})",
                f"held-out {metric_label(result.metric)}",
                result.chance_level,
                "Channel gain",
            ),
            title="Gain dose-response",
            section="Gain",
        )
        rep.add_table(_rows_table(result.gain), title="Gain dose-response", section="Gain")
    if result.clusters:
        rep.add_table(
            pd.DataFrame([r.model_dump() for r in result.clusters]),
            title="Cluster lesions (per repeat)",
            section="Clusters",
        )
    rep.add_table(
        pd.DataFrame([r.model_dump() for r in result.repeats]),
        title="Trained networks",
        section="Provenance",
    )
    save_report(rep, ctx, result)


def write_rsa_lesion_report(ctx: RunContext, result: Any) -> None:
    """Write ``report.html`` of a ``perturbation_rsa`` result."""
    import pandas as pd

    rep = new_report(ctx, str(result.dataset), "lesions of a CNN vs human IT")
    rep.add_summary(
        {
            "intact readout vs hIT": fmt(result.score_mean),
            "readout": result.readout,
            "network": f"{result.architecture}, layers {', '.join(result.layers)}",
            "seeds": str(result.seeds),
            "ablation": f"{result.mode}, {result.n_random} random sets per fraction",
            "most damaging layer": str(result.most_damaging),
            "state_dict unchanged": str(result.state_dict_unchanged),
        }
    )
    for strategy in dict.fromkeys(r.strategy for r in result.curve):
        rows = [r for r in result.curve if r.strategy == strategy]
        relabelled = [r.model_copy(update={"strategy": r.layer}) for r in rows]
        rep.add_figure(
            _curve_figure(
                relabelled,
                "fraction",
                "fraction of the layer's channels lesioned",
                f"readout RDM vs hIT ({metric_label(result.metric)})",
                None,
                f"{strategy.capitalize()} lesions, one line per lesioned layer",
            ),
            title=f"{strategy.capitalize()} lesions",
            section="Lesions",
        )
    rep.add_table(
        pd.DataFrame([r.model_dump() for r in result.damage]),
        title="Layers ranked by the drop they cause (random lesions)",
        section="Lesions",
    )
    rep.add_table(_rows_table(result.curve), title="Lesion curves", section="Lesions")
    rep.add_table(
        pd.DataFrame(
            [{**r.model_dump(exclude={"per_layer"}), **r.per_layer} for r in result.per_seed]
        ),
        title="Trained networks (intact score of every layer)",
        section="Networks",
    )
    save_report(rep, ctx, result)
