"""The decoding report: what a run did and found, in one self-contained HTML file.

It reads only the typed :class:`~neurodl.workflows.tasks.decoding.DecodingTaskResult` (and the
samples, for the data summary figure).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...data.epochs import has_sessions
from ...report.figures.statistics import plot_learning_curves
from ...report.wording import metric_label, permutation_p_note

__all__ = ["write_decoding_report"]


def _interpretation(results: dict[str, Any]) -> str:
    score, chance = results["score_mean"], results["chance_level"]
    lo, hi = results["score_ci"]
    level = round(100 * results.get("ci_level", 0.95))
    ci_text = f"{level}% CI [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else "no CI"
    main = results["model"]
    lines = [
        f"{main!r}: mean {metric_label(results['metric'])} {score:.3f} ({ci_text}) against a chance "
        f"level of {chance:.3f} for these labels, under the {results['protocol']} protocol "
        f"({results['n_splits']} splits; every split checked for leakage before fitting)."
    ]
    for key, m in results["models"].items():
        p = m.get("p_value")
        if m["role"] != "main":
            mci = m.get("score_ci") or [None, None]
            lines.append(
                f"Baseline {key!r} on the same splits: {m['score_mean']:.3f}"
                + (f" (CI [{mci[0]:.3f}, {mci[1]:.3f}])" if None not in mci else "")
                + "."
            )
        if p is None:
            lines.append(f"No permutation test was run for {key!r}.")
            continue
        verdict = "above chance" if p < 0.05 else "not distinguishable from chance"
        note = permutation_p_note(p, m["n_permutations"])
        how = (
            f"Held-out permutation test of {key!r} ({m['n_permutations']} permutations of each "
            f"fold's test labels within {m.get('permuted_within')}; the trained folds kept, "
            "not refitted, so training variability is not part of the null)"
            if m.get("permutation_method") == "held_out"
            else f"Permutation test refitting {key!r} ({m['n_permutations']} permutations, "
            f"labels permuted within {m.get('permuted_within') or 'the whole dataset'})"
        )
        if note and p >= 0.05:  # at the floor, yet the floor is not below alpha
            ending = (
                f": no permuted score reached the observed one, but {m['n_permutations']} "
                "permutations cannot give p < 0.05; use at least 20 to test at alpha = 0.05."
            )
        else:
            ending = f", so the score of {key!r} is {verdict} at alpha = 0.05."
        lines.append(f"{how}: p = {p:.4g}" + (f" ({note})" if note else "") + ending)
    if results.get("comparison"):
        lines.append(results["comparison"]["verdict"])
    return " ".join(lines)


def _block_name(block: str, protocol: str = "", sessions: bool = True) -> str:
    """A protocol's block in words: ``"01/1"`` -> ``"subject 01, session 1"`` (``"subject 01"``
    when the data have no sessions, ``sessions=False``: never the placeholder ``"session 0"``),
    a held-out subject or site named as such; other blocks (``fold1``, ``block2``) as they are."""
    parts = str(block).split("/")
    if len(parts) == 2:
        return f"subject {parts[0]}" + (f", session {parts[1]}" if sessions else "")
    if protocol in ("cross-session", "leave-one-subject-out"):
        return f"subject {block}"
    if protocol == "leave-one-site-out":
        return f"site {block}"
    return str(block)


def _by_session(dataset: Any) -> bool:
    """Whether the class-count panel groups samples by session too (sessions that vary)."""
    md = dataset.metadata
    return "session" in md and md["session"].nunique() > 1


def _group_names(dataset: Any) -> np.ndarray:
    """Each sample's subject and session in words (the class-count panel's groups)."""
    md = dataset.metadata
    subj = md["subject"].astype(str) if "subject" in md else pd.Series(["?"] * len(md))
    if _by_session(dataset):
        return np.asarray(
            "sub " + subj.to_numpy() + ", ses " + md["session"].astype(str).to_numpy()
        )
    return np.asarray("sub " + subj.to_numpy())


def _unit(dataset: Any) -> str | None:
    """The unit of the samples' values: z-score after standardisation, else the data's own."""
    info = getattr(dataset, "info", None) or {}
    if info.get("standardize"):
        return "z-score"
    unit = info.get("unit") or info.get("units")
    return None if unit is None else str(unit)


def _add_pairwise(rep: Any, pw: dict[str, Any]) -> None:
    """Per-pair scores: a table and a heat map, labelled with how they were obtained."""
    from ...report.figures import plot_pairwise_matrix

    how = (
        "Binary cross-validation per pair"
        if pw["method"] == "cv"
        else "Derived from the multi-class CV predictions"
    )
    scored = [r for r in pw["pairs"] if r["score"] is not None]
    extremes = ""
    if scored:
        lo = min(scored, key=lambda r: r["score"])
        hi = max(scored, key=lambda r: r["score"])
        extremes = (
            f" Hardest pair: {lo['a']} vs {lo['b']} ({lo['score']:.2f}); easiest: "
            f"{hi['a']} vs {hi['b']} ({hi['score']:.2f})."
        )
    caption = (
        f"{how}: {pw['description']}. Metric: balanced accuracy (chance "
        f"{pw['chance_level']:.2f}).{extremes}"
    )
    matrix = np.array(
        [[np.nan if v is None else v for v in row] for row in pw["matrix"]], dtype=float
    )
    rep.add_figure(
        plot_pairwise_matrix(matrix, pw["classes"], chance=pw["chance_level"]),
        title="Pairwise decoding",
        section="Cross-validated scores",
        caption=caption,
    )
    pairs = sorted(pw["pairs"], key=lambda r: -np.inf if r["score"] is None else -r["score"])
    rep.add_table(
        pd.DataFrame(
            {
                "class A": [r["a"] for r in pairs],
                "class B": [r["b"] for r in pairs],
                "balanced accuracy": [r["score"] for r in pairs],
                "samples": [r["n_samples"] for r in pairs],
            }
        ),
        title=f"Per-pair decoding ({'binary CV per pair' if pw['method'] == 'cv' else 'from multi-class predictions'})",
        section="Cross-validated scores",
        max_rows=200,
    )


def _add_saliency(rep: Any, sal: dict[str, Any], model: str, dataset: Any = None) -> None:
    """Channel importance (topomap or bars) and, for networks, attribution over time/frequency."""
    from ...report.figures import plot_attribution_profile, plot_channel_importance

    top = sal.get("top_channels") or []
    key = "share" if top and top[0].get("share") is not None else "drop"
    lead = ", ".join(
        f"{t['channel']} ({100 * t[key]:.0f}%)"
        if key == "share"
        else f"{t['channel']} ({t[key]:.3f})"
        for t in top[:3]
    )
    rep.add_section(
        "Saliency",
        text=(
            f"What the {model!r} model {sal['fit']} uses: {sal['description']}, on "
            f"{sal['n_samples']} samples. "
            + (f"Most important channels: {lead}. " if lead else "")
            + "In-sample attributions describe the fitted model; they are not a test of what "
            "generalises."
        ),
    )
    values = np.asarray(sal["channel"], float)
    mask = None if dataset is None else dataset.info.get("mask")
    if mask is not None and np.ndim(mask) == 3 and int(np.count_nonzero(mask)) == len(values):
        from ...report import plot_brain_slices

        vol = np.full(np.shape(mask), np.nan)
        vol[np.asarray(mask, bool)] = values
        rep.add_figure(
            plot_brain_slices(vol, title="Voxel importance", colorbar_label=sal["unit"]),
            title="Voxel importance",
            section="Saliency",
            caption="Importance of each voxel of the mask, in voxel space.",
        )
    else:
        rep.add_figure(
            plot_channel_importance(values, sal["channels"], label=sal["unit"]),
            title="Channel importance",
            section="Saliency",
            caption="Scalp map when the channel names have standard 10-05 positions, otherwise "
            "the largest values as bars.",
        )
    if sal.get("time") is not None:
        rep.add_figure(
            plot_attribution_profile(
                sal["times"],
                sal["time"],
                xlabel=f"time ({sal.get('time_unit', 's')})",
                xlabel2=f"frequency ({sal.get('freq_unit', 'Hz')})",
                x2=sal.get("freqs"),
                values2=sal.get("frequency"),
                title="Attribution over time and frequency",
            ),
            title="Attribution over time and frequency",
            section="Saliency",
            caption="Left: mean |attribution| per time sample (over samples and channels). Right: "
            "each channel's attribution split over frequencies (Parseval), mean absolute share.",
        )
    if sal.get("band") is not None:
        rep.add_figure(
            plot_channel_importance(
                np.asarray(sal["band"], float),
                sal["bands"],
                label=sal["unit"],
                montage=None,
                sort=False,
                title="Band importance",
            ),
            title="Band importance",
            section="Saliency",
            caption="Attribution summed over the channels' features of each frequency band.",
        )
    if top:
        rep.add_table(
            pd.DataFrame({"channel": [t["channel"] for t in top], key: [t[key] for t in top]}),
            title="Top channels",
            section="Saliency",
        )
    if sal.get("checks"):
        _add_saliency_checks(rep, sal)


def _add_saliency_checks(rep: Any, sal: dict[str, Any]) -> None:
    """The sanity-check table of the map and its verdict (Adebayo et al. 2018)."""
    verdict = sal.get("sanity_verdict") or "undefined"
    meaning = {
        "fail": "the map barely changes when the model is destroyed, so it describes the input "
        "more than the model: do not read it as what the model uses.",
        "pass": "the map changes when the model's weights or labels are randomised.",
        "undefined": "a check could not be computed (a constant map).",
    }[verdict]
    rep.add_section(
        "Saliency sanity checks",
        text=f"Sanity checks of this map: {verdict.upper()}: {meaning} Spearman rank "
        "correlation of |map| before and after re-initialising the layers from the top "
        "(cascading; linear models: random weights) and after refitting on permuted labels; "
        "above 0.5 after full randomisation or the label refit fails."
        + (
            f" Stability across seeds (refit with the next seed): rank correlation "
            f"{sal['stability_seeds']:.2f}."
            if sal.get("stability_seeds") is not None
            else ""
        ),
    )
    rep.add_table(
        pd.DataFrame(
            {
                "check": [c["check"] for c in sal["checks"]],
                "step": [c["step"] for c in sal["checks"]],
                "rank correlation": [c["rank_correlation"] for c in sal["checks"]],
                "verdict": [
                    c["verdict"] + ("" if c["final"] else " (cascading step)")
                    for c in sal["checks"]
                ],
            }
        ),
        title="Sanity checks of the saliency map",
        section="Saliency sanity checks",
    )


def _add_errors(rep: Any, err: dict[str, Any], fold_labels: list[str]) -> None:
    """Misclassified test samples: how many, where they concentrate, the worst ones listed
    (the fold number replaced by what the fold tests)."""
    n, total = err["n_errors"], err["n_tested"]
    if not n:
        rep.add_section("Errors", text=f"No misclassified test samples ({total} tested).")
        return
    parts = [
        f"{c}: {v['top_count']} of {n} errors in {v['top_value']!r} (error rate there "
        f"{v['top_error_rate']:.2f} vs {n / total:.2f} overall; errors spread over "
        f"{v['n_values']} value(s))"
        for c, v in err["concentration"].items()
    ]
    text = f"{n} of {total} test samples misclassified ({n / total:.1%})." + (
        " Concentration: " + "; ".join(parts) + "." if parts else ""
    )
    rep.add_section("Errors", text=text)
    what = {
        "predict_proba": "p_true / p_pred: predicted probability of the true / predicted class",
        "decision_function": "p_true / p_pred: decision score of the true / predicted class",
    }.get(err.get("score_kind") or "", "no class scores were kept")
    rows = pd.DataFrame(err["rows"])
    if fold_labels and "fold" in rows:
        rows["fold"] = [
            fold_labels[int(f)] if 0 <= int(f) < len(fold_labels) else f for f in rows["fold"]
        ]
        rows = rows.rename(columns={"fold": "test fold"})
    rep.add_table(
        rows,
        title=f"Misclassified test samples, most confidently wrong first ({what})",
        section="Errors",
    )


def write_decoding_report(
    path: str | Path,
    *,
    result: Any,
    dataset: Any,
    saliency: dict[str, Any] | None = None,
    brain_maps: list[dict[str, Any]] | None = None,
    config_text: str | None = None,
    title: str | None = None,
) -> Path:
    """Write the HTML report of a decoding run to ``path`` and return it.

    Parameters
    ----------
    path : path
        Where to write ``report.html``.
    result : DecodingTaskResult
        The run's typed result: every number in the report comes from it.
    dataset : EpochsDataset
        The samples (for the data summary figure).
    saliency : dict, optional
        The full saliency (``result.saliency`` keeps only the top channels beyond 256).
    brain_maps : list of dict, optional
        Figures of fMRI decoder weights (``figure``, ``title``, ``caption``; see
        :func:`neurodl.workflows.tasks._brain_maps.decoder_weight_map`).
    config_text : str, optional
        The config as written, shown under Provenance.
    title : str, optional
        The report's title.

    Examples
    --------
    A tiny decoding run computed without writing anything, then its report beside the samples:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from neurodl.workflows import parse_config, run_config
    >>> from neurodl.workflows.data import load_samples
    >>> cfg = parse_config({
    ...     "task": "decoding",
    ...     "data": {"source": "simulate", "simulator": "motor_imagery",
    ...              "params": {"n_subjects": 3, "n_sessions": 1, "n_trials": 40,
    ...                         "n_channels": 8, "sfreq": 64.0, "effect_size": 0.9}},
    ...     "model": {"name": "logbandpower_lr"},
    ...     "evaluation": {"protocol": "leave-one-subject-out", "n_permutations": 0},
    ... })
    >>> result = run_config(cfg).result
    >>> dataset, _ = load_samples(cfg.data, seed=cfg.seed)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = write_decoding_report(Path(d) / "report.html", result=result, dataset=dataset,
    ...                                  title="Motor imagery across subjects")
    ...     html = path.read_text()
    >>> path.name, "Motor imagery across subjects" in html
    ('report.html', True)
    >>> [s in html for s in ("Cross-validated scores", "Errors", "Provenance")]
    [True, True, True]
    """
    from ... import __version__
    from ...report import (
        Report,
        plot_confusion_matrix,
        plot_data_summary,
        plot_fold_scores,
        plot_null_distribution,
    )

    results = result.to_dict()
    if saliency is not None:
        from ..results import jsonable

        results["saliency"] = jsonable(saliency)
    rep = Report(
        title or f"neurodl: {results['name']}",
        subtitle=f"{results['dataset']} - {results['model']} - {results['protocol']}",
    )
    metric = metric_label(results["metric"])
    summary: dict[str, Any] = {
        metric: {
            "value": results["score_mean"],
            **({"ci": tuple(results["score_ci"])} if None not in results["score_ci"] else {}),
            "detail": f"mean over {results['n_splits']} splits",
        },
        "chance level": results["chance_level"],
    }
    for key, m in results["models"].items():
        if m.get("p_value") is not None:
            note = permutation_p_note(m["p_value"], m["n_permutations"])
            summary[f"permutation p ({key})"] = {
                "value": m["p_value"],
                "detail": note
                or f"{m['n_permutations']} permutations "
                + (
                    "of the held-out labels, not refitted"
                    if m.get("permutation_method") == "held_out"
                    else f"refitting {key}"
                ),
            }
    if results.get("comparison"):
        comp = results["comparison"]
        summary[f"{comp['model_a']} - {comp['model_b']}"] = {
            "value": comp["difference"],
            **({"ci": tuple(comp["ci"])} if None not in comp["ci"] else {}),
            "detail": f"paired test p = {comp['p_value']:.2g}"
            if comp["p_value"] is not None
            else "paired test undefined",
        }
    summary["samples"] = {
        "value": str(results["n_samples"]),
        "detail": f"{results['n_subjects']} subject(s)",
    }
    rep.add_summary(summary)
    rep.add_section("Result", text=_interpretation(results))

    # Data
    rep.add_section(
        "Data",
        text=(
            f"{results['dataset']}: {dataset.n_samples} samples of shape {tuple(dataset.X.shape[1:])}"
            + (f" at {dataset.sfreq:g} Hz" if dataset.sfreq else "")
            + f"; classes {dataset.classes}. Data hash (SHA-256) {results['data_hash'][:16]}..."
        ),
    )
    rep.add_figure(
        plot_data_summary(
            np.asarray(dataset.X),
            dataset.y,
            sfreq=dataset.sfreq,
            ch_names=dataset.ch_names,
            classes=dataset.classes,
            groups=_group_names(dataset),
            unit=_unit(dataset),
            group_label="subject, session" if _by_session(dataset) else "subject",
        ),
        title="Data summary",
        section="Data",
        caption="Samples per class and group, and what a sample looks like in each class.",
    )

    # Scores
    blocks = results.get("fold_blocks")
    rep.add_section("Cross-validated scores")
    rep.add_figure(
        plot_fold_scores(
            results["fold_scores"],
            metric=metric,
            chance_level=results["chance_level"],
            ci=None if None in results["score_ci"] else tuple(results["score_ci"]),
            fold_labels=results.get("fold_labels") or blocks,
        ),
        title="Per-split scores",
        section="Cross-validated scores",
        caption=f"One point per test split, labelled by what it tests; band: "
        f"{results['ci_method']}; dashed: chance level.",
    )
    if results.get("block_scores"):
        rep.add_table(
            pd.DataFrame(
                {
                    "block": [
                        _block_name(b, results["protocol"], has_sessions(dataset.metadata))
                        for b in results["block_scores"]
                    ],
                    metric: list(results["block_scores"].values()),
                }
            ),
            title="Score per block",
            section="Cross-validated scores",
        )
    if results.get("confusion_matrix") is not None and dataset.classes:
        cm = [[np.nan if v is None else v for v in row] for row in results["confusion_matrix"]]
        rep.add_figure(
            plot_confusion_matrix(np.asarray(cm, dtype=float), list(dataset.classes)),
            title="Confusion matrix",
            section="Cross-validated scores",
            caption="Pooled over test splits; rows true class, normalised per row.",
        )
    if results.get("errors"):
        _add_errors(rep, results["errors"], results.get("fold_labels") or [])
    if results.get("pairwise"):
        _add_pairwise(rep, results["pairwise"])
    if results.get("search"):
        from .decoding_search import add_search_report

        add_search_report(rep, results["search"])
    if results.get("label_efficiency"):
        from .decoding_label_efficiency import add_label_efficiency_report

        add_label_efficiency_report(rep, results["label_efficiency"], metric)
    if len(results["models"]) > 1:
        ms = results["models"]

        def col(key: str, scale: float = 1.0) -> list[Any]:
            return [None if m.get(key) is None else scale * m[key] for m in ms.values()]

        rep.add_table(
            pd.DataFrame(
                {
                    "model": list(ms),
                    "role": [m["role"] for m in ms.values()],
                    metric: col("score_mean"),
                    "CI low": [(m.get("score_ci") or [None, None])[0] for m in ms.values()],
                    "CI high": [(m.get("score_ci") or [None, None])[1] for m in ms.values()],
                    "permutation p": col("p_value"),
                    "fit s/fold": col("fit_time_s_per_fold"),
                    "predict ms/sample": col("predict_time_s_per_sample", 1e3),
                }
            ),
            title="Each model's own statistics (same splits)",
            section="Cross-validated scores",
        )
        if results.get("comparison"):
            comp = results["comparison"]
            rep.add_section(
                "Model comparison",
                text=f"{comp['verdict']} Test: {comp['method']}; {comp['n_splits']} splits.",
            )
    if results.get("learning_curves"):
        rep.add_section("Training")
        rep.add_figure(
            plot_learning_curves(results["learning_curves"]),
            title="Learning curves",
            section="Training",
            caption="Loss per epoch of each fold's fit: training (solid) and, when one is held "
            "out, the inner validation split (dashed, used for early stopping); thin lines per "
            "fold, thick the mean.",
        )
    if results.get("saliency"):
        _add_saliency(rep, results["saliency"], results["model"], dataset)
    permuted = {k: m for k, m in results["models"].items() if m.get("null_scores")}
    if permuted:
        rep.add_section("Permutation tests")
    for key, m in permuted.items():
        null = np.array([np.nan if v is None else v for v in m["null_scores"]], dtype=float)
        rep.add_figure(
            plot_null_distribution(null, m["score_mean"], p_value=m["p_value"], metric=metric),
            title=f"Null distribution ({key})",
            section="Permutation tests",
            caption=f"Scores of {key!r} refitted with permuted labels (within "
            f"{m.get('permuted_within') or 'all'}); line: its observed score."
            + (
                f" {permutation_p_note(m['p_value'], m['n_permutations'])}."
                if permutation_p_note(m["p_value"], m["n_permutations"])
                else ""
            ),
        )
    for bm in brain_maps or ():
        rep.add_figure(bm["figure"], title=bm["title"], caption=bm["caption"], section="Brain maps")

    # Provenance
    rep.add_section("Provenance")
    rep.add_key_values(
        {
            k: results[k]
            for k in ("protocol", "metric", "model", "seed", "data_hash")
            if k in results
        }
        | {"metric": metric}
        | {"neurodl version": __version__, "timestamp": results["provenance"].get("timestamp")},
        title="Run",
        section="Provenance",
    )
    if results.get("preprocessing_steps"):
        rep.add_table(
            pd.DataFrame(
                {
                    "step": [st["step"] for st in results["preprocessing_steps"]],
                    "parameters": [
                        ", ".join(f"{k}={v}" for k, v in st["params"].items()) or "defaults"
                        for st in results["preprocessing_steps"]
                    ],
                    "applied": [st["applied"] for st in results["preprocessing_steps"]],
                }
            ),
            title="Preprocessing (every step, in order)",
            section="Provenance",
            show_rows=50,
        )
    elif results.get("preprocessing_before_split"):
        rep.add_key_values(
            {
                "steps": results["preprocessing_before_split"],
                "why": "per-sample transforms (no statistics across samples) "
                "applied once before splitting; they cannot leak",
            },
            title="Preprocessing applied before the split",
            section="Provenance",
        )
    rep.add_key_values(results["versions"], title="Library versions", section="Provenance")
    if config_text:
        rep.add_code(config_text, title="Configuration", language="yaml", section="Provenance")
    return rep.save(path, overwrite=False)
