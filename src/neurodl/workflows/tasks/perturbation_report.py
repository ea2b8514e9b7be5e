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
    """Write ``report.html`` of a :class:`~neurodl.workflows.tasks.perturbation.PerturbationResult`.

    Examples
    --------
    :func:`~neurodl.workflows.tasks.perturbation.run_perturbation` calls it when the run has
    an output folder; a tiny run (a leaky RNN of 8 units trained for 2 epochs) writes the
    report beside ``results.json``:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from neurodl.workflows import parse_config, run_config
    >>> cfg = parse_config({"task": "perturbation", "seed": 0, "options": {
    ...     "tasks": "perceptual_decision_making", "n_train_trials": 64, "n_test_trials": 32,
    ...     "network": {"name": "leaky_rnn", "params": {"n_hidden": 8}},
    ...     "training": {"max_epochs": 2, "batch_size": 16},
    ...     "lesion": {"sizes": [1, 4], "n_random": 3},
    ...     "gain": {"target": "recurrent", "levels": [0.0, 1.0]},
    ... }})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     run = run_config(cfg, Path(tmp) / "out")
    ...     html = run.files["report.html"].read_text()
    >>> sorted(run.files)
    ['report.html', 'results.json']
    >>> [title in html for title in ("Unit importance", "Lesion curve",
    ...                              "Recurrent gain dose-response")]
    [True, True, True]
    """
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
    """Write ``report.html`` of a ``perturbation_decoder`` result.

    Examples
    --------
    :func:`~neurodl.workflows.tasks.perturbation_decoder.run_perturbation_decoder` calls it
    when the run has an output folder; a tiny run (a ShallowConvNet trained for 2 epochs per
    fold on simulated motor imagery) writes the report beside ``results.json``:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from neurodl.workflows import parse_config, run_config
    >>> shallow = {"max_epochs": 2, "batch_size": 16, "num_threads": 1,
    ...            "validation_fraction": None, "early_stopping": False, "n_filters_time": 6,
    ...            "n_filters_spat": 6, "filter_time_length": 10, "pool_time_length": 30,
    ...            "pool_time_stride": 10}
    >>> cfg = parse_config({
    ...     "task": "perturbation_decoder", "seed": 0,
    ...     "data": {"source": "simulate", "simulator": "motor_imagery",
    ...              "params": {"n_subjects": 1, "n_sessions": 1, "n_trials": 60,
    ...                         "n_channels": 4}},
    ...     "model": {"name": "shallow", "params": shallow},
    ...     "evaluation": {"protocol": "within-session", "protocol_params": {"n_splits": 3}},
    ...     "options": {"layer": "pool_nonlin", "fractions": [0.5], "n_random": 2,
    ...                 "n_reference": 40},
    ... })
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     run = run_config(cfg, Path(tmp) / "out")
    ...     html = run.files["report.html"].read_text()
    >>> sorted(run.files)
    ['report.html', 'results.json']
    >>> [title in html for title in ("Lesion curves", "Channels by training-fold selectivity",
    ...                              "Trained networks")]
    [True, True, True]
    """
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
    """Write ``report.html`` of a ``perturbation_rsa`` result.

    Examples
    --------
    :func:`~neurodl.workflows.tasks.perturbation_rsa.run_perturbation_rsa` calls it (it needs
    the 92-image data); here a hand-made result (one seed, two layers, half of each lesioned
    at random) is written into a temporary folder:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from neurodl.workflows import parse_config
    >>> from neurodl.workflows.registry import RunContext
    >>> from neurodl.workflows.tasks.perturbation_rsa import RSALesionResult
    >>> cfg = parse_config({"task": "perturbation_rsa", "name": "demo",
    ...                     "data": {"source": "dataset", "dataset": "kriegeskorte92"}})
    >>> result = RSALesionResult.create(
    ...     task="perturbation_rsa", dataset="kriegeskorte92", metric="pearson", score_mean=0.3,
    ...     data_hash_method="sha256", conventions={}, category_order=["face", "body"],
    ...     architecture="small_cnn", readout="conv2", layers=["conv1", "conv2"], mode="zero",
    ...     seeds=[0], n_random=2, ci_method="Student-t over seeds (null with one seed)",
    ...     per_seed=[{"seed": 0, "readout": "conv2", "intact": 0.3, "state_dict_hash": "ab",
    ...                "per_layer": {"conv1": 0.2, "conv2": 0.3}}],
    ...     curve=[{"strategy": "random", "layer": layer, "fraction": 0.5, "score": score,
    ...             "n": 1, "values": [score]} for layer, score in [("conv1", 0.25), ("conv2", 0.1)]],
    ...     damage=[{"layer": layer, "fraction": 0.5, "drop": drop, "drop_ci": [None, None],
    ...              "draw_interval": [drop - 0.05, drop + 0.05], "rank": rank}
    ...             for layer, drop, rank in [("conv1", 0.05, 2), ("conv2", 0.2, 1)]],
    ...     most_damaging="conv2", state_dict_unchanged=True, timing={"total_s": 1.0},
    ... )
    >>> for line in result.summary_lines()[-3:]:
    ...     print(line)
    conv2 50% lesioned: drop 0.200 [0.150, 0.250]
    conv1 50% lesioned: drop 0.050 [0.000, 0.100]
    state_dict unchanged by the study: True
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_rsa_lesion_report(RunContext(cfg, cfg.task_options(), Path(tmp)), result)
    ...     html = (Path(tmp) / "report.html").read_text()
    >>> "Random lesions" in html, "Layers ranked by the drop they cause" in html
    (True, True)
    """
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
