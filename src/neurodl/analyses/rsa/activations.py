"""Layer activations of torch models: forward hooks, batching, on-the-fly reduction, disk cache.

The cache key is the SHA-256 of (weights hash, stimulus hash, preprocessing, layers, reduction);
changing any of them recomputes. Weights are loaded with ``torch.load(weights_only=True)`` only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurodl._logging import logger
from neurodl.exceptions import ConfigError, DataFormatError, MissingDependencyError

__all__ = ["extract_activations", "load_torchvision_model", "load_weights", "weights_hash"]

_REDUCTIONS = ("pca", "srp")


def weights_hash(model: Any) -> str:
    """SHA-256 of a module's class name and state dict (names, shapes, dtypes and values).

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> a = torch.nn.Linear(3, 2)
    >>> len(weights_hash(a)), weights_hash(a) == weights_hash(torch.nn.Linear(3, 2))
    (64, False)
    """
    h = hashlib.sha256(type(model).__name__.encode())
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}{tuple(t.shape)}{t.dtype}".encode())
        h.update((t.float() if str(t.dtype) == "torch.bfloat16" else t).numpy().tobytes())
    return h.hexdigest()


def _array_hash(x: np.ndarray) -> str:
    h = hashlib.sha256(f"{x.shape}{x.dtype}".encode())
    h.update(np.ascontiguousarray(x).tobytes())
    return h.hexdigest()


def load_weights(model: Any, path: str | Path, *, strict: bool = True) -> Any:
    """Load a state dict saved with ``torch.save`` into ``model``, safely (``weights_only=True``).

    Accepts a bare state dict or a checkpoint dict holding it under ``"state_dict"`` or ``"model"``.
    Returns the model (in eval mode).

    Examples
    --------
    >>> import tempfile, pathlib, torch
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "w.pt"
    >>> torch.save({"state_dict": torch.nn.Linear(3, 2).state_dict()}, path)
    >>> net = load_weights(torch.nn.Linear(3, 2), path)
    >>> net.training, net.weight.shape
    (False, torch.Size([2, 3]))
    """
    import torch

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such weights file: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle with arbitrary objects, truncated file, ...
        raise DataFormatError(
            f"cannot load weights from {path} with weights_only=True: {err}"
        ) from err
    if isinstance(state, Mapping):
        for key in ("state_dict", "model"):
            if key in state and isinstance(state[key], Mapping):
                state = state[key]
                break
    if not isinstance(state, Mapping):
        raise DataFormatError(f"{path} does not hold a state dict; got {type(state).__name__}.")
    model.load_state_dict(state, strict=strict)
    return model.eval()


def load_torchvision_model(arch: str, weights_path: str | Path | None = None, **kwargs: Any) -> Any:
    """Build a torchvision architecture (no download) and load local weights safely.

    Examples
    --------
    With torchvision installed (an optional dependency): random initialisation, nothing
    downloaded.

    >>> net = load_torchvision_model("resnet18", num_classes=10)  # doctest: +SKIP
    >>> type(net).__name__, net.fc.out_features  # doctest: +SKIP
    ('ResNet', 10)

    The loader calls only ``list_models`` and ``get_model(arch, weights=None, **kwargs)`` of
    ``torchvision.models``; here a one-model stand-in takes its place, so the steps run without
    torchvision: the name is checked, the model built, local weights loaded, eval mode set.

    >>> import sys, tempfile, types
    >>> from pathlib import Path
    >>> from unittest import mock
    >>> import torch
    >>> tvm = types.ModuleType("torchvision.models")
    >>> tvm.list_models = lambda: ["tiny_linear"]
    >>> tvm.get_model = lambda arch, weights=None, num_classes=2: torch.nn.Linear(4, num_classes)
    >>> stand_in = {"torchvision": types.ModuleType("torchvision"), "torchvision.models": tvm}
    >>> stand_in["torchvision"].models = tvm
    >>> _ = torch.manual_seed(0)
    >>> trained = torch.nn.Linear(4, 3)
    >>> with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(sys.modules, stand_in):
    ...     path = Path(tmp) / "tiny_linear.pt"
    ...     torch.save(trained.state_dict(), path)
    ...     net = load_torchvision_model("tiny_linear", path, num_classes=3)
    ...     try:
    ...         load_torchvision_model("resnet9000")
    ...     except ConfigError as err:
    ...         print(err)
    Invalid value for 'arch'. Allowed: torchvision.models.list_models(); got 'resnet9000'.
    >>> net.training, net.out_features, torch.equal(net.weight, trained.weight)
    (False, 3, True)
    """
    try:
        import torchvision.models as tvm
    except ImportError as err:
        raise MissingDependencyError(
            "load_torchvision_model needs torchvision: pip install 'neurodl[vision]' "
            "(torchvision 0.28, built for torch 2.13)"
        ) from err
    if arch not in tvm.list_models():
        raise ConfigError(
            f"Invalid value for 'arch'. Allowed: torchvision.models.list_models(); got {arch!r}."
        )
    model = tvm.get_model(arch, weights=None, **kwargs)
    return load_weights(model, weights_path) if weights_path is not None else model.eval()


def _preprocess(batch: Any, preprocessing: Mapping[str, Any]) -> Any:
    import torch.nn.functional as F

    if "size" in preprocessing:
        size = preprocessing["size"]
        batch = F.interpolate(batch, size=size, mode="bilinear", align_corners=False)
    if "scale" in preprocessing:
        batch = batch * float(preprocessing["scale"])
    if "mean" in preprocessing:
        batch = batch - batch.new_tensor(preprocessing["mean"]).view(1, -1, 1, 1)
    if "std" in preprocessing:
        batch = batch / batch.new_tensor(preprocessing["std"]).view(1, -1, 1, 1)
    return batch


_PREPROCESS_KEYS = {"size", "scale", "mean", "std"}


def _run(
    model: Any,
    stimuli: np.ndarray,
    layers: Sequence[str],
    batch_size: int,
    pre: Mapping[str, Any],
    device: str,
):
    """Yield dicts {layer: ndarray (batch, n_features)} batch by batch."""
    import torch

    captured: dict[str, Any] = {}
    handles = []
    for name in layers:
        module = model.get_submodule(name)
        handles.append(
            module.register_forward_hook(
                lambda _m, _i, out, name=name: captured.__setitem__(
                    name, (out[0] if isinstance(out, tuple) else out).detach()
                )
            )
        )
    try:
        model.eval()
        with torch.no_grad():
            for start in range(0, len(stimuli), batch_size):
                batch = torch.as_tensor(
                    stimuli[start : start + batch_size], dtype=torch.float32, device=device
                )
                captured.clear()
                model(_preprocess(batch, pre))
                yield {k: captured[k].flatten(1).cpu().numpy().astype(np.float64) for k in layers}
    finally:
        for h in handles:
            h.remove()


def extract_activations(
    model: Any,
    stimuli: Any,
    layers: Sequence[str],
    *,
    batch_size: int = 32,
    preprocessing: Mapping[str, Any] | None = None,
    reduction: str | None = None,
    n_components: int = 100,
    cache_dir: str | Path | None = None,
    device: str = "cpu",
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Extract flattened activations of named layers for a stimulus set.

    Parameters
    ----------
    model : torch.nn.Module
    stimuli : ndarray of shape (n_stimuli, n_channels, height, width)
        Or any shape the model accepts with the stimulus axis first.
    layers : sequence of str
        Names from ``model.named_modules()``.
    batch_size : int, default=32
    preprocessing : dict, optional
        Applied per batch, in this order: ``size`` (bilinear resize), ``scale``, ``mean``, ``std``
        (per channel). Part of the cache key.
    reduction : {'pca', 'srp'} or None
        ``'srp'``: sparse random projection (fitted from the feature count, applied per batch:
        one pass). ``'pca'``: :class:`~sklearn.decomposition.IncrementalPCA` (two passes). Either
        way no full activation matrix is held in memory.
    n_components : int, default=100
        Output dimension of the reduction (PCA: at most n_stimuli and the feature count).
    cache_dir : str or Path, optional
        Folder for ``<key>.npz`` cache files.
    device : str, default='cpu'
    seed : int, default=0

    Returns
    -------
    activations : dict of str to ndarray of shape (n_stimuli, n_features)

    Examples
    --------
    >>> import numpy as np, torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten())
    >>> acts = extract_activations(net, np.zeros((5, 3, 8, 8), dtype="float32"), ["0", "1"])
    >>> {name: a.shape for name, a in acts.items()}
    {'0': (5, 144), '1': (5, 144)}
    """
    if reduction is not None and reduction not in _REDUCTIONS:
        raise ConfigError(
            f"Invalid value for 'reduction'. Allowed: {list(_REDUCTIONS)} or None; got {reduction!r}."
        )
    pre = dict(preprocessing or {})
    unknown = set(pre) - _PREPROCESS_KEYS
    if unknown:
        raise ConfigError(
            f"Invalid key in 'preprocessing'. Allowed: {sorted(_PREPROCESS_KEYS)}; got {sorted(unknown)}."
        )
    X = np.asarray(stimuli)
    if X.ndim < 2 or len(X) == 0:
        raise DataFormatError(
            f"'stimuli' must have the stimulus axis first, e.g. (n, C, H, W); got shape {X.shape}."
        )
    layers = list(layers)
    known = {name for name, _ in model.named_modules() if name}
    missing = [name for name in layers if name not in known]
    if not layers or missing:
        raise ConfigError(
            f"Invalid value for 'layers'. Allowed: {sorted(known)}; got {missing or layers}."
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"'batch_size' must be an integer >= 1; got {batch_size!r}.")

    cache_file = None
    if cache_dir is not None:
        spec = {
            "weights": weights_hash(model),
            "stimuli": _array_hash(X),
            "preprocessing": {k: np.asarray(v).tolist() for k, v in sorted(pre.items())},
            "layers": layers,
            "reduction": reduction,
            "n_components": n_components if reduction else None,
            "seed": seed if reduction else None,
        }
        key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:32]
        cache_file = Path(cache_dir) / f"activations_{key}.npz"
        if cache_file.exists():
            logger.info("extract_activations: cache hit %s", cache_file)
            with np.load(cache_file, allow_pickle=False) as z:
                return {name: z[f"layer{i}"] for i, name in enumerate(layers)}

    out = _REDUCERS[reduction](model, X, layers, batch_size, pre, device, n_components, seed)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(".tmp.npz")
        np.savez(tmp, **{f"layer{i}": out[name] for i, name in enumerate(layers)})
        tmp.replace(cache_file)
    return out


