"""The ``latents`` report: NLB metrics beside the true rates and baselines, latent trajectories,
a raster with the inferred rates, behaviour read out from the rates and forecasting by horizon.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import RunContext
from ._dynamics_common import TIMING_KEYS, epoch_time, new_report, save_report

__all__ = ["write_latents_report"]


def write_latents_report(
    ctx: RunContext,
    result: Any,
    *,
    counts: np.ndarray,
    pop: Any,
    out: dict[str, Any],
    te: np.ndarray,
    T: int,
    b_pred: np.ndarray,
) -> None:
    """Write ``report.html`` of a :class:`~neurodl.workflows.tasks.latents.LatentsResult`.

    ``counts`` are the trials' counts (held-in neurons first), ``out`` the model's prediction
    on all trials (``rates``, ``factors``), ``te`` the test trials, ``T`` the
    observed bins and ``b_pred`` the behaviour predicted from the inferred rates (test trials).

    Examples
    --------
    :func:`~neurodl.workflows.tasks.latents.run_latents` calls it when the run has an output
    folder; a tiny simulated run (an LFADS trained for 3 epochs) writes the report beside
    ``results.json``:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from neurodl.workflows import parse_config, run_config
    >>> cfg = parse_config({
    ...     "task": "latents", "seed": 0,
    ...     "data": {"source": "simulate", "simulator": "latent_population",
    ...              "params": {"n_neurons": 20, "n_trials": 30, "n_bins": 20, "mean_rate": 30.0}},
    ...     "options": {"model_params": {"max_epochs": 3, "enc_size": 8, "gen_size": 8,
    ...                                  "g0_size": 4, "n_factors": 3},
    ...                 "forward_bins": 4, "baselines": ["smoothing"], "forecast": None,
    ...                 "torch_threads": 1},
    ... })
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     run = run_config(cfg, Path(tmp) / "out")
    ...     html = run.files["report.html"].read_text()
    >>> sorted(run.files)
    ['report.html', 'results.json']
    >>> [title in html for title in ("NLB metrics (test trials)", "Latent trajectories",
    ...                              "Raster with inferred rates", "Predicted vs true behaviour")]
    [True, True, True, True]
    """
    import pandas as pd

    from ...report.figures.dynamics import (
        plot_behavior,
        plot_forecast_scores,
        plot_latent_trajectories,
        plot_raster_rates,
    )

    ms, truth, note = result.model_scores, result.true_rate_scores, result.co_bps_note
    # No held-out neuron: n/a, with the reason and the option that enables co-bps under it.
    na = {"value": "n/a", "detail": note or "no held-out neurons"}
    rep = new_report(ctx, str(result.dataset), "latent dynamics")
    rep.add_summary(
        {
            "co-bps": na if ms["co_bps"] is None else ms["co_bps"],
            "co-bps of true rates": na if truth["co_bps"] is None else truth["co_bps"],
            "latent R^2": ms["latent_r2"],
            "velocity R^2": ms["vel_r2"],
        }
    )
    timing = {k: ms.get(k) for k in TIMING_KEYS}
    timing["time_per_epoch_s"] = epoch_time(ms)
    rows = [{"model": result.model, **{k: ms.get(k) for k in truth}, **timing}]
    rows.append({"model": "true rates", **truth})
    rows += [{"model": k, **v} for k, v in result.baselines.items()]
    rep.add_table(pd.DataFrame(rows), title="NLB metrics (test trials)", section="Results")
    rep.add_figure(
        plot_latent_trajectories(out["factors"][te], pop.conditions[te], "inferred factors"),
        title="Latent trajectories (3-D PCA projection)",
        section="Results",
    )
    i = int(te[0])
    rep.add_figure(
        plot_raster_rates(counts[i], out["rates"][i], pop.bin_size, f"trial {i} (test)"),
        title="Raster with inferred rates",
        section="Results",
    )
    rep.add_figure(
        plot_behavior(
            pop.behavior[te][:, :T].reshape(-1, 2),
            b_pred.reshape(-1, 2),
            "ridge from inferred rates (test trials)",
        ),
        title="Predicted vs true behaviour",
        section="Results",
    )
    if result.forecast:
        rep.add_table(
            pd.DataFrame(
                [
                    {"forecaster": k, **r, **result.forecast_timing[k]}
                    for k, rr in result.forecast.items()
                    for r in rr
                ]
            ),
            title="Forecasting by horizon (test trials)",
            section="Results",
        )
        rep.add_figure(
            plot_forecast_scores(result.forecast),
            title="Scores by forecast horizon",
            section="Results",
        )
    rep.add_key_values(
        {"history": {k: v for k, v in result.history.items() if "loss" not in k}},
        title="Training",
        section="Provenance",
    )
    save_report(rep, ctx, result)
