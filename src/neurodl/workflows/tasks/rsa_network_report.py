"""The ``rsa_network`` report: layer-by-layer comparison with IT, the layer RDMs, the training.

Numbers and text come from the typed
:class:`~neurodl.workflows.tasks.rsa_network.RSANetworkResult`; the figures also need the
library's :class:`~neurodl.analyses.rsa.model_brain.ModelBrainResult` (layer RDMs, bootstrap
bands) and a few training stimuli.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._rsa_common import provenance_section

__all__ = ["write_network_report"]


def _num(value: Any) -> float:
    return np.nan if value is None else value


def _cards(results: dict[str, Any]) -> dict[str, Any]:
    cards: dict[str, Any] = {}
    tr = results["training"]
    if tr is not None:
        cards["held-out accuracy (shape task)"] = {
            "value": tr["test_accuracy"],
            "detail": f"chance {tr['chance']:.3f}; {tr['n_train']} training images",
        }
    for area, a in results["areas"].items():
        best = a["networks"]["trained"]
        ci = best["per_layer"][best["best_layer"]]["ci"]
        cards[f"{area}: best layer ({best['best_layer']})"] = {
            "value": best["best_score"],
            "ci": None if ci is None else tuple(ci),
            "detail": a["method"],
        }
    nc = results["areas"]["hIT"]["noise_ceiling"]
    cards["hIT noise ceiling"] = (nc["lower"], nc["upper"])
    return cards


def _result_text(results: dict[str, Any], alpha: float) -> str:
    lines = []
    for area, a in results["areas"].items():
        nets = a["networks"]
        line = (
            f"{area}: the trained network's best layer is {nets['trained']['best_layer']} "
            f"(r = {nets['trained']['best_score']:.3f})"
        )
        if "untrained" in nets:
            line += (
                f"; untrained control best {nets['untrained']['best_layer']} "
                f"(r = {nets['untrained']['best_score']:.3f})"
            )
        test = a.get("trained_vs_untrained")
        if test is not None:
            sig = [
                lay
                for lay, q in zip(results["layers"], test["p_fdr"], strict=True)
                if q is not None and q < alpha
            ]
            line += f"; trained differs from untrained (bootstrap, FDR q < {alpha:g}) at " + (
                ", ".join(sig) if sig else "no layer"
            )
        lines.append(line + ".")
    return "\n\n".join(lines)


def _score_table(results: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for area, a in results["areas"].items():
        for net in results["networks"]:
            per_layer = a["networks"][net]["per_layer"]
            for layer in results["layers"]:
                ci = per_layer[layer]["ci"] or [None, None]
                rows.append(
                    {
                        "area": area,
                        "network": net,
                        "layer": layer,
                        "score": _num(per_layer[layer]["score"]),
                        "ci low": _num(ci[0]),
                        "ci high": _num(ci[1]),
                    }
                )
    return pd.DataFrame(rows)


def _training_section(rep: Any, tr: dict[str, Any], stimuli: Any) -> None:
    from ...report.figures.rsa import plot_stimuli, plot_training

    settings = tr["settings"]
    rep.add_section(
        "Training task",
        text=(
            f"{len(settings['classes'])}-way shape recognition on generated images "
            f"({settings['image_size']} px; random position, size, rotation, colour, "
            "stripes, clutter, noise). The network never saw the 92 images. "
            f"Held-out accuracy {tr['test_accuracy']:.3f} (chance {tr['chance']:.3f}) on "
            f"{tr['n_test']} images drawn with another seed; training accuracy "
            f"{tr['train_accuracy']:.3f}."
        ),
    )
    if stimuli is not None:
        rep.add_figure(
            plot_stimuli(stimuli.X, stimuli.y, stimuli.classes),
            title="Example training stimuli",
            section="Training task",
        )
    rep.add_figure(plot_training(tr["losses"]), title="Training loss", section="Training task")
    rep.add_key_values(settings, title="Training settings", section="Training task")


def write_network_report(
    path: Path,
    *,
    result: Any,
    model_brain: Any,
    stimuli: Any = None,
    alpha: float = 0.05,
    config_text: str | None = None,
    title: str | None = None,
) -> None:
    """Write ``report.html`` for a ``rsa_network`` run.

    Parameters
    ----------
    path : Path
    result : RSANetworkResult
    model_brain : neurodl.analyses.rsa.model_brain.ModelBrainResult
        What :func:`~neurodl.analyses.rsa.model_brain.compare_network_with_brain` returned (for
        the layer curves and the layer RDMs).
    stimuli : ShapeStimuli or None
        A few training images to show (None: no training, or not shown).
    alpha : float
        FDR threshold of the trained-vs-untrained tests marked in the report.
    config_text, title : str or None

    Examples
    --------
    :func:`~neurodl.workflows.tasks.rsa_network.run_rsa_network` calls it on the 92-image data;
    here the same steps on 6 made-up images and 4 subjects' made-up RDMs, with a small random
    network (two layers) in place of the trained one:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np, torch
    >>> from neurodl.analyses.rsa import RDMs
    >>> from neurodl.analyses.rsa.model_brain import compare_network_with_brain
    >>> from neurodl.workflows.tasks.rsa_network import RSANetworkResult
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten())
    >>> rng = np.random.default_rng(0)
    >>> images = rng.random((6, 3, 8, 8)).astype("float32")
    >>> desc = {"is_human": [0, 1, 0, 1, 0, 0], "is_nonhumani": [0, 0, 1, 0, 0, 1],
    ...         "is_body": [0, 0, 1, 1, 0, 0], "is_face": [0, 1, 0, 0, 0, 1],
    ...         "is_natObj": [0, 0, 0, 0, 1, 0], "is_artiObj": [1, 0, 0, 0, 0, 0]}
    >>> hit = RDMs(rng.random((4, 15)), names=["S1", "S2", "S3", "S4"], condition_descriptors=desc)
    >>> mb = compare_network_with_brain(net, images, {"hIT": hit}, layers=["0", "1"],
    ...                                 n_bootstrap=50)
    >>> summary = mb.to_dict()
    >>> result = RSANetworkResult.create(
    ...     name="demo", dataset="made-up RDMs", metric="pearson",
    ...     score_mean=summary["areas"]["hIT"]["networks"]["trained"]["best_score"],
    ...     comparison_method={"hIT": "pearson"}, data_hash_method="none", conventions={},
    ...     category_order=[], architecture="conv", layers=mb.layers, networks=mb.networks,
    ...     areas=summary["areas"], training=summary["training"],
    ...     model_brain_settings=summary["settings"],
    ... )
    >>> result.layers, result.networks
    (['0', '1'], ['trained', 'untrained'])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_network_report(Path(tmp) / "report.html", result=result, model_brain=mb)
    ...     html = (Path(tmp) / "report.html").read_text()
    >>> [title in html for title in ("Layer RDMs vs IT: trained and untrained",
    ...                              "Per-layer scores", "untrained network: layer RDMs")]
    [True, True, True]
    """
    from ...report import Report
    from ...report.figures.rsa import category_order, plot_layer_curves, plot_mds, plot_rdms

    results = result.to_dict()
    rep = Report(
        title or f"neurodl: {results['name']}",
        subtitle=f"{results['dataset']} - {results['architecture']} layers vs hIT and mIT",
    )
    rep.add_summary(_cards(results))
    rep.add_section("Result", text=_result_text(results, alpha))
    rep.add_section("Per-layer comparison")
    rep.add_figure(
        plot_layer_curves(model_brain, alpha=alpha),
        title="Layer RDMs vs IT: trained and untrained",
        section="Per-layer comparison",
        caption="Mean over subjects (hIT: 4 session-averaged subjects; mIT: one RDM) of the "
        "layer-RDM comparison; bands: bootstrap CIs over images; grey band: hIT noise ceiling; "
        f"*: trained vs untrained differ (bootstrap, FDR q < {alpha:g}).",
    )
    rep.add_table(_score_table(results), title="Per-layer scores", section="Per-layer comparison")
    rep.add_section("Layer RDMs")
    layers = results["layers"]
    for net, rdms in model_brain.rdms.items():
        rep.add_figure(
            plot_rdms(rdms, titles=layers, n_cols=min(5, rdms.n_rdms)),
            title=f"{net} network: layer RDMs ordered by category",
            section="Layer RDMs",
            caption="92 images grouped by category (white lines); colour: percentile of the "
            f"{results['model_brain_settings']['rdm_metric']} distance.",
        )
    best = results["areas"]["hIT"]["networks"]["trained"]["best_layer"]
    trained = model_brain.rdms["trained"]
    _, group = category_order(trained.condition_descriptors)
    rep.add_figure(
        plot_mds(
            trained.dissimilarities[layers.index(best)],
            group,
            title=f"trained {best}",
            seed=results["seed"],
        ),
        title=f"MDS of the trained network's best hIT layer ({best})",
        section="Layer RDMs",
        caption="Metric MDS (scikit-learn, precomputed, seeded); colours: category groups.",
    )
    if results["training"] is not None:
        _training_section(rep, results["training"], stimuli)
    provenance_section(rep, results, config_text)
    rep.save(path)
