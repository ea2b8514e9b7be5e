"""The ``spike_trial_decoding`` report: the main label's score, CI, chance and p-value, the
data window, every target's scores and the permutation null distribution.
"""

from __future__ import annotations

from typing import Any

from ..._logging import logger
from ..registry import RunContext
from ._dynamics_common import new_report, save_report

__all__ = ["write_spike_trial_report"]


def write_spike_trial_report(ctx: RunContext, result: Any, perm: Any) -> None:
    """Write ``report.html`` of a ``SpikeTrialDecodingResult`` (``perm``: the main label's
    permutation test, or None).

    Examples
    --------
    :func:`~neurodl.workflows.tasks.spike_trial_decoding.run_spike_trial_decoding` calls it
    when the run has an output folder; a small NWB file (40 face / house trials, 4 units) gives
    a report with the targets and the permutation null:

    >>> import tempfile
    >>> from datetime import datetime, timezone
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from pynwb import NWBHDF5IO, NWBFile
    >>> from neurodl.workflows import parse_config, run_config
    >>> rng = np.random.default_rng(0)
    >>> nwb = NWBFile("demo", "s1", datetime(2024, 1, 1, tzinfo=timezone.utc))
    >>> nwb.add_trial_column("stim", "image shown")
    >>> for i in range(40):  # 1-s trials every 2 s, face and house alternating
    ...     nwb.add_trial(start_time=2.0 * i + 1, stop_time=2.0 * i + 2, stim=["face", "house"][i % 2])
    >>> for unit in range(4):  # background firing; units 0-1 add 5 spikes on house trials
    ...     t = rng.uniform(0, 81, 400)
    ...     if unit < 2:
    ...         t = np.r_[t, [2.0 * i + 1.3 + 0.1 * k for i in range(1, 40, 2) for k in range(5)]]
    ...     nwb.add_unit(spike_times=np.sort(t))
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = Path(tmp.name) / "session.nwb"
    >>> with NWBHDF5IO(path, "w") as io:
    ...     io.write(nwb)
    >>> cfg = parse_config({
    ...     "task": "spike_trial_decoding",
    ...     "data": {"source": "file", "path": str(path)},
    ...     "model": {"name": "lda"},
    ...     "evaluation": {"protocol_params": {"n_splits": 5}, "n_permutations": 19},
    ...     "options": {"label": {"column": "stim"}, "t_start": 0.0, "t_after": 1.0},
    ... })
    >>> run = run_config(cfg, Path(tmp.name) / "out")
    >>> sorted(run.files)
    ['report.html', 'results.json']
    >>> html = run.files["report.html"].read_text()
    >>> "Targets" in html, "Permutation null" in html
    (True, True)
    >>> tmp.cleanup()
    """
    import pandas as pd

    from ...report import plot_null_distribution
    from ...report.wording import metric_label, permutation_p_note

    metric = metric_label(result.metric)
    rep = new_report(ctx, str(result.dataset), "trial decoding")
    rep.add_summary(
        {
            metric: result.score_mean,
            "95% CI": result.score_ci,
            "chance": result.chance_level,
            "p-value": {
                "value": result.p_value if result.p_value is not None else "n/a",
                "detail": permutation_p_note(
                    result.p_value, getattr(result, "n_permutations", None)
                ),
            },
        }
    )
    keys = ("n_trials", "n_units", "aligned_to", "window_s", "classes", "class_counts")
    rep.add_key_values(
        {k: getattr(result, k) for k in (*keys, "inner_selected", "ci_method")},
        title="Data",
        section="Results",
    )
    main = result.model_dump(
        include={
            "label",
            "n_trials",
            "score_mean",
            "score_ci",
            "chance_level",
            "p_value",
            "fit_time_s",
            "latency_per_trial_s",
        }
    )
    table_rows = [
        {
            "target": t,
            "label column": r["label"],
            "trials": r["n_trials"],
            metric: r["score_mean"],
            "CI low": r["score_ci"][0],
            "CI high": r["score_ci"][1],
            "chance": r["chance_level"],
            "p-value": r["p_value"],
            "fit time (s)": r["fit_time_s"],
            "latency/trial (s)": r["latency_per_trial_s"],
        }
        for t, r in {"label (main)": main, **result.extra_targets}.items()
    ]
    rep.add_table(pd.DataFrame(table_rows), title="Targets", section="Results")
    if perm is not None:
        try:
            fig = plot_null_distribution(
                perm.null_distribution, perm.score, p_value=perm.p_value, metric=metric
            )
            rep.add_figure(fig, title="Permutation null", section="Results")
        except Exception as err:  # the figure is optional; never fail a run on it
            logger.warning("Null-distribution figure skipped: %s", err)
    save_report(rep, ctx, result)