def _no_reduction(model, X, layers, batch_size, pre, device, n_components, seed):
    parts: dict[str, list[np.ndarray]] = {k: [] for k in layers}
    for acts in _run(model, X, layers, batch_size, pre, device):
        for k, v in acts.items():
            parts[k].append(v)
    return {k: np.concatenate(v) for k, v in parts.items()}


def _srp(model, X, layers, batch_size, pre, device, n_components, seed):
    from sklearn.random_projection import SparseRandomProjection

    projs: dict[str, Any] = {}
    parts: dict[str, list[np.ndarray]] = {k: [] for k in layers}
    for acts in _run(model, X, layers, batch_size, pre, device):
        for k, v in acts.items():
            if k not in projs:
                projs[k] = SparseRandomProjection(
                    n_components=min(n_components, v.shape[1]), random_state=seed
                )
                projs[k].fit(np.zeros((1, v.shape[1])))
            parts[k].append(projs[k].transform(v))
    return {k: np.concatenate(v) for k, v in parts.items()}


def _pca(model, X, layers, batch_size, pre, device, n_components, seed):
    from sklearn.decomposition import IncrementalPCA

    pcas: dict[str, Any] = {}
    buffers: dict[str, list[np.ndarray]] = {k: [] for k in layers}
    n_comp = min(n_components, len(X))

    def _flush(k: str, final: bool) -> None:
        buf = np.concatenate(buffers[k]) if buffers[k] else None
        if buf is None or (len(buf) < pcas[k].n_components and not final):
            return
        if len(buf) >= pcas[k].n_components:
            pcas[k].partial_fit(buf)
            buffers[k] = []

    for acts in _run(model, X, layers, batch_size, pre, device):  # pass 1: fit
        for k, v in acts.items():
            if k not in pcas:
                pcas[k] = IncrementalPCA(n_components=min(n_comp, v.shape[1]))
            buffers[k].append(v)
            _flush(k, final=False)
    for k in layers:  # leftovers smaller than n_components: merge into a last fit when possible
        if buffers[k] and not hasattr(pcas[k], "components_"):
            pcas[k].partial_fit(np.concatenate(buffers[k]))
        elif buffers[k] and sum(len(b) for b in buffers[k]) >= pcas[k].n_components:
            pcas[k].partial_fit(np.concatenate(buffers[k]))
    parts: dict[str, list[np.ndarray]] = {k: [] for k in layers}
    for acts in _run(model, X, layers, batch_size, pre, device):  # pass 2: transform
        for k, v in acts.items():
            parts[k].append(pcas[k].transform(v))
    return {k: np.concatenate(v) for k, v in parts.items()}


_REDUCERS = {None: _no_reduction, "srp": _srp, "pca": _pca}
