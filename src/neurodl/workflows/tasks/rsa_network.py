"""The ``rsa_network`` task: every layer of a network vs human and monkey IT on the 92 images.

A thin runner over :func:`neurodl.analyses.rsa.training.train_shape_network` (a network trained
on a generated shape task, or the user's weights) and
:func:`neurodl.analyses.rsa.model_brain.compare_network_with_brain` (each layer's RDM against the
4 subjects' hIT RDMs and the monkey-IT RDM, beside an untrained control). It reads only the
``data`` and ``options`` sections.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from ...exceptions import ConfigError
from ..config import TaskOptions
from ..registry import RunContext, register_task
from ._rsa_common import (
    BOOTSTRAP,
    RSATaskResult,
    check_method,
    common_values,
    hash_arrays,
    kriegeskorte92_folder,
)

__all__ = ["RSANetworkOptions", "RSANetworkResult", "TrainOptions", "run_rsa_network"]


class TrainOptions(TaskOptions):
    """Training of the network on the generated shape task.

    Examples
    --------
    The ``options.train`` section (of ``rsa_network`` and ``perturbation_rsa``):

    >>> train = TrainOptions.model_validate({"epochs": 2, "classes": ["circle", "square"]})
    >>> train.epochs, train.classes, train.n_per_class, train.batch_size, train.lr
    (2, ['circle', 'square'], 300, 64, 0.003)

    A misspelt key names the closest allowed one:

    >>> from neurodl.workflows import parse_config
    >>> parse_config({"task": "rsa_network", "options": {"train": {"epoch": 2}},
    ...               "data": {"source": "dataset", "dataset": "kriegeskorte92"}})
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: Invalid config (mapping): unknown key 'options.train.epoch'. Did you mean 'epochs'? ...
    """

    n_per_class: int = Field(300, ge=1)
    """Generated training images per shape class."""
    n_test_per_class: int = Field(50, ge=1)
    """Generated held-out images per shape class (test accuracy)."""
    classes: list[str] | None = None
    """Shape names of the classes (neurodl.analyses.rsa.stimuli.SHAPES); None: all 8."""
    epochs: int = Field(15, ge=1)
    """Training epochs."""
    batch_size: int = Field(64, ge=1)
    """Images per mini-batch."""
    lr: float = Field(3e-3, gt=0.0)
    """Learning rate."""
    weight_decay: float = Field(1e-4, ge=0.0)
    """Weight decay (L2)."""
    stimulus_params: dict[str, Any] = Field(default_factory=dict)
    """Passed to :func:`neurodl.analyses.rsa.stimuli.make_shape_stimuli` (e.g. ``n_clutter``)."""


class RSANetworkOptions(TaskOptions):
    """Options of ``rsa_network``.

    Examples
    --------
    A small CNN on 32-pixel images, its layer activations reduced by PCA before the RDMs:

    >>> opts = RSANetworkOptions.model_validate(
    ...     {"image_size": 32, "reduction": "pca", "n_components": 50, "train": {"epochs": 5}}
    ... )
    >>> opts.architecture, opts.image_size, opts.reduction, opts.train.epochs, opts.control
    ('small_cnn', 32, 'pca', 5, True)
    >>> from pydantic import ValidationError
    >>> try:
    ...     RSANetworkOptions.model_validate({"reduction": "svd"})
    ... except ValidationError as err:
    ...     print(err.errors()[0]["msg"])
    Input should be 'pca' or 'srp'
    """

    architecture: str = "small_cnn"
    """A name from :data:`neurodl.models.vision.VISION_MODELS`, or ``torchvision:<arch>``."""
    architecture_params: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments of the architecture (e.g. widths; torchvision: its builder's arguments)."""
    image_size: int = Field(48, ge=8)
    """Network input size: the 92 images are resized to it; the training images are drawn at it."""
    weights: str | None = None
    """A state-dict file: use these weights instead of training."""
    layers: list[str] | None = None
    """Layer names (default: the model's ``layer_names``)."""
    train: TrainOptions = Field(default_factory=TrainOptions)
    control: bool = True
    """Also score an untrained copy of the network (same architecture, seeded) as a control."""
    input_mean: list[float] | None = None
    """Per-channel mean subtracted from the images after resizing (e.g. ImageNet's); None: none."""
    input_std: list[float] | None = None
    """Per-channel SD the images are divided by after the mean; None: none."""
    rdm_metric: str = "correlation"
    """Distance between a layer's activation patterns in its RDM (scipy pdist name, e.g.
    'correlation', 'euclidean')."""
    method_hit: str = "pearson"
    """RDM comparison with the human IT RDMs: 'pearson', 'spearman', 'kendall_tau_a', 'cosine',
    'whitened_cosine' or 'whitened_pearson'."""
    method_mit: str = "pearson"
    """RDM comparison with the monkey IT RDM (same choices as method_hit)."""
    bootstrap: BOOTSTRAP = "conditions"
    """Bootstrap of the CIs and the trained-vs-untrained test: over 'conditions' (images),
    'subjects', 'both', or None (no bootstrap); a single-RDM area (mIT) falls back to 'conditions'.
    """
    n_bootstrap: int = Field(1000, ge=1, le=1_000_000)
    """Bootstrap resamples."""
    ceiling_zscore: bool = True
    """Z-score the subjects' RDMs before averaging them in the noise ceiling."""
    confidence: float = Field(0.95, gt=0.0, lt=1.0)
    """Confidence level of the bootstrap intervals (e.g. 0.95)."""
    alpha: float = Field(0.05, gt=0.0, lt=1.0)
    """FDR level (q) of the report's trained-vs-untrained layer tests."""
    reduction: Literal["pca", "srp"] | None = None
    """Reduce each layer's activations before the RDM: 'pca' (incremental PCA) or 'srp' (sparse
    random projection); None: full activations."""
    n_components: int = Field(100, ge=1)
    """Output dimension of the reduction (PCA: at most the 92 images)."""
    cache_dir: str | None = None
    """Folder caching the layer activations (<key>.npz files); None: no cache."""

    @field_validator("method_hit", "method_mit")
    @classmethod
    def _methods(cls, value: str) -> str:
        return check_method(value)


