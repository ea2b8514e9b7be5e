"""RSA tasks on the 92-image data (Kriegeskorte et al. 2008).

``rsa_fixed_models``: the fixed model RDMs of the data set against the 4 subjects'
session-averaged human-IT RDMs (noise ceiling, bootstrap CIs, pairwise tests with FDR).
``rsa_network``: a network trained on an offline shape task (or a user's weights), every layer
compared with human IT and monkey IT, beside an untrained control.

Both read the data from ``data: {source: dataset, dataset: kriegeskorte92}`` (under the data
root) or ``data: {source: file, path: <folder with the .mat files>}``; all their settings are
under ``options``. The ``model``, ``evaluation`` and ``preprocessing`` sections belong to the
decoding task and are refused here, so that no setting is silently ignored.

This module imports only pydantic at import time (the task registry imports it).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from ..exceptions import ConfigError
from ..report.figures.rsa import (
    CATEGORY_GROUPS,
    category_order,
    plot_layer_curves,
    plot_mds,
    plot_model_comparison,
    plot_rdms,
    plot_stimuli,
    plot_training,
)
from .config import RunConfig, TaskOptions

__all__ = [
    "RSA_TASKS",
    "RSAFixedModelsOptions",
    "RSANetworkOptions",
    "TrainOptions",
    "category_order",
    "run_rsa_fixed_models",
    "run_rsa_network",
]

_CONVENTIONS = {
    "rdm_distance": "model/layer RDMs: correlation distance (1 - Pearson r between patterns), "
    "scipy.spatial.distance.pdist conventions",
    "subject_rdms": "one RDM per subject: the 2 sessions of each of the 4 hIT subjects averaged",
    "score": "mean over subjects of the comparison (method) between the model RDM and each "
    "subject's RDM, not the comparison with the mean RDM",
    "noise_ceiling": "lower: leave-one-subject-out mean RDM; upper: mean RDM of all subjects; "
    "subjects' RDMs z-scored before averaging when ceiling_zscore is true (rsatoolbox's 92-image "
    "demo convention)",
    "bootstrap": "percentile CIs; condition bootstrap resamples images (repeated images' "
    "self-pairs are left out)",
    "pairwise": "two-sided bootstrap p-values of score differences (paired t-tests over subjects "
    "without a bootstrap), Benjamini-Hochberg FDR over all pairs",
}

_BOOTSTRAP = Literal["conditions", "subjects", "both"] | None


def _check_method(value: str) -> str:
    from ..analyses.rsa import COMPARISON_METHODS

    if value not in COMPARISON_METHODS:
        raise ValueError(f"allowed: {sorted(COMPARISON_METHODS)}")
    return value


class RSAFixedModelsOptions(TaskOptions):
    """Options of ``rsa_fixed_models``."""

    models: list[str] | None = None
    """Model RDM names from ``92_modelRDMs.mat`` (default: all 8)."""
    method: str = "pearson"
    bootstrap: _BOOTSTRAP = "conditions"
    n_bootstrap: int = Field(1000, ge=1, le=1_000_000)
    n_permutations: int = Field(0, ge=0, le=1_000_000)
    ceiling_zscore: bool = True
    confidence: float = Field(0.95, gt=0.0, lt=1.0)
    alpha: float = Field(0.05, gt=0.0, lt=1.0)
    """Threshold of the FDR-corrected pairwise p-values marked in the report."""

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        return _check_method(value)


class TrainOptions(TaskOptions):
    """Training of the network on the generated shape task."""

    n_per_class: int = Field(300, ge=1)
    n_test_per_class: int = Field(50, ge=1)
    classes: list[str] | None = None
    epochs: int = Field(15, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(3e-3, gt=0.0)
    weight_decay: float = Field(1e-4, ge=0.0)
    stimulus_params: dict[str, Any] = Field(default_factory=dict)
    """Passed to :func:`neurodl.analyses.rsa.stimuli.make_shape_stimuli` (e.g. ``n_clutter``)."""


class RSANetworkOptions(TaskOptions):
    """Options of ``rsa_network``."""

    architecture: str = "small_cnn"
    """A name from :data:`neurodl.models.vision.VISION_MODELS`, or ``torchvision:<arch>``."""
    architecture_params: dict[str, Any] = Field(default_factory=dict)
    image_size: int = Field(48, ge=8)
    """Network input size: the 92 images are resized to it; the training images are drawn at it."""
    weights: str | None = None
    """A state-dict file: use these weights instead of training."""
    layers: list[str] | None = None
    """Layer names (default: the model's ``layer_names``)."""
    train: TrainOptions = Field(default_factory=TrainOptions)
    control: bool = True
    input_mean: list[float] | None = None
    input_std: list[float] | None = None
    rdm_metric: str = "correlation"
    method_hit: str = "pearson"
    method_mit: str = "pearson"
    bootstrap: _BOOTSTRAP = "conditions"
    n_bootstrap: int = Field(1000, ge=1, le=1_000_000)
    ceiling_zscore: bool = True
    confidence: float = Field(0.95, gt=0.0, lt=1.0)
    alpha: float = Field(0.05, gt=0.0, lt=1.0)
    reduction: Literal["pca", "srp"] | None = None
    n_components: int = Field(100, ge=1)
    cache_dir: str | None = None

    @field_validator("method_hit", "method_mit")
    @classmethod
    def _methods(cls, value: str) -> str:
        return _check_method(value)


# --------------------------------------------------------------------------- data


def _refuse_unused_sections(cfg: RunConfig) -> None:
    used = sorted({"model", "evaluation", "preprocessing"} & cfg.model_fields_set)
    if used:
        raise ConfigError(
            f"Task {cfg.task!r} does not use the section(s) {used}: put its settings under "
            "'options' (see the task's options)."
        )


def _data_folder(cfg: RunConfig) -> tuple[Path, str]:
    data = cfg.data
    if data.source == "dataset":
        if data.dataset != "kriegeskorte92":
            raise ConfigError(
                f"Invalid value for 'data.dataset' for task {cfg.task!r}. Allowed: "
                f"'kriegeskorte92'; got {data.dataset!r}."
            )
        from ..datasets.registry import dataset_path

        return dataset_path("kriegeskorte92", data.data_root), "kriegeskorte92"
    if data.source == "file":
        return Path(str(data.path)).expanduser(), f"kriegeskorte92 ({data.path})"
    raise ConfigError(
        f"Invalid value for 'data.source' for task {cfg.task!r}. Allowed: 'dataset', 'file'; "
        f"got {data.source!r}."
    )


def _hash_arrays(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for arr in arrays:
        a = np.ascontiguousarray(arr)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- common


def _common(cfg: RunConfig, data_hash: str, method: str) -> dict[str, Any]:
    from ..evaluation import provenance

    prov = provenance(protocol=None, seed=cfg.seed, data_hash=data_hash, config=cfg.model_dump())
    return {
        "task": cfg.task,
        "name": cfg.name,
        "metric": method,
        "comparison_method": method,
        "seed": cfg.seed,
        "versions": prov["versions"],
        "data_hash": data_hash,
        "data_hash_method": "sha256 of the RDM arrays (float64, shape-tagged) used",
        "conventions": dict(_CONVENTIONS),
        "provenance": prov,
    }


def _provenance_section(rep: Any, results: dict[str, Any], config_text: str | None) -> None:
    rep.add_section("Provenance")
    rep.add_key_values(
        {k: results[k] for k in ("task", "dataset", "comparison_method", "seed", "data_hash")},
        title="Run",
        section="Provenance",
    )
    rep.add_key_values(results["conventions"], title="Conventions", section="Provenance")
    rep.add_key_values(results["versions"], title="Library versions", section="Provenance")
    if config_text:
        rep.add_code(config_text, title="Configuration", language="yaml", section="Provenance")


# --------------------------------------------------------------------------- fixed models


def run_rsa_fixed_models(
    cfg: RunConfig, out_dir: Path | None, config_text: str | None
) -> dict[str, Any]:
    """Evaluate the fixed model RDMs against hIT; write ``report.html`` into ``out_dir``."""
    from ..analyses.rsa import compare_rdms, evaluate_models, read_kriegeskorte92

    _refuse_unused_sections(cfg)
    opts: RSAFixedModelsOptions = cfg.task_options()
    folder, ds_name = _data_folder(cfg)
    k92 = read_kriegeskorte92(folder)
    models = k92["models"]
    if opts.models is not None:
        unknown = [m for m in opts.models if m not in models.names]
        if unknown or not opts.models:
            raise ConfigError(
                f"Invalid value for 'options.models'. Allowed: names from {models.names}; "
                f"got {opts.models!r}."
            )
        models = models.subset([models.names.index(m) for m in opts.models])
    hit = k92["hIT"].average_by("subject")
    fig1 = k92["fig1"]
    res = evaluate_models(
        models,
        hit,
        method=opts.method,
        bootstrap=opts.bootstrap,
        n_bootstrap=opts.n_bootstrap,
        n_permutations=opts.n_permutations,
        ceiling_zscore=opts.ceiling_zscore,
        confidence=opts.confidence,
        seed=cfg.seed,
    )
    summary = res.to_dict()
    hit_vs_mit = {
        m: float(compare_rdms(fig1.subset(0), fig1.subset(1), method=m)[0, 0])
        for m in ("pearson", "spearman")
    }
    data_hash = _hash_arrays(hit.dissimilarities, models.dissimilarities)
    best = int(np.nanargmax(res.scores))
    results: dict[str, Any] = {
        **_common(cfg, data_hash, opts.method),
        "dataset": ds_name,
        "n_subjects": hit.n_rdms,
        "subjects": hit.names,
        "n_conditions": hit.n_conditions,
        "models": summary["models"],
        "model_names": res.model_names,
        "scores": dict(zip(res.model_names, res.scores.tolist(), strict=True)),
        "best_model": res.model_names[best],
        "noise_ceiling": {**summary["noise_ceiling"], "ci": summary["ceiling_ci"]},
        "bootstrap": opts.bootstrap,
        "n_bootstrap": opts.n_bootstrap if opts.bootstrap else 0,
        "confidence": opts.confidence,
        "n_permutations": opts.n_permutations,
        "pairwise_test": summary["pairwise_test"],
        "pairwise_p_fdr": summary["pairwise_p_fdr"],
        "hit_vs_mit_fig1": hit_vs_mit,
        "score_convention": summary["convention"],
        "category_order": list(CATEGORY_GROUPS),
    }
    nc = res.noise_ceiling
    results["summary"] = (
        f"best model {res.model_names[best]}: {opts.method} r = {res.scores[best]:.3f}; "
        f"noise ceiling [{nc.lower:.3f}, {nc.upper:.3f}]"
    )
    if out_dir is not None and cfg.report.enabled:
        _fixed_report(out_dir / "report.html", cfg, results, res, hit, models, fig1, config_text)
    return results


def _fixed_report(
    path: Path,
    cfg: RunConfig,
    results: dict[str, Any],
    res: Any,
    hit: Any,
    models: Any,
    fig1: Any,
    config_text: str | None,
) -> None:
    import pandas as pd

    from ..analyses.rsa import RDMs
    from ..report import Report

    nc = res.noise_ceiling
    best = results["best_model"]
    ib = res.model_names.index(best)
    rep = Report(
        cfg.report.title or f"neurodl: {cfg.name}",
        subtitle=f"{results['dataset']} - fixed model RDMs vs human IT - {res.method}",
    )
    rep.add_summary(
        {
            f"best model ({best})": {
                "value": float(res.scores[ib]),
                "ci": None if res.ci is None else tuple(res.ci[ib]),
                "detail": f"mean {res.method} r over {hit.n_rdms} subjects",
            },
            "noise ceiling": (nc.lower, nc.upper),
            "hIT vs mIT (fig. 1)": {
                "value": results["hit_vs_mit_fig1"]["pearson"],
                "detail": f"Spearman {results['hit_vs_mit_fig1']['spearman']:.3f}",
            },
        }
    )
    reach = [n for n, s in zip(res.model_names, res.scores, strict=True) if s >= nc.lower]
    rep.add_section(
        "Result",
        text=(
            f"Of {len(res.model_names)} model RDMs, {best} explains the human-IT RDMs best "
            f"({res.method} r = {res.scores[ib]:.3f}; noise ceiling [{nc.lower:.3f}, "
            f"{nc.upper:.3f}]). "
            + (
                f"Models at or above the lower bound of the ceiling: {', '.join(reach)}."
                if reach
                else "No model reaches the lower bound of the noise ceiling."
            )
        ),
    )
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
        plot_mds(mean_hit.dissimilarities[0], group, title="hIT (mean RDM)", seed=cfg.seed),
        title="MDS of the human-IT RDM",
        section="RDMs",
        caption="Metric MDS (scikit-learn, precomputed dissimilarities, seeded) of the subjects' "
        "mean hIT RDM; colours: category groups.",
    )
    rep.add_section("Model comparison")
    alpha = cfg.task_options().alpha
    rep.add_figure(
        plot_model_comparison(res, alpha=alpha),
        title="Model RDMs vs human IT",
        section="Model comparison",
        caption=f"Bars: mean over subjects; dots: subjects; error bars: bootstrap CI "
        f"({res.bootstrap or 'none'}); grey band: noise ceiling. Right: pairwise comparisons "
        f"({res.pairwise_test}), Benjamini-Hochberg FDR, q < {alpha:g} marked."
        + (" White *: permutation p < alpha." if res.p_values is not None else ""),
    )
    table = pd.DataFrame(
        {
            "model": res.model_names,
            "score": res.scores,
            "ci low": np.full(len(res.scores), np.nan) if res.ci is None else res.ci[:, 0],
            "ci high": np.full(len(res.scores), np.nan) if res.ci is None else res.ci[:, 1],
        }
    )
    if res.p_values is not None:
        table["permutation p"] = res.p_values
    rep.add_table(table, title="Scores", section="Model comparison")
    _provenance_section(rep, results, config_text)
    rep.save(path)


# --------------------------------------------------------------------------- network


def _build_network(opts: RSANetworkOptions, seed: int) -> Any:
    if opts.architecture.startswith("torchvision:"):
        from ..analyses.rsa.activations import load_torchvision_model

        return load_torchvision_model(
            opts.architecture.split(":", 1)[1], None, **opts.architecture_params
        )
    from ..models.vision import build_vision_model

    n_classes = len(opts.train.classes) if opts.train.classes else 8
    return build_vision_model(
        opts.architecture,
        in_channels=3,
        n_classes=n_classes,
        image_size=opts.image_size,
        seed=seed,
        **opts.architecture_params,
    )


def run_rsa_network(
    cfg: RunConfig, out_dir: Path | None, config_text: str | None
) -> dict[str, Any]:
    """Train (or load) a network, compare each layer with hIT and mIT beside an untrained control."""
    from ..analyses.rsa import read_kriegeskorte92
    from ..analyses.rsa.model_brain import (
        as_image_batch,
        compare_network_with_brain,
        train_shape_network,
    )
    from ..analyses.rsa.stimuli import make_shape_stimuli

    _refuse_unused_sections(cfg)
    opts: RSANetworkOptions = cfg.task_options()
    folder, ds_name = _data_folder(cfg)
    k92 = read_kriegeskorte92(folder, images=True)
    images = as_image_batch(k92["images"], channels_last=True)
    brain = {"hIT": k92["hIT"].average_by("subject"), "mIT": k92["fig1"].subset(0)}
    brain["mIT"].names = ["mIT"]
    training = None
    untrained = None
    if opts.weights is None:
        if opts.architecture.startswith("torchvision:"):
            raise ConfigError(
                "'options.weights' is required with a torchvision architecture (training on the "
                "shape task is only offered for the models in neurodl.models.vision)."
            )
        t = opts.train
        model, untrained, training = train_shape_network(
            architecture=opts.architecture,
            architecture_params=opts.architecture_params,
            n_per_class=t.n_per_class,
            n_test_per_class=t.n_test_per_class,
            classes=t.classes,
            image_size=opts.image_size,
            stimulus_params=t.stimulus_params,
            epochs=t.epochs,
            batch_size=t.batch_size,
            lr=t.lr,
            weight_decay=t.weight_decay,
            seed=cfg.seed,
        )
    else:
        model = _build_network(opts, cfg.seed)
    pre: dict[str, Any] = {"size": (opts.image_size, opts.image_size)}
    if opts.input_mean is not None:
        pre["mean"] = opts.input_mean
    if opts.input_std is not None:
        pre["std"] = opts.input_std
    result = compare_network_with_brain(
        model,
        images,
        brain,
        layers=opts.layers,
        weights=opts.weights,
        control=opts.control,
        untrained=untrained,
        preprocessing=pre,
        rdm_metric=opts.rdm_metric,
        method={"hIT": opts.method_hit, "mIT": opts.method_mit},
        bootstrap=opts.bootstrap,
        n_bootstrap=opts.n_bootstrap,
        ceiling_zscore=opts.ceiling_zscore,
        confidence=opts.confidence,
        reduction=opts.reduction,
        n_components=opts.n_components,
        cache_dir=opts.cache_dir,
        training=training,
        seed=cfg.seed,
    )
    data_hash = _hash_arrays(
        brain["hIT"].dissimilarities, brain["mIT"].dissimilarities, k92["images"]
    )
    summary = result.to_dict()
    results: dict[str, Any] = {
        **_common(cfg, data_hash, opts.method_hit),
        "dataset": ds_name,
        "comparison_method": {"hIT": opts.method_hit, "mIT": opts.method_mit},
        "data_hash_method": "sha256 of the hIT and mIT RDM arrays and the 92 images",
        "architecture": opts.architecture,
        "weights": opts.weights,
        "layers": result.layers,
        "networks": result.networks,
        "areas": summary["areas"],
        "training": summary["training"],
        "model_brain_settings": summary["settings"],
        "category_order": list(CATEGORY_GROUPS),
    }
    results["summary"] = "; ".join(
        f"{area}: best trained layer {a['networks']['trained']['best_layer']} "
        f"r = {a['networks']['trained']['best_score']:.3f}"
        for area, a in summary["areas"].items()
    )
    if training is not None:
        results["summary"] += f"; shape-task held-out accuracy {training.test_accuracy:.3f}"
    results["conventions"]["untrained_control"] = (
        "same architecture with the trained network's initial weights (same seed)"
        if untrained is not None
        else "same architecture, every submodule re-initialised with reset_parameters (seeded)"
    )
    results["conventions"]["mIT"] = (
        "single monkey-IT RDM (fig. 1, 674 neurons): no noise ceiling (NaN), condition bootstrap"
    )
    if out_dir is not None and cfg.report.enabled:
        stim = None
        if training is not None:
            t = opts.train
            stim = make_shape_stimuli(
                2,
                classes=t.classes,
                image_size=opts.image_size,
                seed=cfg.seed,
                **t.stimulus_params,
            )
        _network_report(out_dir / "report.html", cfg, results, result, stim, config_text)
    return results


def _network_report(
    path: Path,
    cfg: RunConfig,
    results: dict[str, Any],
    result: Any,
    stim: Any,
    config_text: str | None,
) -> None:
    import pandas as pd

    from ..report import Report

    opts: RSANetworkOptions = cfg.task_options()
    rep = Report(
        cfg.report.title or f"neurodl: {cfg.name}",
        subtitle=f"{results['dataset']} - {results['architecture']} layers vs hIT and mIT",
    )
    cards: dict[str, Any] = {}
    tr = result.training
    if tr is not None:
        cards["held-out accuracy (shape task)"] = {
            "value": tr.test_accuracy,
            "detail": f"chance {tr.chance:.3f}; {tr.n_train} training images",
        }
    for area in result.areas:
        a = results["areas"][area]["networks"]["trained"]
        i = result.layers.index(a["best_layer"])
        ci = result.ci(area, "trained")
        cards[f"{area}: best layer ({a['best_layer']})"] = {
            "value": a["best_score"],
            "ci": None if ci is None else tuple(ci[i]),
            "detail": result.results[area].method,
        }
    nc = result.results["hIT"].noise_ceiling
    cards["hIT noise ceiling"] = (nc.lower, nc.upper)
    rep.add_summary(cards)
    lines = []
    for area in result.areas:
        nets = results["areas"][area]["networks"]
        line = (
            f"{area}: the trained network's best layer is {nets['trained']['best_layer']} "
            f"(r = {nets['trained']['best_score']:.3f})"
        )
        if "untrained" in nets:
            line += (
                f"; untrained control best {nets['untrained']['best_layer']} "
                f"(r = {nets['untrained']['best_score']:.3f})"
            )
        test = result.control_tests.get(area)
        if test is not None:
            sig = [
                lay for lay, q in zip(result.layers, test["p_fdr"], strict=True) if q < opts.alpha
            ]
            line += f"; trained differs from untrained (bootstrap, FDR q < {opts.alpha:g}) at " + (
                ", ".join(sig) if sig else "no layer"
            )
        lines.append(line + ".")
    rep.add_section("Result", text="\n\n".join(lines))
    rep.add_section("Per-layer comparison")
    rep.add_figure(
        plot_layer_curves(result, alpha=opts.alpha),
        title="Layer RDMs vs IT: trained and untrained",
        section="Per-layer comparison",
        caption="Mean over subjects (hIT: 4 session-averaged subjects; mIT: one RDM) of the "
        "layer-RDM comparison; bands: bootstrap CIs over images; grey band: hIT noise ceiling; "
        f"*: trained vs untrained differ (bootstrap, FDR q < {opts.alpha:g}).",
    )
    rows = []
    for area in result.areas:
        for net in result.networks:
            sc, ci = result.scores(area, net), result.ci(area, net)
            for i, layer in enumerate(result.layers):
                rows.append(
                    {
                        "area": area,
                        "network": net,
                        "layer": layer,
                        "score": sc[i],
                        "ci low": np.nan if ci is None else ci[i, 0],
                        "ci high": np.nan if ci is None else ci[i, 1],
                    }
                )
    rep.add_table(pd.DataFrame(rows), title="Per-layer scores", section="Per-layer comparison")
    rep.add_section("Layer RDMs")
    for net, rdms in result.rdms.items():
        rep.add_figure(
            plot_rdms(rdms, titles=result.layers, n_cols=min(5, rdms.n_rdms)),
            title=f"{net} network: layer RDMs ordered by category",
            section="Layer RDMs",
            caption="92 images grouped by category (white lines); colour: percentile of the "
            f"{result.settings['rdm_metric']} distance.",
        )
    best = results["areas"]["hIT"]["networks"]["trained"]["best_layer"]
    _, group = category_order(result.rdms["trained"].condition_descriptors)
    rep.add_figure(
        plot_mds(
            result.rdms["trained"].dissimilarities[result.layers.index(best)],
            group,
            title=f"trained {best}",
            seed=cfg.seed,
        ),
        title=f"MDS of the trained network's best hIT layer ({best})",
        section="Layer RDMs",
        caption="Metric MDS (scikit-learn, precomputed, seeded); colours: category groups.",
    )
    if tr is not None:
        rep.add_section(
            "Training task",
            text=(
                f"{len(tr.settings['classes'])}-way shape recognition on generated images "
                f"({tr.settings['image_size']} px; random position, size, rotation, colour, "
                "stripes, clutter, noise). The network never saw the 92 images. "
                f"Held-out accuracy {tr.test_accuracy:.3f} (chance {tr.chance:.3f}) on "
                f"{tr.n_test} images drawn with another seed; training accuracy "
                f"{tr.train_accuracy:.3f}."
            ),
        )
        if stim is not None:
            rep.add_figure(
                plot_stimuli(stim.X, stim.y, stim.classes),
                title="Example training stimuli",
                section="Training task",
            )
        rep.add_figure(plot_training(tr.losses), title="Training loss", section="Training task")
        rep.add_key_values(tr.settings, title="Training settings", section="Training task")
    _provenance_section(rep, results, config_text)
    rep.save(path)


#: Task name -> (options model, runner, description), registered in :mod:`neurodl.workflows.tasks`.
RSA_TASKS: dict[str, tuple[type[TaskOptions], str, str]] = {
    "rsa_fixed_models": (
        RSAFixedModelsOptions,
        "rsa:run_rsa_fixed_models",
        "92-image RSA: fixed model RDMs vs human IT (noise ceiling, bootstrap, pairwise FDR)",
    ),
    "rsa_network": (
        RSANetworkOptions,
        "rsa:run_rsa_network",
        "92-image RSA: every layer of a trained network vs human and monkey IT, untrained control",
    ),
}
