"""The ``perturbation_rsa`` task: which layer's damage lowers a CNN's similarity to human IT?

The network is built and trained exactly as in ``rsa_network`` (the shape task of
:func:`neurodl.analyses.rsa.training.train_shape_network`, or the user's ``weights``), once per
seed of ``seeds``. Its *readout* layer (``readout``; ``best``: the layer whose intact RDM is most
similar to human IT for that seed) gives the RDM of the 92 images, scored as in
``rsa_network``: the mean over the 4 subjects of the comparison (``method_hit``) between the
layer RDM and each subject's hIT RDM. Then each layer of ``layers`` in turn has a fraction of its
channels ablated with :mod:`neurodl.analyses.perturb` forward hooks (the model's code and
weights are untouched): ``n_random`` random channel sets per fraction and, with ``selectivity``
targeting, the channels most selective for the shape classes on held-out *shape* images (never
the 92 images). A layer after the readout cannot change it (its rows equal the intact score).

Curves average the seeds (Student-t interval over seeds when there are 2 or more); every random
row also gives the percentile interval of its draws pooled over seeds (``spread_low/high``).
The trained network's ``state_dict`` is checked bit-identical after each study.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from ..._logging import logger
from ...exceptions import ConfigError
from .._progress import progress_steps
from ..config import TaskOptions
from ..registry import RunContext, register_task
from ..results import ResultPart
from ._perturbation_common import (
    CurvePoint,
    check_fractions,
    check_layers,
    curve_point,
    interval,
    unchanged_model,
)
from ._rsa_common import RSATaskResult, check_method, common_values, hash_arrays
from .rsa_network import TrainOptions

__all__ = ["RSALesionOptions", "RSALesionResult", "run_perturbation_rsa"]


class RSALesionOptions(TaskOptions):
    """Options of ``perturbation_rsa`` (network keys as in ``rsa_network``).

    Examples
    --------
    A tiny CNN trained for one epoch; random lesions (the matched control) must be kept:

    >>> opts = RSALesionOptions.model_validate({
    ...     "architecture_params": {"channels": [4, 8]}, "image_size": 16,
    ...     "train": {"n_per_class": 6, "epochs": 1}, "targeting": ["random", "selectivity"],
    ... })
    >>> opts.architecture, opts.readout, opts.fractions, opts.train.epochs, opts.method_hit
    ('small_cnn', 'best', [0.25, 0.5, 0.75], 1, 'pearson')
    >>> from pydantic import ValidationError
    >>> try:
    ...     RSALesionOptions.model_validate({"targeting": "selectivity"})
    ... except ValidationError as err:
    ...     print(err.errors()[0]["msg"])
    Value error, targeting must include 'random' (the matched control)
    """

    architecture: str = "small_cnn"
    """A name from neurodl.models.vision.VISION_MODELS, or 'torchvision:<arch>' (as in rsa_network).
    """
    architecture_params: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments of the architecture."""
    image_size: int = Field(48, ge=8)
    """Network input size: the 92 images are resized to it; the training images are drawn at it."""
    weights: str | None = None
    """A state-dict file: use these weights instead of training (the same for every seed)."""
    train: TrainOptions = Field(default_factory=TrainOptions)
    input_mean: list[float] | None = None
    """Per-channel mean subtracted from the images after resizing; None: none."""
    input_std: list[float] | None = None
    """Per-channel SD the images are divided by after the mean; None: none."""
    layers: list[str] | None = None
    """Layers lesioned in turn (default: the model's ``layer_names`` without the last)."""
    readout: str = "best"
    """Layer whose RDM is compared with hIT; ``best``: the intact network's best hIT layer."""
    readout_candidates: list[str] | None = None
    """Layers ``best`` chooses from (default: the model's ``layer_names``)."""
    mode: Literal["zero", "mean"] = "zero"
    """How ablated channels are silenced: 'zero' or 'mean' (their mean activation over the 92
    images)."""
    fractions: list[float] = Field(default_factory=lambda: [0.25, 0.5, 0.75])
    """Fractions of each layer's channels ablated, in (0, 1] (sorted)."""
    targeting: list[Literal["random", "selectivity"]] = Field(default_factory=lambda: ["random"])
    """Channel choices: 'random' (always, the matched control) and optionally 'selectivity' (the
    channels most selective for the shape classes on held-out shape images). A single string is
    accepted."""
    n_random: int = Field(10, ge=1, le=10_000)
    """Random channel sets per layer and fraction (per seed)."""
    seeds: list[int] | None = None
    """Network seeds (distinct); each trains a network and repeats the study; None: the run's seed.
    """
    rdm_metric: str = "correlation"
    """Distance between activation patterns in the readout RDM (scipy pdist name, e.g.
    'correlation')."""
    method_hit: str = "pearson"
    """RDM comparison with the human IT RDMs: 'pearson', 'spearman', 'kendall_tau_a', 'cosine',
    'whitened_cosine' or 'whitened_pearson'."""
    confidence: float = Field(0.95, gt=0.0, lt=1.0)
    """Confidence level of the intervals over seeds and of the random-draw spread (e.g. 0.95)."""

    @field_validator("method_hit")
    @classmethod
    def _method(cls, value: str) -> str:
        return check_method(value)

    @field_validator("fractions")
    @classmethod
    def _fractions(cls, value: list[float]) -> list[float]:
        return check_fractions(value)

    @field_validator("targeting", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> RSALesionOptions:
        if "random" not in self.targeting:
            raise ValueError("targeting must include 'random' (the matched control)")
        if self.seeds is not None and (not self.seeds or len(set(self.seeds)) != len(self.seeds)):
            raise ValueError(f"seeds must be distinct and non-empty; got {self.seeds}")
        if self.weights is not None and self.seeds is not None and len(self.seeds) > 1:
            raise ValueError("with 'weights' there is one network: give at most one seed")
        return self


class SeedRow(ResultPart):
    """One trained network."""

    seed: int
    readout: str
    intact: float | None = Field(description="Readout RDM vs hIT, mean over subjects.")
    per_layer: dict[str, float | None] = Field(description="Every candidate layer's intact score.")
    shape_accuracy: float | None = None
    state_dict_hash: str


class LayerDamage(ResultPart):
    """How much random lesions of one layer lower the readout's similarity to hIT."""

    layer: str
    fraction: float
    drop: float | None = Field(description="Intact minus lesioned score, mean over seeds.")
    drop_ci: list[float | None] = Field(description="Student-t over seeds (null with one seed).")
    draw_interval: list[float | None] = Field(
        description="Percentile interval of the drop over all random draws (pooled over seeds)."
    )
    rank: int = Field(description="1 = the largest drop at this fraction.")


class RSALesionResult(RSATaskResult):
    """Result of ``perturbation_rsa`` (``results.json``).

    ``score_mean``/``score_ci`` are the intact readout's similarity to hIT over seeds.

    Examples
    --------
    The fields this task adds to every result's (:func:`run_perturbation_rsa` fills them):

    >>> from neurodl.workflows.results import TaskResult
    >>> [k for k in RSALesionResult.model_fields if k not in TaskResult.model_fields][4:12]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['architecture', 'weights', 'readout', 'layers', 'mode', 'seeds', 'n_random', 'ci_method']
    >>> sorted(LayerDamage.model_fields)  # one row of 'damage' per layer and fraction
    ['draw_interval', 'drop', 'drop_ci', 'fraction', 'layer', 'rank']
    """

    task: Literal["perturbation_rsa"] = "perturbation_rsa"
    architecture: str
    weights: str | None = None
    readout: str
    layers: list[str]
    mode: str
    seeds: list[int]
    n_random: int
    ci_method: str
    per_seed: list[SeedRow]
    curve: list[CurvePoint]
    damage: list[LayerDamage]
    most_damaging: str | None = Field(description="Largest mean drop at the largest fraction.")
    state_dict_unchanged: bool
    timing: dict[str, float]

    def summary_lines(self) -> list[str]:
        """Intact score, then the layers ranked by damage at the largest fraction."""
        lines = super().summary_lines()
        top = max(r.fraction for r in self.damage) if self.damage else None
        ranked = sorted((r for r in self.damage if r.fraction == top), key=lambda r: r.rank)
        for r in ranked:
            ci = r.drop_ci if r.drop_ci[0] is not None else r.draw_interval
            lines.append(
                f"{r.layer} {r.fraction:.0%} lesioned: drop {r.drop:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"
            )
        lines.append(f"state_dict unchanged by the study: {self.state_dict_unchanged}")
        return lines


def _network_options(opts: RSALesionOptions) -> Any:
    from .rsa_network import RSANetworkOptions

    return RSANetworkOptions(
        architecture=opts.architecture,
        architecture_params=opts.architecture_params,
        image_size=opts.image_size,
        weights=opts.weights,
        train=opts.train,
    )


def _trained(opts: RSALesionOptions, seed: int, config_dir: Any) -> tuple[Any, Any]:
    """``(model in eval mode, TrainingResult or None)``, as ``rsa_network`` builds it."""
    from pathlib import Path

    from .rsa_network import _train

    model, _, training = _train(_network_options(opts), seed)
    if opts.weights is not None:
        from ...analyses.rsa.activations import load_weights

        path = Path(opts.weights).expanduser()
        if not path.is_absolute() and config_dir is not None:
            path = Path(config_dir) / path
        model = load_weights(model, path)
    return model.eval(), training


class _Scorer:
    """``scorer(model, layer) -> float``: that layer's RDM of the 92 images vs each hIT subject's
    RDM (``method_hit``), averaged over subjects, as ``rsa_network`` scores a layer."""

    def __init__(self, images: np.ndarray, hit: Any, pre: dict[str, Any], opts: RSALesionOptions):
        self.images, self.hit, self.pre, self.opts = images, hit, pre, opts

    def __call__(self, model: Any, layer: str) -> float:
        from ...analyses.rsa import compare_rdms
        from ...analyses.rsa.model_brain import layer_rdms

        rdm = layer_rdms(
            model, self.images, [layer], preprocessing=self.pre, metric=self.opts.rdm_metric
        )
        return float(np.mean(compare_rdms(rdm, self.hit, method=self.opts.method_hit)))

    def activations(self, model: Any, layers: list[str], n: int | None = None) -> dict[str, Any]:
        """The layers' outputs for the (first ``n``) 92 images, preprocessed as for the RDMs."""
        import torch

        from ...analyses.perturb import record_activations
        from ...analyses.rsa.activations import _preprocess

        x = _preprocess(torch.as_tensor(self.images[:n], dtype=torch.float32), self.pre)
        return record_activations(model, layers, x)


def _selectivity_orders(
    opts: RSALesionOptions, model: Any, layers: list[str], seed: int
) -> dict[str, list[int]]:
    """Channels of each layer by shape-class selectivity on held-out shape images."""
    import torch

    from ...analyses.perturb import record_activations, unit_selectivity
    from ...analyses.rsa.stimuli import make_shape_stimuli

    t = opts.train
    stim = make_shape_stimuli(
        t.n_test_per_class,
        classes=t.classes,
        image_size=opts.image_size,
        seed=seed + 1,
        **t.stimulus_params,
    )
    acts = record_activations(model, layers, torch.as_tensor(stim.X, dtype=torch.float32))
    return {
        layer: [int(u) for u in np.argsort(-unit_selectivity(acts[layer], stim.y), kind="stable")]
        for layer in layers
    }


def _seed_study(
    opts: RSALesionOptions, model: Any, score: _Scorer, layers: list[str], seed: int
) -> dict[str, Any]:
    """Intact per-layer scores, the readout, and the lesion scores per layer/fraction/strategy."""
    from ...analyses.perturb import Ablate, lesion_sizes, perturbed

    candidates = opts.readout_candidates or list(getattr(model, "layer_names", layers))
    per_layer = {layer: score(model, layer) for layer in candidates}
    readout = max(per_layer, key=per_layer.get) if opts.readout == "best" else opts.readout
    intact = per_layer[readout] if readout in per_layer else score(model, readout)
    orders = (
        _selectivity_orders(opts, model, layers, seed) if "selectivity" in opts.targeting else {}
    )
    # mean ablation: each channel's mean over the 92 images (the data the readout sees)
    refs = score.activations(model, layers) if opts.mode == "mean" else {}
    n_units = {layer: int(o.shape[1]) for layer, o in score.activations(model, layers, 2).items()}
    rng = np.random.default_rng(seed)
    rows: dict[tuple[str, float, str], list[float]] = {}
    for layer in layers:
        ref = refs.get(layer)
        for fraction, k in zip(opts.fractions, lesion_sizes(n_units[layer], opts.fractions)):
            k = max(k, 1)
            sets = {
                "random": [
                    rng.choice(n_units[layer], k, replace=False) for _ in range(opts.n_random)
                ]
            }
            if orders:
                sets["selectivity"] = [np.asarray(orders[layer][:k])]
            for strategy, unit_sets in sets.items():
                values = []
                for units in unit_sets:
                    spec = Ablate(layer, [int(u) for u in units], opts.mode, reference=ref)
                    with perturbed(model, spec):
                        values.append(score(model, readout))
                rows[(layer, fraction, strategy)] = values
    return {
        "readout": readout,
        "intact": intact,
        "per_layer": per_layer,
        "n_units": n_units,
        "scores": rows,
    }


def _aggregate(
    opts: RSALesionOptions, studies: list[dict[str, Any]], layers: list[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Curve rows (mean over seeds, paired vs random) and the layer damage ranking."""
    ci = opts.confidence
    intact = [s["intact"] for s in studies]
    curve, damage = [], []
    for fraction in opts.fractions:
        drops = []
        for layer in layers:
            random = [float(np.mean(s["scores"][(layer, fraction, "random")])) for s in studies]
            size = round(
                float(np.mean([max(1, round(fraction * s["n_units"][layer])) for s in studies]))
            )
            for strategy in opts.targeting:
                values = [float(np.mean(s["scores"][(layer, fraction, strategy)])) for s in studies]
                row = curve_point(
                    strategy,
                    layer,
                    values,
                    ci,
                    baseline=intact,
                    fraction=fraction,
                    size=size,
                    random=None if strategy == "random" else random,
                )
                if strategy == "random":
                    pooled = np.concatenate(
                        [
                            s["intact"] - np.asarray(s["scores"][(layer, fraction, "random")])
                            for s in studies
                        ]
                    )
                    low, high = np.quantile(pooled, [(1 - ci) / 2, (1 + ci) / 2])
                    row["spread_low"], row["spread_high"] = float(low), float(high)
                    per_seed = np.asarray(intact) - np.asarray(values)
                    d_mean, d_low, d_high = interval(per_seed, ci)
                    drops.append(
                        {
                            "layer": layer,
                            "fraction": fraction,
                            "drop": d_mean,
                            "drop_ci": [d_low, d_high],
                            "draw_interval": [float(low), float(high)],
                        }
                    )
                curve.append(row)
        for rank, d in enumerate(sorted(drops, key=lambda d: -d["drop"]), start=1):
            damage.append({**d, "rank": rank})
    return curve, damage


@register_task(
    "perturbation_rsa",
    options=RSALesionOptions,
    result=RSALesionResult,
    reads=("data", "options"),
    description="92-image RSA: lesion each layer's channels of a trained CNN; similarity of its "
    "readout to human IT vs fraction lesioned",
)
def run_perturbation_rsa(ctx: RunContext) -> RSALesionResult:
    """Train per seed, lesion every layer, rank the layers; write ``report.html`` (if asked).

    Examples
    --------
    Runs through :func:`neurodl.workflows.run_config` (the registry finds it by ``task``) on
    the 92-image data set (``source: dataset``, ``dataset: kriegeskorte92``, or ``source:
    file`` with its folder); the files are checked before any network is trained:

    >>> import tempfile
    >>> from neurodl.workflows import parse_config, run_config
    >>> from neurodl.workflows.registry import get_task
    >>> spec = get_task("perturbation_rsa")
    >>> spec.run is run_perturbation_rsa, sorted(spec.reads)
    (True, ['data', 'options'])
    >>> with tempfile.TemporaryDirectory() as empty:
    ...     cfg = parse_config({"task": "perturbation_rsa",
    ...                         "data": {"source": "file", "path": empty}})
    ...     try:
    ...         run_config(cfg)
    ...     except Exception as err:
    ...         print(type(err).__name__, str(err).split(": ", 1)[1])
    DatasetError ['92_brainRDMs.mat', '92_modelRDMs.mat', 'Kriegeskorte_Neuron2008_supplementalData.mat']
    """
    import time

    from ...analyses.rsa import read_kriegeskorte92
    from ...analyses.rsa.training import as_image_batch
    from ...report.figures.rsa import CATEGORY_GROUPS
    from ._rsa_common import kriegeskorte92_folder

    cfg, opts = ctx.cfg, ctx.options
    folder, ds_name = kriegeskorte92_folder(cfg)
    k92 = read_kriegeskorte92(folder, images=True)
    images = as_image_batch(k92["images"], channels_last=True)
    hit = k92["hIT"].average_by("subject")
    pre: dict[str, Any] = {"size": (opts.image_size, opts.image_size)}
    if opts.input_mean is not None:
        pre["mean"] = opts.input_mean
    if opts.input_std is not None:
        pre["std"] = opts.input_std
    score = _Scorer(images, hit, pre, opts)
    seeds = opts.seeds or [cfg.seed]
    studies, per_seed = [], []
    t0 = time.perf_counter()
    train_s = 0.0
    layers: list[str] = []
    for seed in progress_steps("perturbation_rsa", seeds, unit="seed"):
        t1 = time.perf_counter()
        model, training = _trained(opts, seed, getattr(cfg, "_config_dir", None))
        train_s += time.perf_counter() - t1
        names = list(getattr(model, "layer_names", []))
        layers = list(opts.layers) if opts.layers is not None else names[:-1]
        if not layers:
            raise ConfigError(
                "Invalid value for 'options.layers': the model has no layer_names; name the "
                "layers to lesion."
            )
        check_layers(model, layers, "options.layers")
        if opts.readout != "best":
            check_layers(model, [opts.readout], "options.readout")
        check_layers(
            model, opts.readout_candidates or names or layers, "options.readout_candidates"
        )
        with unchanged_model(model) as digest:
            study = _seed_study(opts, model, score, layers, seed)
        logger.info(
            "perturbation_rsa: seed %d readout %s intact %.3f",
            seed,
            study["readout"],
            study["intact"],
        )
        studies.append(study)
        per_seed.append(
            {
                "seed": seed,
                "readout": study["readout"],
                "intact": study["intact"],
                "per_layer": study["per_layer"],
                "state_dict_hash": digest,
                "shape_accuracy": None if training is None else training.test_accuracy,
            }
        )
    curve, damage = _aggregate(opts, studies, layers)
    top = max(opts.fractions)
    ranked = [d for d in damage if d["fraction"] == top and d["rank"] == 1]
    mean, low, high = interval([s["intact"] for s in studies], opts.confidence)
    readouts = sorted({s["readout"] for s in studies})
    data_hash = hash_arrays(hit.dissimilarities, k92["images"])
    values = common_values(cfg, data_hash, opts.method_hit)
    result = RSALesionResult.create(
        **values,
        dataset=ds_name,
        score_mean=mean,
        score_ci=[low, high],
        data_hash_method="sha256 of the hIT RDM array and the 92 images",
        category_order=list(CATEGORY_GROUPS),
        architecture=opts.architecture,
        weights=opts.weights,
        readout=opts.readout if opts.readout != "best" else "best (" + ", ".join(readouts) + ")",
        layers=layers,
        mode=opts.mode,
        seeds=seeds,
        n_random=opts.n_random,
        ci_method="Student-t over seeds (null with one seed); random rows also give the "
        "percentile interval of their draws pooled over seeds",
        per_seed=per_seed,
        curve=curve,
        damage=damage,
        most_damaging=ranked[0]["layer"] if ranked else None,
        state_dict_unchanged=True,
        timing={"training_s": train_s, "total_s": time.perf_counter() - t0},
    )
    if ctx.write_report:
        from .perturbation_report import write_rsa_lesion_report

        write_rsa_lesion_report(ctx, result)
    return result