class RSANetworkResult(RSATaskResult):
    """Result of ``rsa_network`` (``results.json``).

    ``areas`` maps ``hIT``/``mIT`` to the comparison settings, the noise ceiling and, per
    network (``trained``, ``untrained``), the per-layer scores and CIs, the best layer and the
    trained-vs-untrained bootstrap test. The top-level ``score_mean``/``score_ci`` are those of
    the trained network's best layer against hIT (``metric``: ``method_hit``); ``models`` is
    empty.

    Examples
    --------
    :func:`run_rsa_network` fills it from the 92-image data; here one made by hand from the
    smallest honest values (two layers of a trained network against hIT):

    >>> per_layer = {"conv1": {"score": 0.1, "ci": [0.0, 0.2]},
    ...              "fc": {"score": 0.25, "ci": [0.15, 0.35]}}
    >>> trained = {"scores": [0.1, 0.25], "per_layer": per_layer, "best_layer": "fc",
    ...            "best_score": 0.25}
    >>> res = RSANetworkResult.create(
    ...     dataset="kriegeskorte92", metric="pearson", score_mean=0.25, score_ci=[0.15, 0.35],
    ...     comparison_method={"hIT": "pearson"}, data_hash_method="sha256", conventions={},
    ...     category_order=["human body"], architecture="small_cnn", layers=["conv1", "fc"],
    ...     networks=["trained"], areas={"hIT": {"networks": {"trained": trained}}},
    ...     model_brain_settings={"rdm_metric": "correlation"},
    ... )
    >>> for line in res.summary_lines():
    ...     print(line)
    kriegeskorte92 | rsa_network | small_cnn (2 layers)
    hIT (pearson): trained best fc r = 0.250
    >>> RSANetworkResult.from_dict(res.to_dict()) == res  # as read from results.json
    True
    """

    task: Literal["rsa_network"] = "rsa_network"
    comparison_method: dict[str, str] = Field(description="Area -> RDM comparison method.")
    architecture: str
    weights: str | None = None
    layers: list[str]
    networks: list[str]
    areas: dict[str, dict[str, Any]]
    training: dict[str, Any] | None = None
    model_brain_settings: dict[str, Any]

    def _best(self, area: str, net: str) -> tuple[str | None, float | None]:
        nets = self.areas.get(area, {}).get("networks", {})
        if net not in nets:
            return None, None
        return nets[net].get("best_layer"), nets[net].get("best_score")

    def summary_lines(self) -> list[str]:
        """Dataset/architecture, then per area the best trained (and untrained) layer."""
        lines = [f"{self.dataset} | {self.task} | {self.architecture} ({len(self.layers)} layers)"]
        for area in self.areas:
            text = f"{area} ({self.comparison_method.get(area)}):"
            for net in self.networks:
                layer, score = self._best(area, net)
                if layer is not None and score is not None:
                    text += f" {net} best {layer} r = {score:.3f};"
            lines.append(text.rstrip(";"))
        if self.training is not None and self.training.get("test_accuracy") is not None:
            tr = self.training
            lines.append(
                f"shape task: held-out accuracy {tr['test_accuracy']:.3f} "
                f"(chance {tr['chance']:.3f}, {tr['n_train']} training images)"
            )
        return lines


def _build_network(opts: RSANetworkOptions, seed: int) -> Any:
    if opts.architecture.startswith("torchvision:"):
        from ...analyses.rsa.activations import load_torchvision_model

        return load_torchvision_model(
            opts.architecture.split(":", 1)[1], None, **opts.architecture_params
        )
    from ...models.vision import build_vision_model

    n_classes = len(opts.train.classes) if opts.train.classes else 8
    return build_vision_model(
        opts.architecture,
        in_channels=3,
        n_classes=n_classes,
        image_size=opts.image_size,
        seed=seed,
        **opts.architecture_params,
    )


