"""The ``rsa_fixed_models`` report: the RDMs, their MDS and the model comparison in one HTML file.

Numbers and text come from the typed
:class:`~neurodl.workflows.tasks.rsa_fixed_models.RSAFixedModelsResult`; the figures also need
the RDMs and the library's :class:`~neurodl.analyses.rsa.RSAResult` (its bootstrap and pairwise
arrays are not stored in the results).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._rsa_common import provenance_section

__all__ = ["write_fixed_models_report"]


def _result_text(results: dict[str, Any]) -> str:
    nc = results["noise_ceiling"]
    best, method = results["best_model"], results["comparison_method"]
    scores = results["scores"]
    reach = [n for n, s in scores.items() if s is not None and s >= nc["lower"]]
    return (
        f"Of {len(scores)} model RDMs, {best} explains the human-IT RDMs best "
        f"({method} r = {scores[best]:.3f}; noise ceiling [{nc['lower']:.3f}, "
        f"{nc['upper']:.3f}]). "
        + (
            f"Models at or above the lower bound of the ceiling: {', '.join(reach)}."
            if reach
            else "No model reaches the lower bound of the noise ceiling."
        )
    )


def write_fixed_models_report(
    path: Path,
    *,
    result: Any,
    rsa: Any,
    hit: Any,
    models: Any,
    fig1: Any,
    alpha: float,
    config_text: str | None = None,
    title: str | None = None,
) -> None:
    """Write ``report.html`` for a ``rsa_fixed_models`` run.

    Parameters
    ----------
    path : Path
    result : RSAFixedModelsResult
    rsa : neurodl.analyses.rsa.RSAResult
        What :func:`~neurodl.analyses.rsa.evaluate_models` returned (for the comparison figure).
    hit, models, fig1 : neurodl.analyses.rsa.RDMs
        The subjects' hIT RDMs, the model RDMs evaluated and the figure-1 RDMs.
    alpha : float
        FDR threshold marked in the pairwise panel.
    config_text, title : str or None

    Examples
    --------
    :func:`~neurodl.workflows.tasks.rsa_fixed_models.run_rsa_fixed_models` calls it on the
    92-image data; here the same steps on made-up RDMs of 6 images: 4 subjects' RDMs are a
    true RDM plus noise, and the model RDMs are that true RDM and a random one:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from neurodl.analyses.rsa import RDMs, compare_rdms, evaluate_models
    >>> from neurodl.workflows.tasks.rsa_fixed_models import RSAFixedModelsResult
    >>> rng = np.random.default_rng(0)
    >>> desc = {"is_human": [0, 1, 0, 1, 0, 0], "is_nonhumani": [0, 0, 1, 0, 0, 1],
    ...         "is_body": [0, 0, 1, 1, 0, 0], "is_face": [0, 1, 0, 0, 0, 1],
    ...         "is_natObj": [0, 0, 0, 0, 1, 0], "is_artiObj": [1, 0, 0, 0, 0, 0]}
    >>> truth = rng.random(15)  # a 6 x 6 RDM, condensed
    >>> hit = RDMs(truth + 0.3 * rng.random((4, 15)), names=["S1", "S2", "S3", "S4"],
    ...            condition_descriptors=desc)
    >>> models = RDMs(np.stack([truth, rng.random(15)]), names=["truth", "random"],
    ...               condition_descriptors=desc)
    >>> fig1 = RDMs(truth + 0.3 * rng.random((2, 15)), names=["mIT", "hIT"],
    ...             condition_descriptors=desc)
    >>> rsa = evaluate_models(models, hit, bootstrap="subjects", n_bootstrap=50)
    >>> summary = rsa.to_dict()
    >>> result = RSAFixedModelsResult.create(
    ...     name="demo", dataset="made-up RDMs", metric="pearson", score_mean=rsa.scores[0],
    ...     score_ci=rsa.ci[0], comparison_method="pearson", data_hash_method="none",
    ...     conventions={}, category_order=[], n_subjects=4, subjects=hit.names,
    ...     n_conditions=6, model_names=rsa.model_names, best_model="truth",
    ...     models={n: {"name": n, "score_mean": rsa.scores[i], "score_ci": rsa.ci[i]}
    ...             for i, n in enumerate(rsa.model_names)},
    ...     scores=dict(zip(rsa.model_names, rsa.scores)),
    ...     noise_ceiling=summary["noise_ceiling"], bootstrap="subjects", n_bootstrap=50,
    ...     confidence=0.95, n_permutations=0, pairwise_test=summary["pairwise_test"],
    ...     hit_vs_mit_fig1={m: compare_rdms(fig1.subset(0), fig1.subset(1), method=m)[0, 0]
    ...                      for m in ("pearson", "spearman")},
    ...     score_convention=summary["convention"],
    ... )
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_fixed_models_report(Path(tmp) / "report.html", result=result, rsa=rsa,
    ...                               hit=hit, models=models, fig1=fig1, alpha=0.05)
    ...     html = (Path(tmp) / "report.html").read_text()
    >>> [title in html for title in ("RDMs ordered by category", "MDS of the human-IT RDM",
    ...                              "Model RDMs vs human IT")]
    [True, True, True]
    >>> "Of 2 model RDMs, truth explains the human-IT RDMs best" in html
    True
    """
    from ...analyses.rsa import RDMs
    from ...report import Report
    from ...report.figures.rsa import category_order, plot_mds, plot_model_comparison, plot_rdms

    results = result.to_dict()
    best, method = results["best_model"], results["comparison_method"]
    nc = results["noise_ceiling"]
    fig1_r = results["hit_vs_mit_fig1"]
    rep = Report(
        title or f"neurodl: {results['name']}",
        subtitle=f"{results['dataset']} - fixed model RDMs vs human IT - {method}",
    )
    rep.add_summary(
        {
            f"best model ({best})": {
                "value": results["score_mean"],
                "ci": None if results["score_ci"] is None else tuple(results["score_ci"]),
                "detail": f"mean {method} r over {results['n_subjects']} subjects",
            },
            "noise ceiling": (nc["lower"], nc["upper"]),
            "hIT vs mIT (fig. 1)": {
                "value": fig1_r["pearson"],
                "detail": f"Spearman {fig1_r['spearman']:.3f}",
            },
        }
    )
    rep.add_section("Result", text=_result_text(results))
    mean_hit = RDMs(
        hit.dissimilarities.mean(0),
        names=["hIT (mean of 4 subjects)"],
        condition_descriptors=hit.condition_descriptors,
    )
    shown = RDMs(
        np.concatenate([mean_hit.dissimilarities, fig1.dissimilarities, models.dissimilarities]),
        names=[*mean_hit.names, *fig1.names, *models.names],
        condition_descriptors=hit.condition_descriptors,
    )
    rep.add_section("RDMs")
    rep.add_figure(
        plot_rdms(shown),
        title="RDMs ordered by category",
        section="RDMs",
        caption="Conditions grouped: human body, human face, animal body, animal face, natural "
        "object, artificial object (white lines separate groups). Colour: percentile of the "
        "dissimilarity within each RDM.",
    )
    _, group = category_order(hit.condition_descriptors)
    rep.add_figure(
        plot_mds(mean_hit.dissimilarities[0], group, title="hIT (mean RDM)", seed=results["seed"]),
        title="MDS of the human-IT RDM",
        section="RDMs",
        caption="Metric MDS (scikit-learn, precomputed dissimilarities, seeded) of the subjects' "
        "mean hIT RDM; colours: category groups.",
    )
    rep.add_section("Model comparison")
    has_p = any(m["p_value"] is not None for m in results["models"].values())
    rep.add_figure(
        plot_model_comparison(rsa, alpha=alpha),
        title="Model RDMs vs human IT",
        section="Model comparison",
        caption=f"Bars: mean over subjects; dots: subjects; error bars: bootstrap CI "
        f"({results['bootstrap'] or 'none'}); grey band: noise ceiling. Right: pairwise "
        f"comparisons ({results['pairwise_test']}), Benjamini-Hochberg FDR, q < {alpha:g} marked."
        + (" White *: permutation p < alpha." if has_p else ""),
    )
    rows = []
    for name in results["model_names"]:
        m = results["models"][name]
        ci = m["score_ci"] or [None, None]
        row = {"model": name, "score": m["score_mean"], "ci low": ci[0], "ci high": ci[1]}
        if has_p:
            row["permutation p"] = m["p_value"]
        rows.append({k: np.nan if v is None else v for k, v in row.items()})
    rep.add_table(pd.DataFrame(rows), title="Scores", section="Model comparison")
    provenance_section(rep, results, config_text)
    rep.save(path)
