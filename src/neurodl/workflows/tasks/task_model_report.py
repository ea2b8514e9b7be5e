"""The ``task_model`` report: learning curves, accuracy per task, PCA trajectories with the
fixed points, Jacobian spectra and the psychometric curve.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import RunContext
from ._dynamics_common import fmt, new_report, save_report

__all__ = ["write_task_model_report"]


def write_task_model_report(
    ctx: RunContext,
    result: Any,
    *,
    fixed_points: list[Any],
    trajectories: Any,
    curve: Any,
) -> None:
    """Write ``report.html`` of a :class:`~neurodl.workflows.tasks.task_model.TaskModelResult`.

    ``fixed_points`` are the :class:`~neurodl.analyses.rnn_dynamics.FixedPoints` of each search
    (same order as ``result.fixed_points``), ``trajectories`` the
    :class:`~neurodl.analyses.rnn_dynamics.PCATrajectories` (or None) and ``curve`` the
    :class:`~neurodl.analyses.behaviour.PsychometricCurve` (or None).

    Examples
    --------
    :func:`~neurodl.workflows.tasks.task_model.run_task_model` calls it when the run has an
    output folder; a tiny run (a leaky RNN of 12 units trained for 2 epochs) writes the report
    beside ``results.json``:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from neurodl.workflows import parse_config, run_config
    >>> cfg = parse_config({"task": "task_model", "seed": 0, "options": {
    ...     "tasks": "perceptual_decision_making", "n_train_trials": 48, "n_test_trials": 32,
    ...     "network": {"name": "leaky_rnn", "params": {"n_hidden": 12}},
    ...     "training": {"max_epochs": 2, "batch_size": 16},
    ...     "fixed_points": {"n_initial": 16, "max_iters": 100},
    ... }})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     run = run_config(cfg, Path(tmp) / "out")
    ...     html = run.files["report.html"].read_text()
    >>> sorted(run.files)
    ['report.html', 'results.json']
    >>> [title in html for title in ("Learning curves", "PCA trajectories by coherence",
    ...                              "Jacobian spectra at input zero", "Psychometric curve")]
    [True, True, True, True]
    """
    import pandas as pd

    from ...report.figures import plot_learning_curves
    from ...report.figures.task_models import (
        plot_fixed_points,
        plot_psychometric,
        plot_state_trajectories,
    )

    rep = new_report(ctx, str(result.dataset), "task-trained recurrent network")
    t = result.training
    rep.add_summary(
        {
            "held-out accuracy": fmt(result.accuracy),
            "chance": fmt(result.chance_level),
            "network": f"{result.network} ({result.n_params} parameters)",
            "epochs": f"{t.n_epochs} ({t.stopped_reason})",
            "training time (s)": round(t.time_s, 1),
        }
    )
    rows = [
        {"task": k, "accuracy": v, "kind": result.accuracy_kind.get(k)}
        for k, v in result.accuracy_per_task.items()
    ]
    rep.add_table(pd.DataFrame(rows), title="Held-out accuracy per task", section="Results")
    curves = {k: v for k, v in result.learning_curve.items() if k in ("train_loss", "valid_loss")}
    if curves:
        rep.add_figure(plot_learning_curves([curves]), title="Learning curves", section="Training")
    if trajectories is not None:
        points = stability = None
        if fixed_points and fixed_points[0].n_points:
            points = trajectories.project(fixed_points[0].points)
            stability = [str(s) for s in fixed_points[0].stability]
        rep.add_figure(
            plot_state_trajectories(
                trajectories.trajectories,
                [str(c) for c in trajectories.conditions],
                points=points,
                stability=stability,
            ),
            title=f"PCA trajectories by {result.trajectories.condition}"
            + (
                f" (fixed points at input {result.fixed_points[0].input})"
                if points is not None
                else ""
            ),
            section="Dynamics",
        )
    if fixed_points:
        rep.add_table(
            pd.DataFrame(
                [
                    {
                        "input": s.input,
                        "fixed points": s.n_points,
                        "slow points": s.n_slow_points,
                        **s.counts,
                        "line attractor": s.line_attractor.detected,
                        "points on one line (variance)": s.line_attractor.variance_ratio_all,
                        "leading |lambda| (median)": s.line_attractor.leading_modulus_median,
                        "time (s)": round(s.time_s, 2),
                    }
                    for s in result.fixed_points
                ]
            ),
            title="Fixed points",
            section="Dynamics",
        )
    for s, fp in zip(result.fixed_points, fixed_points, strict=True):
        if fp.n_points:
            rep.add_figure(
                plot_fixed_points(list(np.asarray(fp.eigenvalues)), [str(x) for x in fp.stability]),
                title=f"Jacobian spectra at input {s.input}",
                section="Dynamics",
            )
    if curve is not None:
        p = result.psychometric
        fit_x = np.linspace(min(p.levels), max(p.levels), 100)
        rep.add_figure(
            plot_psychometric(
                p.levels,
                curve.p_choice1,
                ci=np.column_stack(
                    [
                        np.minimum(curve.ci_low, curve.p_choice1),
                        np.maximum(curve.ci_high, curve.p_choice1),
                    ]
                ),
                fit_x=fit_x,
                fit_y=curve.predict(fit_x),
                xlabel=p.stimulus,
                ylabel="fraction of choice_1",
            ),
            title=f"Psychometric curve (slope {fmt(p.slope)})",
            section="Behaviour",
        )
    save_report(rep, ctx, result)