def _train(opts: RSANetworkOptions, seed: int) -> tuple[Any, Any, Any]:
    """``(model, untrained control or None, TrainingResult or None)``."""
    if opts.weights is not None:
        return _build_network(opts, seed), None, None
    if opts.architecture.startswith("torchvision:"):
        raise ConfigError(
            "'options.weights' is required with a torchvision architecture (training on the "
            "shape task is only offered for the models in neurodl.models.vision)."
        )
    from ...analyses.rsa.training import train_shape_network

    t = opts.train
    return train_shape_network(
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
        seed=seed,
    )


@register_task(
    "rsa_network",
    options=RSANetworkOptions,
    result=RSANetworkResult,
    reads=("data", "options"),
    description="92-image RSA: every layer of a trained network vs human and monkey IT, "
    "untrained control",
)
def run_rsa_network(ctx: RunContext) -> RSANetworkResult:
    """Train (or load) a network, compare each layer with hIT and mIT beside an untrained control.

    Examples
    --------
    Runs through :func:`neurodl.workflows.run_config` (the registry finds it by ``task``) on
    the 92-image data set (``source: dataset``, ``dataset: kriegeskorte92``, or ``source:
    file`` with its folder); the files are checked before any network is trained:

    >>> import tempfile
    >>> from neurodl.workflows import parse_config, run_config
    >>> from neurodl.workflows.registry import get_task
    >>> spec = get_task("rsa_network")
    >>> spec.run is run_rsa_network, sorted(spec.reads)
    (True, ['data', 'options'])
    >>> with tempfile.TemporaryDirectory() as empty:
    ...     cfg = parse_config({"task": "rsa_network", "data": {"source": "file", "path": empty}})
    ...     try:
    ...         run_config(cfg)
    ...     except Exception as err:
    ...         print(type(err).__name__, str(err).split(": ", 1)[1])
    DatasetError ['92_brainRDMs.mat', '92_modelRDMs.mat', 'Kriegeskorte_Neuron2008_supplementalData.mat']
    """
    from ...analyses.rsa import read_kriegeskorte92
    from ...analyses.rsa.model_brain import compare_network_with_brain
    from ...analyses.rsa.training import as_image_batch
    from ...report.figures.rsa import CATEGORY_GROUPS

    cfg, opts = ctx.cfg, ctx.options
    folder, ds_name = kriegeskorte92_folder(cfg)
    k92 = read_kriegeskorte92(folder, images=True)
    images = as_image_batch(k92["images"], channels_last=True)
    brain = {"hIT": k92["hIT"].average_by("subject"), "mIT": k92["fig1"].subset(0)}
    brain["mIT"].names = ["mIT"]
    model, untrained, training = _train(opts, cfg.seed)
    pre: dict[str, Any] = {"size": (opts.image_size, opts.image_size)}
    if opts.input_mean is not None:
        pre["mean"] = opts.input_mean
    if opts.input_std is not None:
        pre["std"] = opts.input_std
    mb = compare_network_with_brain(
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
    data_hash = hash_arrays(
        brain["hIT"].dissimilarities, brain["mIT"].dissimilarities, k92["images"]
    )
    summary = mb.to_dict()
    values = common_values(cfg, data_hash, opts.method_hit)
    values["conventions"]["untrained_control"] = (
        "same architecture with the trained network's initial weights (same seed)"
        if untrained is not None
        else "same architecture, every submodule re-initialised with reset_parameters (seeded)"
    )
    values["conventions"]["mIT"] = (
        "single monkey-IT RDM (fig. 1, 674 neurons): no noise ceiling (NaN), condition bootstrap"
    )
    text = "; ".join(
        f"{area}: best trained layer {a['networks']['trained']['best_layer']} "
        f"r = {a['networks']['trained']['best_score']:.3f}"
        for area, a in summary["areas"].items()
    )
    if training is not None:
        text += f"; shape-task held-out accuracy {training.test_accuracy:.3f}"
    hit_best = summary["areas"]["hIT"]["networks"]["trained"]
    hit_ci = hit_best["per_layer"][hit_best["best_layer"]]["ci"] if hit_best["best_layer"] else None
    result = RSANetworkResult.create(
        **values,
        dataset=ds_name,
        score_mean=hit_best["best_score"],
        score_ci=hit_ci,
        n_splits=None,
        comparison_method={"hIT": opts.method_hit, "mIT": opts.method_mit},
        data_hash_method="sha256 of the hIT and mIT RDM arrays and the 92 images",
        architecture=opts.architecture,
        weights=opts.weights,
        layers=mb.layers,
        networks=mb.networks,
        areas=summary["areas"],
        training=summary["training"],
        model_brain_settings=summary["settings"],
        category_order=list(CATEGORY_GROUPS),
        summary=text,
    )
    if ctx.write_report:
        from ...analyses.rsa.stimuli import make_shape_stimuli
        from .rsa_network_report import write_network_report

        stim = None
        if training is not None:
            t = opts.train
            stim = make_shape_stimuli(
                2, classes=t.classes, image_size=opts.image_size, seed=cfg.seed, **t.stimulus_params
            )
        write_network_report(
            ctx.out_dir / "report.html",
            result=result,
            model_brain=mb,
            stimuli=stim,
            alpha=opts.alpha,
            config_text=ctx.config_text,
            title=cfg.report.title,
        )
    return result
