"""The ``dynamics_comparison`` report: scores with CIs and p-values per reference and method,
the shuffle nulls, and the condition geometry of model and recording after alignment.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import RunContext
from ._dynamics_common import fmt, new_report, save_report

__all__ = ["write_dynamics_comparison_report"]


def write_dynamics_comparison_report(
    ctx: RunContext, result: Any, *, model: np.ndarray, recording: np.ndarray
) -> None:
    """Write ``report.html`` of a :class:`~.dynamics_comparison.DynamicsComparisonResult`.

    ``model`` and ``recording`` are the arrays compared with the recording
    ``(n_conditions, n_times, n_units)``.

    Examples
    --------
    A model (a simulated rotation) compared with a recording by RSA only, then the report with
    the two sides' condition-averaged trajectories (here the same 2-D rotation seen through
    another map):

    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from neurodl.analyses.dynamics_similarity import dynamics_matrix, simulate_linear_system
    >>> from neurodl.workflows import parse_config, run_config
    >>> from neurodl.workflows.registry import RunContext
    >>> from neurodl.workflows.validate import task_options
    >>> latent = simulate_linear_system(dynamics_matrix("rotation"), n_units=3, noise=0.02,
    ...                                 n_conditions=4, n_times=10, seed=0)
    >>> rng = np.random.default_rng(0)
    >>> recording = latent @ rng.standard_normal((3, 5))  # (4 conditions, 10 times, 5 units)
    >>> labels = np.repeat(np.arange(4), 3)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     np.savez(Path(d) / "rec.npz", X=recording[labels], y=labels)
    ...     cfg = parse_config({
    ...         "task": "dynamics_comparison",
    ...         "data": {"source": "file", "path": str(Path(d) / "rec.npz"),
    ...                  "params": {"key": "X", "label_key": "y",
    ...                             "axis_order": "epochs_times_channels"}},
    ...         "options": {"model": {"source": "simulated", "simulated": {
    ...                         "n_units": 3, "n_conditions": 4, "n_times": 10}},
    ...                     "methods": ["rsa"], "n_shuffles": 5, "n_boot": 0},
    ...     })
    ...     result = run_config(cfg).result
    ...     ctx = RunContext(cfg, task_options(cfg), Path(d))
    ...     write_dynamics_comparison_report(ctx, result, model=latent, recording=recording)
    ...     html = (Path(d) / "report.html").read_text()
    >>> [s in html for s in ("Scores, CIs and shuffle p-values", "Condition geometry")]
    [True, True]
    """
    import pandas as pd

    from ...report.figures.dynamics_similarity import (
        plot_aligned_conditions,
        plot_similarity_nulls,
    )

    rep = new_report(ctx, str(result.dataset), "model vs recording: CCA, Procrustes, DSA, RSA")
    cards: dict[str, Any] = {}
    for m in result.comparisons[0].methods:
        if m.skipped is None:
            cards[m.method] = {
                "value": m.score,
                "ci": (m.ci_low, m.ci_high) if m.ci_low is not None else None,
                "detail": f"p = {fmt(m.p_value)} ({m.null} shuffle)",
            }
    cards["model"] = result.model_source
    rep.add_summary(cards)
    rows, fig_rows = [], []
    for comp in result.comparisons:
        for m in comp.methods:
            rows.append(
                {
                    "reference": comp.reference,
                    "method": m.method,
                    "score": m.score,
                    "CI": None if m.ci_low is None else f"[{m.ci_low:.3f}, {m.ci_high:.3f}]",
                    "null mean": m.null_mean,
                    "p": m.p_value,
                    "null": m.null,
                    "meaning": m.description,
                    "skipped": m.skipped or "",
                    "time (s)": round(m.time_s, 2),
                }
            )
            fig_rows.append({"reference": comp.reference, **m.model_dump()})
    rep.add_table(pd.DataFrame(rows), title="Scores, CIs and shuffle p-values", section="Results")
    rep.add_figure(
        plot_similarity_nulls(fig_rows),
        title="Observed scores against their shuffle nulls",
        caption="Similarities (CCA, RSA): higher is more alike; distances (Procrustes, DSA, in "
        "radians): lower is more alike. Shaded: bootstrap CI over conditions.",
        section="Results",
    )
    rep.add_figure(
        plot_aligned_conditions(model, recording, result.conditions_reference),
        title="Condition geometry (top 2 PCs, model rotated onto the recording)",
        section="Results",
    )
    rep.add_key_values(
        {
            "model": result.model_info,
            "condition": result.condition,
            "model conditions": ", ".join(result.conditions_model),
            "recording conditions": ", ".join(result.conditions_reference),
            "timing (s)": {k: round(v, 2) for k, v in result.timing.items()},
        },
        title="Model and matching",
        section="Details",
    )
    save_report(rep, ctx, result)
