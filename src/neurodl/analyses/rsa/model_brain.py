"""Compare the layers of a network with brain RDMs, beside an untrained-network control.

Flow: (optionally) train a network on an offline task (:func:`train_shape_network` in
:mod:`neurodl.analyses.rsa.training`, using the generated stimuli of
:mod:`neurodl.analyses.rsa.stimuli`) -> extract every layer's activations for the brain stimuli
(:func:`~neurodl.analyses.rsa.activations.extract_activations`) -> one RDM per layer
(:func:`layer_rdms`) -> :func:`~neurodl.analyses.rsa.inference.evaluate_models` for each brain
area, with noise ceilings and bootstrap CIs (:func:`compare_network_with_brain`).

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

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurodl._logging import logger
from neurodl.exceptions import ConfigError, DataFormatError

from .inference import RSAResult, evaluate_models, fdr_bh
from .rdm import RDMs, compute_rdm
from .training import (
    TrainingResult,
    as_image_batch,
    train_network,
    train_shape_network,
    untrained_copy,
)

# The training helpers are defined in .training and stay importable from here.
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

    Examples
    --------
    >>> import numpy as np, torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten())
    >>> images = np.random.default_rng(0).random((6, 3, 8, 8)).astype("float32")
    >>> rdms = layer_rdms(net, images, ["0", "1"], prefix="net:")
    >>> rdms.names, rdms.dissimilarities.shape
    (['net:0', 'net:1'], (2, 15))
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

    Examples
    --------
    >>> import numpy as np, torch
    >>> from neurodl.analyses.rsa import compute_rdm
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten())
    >>> images = np.random.default_rng(0).random((6, 3, 8, 8)).astype("float32")
    >>> brain = {"IT": compute_rdm(np.random.default_rng(1).normal(size=(6, 20)))}
    >>> res = compare_network_with_brain(net, images, brain, layers=["0", "1"], bootstrap=None)
    >>> res.networks, res.areas, res.results["IT"].scores.shape
    (['trained', 'untrained'], ['IT'], (4,))
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

    Examples
    --------
    >>> import numpy as np, torch
    >>> from neurodl.analyses.rsa import compute_rdm
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten())
    >>> images = np.random.default_rng(0).random((6, 3, 8, 8)).astype("float32")
    >>> subjects = np.random.default_rng(1).normal(size=(3, 6, 20))  # 3 subjects' patterns
    >>> brain = {"IT": compute_rdm(subjects[0])}
    >>> res = compare_network_with_brain(net, images, brain, layers=["0", "1"], n_bootstrap=20)
    >>> res.results["IT"].model_names
    ['trained:0', 'trained:1', 'untrained:0', 'untrained:1']
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
