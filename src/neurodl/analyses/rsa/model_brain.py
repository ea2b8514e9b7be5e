"""Compare the layers of a network with brain RDMs, beside an untrained-network control.

Flow: (optionally) train a network on an offline task (:func:`train_shape_network`, using the
generated stimuli of :mod:`neurodl.analyses.rsa.stimuli`) -> extract every layer's activations
for the brain stimuli (:func:`~neurodl.analyses.rsa.activations.extract_activations`) -> one RDM
per layer (:func:`layer_rdms`) -> :func:`~neurodl.analyses.rsa.inference.evaluate_models` for each
brain area, with noise ceilings and bootstrap CIs (:func:`compare_network_with_brain`).

Conventions
-----------
- The untrained control has the same architecture with freshly initialised weights. For
  :func:`train_shape_network` it is the trained network's own initial state (same seed); for a
  user's model, :func:`untrained_copy` re-runs every submodule's ``reset_parameters`` under a seed.
- All layers of all networks are evaluated in one :func:`evaluate_models` call per area, so the
  bootstrap resamples are shared and trained-vs-untrained differences per layer are tested on
  the same resamples (two-sided bootstrap p, Benjamini-Hochberg FDR over layers).
- Training uses a plain PyTorch loop (AdamW, cross-entropy). ``neurodl.estimators`` has no
  neural estimator that takes images, and a 20-line loop keeps the training visible and fast.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurodl._logging import logger
from neurodl.exceptions import ConfigError, DataFormatError

from .inference import RSAResult, evaluate_models, fdr_bh
from .rdm import RDMs, compute_rdm

__all__ = [
    "ModelBrainResult",
    "TrainingResult",
    "as_image_batch",
    "compare_network_with_brain",
    "layer_rdms",
    "train_network",
    "train_shape_network",
    "untrained_copy",
]


# --------------------------------------------------------------------------- images


def as_image_batch(images: Any, *, channels_last: bool | None = None) -> np.ndarray:
    """Return images as float32 of shape (n, channels, height, width), values in [0, 1].

    Parameters
    ----------
    images : ndarray of shape (n, C, H, W) or (n, H, W, C)
        uint8 images (divided by 255) or floats (kept as they are).
    channels_last : bool or None, default=None
        Whether the channel axis is last. ``None`` guesses: last axis of size 1, 3 or 4 while
        axis 1 is not.

    Returns
    -------
    ndarray of shape (n, C, H, W)
    """
    arr = np.asarray(images)
    if arr.ndim != 4 or min(arr.shape) < 1:
        raise DataFormatError(
            f"'images' must have shape (n_images, channels, height, width) or (n_images, height, "
            f"width, channels); got shape {arr.shape}."
        )
    if channels_last is None:
        channels_last = arr.shape[-1] in (1, 3, 4) and arr.shape[1] not in (1, 3, 4)
    if channels_last:
        arr = arr.transpose(0, 3, 1, 2)
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if not np.issubdtype(arr.dtype, np.number):
        raise DataFormatError(f"'images' must be numeric; got dtype {arr.dtype}.")
    out = arr.astype(np.float32)
    if not np.all(np.isfinite(out)):
        raise DataFormatError("'images' contains NaN or infinite values.")
    return out


# --------------------------------------------------------------------------- training


@dataclasses.dataclass
class TrainingResult:
    """What :func:`train_network` did.

    Attributes
    ----------
    losses : list of float
        Mean training loss per epoch.
    train_accuracy : float
        Accuracy on the training images after training (eval mode).
    test_accuracy : float or None
        Accuracy on held-out images (``X_test``), if given.
    chance : float
        1 / n_classes.
    n_train, n_test : int
    settings : dict
    """

    losses: list[float]
    train_accuracy: float
    test_accuracy: float | None
    chance: float
    n_train: int
    n_test: int
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return dataclasses.asdict(self)


def _accuracy(model: Any, X: np.ndarray, y: np.ndarray, batch_size: int) -> float:
    import torch

    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            xb = torch.as_tensor(X[start : start + batch_size], dtype=torch.float32)
            pred = model(xb).argmax(1).numpy()
            correct += int((pred == y[start : start + batch_size]).sum())
    return correct / len(X)


def train_network(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> TrainingResult:
    """Train a classifier in place with AdamW and cross-entropy (a plain PyTorch loop).

    Parameters
    ----------
    model : torch.nn.Module
        Maps a float tensor of shape (batch, *X.shape[1:]) to logits (batch, n_classes).
    X : ndarray of shape (n_images, channels, height, width)
    y : ndarray of shape (n_images,)
        Integer class labels in ``[0, n_classes)``.
    X_test, y_test : ndarray, optional
        Held-out images and labels for :attr:`TrainingResult.test_accuracy`.
    epochs : int, default=10
    batch_size : int, default=64
    lr : float, default=3e-3
        Peak learning rate (one-cycle cosine schedule).
    weight_decay : float, default=1e-4
    seed : int, default=0
        Seeds the batch order and dropout; the caller's global torch RNG state is left untouched.

    Returns
    -------
    TrainingResult
    """
    import torch
    from torch import nn

    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    if len(X) != len(y) or len(X) == 0:
        raise DataFormatError(
            f"'X' and 'y' must hold the same number (>= 1) of samples; got {len(X)} and {len(y)}."
        )
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise DataFormatError(
            f"'y' must hold non-negative integer class labels; got dtype {y.dtype}."
        )
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"'{name}' must be an integer >= 1; got {value!r}.")
    if (X_test is None) != (y_test is None):
        raise ConfigError("'X_test' and 'y_test' must be given together.")
    n_classes = int(y.max()) + 1
    losses: list[float] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        Xt, yt = torch.as_tensor(X), torch.as_tensor(y, dtype=torch.long)
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        steps_per_epoch = -(-len(X) // batch_size)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.2
        )
        loss_fn = nn.CrossEntropyLoss()
        for epoch in range(epochs):
            model.train()
            order = torch.randperm(len(X), generator=gen)
            total = 0.0
            for start in range(0, len(X), batch_size):
                idx = order[start : start + batch_size]
                opt.zero_grad()
                loss = loss_fn(model(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(idx)
            losses.append(total / len(X))
            logger.info("train_network: epoch %d/%d loss %.4f", epoch + 1, epochs, losses[-1])
    model.eval()
    test_acc = None
    if X_test is not None and y_test is not None:
        test_acc = _accuracy(model, np.asarray(X_test, np.float32), np.asarray(y_test), batch_size)
    return TrainingResult(
        losses=losses,
        train_accuracy=_accuracy(model, X, y, batch_size),
        test_accuracy=test_acc,
        chance=1.0 / n_classes,
        n_train=len(X),
        n_test=0 if X_test is None else len(X_test),
        settings={
            "optimizer": "AdamW",
            "schedule": "one-cycle cosine",
            "epochs": epochs,
            "batch_size": batch_size,
            "lr": lr,
            "weight_decay": weight_decay,
            "seed": seed,
        },
    )


def train_shape_network(
    *,
    architecture: str = "small_cnn",
    architecture_params: Mapping[str, Any] | None = None,
    n_per_class: int = 200,
    n_test_per_class: int = 50,
    classes: Sequence[str] | None = None,
    image_size: int = 64,
    stimulus_params: Mapping[str, Any] | None = None,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> tuple[Any, Any, TrainingResult]:
    """Train an image network on the generated shape task; also return its untrained twin.

    Training and held-out stimuli come from :func:`~neurodl.analyses.rsa.stimuli.make_shape_stimuli`
    with seeds ``seed`` and ``seed + 1`` (disjoint draws).

    Returns
    -------
    trained : torch.nn.Module
        In eval mode.
    untrained : torch.nn.Module
        The same architecture with the trained network's initial weights (same seed).
    training : TrainingResult
        Includes the held-out accuracy (``test_accuracy``) and the stimulus settings.
    """
    from neurodl.models.vision import build_vision_model

    from .stimuli import make_shape_stimuli

    sp = dict(stimulus_params or {})
    train = make_shape_stimuli(n_per_class, classes=classes, image_size=image_size, seed=seed, **sp)
    test = make_shape_stimuli(
        n_test_per_class, classes=classes, image_size=image_size, seed=seed + 1, **sp
    )
    model = build_vision_model(
        architecture,
        in_channels=3,
        n_classes=len(train.classes),
        image_size=image_size,
        seed=seed,
        **dict(architecture_params or {}),
    )
    untrained = copy.deepcopy(model).eval()
    result = train_network(
        model,
        train.X,
        train.y,
        X_test=test.X,
        y_test=test.y,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        seed=seed,
    )
    result.settings.update(
        {
            "task": "shape recognition (neurodl.analyses.rsa.stimuli.make_shape_stimuli)",
            "classes": train.classes,
            "n_per_class": n_per_class,
            "n_test_per_class": n_test_per_class,
            "image_size": image_size,
            "stimulus_params": sp,
            "architecture": architecture,
            "architecture_params": dict(architecture_params or {}),
        }
    )
    return model, untrained, result


def untrained_copy(model: Any, *, seed: int = 0) -> Any:
    """A deep copy of ``model`` with every submodule's parameters re-initialised under ``seed``.

    Uses each submodule's own ``reset_parameters`` (the initialisation torch layers use at
    construction); buffers such as batch-norm running statistics are reset too.
    """
    import torch

    clone = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in clone.modules():
            for method in ("reset_running_stats", "reset_parameters"):
                if callable(getattr(module, method, None)):
                    getattr(module, method)()
    return clone.eval()


# --------------------------------------------------------------------------- RDMs per layer


def layer_rdms(
    model: Any,
    images: np.ndarray,
    layers: Sequence[str],
    *,
    preprocessing: Mapping[str, Any] | None = None,
    metric: str = "correlation",
    batch_size: int = 32,
    reduction: str | None = None,
    n_components: int = 100,
    cache_dir: str | Path | None = None,
    condition_descriptors: Mapping[str, Any] | None = None,
    prefix: str = "",
    seed: int = 0,
) -> RDMs:
    """One RDM per layer of ``model`` for a stimulus set.

    Parameters
    ----------
    model : torch.nn.Module
    images : ndarray of shape (n_images, channels, height, width)
    layers : sequence of str
        Module names (unknown names raise, listing the available ones).
    preprocessing, batch_size, reduction, n_components, cache_dir, seed
        Passed to :func:`~neurodl.analyses.rsa.activations.extract_activations`.
    metric : str, default='correlation'
        Distance (see :func:`~neurodl.analyses.rsa.rdm.compute_rdm`).
    condition_descriptors : dict, optional
        Attached to the RDMs.
    prefix : str, default=''
        Prepended to each RDM name (e.g. ``"trained:"``).

    Returns
    -------
    RDMs
        ``len(layers)`` RDMs over ``n_images`` conditions, named ``prefix + layer``.
    """
    from .activations import extract_activations

    acts = extract_activations(
        model,
        images,
        layers,
        batch_size=batch_size,
        preprocessing=preprocessing,
        reduction=reduction,
        n_components=n_components,
        cache_dir=cache_dir,
        seed=seed,
    )
    vecs = []
    for name in layers:
        vec = compute_rdm(acts[name], metric=metric).dissimilarities[0]
        if not np.all(np.isfinite(vec)):
            raise DataFormatError(
                f"layer {name!r} gives an undefined {metric!r} RDM (an image with a constant "
                "activation pattern). Choose another layer or metric='euclidean'."
            )
        vecs.append(vec)
    return RDMs(
        np.stack(vecs),
        names=[f"{prefix}{name}" for name in layers],
        descriptors={"layer": np.asarray(list(layers))},
        condition_descriptors=dict(condition_descriptors or {}),
        metric=metric,
    )


# --------------------------------------------------------------------------- comparison


@dataclasses.dataclass
class ModelBrainResult:
    """Per-layer comparison of one or more networks with brain areas.

    Attributes
    ----------
    layers : list of str
    networks : list of str
        E.g. ``["trained", "untrained"]``.
    areas : list of str
        Brain areas (keys of ``brain`` in :func:`compare_network_with_brain`).
    results : dict of str to RSAResult
        Per area; models named ``"<network>:<layer>"``, network-major order.
    rdms : dict of str to RDMs
        Per network, one RDM per layer.
    control_tests : dict of str to dict
        Per area (when an untrained control ran): per-layer ``diff`` (trained - untrained score),
        two-sided bootstrap ``p`` and FDR-corrected ``p_fdr`` over layers.
    training : TrainingResult or None
    settings : dict
    """

    layers: list[str]
    networks: list[str]
    areas: list[str]
    results: dict[str, RSAResult]
    rdms: dict[str, RDMs]
    control_tests: dict[str, dict[str, np.ndarray]] = dataclasses.field(default_factory=dict)
    training: TrainingResult | None = None
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)

    def _index(self, network: str) -> np.ndarray:
        if network not in self.networks:
            raise ConfigError(
                f"Invalid value for 'network'. Allowed: {self.networks}; got {network!r}."
            )
        k = self.networks.index(network)
        return np.arange(k * len(self.layers), (k + 1) * len(self.layers))

    def _area(self, area: str) -> RSAResult:
        if area not in self.results:
            raise ConfigError(f"Invalid value for 'area'. Allowed: {self.areas}; got {area!r}.")
        return self.results[area]

    def scores(self, area: str, network: str) -> np.ndarray:
        """Per-layer scores, shape (n_layers,)."""
        return self._area(area).scores[self._index(network)]

    def ci(self, area: str, network: str) -> np.ndarray | None:
        """Per-layer bootstrap CIs, shape (n_layers, 2), or None without a bootstrap."""
        res = self._area(area)
        return None if res.ci is None else res.ci[self._index(network)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary: per area, per network, per layer score and CI."""
        from neurodl.evaluation._json import to_jsonable

        areas = {}
        for area in self.areas:
            res = self.results[area]
            nets = {}
            for net in self.networks:
                sc, ci = self.scores(area, net), self.ci(area, net)
                best = int(np.nanargmax(sc)) if np.any(np.isfinite(sc)) else None
                nets[net] = {
                    "scores": sc,
                    "ci": ci,
                    "per_layer": {
                        layer: {"score": sc[i], "ci": None if ci is None else ci[i]}
                        for i, layer in enumerate(self.layers)
                    },
                    "best_layer": None if best is None else self.layers[best],
                    "best_score": None if best is None else sc[best],
                }
            areas[area] = {
                "method": res.method,
                "n_subjects": res.settings.get("n_subjects"),
                "noise_ceiling": res.noise_ceiling.to_dict(),
                "ceiling_ci": res.ceiling_ci,
                "bootstrap": res.bootstrap,
                "networks": nets,
                "trained_vs_untrained": self.control_tests.get(area),
                "convention": res.to_dict()["convention"],
            }
        return to_jsonable(
            {
                "layers": self.layers,
                "networks": self.networks,
                "areas": areas,
                "training": None if self.training is None else self.training.to_dict(),
                "settings": self.settings,
            }
        )


