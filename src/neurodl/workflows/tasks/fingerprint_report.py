"""The ``fingerprint`` report: identification accuracy of every profile before and after each
mitigation against chance and the permutation null, and the cross-session similarity matrices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import RunContext
from ._dynamics_common import new_report, save_report

__all__ = ["write_fingerprint_report"]


def _similarity_figure(result: Any) -> Any:
    import matplotlib.pyplot as plt

    features = list(dict.fromkeys(r.feature for r in result.rows))
    mitigations = list(dict.fromkeys(r.mitigation for r in result.rows))
    fig, axes = plt.subplots(
        len(features),
        len(mitigations),
        figsize=(2.6 * len(mitigations), 2.6 * len(features)),
        squeeze=False,
        constrained_layout=True,
    )
    for i, f in enumerate(features):
        for j, m in enumerate(mitigations):
            ax = axes[i, j]
            r = result.row(f, m)
            sim = np.asarray(r.similarity, dtype=float)
            lo, hi = float(sim.min()), float(sim.max())
            ax.imshow(sim, cmap="viridis", vmin=lo, vmax=hi if hi > lo else lo + 1e-9)
            if r.n_constant == 0:  # each B recording's nearest A profile: o hit, x miss
                best = sim.argmax(axis=1)
                rows = np.arange(len(best))
                hit = best == rows
                ax.scatter(
                    best[hit],
                    rows[hit],
                    marker="o",
                    s=14,
                    facecolors="none",
                    edgecolors="white",
                    linewidths=1.0,
                )
                ax.scatter(best[~hit], rows[~hit], marker="x", s=14, color="red", linewidths=1.0)
            ax.set_title(f"{f}, {m}\nacc {r.accuracy_ab:.2f} / {r.accuracy_ba:.2f}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(f"{result.sessions[1]} (B)", fontsize=8)
            if i == len(features) - 1:
                ax.set_xlabel(f"{result.sessions[0]} (A)", fontsize=8)
    return fig


def write_fingerprint_report(ctx: RunContext, result: Any) -> None:
    """Write ``report.html`` of a :class:`~.fingerprint.FingerprintResult`.

    Examples
    --------
    A tiny run computed without writing anything, then its report written into a folder:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from neurodl.workflows import parse_config, run_config
    >>> from neurodl.workflows.registry import RunContext
    >>> from neurodl.workflows.validate import task_options
    >>> cfg = parse_config({
    ...     "task": "fingerprint",
    ...     "data": {"source": "simulate", "simulator": "fingerprint_sessions",
    ...              "params": {"n_subjects": 5, "duration": 10.0}},
    ...     "options": {"features": ["correlation", "bandpower"], "mitigations": ["none"],
    ...                 "n_permutations": 19, "l_freq": None, "h_freq": None},
    ... })
    >>> result = run_config(cfg).result
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_fingerprint_report(RunContext(cfg, task_options(cfg), Path(d)), result)
    ...     html = (Path(d) / "report.html").read_text()
    >>> [s in html for s in ("Identification accuracy", "Cross-session similarity")]
    [True, True]
    """
    import pandas as pd

    rep = new_report(ctx, str(result.dataset), "re-identification risk across sessions")
    a, b = result.sessions
    rep.add_summary(
        {
            "subjects": result.n_subjects,
            "sessions": f"{result.split_by} {a} vs {b}",
            "chance": round(result.chance_level, 3),
            "most identifying profile": result.most_identifying,
            **{f"highest accuracy, {m}": round(v, 3) for m, v in result.residual_risk.items()},
        }
    )
    rep.add_section(
        "Method",
        text=(
            "Each recording is summarised by one profile: 'correlation' (Fisher z of the "
            "channel correlations, the connectome fingerprint of Finn et al. 2015), 'covariance' "
            "(log-Euclidean covariance) or 'bandpower' (log band power per channel). A recording "
            f"of {b} is identified when its most correlated profile among the {a} recordings is "
            f"the same subject's (A->B), and the other way round (B->A); chance is 1/"
            f"{result.n_subjects}. The p-value compares the mean of both directions with "
            "shuffled subject labels. Idiff (Amico & Goni 2018) is 100 x (mean same-subject r - "
            "mean other-subject r). Mitigations act on each recording's own signals before the "
            "profile: 'standardise' scales every channel to unit variance; 'recentre' whitens "
            "the recording by its own mean covariance (its covariance becomes the identity). A "
            "profile left constant by a mitigation carries no information and is matched at "
            "chance. High accuracy after a mitigation means shared features still re-identify "
            "people who appear in another data set."
        ),
    )
    rows = [
        {
            "profile": r.feature,
            "mitigation": r.mitigation,
            f"{a}->{b}": round(r.accuracy_ab, 3),
            f"{b}->{a}": round(r.accuracy_ba, 3),
            "chance": round(r.chance, 3),
            "null 95%": None if r.null_95 is None else round(r.null_95, 3),
            "p": r.p_value,
            "Idiff": round(r.idiff, 1),
            "constant profiles": r.n_constant,
        }
        for r in result.rows
    ]
    rep.add_table(pd.DataFrame(rows), title="Identification accuracy", section="Results")
    if result.left_out:
        rep.add_table(pd.DataFrame(result.left_out), title="Recordings left out", section="Results")
    rep.add_figure(
        _similarity_figure(result),
        title="Cross-session similarity of the profiles",
        section="Results",
        caption=f"Pearson r of each {b} profile (rows) with each {a} profile (columns), both in "
        "subject order, colour scaled per panel; o: a row's most similar profile is its own "
        "subject's (identified), x: another subject's. A uniform panel: the mitigation left no "
        "information (constant profiles).",
    )
    save_report(rep, ctx, result)