def _bootstrap_diff_test(boot: np.ndarray, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """Two-sided bootstrap p of score[a] - score[b], per pair of columns, with BH FDR."""
    d = boot[:, a] - boot[:, b]
    ok = np.isfinite(d)
    n_ok = ok.sum(0)
    le, ge = ((d <= 0) & ok).sum(0), ((d >= 0) & ok).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.minimum(1.0, 2 * (np.minimum(le, ge) + 1) / (n_ok + 1))
    return {"p": p, "p_fdr": fdr_bh(p)}


def compare_network_with_brain(
    model: Any,
    images: Any,
    brain: Mapping[str, RDMs],
    *,
    layers: Sequence[str] | None = None,
    weights: str | Path | None = None,
    control: bool = True,
    untrained: Any = None,
    preprocessing: Mapping[str, Any] | None = None,
    rdm_metric: str = "correlation",
    method: str | Mapping[str, str] = "pearson",
    bootstrap: str | None = "conditions",
    n_bootstrap: int = 1000,
    ceiling_zscore: bool = True,
    confidence: float = 0.95,
    reduction: str | None = None,
    n_components: int = 100,
    batch_size: int = 32,
    cache_dir: str | Path | None = None,
    training: TrainingResult | None = None,
    seed: int = 0,
) -> ModelBrainResult:
    """Compare every layer of a network (and an untrained control) with brain RDMs.

    Parameters
    ----------
    model : torch.nn.Module
        Any network (a user's own included); with ``weights`` its state dict is loaded safely
        (``torch.load(weights_only=True)``).
    images : ndarray of shape (n_images, C, H, W) or (n_images, H, W, C)
        The stimuli the brain RDMs were measured on (uint8 is scaled to [0, 1]); resize them to
        the network input with ``preprocessing={"size": (h, w)}``.
    brain : mapping of str to RDMs
        Per area, one RDM per subject (e.g. 4 session-averaged hIT RDMs) or a single RDM (e.g.
        mIT; its noise ceiling is then undefined and reported as NaN).
    layers : sequence of str, optional
        Module names; default ``model.layer_names`` when the model defines it. An unknown name
        raises, listing the available ones.
    weights : str or Path, optional
        State-dict file for ``model``.
    control : bool, default=True
        Also evaluate an untrained network: ``untrained`` if given, else
        :func:`untrained_copy` of ``model`` (seeded with ``seed``).
    untrained : torch.nn.Module, optional
        The untrained control (same architecture).
    preprocessing : dict, optional
        See :func:`~neurodl.analyses.rsa.activations.extract_activations` (``size``, ``scale``,
        ``mean``, ``std``).
    rdm_metric : str, default='correlation'
        Distance between activation patterns.
    method : str or mapping of area to str, default='pearson'
        RDM comparison method (see :func:`~neurodl.analyses.rsa.inference.evaluate_models`).
    bootstrap : {'conditions', 'subjects', 'both'} or None, default='conditions'
        For areas with a single RDM, 'subjects'/'both' fall back to 'conditions'.
    n_bootstrap : int, default=1000
    ceiling_zscore : bool, default=True
        Z-score subjects' RDMs before averaging them in the noise ceiling.
    confidence : float, default=0.95
    reduction, n_components, batch_size, cache_dir
        Passed to :func:`~neurodl.analyses.rsa.activations.extract_activations`.
    training : TrainingResult, optional
        Stored with the result.
    seed : int, default=0

    Returns
    -------
    ModelBrainResult
    """
    from .activations import load_weights

    if not isinstance(brain, Mapping) or not brain:
        raise ConfigError(
            f"'brain' must be a non-empty mapping of area name to RDMs; got {type(brain).__name__}."
        )
    X = as_image_batch(images)
    for area, rdms in brain.items():
        if not isinstance(rdms, RDMs):
            raise DataFormatError(
                f"brain[{area!r}] must be an RDMs object; got {type(rdms).__name__}."
            )
        if rdms.n_conditions != len(X):
            raise DataFormatError(
                f"brain[{area!r}] has {rdms.n_conditions} conditions but {len(X)} images were "
                "given; they must match, in the same order."
            )
    methods = dict(method) if isinstance(method, Mapping) else dict.fromkeys(brain, method)
    missing = [a for a in brain if a not in methods]
    if missing:
        raise ConfigError(f"'method' gives no comparison method for areas {missing}.")
    if weights is not None:
        load_weights(model, weights)
    if layers is None:
        layers = getattr(model, "layer_names", None)
        if layers is None:
            known = [name for name, _ in model.named_modules() if name]
            raise ConfigError(
                f"'layers' is required for a {type(model).__name__} (it has no layer_names). "
                f"Available: {known}."
            )
    layers = list(layers)
    networks = {"trained": model}
    if control:
        networks["untrained"] = (
            untrained if untrained is not None else untrained_copy(model, seed=seed)
        )
    cdesc = next(iter(brain.values())).condition_descriptors
    rdm_kw = {
        "preprocessing": preprocessing,
        "metric": rdm_metric,
        "batch_size": batch_size,
        "reduction": reduction,
        "n_components": n_components,
        "cache_dir": cache_dir,
        "condition_descriptors": cdesc,
        "seed": seed,
    }
    rdms = {
        net: layer_rdms(m, X, layers, prefix=f"{net}:", **rdm_kw) for net, m in networks.items()
    }
    stack = RDMs(
        np.concatenate([r.dissimilarities for r in rdms.values()]),
        names=[n for r in rdms.values() for n in r.names],
        condition_descriptors=cdesc,
        metric=rdm_metric,
    )
    results, tests = {}, {}
    n_layers = len(layers)
    for area, data in brain.items():
        boot = bootstrap
        if data.n_rdms < 2 and bootstrap in ("subjects", "both"):
            logger.info("area %s has one RDM: bootstrapping conditions only", area)
            boot = "conditions"
        res = evaluate_models(
            stack,
            data,
            method=methods[area],
            bootstrap=boot,
            n_bootstrap=n_bootstrap,
            ceiling_zscore=ceiling_zscore,
            confidence=confidence,
            pairwise=False,
            seed=seed,
        )
        results[area] = res
        if control and res.bootstrap_scores is not None:
            a, b = np.arange(n_layers), np.arange(n_layers, 2 * n_layers)
            test = _bootstrap_diff_test(res.bootstrap_scores, a, b)
            tests[area] = {"diff": res.scores[a] - res.scores[b], **test}
    return ModelBrainResult(
        layers=layers,
        networks=list(networks),
        areas=list(brain),
        results=results,
        rdms=rdms,
        control_tests=tests,
        training=training,
        settings={
            "rdm_metric": rdm_metric,
            "methods": methods,
            "bootstrap": bootstrap,
            "n_bootstrap": n_bootstrap if bootstrap else 0,
            "ceiling_zscore": ceiling_zscore,
            "confidence": confidence,
            "preprocessing": {k: np.asarray(v).tolist() for k, v in (preprocessing or {}).items()},
            "reduction": reduction,
            "weights": None if weights is None else str(weights),
            "control": "untrained network, same architecture" if control else None,
            "seed": seed,
        },
    )
