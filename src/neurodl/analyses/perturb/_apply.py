"""Apply perturbations to any ``torch.nn.Module`` without touching its code.

Unit perturbations (:class:`Ablate`, :class:`Gain`, :class:`Noise`, :class:`Clamp`) are forward
hooks on the named module; :class:`ScaleWeights` edits a parameter in place and restores a saved
copy on exit. Everything is undone when the ``with`` block ends, also on an exception, so the
model's ``state_dict`` is bit-identical afterwards. (Forward passes run in training mode still
update BatchNorm running statistics as usual: call ``model.eval()`` first.)

Recurrent layers
----------------
A hook on ``nn.RNN``/``nn.GRU``/``nn.LSTM`` changes only the *output sequence* the module
returns: the recurrence inside the module (the hidden state carried from step to step) is not
perturbed, and ``h_n``/``c_n`` are returned unchanged. To perturb the recurrence, the model must
expose its cell as a submodule stepped in Python (e.g. an ``nn.RNNCell``/``nn.GRUCell`` or a
custom cell called once per time step): a hook on that cell perturbs the state at *every* step,
and so what the next step sees.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn

from ...exceptions import ConfigError
from ._specs import Ablate, Clamp, Gain, Noise, Perturbation, ScaleWeights

__all__ = ["perturbed", "record_activations", "unit_axis"]

_LAST_AXIS_TYPES = (nn.Linear, nn.RNNBase, nn.RNNCellBase)
_UNIT_SPECS = (Ablate, Gain, Noise, Clamp)


def _unknown(kind: str, name: str, available: Sequence[str]) -> ConfigError:
    close = difflib.get_close_matches(name, available, n=3, cutoff=0.5)
    hint = f" Close matches: {', '.join(map(repr, close))}." if close else ""
    listed = ", ".join(map(repr, available[:40])) + (" ..." if len(available) > 40 else "")
    return ConfigError(f"Unknown {kind} {name!r}.{hint} Available {kind}s: {listed}.")


def _get_module(model: nn.Module, name: str) -> nn.Module:
    modules = dict(model.named_modules())
    if name not in modules or name == "":
        raise _unknown("layer", name, [n for n in modules if n])
    return modules[name]


def _get_parameter(model: nn.Module, name: str) -> nn.Parameter:
    params = dict(model.named_parameters())
    if name not in params:
        raise _unknown("parameter", name, list(params))
    return params[name]


def _resolve_axis(module: nn.Module, out: torch.Tensor, axis: int | None) -> int:
    if axis is None:
        axis = -1 if isinstance(module, _LAST_AXIS_TYPES) or out.ndim <= 2 else 1
    if not -out.ndim <= axis < out.ndim or axis % out.ndim == 0:
        raise ConfigError(
            f"'axis'={axis} is not a unit axis of an output of shape {tuple(out.shape)} "
            "(axis 0 is the batch axis)."
        )
    return axis % out.ndim


def unit_axis(module: nn.Module, output: Any, axis: int | None = None) -> int:
    """The non-negative unit axis of ``module``'s ``output`` (see :mod:`._specs` for the rule).

    ``axis=None`` gives the last axis for dense and recurrent layers (and outputs with at most
    2 dimensions), else axis 1, the channel axis of a convolution's ``(batch, channels, ...)``.

    Examples
    --------
    >>> import torch
    >>> unit_axis(torch.nn.Conv1d(2, 4, 3), torch.zeros(5, 4, 10))
    1
    """
    return _resolve_axis(module, _first(output), axis)


def _first(output: Any) -> torch.Tensor:
    return output[0] if isinstance(output, (tuple, list)) else output


def _replace_first(output: Any, new: torch.Tensor) -> Any:
    if isinstance(output, tuple):
        return (new, *output[1:])
    if isinstance(output, list):
        return [new, *output[1:]]
    return new


def _unit_index(spec: Any, name: str, out: torch.Tensor, axis: int) -> tuple[Any, ...]:
    n_units = out.shape[axis]
    bad = [u for u in spec.units if u >= n_units]
    if bad:
        raise ConfigError(
            f"Unit index {bad[0]} is out of range for layer {name!r}: its output of shape "
            f"{tuple(out.shape)} has {n_units} units along axis {axis} (valid: 0..{n_units - 1})."
        )
    index: list[Any] = [slice(None)] * out.ndim
    index[axis] = torch.tensor(spec.units, device=out.device)
    return tuple(index)


def _along(values: torch.Tensor, ndim: int, axis: int) -> torch.Tensor:
    """Reshape a vector of per-unit values to broadcast along ``axis`` of an ``ndim`` tensor."""
    shape = [1] * ndim
    shape[axis] = values.numel()
    return values.reshape(shape)


def _make_hook(spec: Any, name: str, generator: torch.Generator | None) -> Callable:
    def hook(module: nn.Module, inputs: Any, output: Any) -> Any:
        out = _first(output)
        if not isinstance(out, torch.Tensor):
            raise ConfigError(
                f"Layer {name!r} returns {type(out).__name__}, not a tensor; choose another layer."
            )
        axis = _resolve_axis(module, out, spec.axis)
        index = _unit_index(spec, name, out, axis)
        new = out.clone()
        sel = new[index]
        if isinstance(spec, Gain):
            new[index] = sel * spec.factor
        elif isinstance(spec, Clamp):
            new[index] = torch.full_like(sel, spec.value)
        elif isinstance(spec, Noise):
            noise = torch.randn(sel.shape, generator=generator, dtype=torch.float64)
            new[index] = sel + (spec.sd * noise).to(sel)
        elif spec.mode == "zero":
            new[index] = torch.zeros_like(sel)
        elif spec.mode == "mean":
            new[index] = _mean_values(spec, name, out, axis).to(sel).expand_as(sel)
        else:
            new[index] = _resampled(spec, name, out, axis, generator)[index].to(sel)
        return _replace_first(output, new)

    return hook


def _mean_values(spec: Ablate, name: str, out: torch.Tensor, axis: int) -> torch.Tensor:
    ref = spec.reference
    if ref.ndim != out.ndim or ref.shape[axis] != out.shape[axis]:
        raise ConfigError(
            f"'reference' of shape {tuple(ref.shape)} does not match layer {name!r}: its output "
            f"has shape {tuple(out.shape)} ({out.shape[axis]} units along axis {axis})."
        )
    other = [d for d in range(ref.ndim) if d != axis]
    means = ref.mean(dim=other)[list(spec.units)]
    return _along(means, out.ndim, axis)


def _resampled(
    spec: Ablate, name: str, out: torch.Tensor, axis: int, generator: torch.Generator | None
) -> torch.Tensor:
    ref = spec.reference
    if tuple(ref.shape[1:]) != tuple(out.shape[1:]):
        raise ConfigError(
            f"Ablate(mode='resample') needs 'reference' of shape (n_ref, "
            f"{', '.join(map(str, out.shape[1:]))}) for layer {name!r}; got {tuple(ref.shape)}."
        )
    rows = torch.randint(ref.shape[0], (out.shape[0],), generator=generator)
    return ref[rows].to(out.device)


def _check_perturbations(perturbations: Sequence[Any]) -> None:
    allowed = (*_UNIT_SPECS, ScaleWeights)
    for p in perturbations:
        if not isinstance(p, allowed):
            raise ConfigError(
                "Invalid perturbation. Allowed: Ablate, Gain, Noise, Clamp, ScaleWeights; "
                f"got {p!r}."
            )


@contextlib.contextmanager
def perturbed(model: nn.Module, *perturbations: Perturbation) -> Iterator[nn.Module]:
    """Apply ``perturbations`` to ``model`` inside a ``with`` block, then undo them.

    Parameters
    ----------
    model : torch.nn.Module
        Any torch model; its code is not touched.
    *perturbations : Ablate, Gain, Noise, Clamp or ScaleWeights
        Applied in the given order (several on one layer compose in that order). All names
        and weight blocks are checked before anything is changed.

    Yields
    ------
    model : torch.nn.Module
        The same model, perturbed until the block ends.

    Notes
    -----
    Unit indices are checked against the layer's output on the first forward call, which then
    raises a :class:`~neurodl.exceptions.ConfigError` naming the layer and the index. On exit
    (also after an exception) all hooks are removed and scaled parameters get their saved
    values back bit-for-bit. Hooks on ``nn.RNN``/``nn.GRU``/``nn.LSTM`` perturb only the output
    sequence; hook a cell stepped in Python to perturb the recurrence (see the module notes).

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    >>> with perturbed(net, Ablate("0", [0, 1]), Gain("0", 2, factor=0.5)):
    ...     y = net(torch.ones(2, 3))
    >>> tuple(y.shape), len(net[0]._forward_hooks)
    ((2, 1), 0)
    """
    if not isinstance(model, nn.Module):
        raise ConfigError(f"'model' must be a torch.nn.Module; got {type(model).__name__}.")
    _check_perturbations(perturbations)
    targets: list[tuple[Any, Any]] = []
    for p in perturbations:
        if isinstance(p, ScaleWeights):
            param = _get_parameter(model, p.parameter)
            targets.append((p, (param, _weight_index(p, param))))
        else:
            targets.append((p, _get_module(model, p.layer)))
    handles: list[Any] = []
    saved: list[tuple[nn.Parameter, torch.Tensor]] = []
    try:
        with torch.no_grad():
            for p, target in targets:
                if isinstance(p, ScaleWeights):
                    param, index = target
                    saved.append((param, param.detach().clone()))
                    param[index] = param[index] * p.factor
                else:
                    generator = None
                    if isinstance(p, Noise) or (isinstance(p, Ablate) and p.mode == "resample"):
                        generator = torch.Generator().manual_seed(int(p.seed))
                    handles.append(target.register_forward_hook(_make_hook(p, p.layer, generator)))
        yield model
    finally:
        for handle in handles:
            handle.remove()
        with torch.no_grad():
            for param, original in reversed(saved):
                param.copy_(original)


def _weight_index(spec: ScaleWeights, param: torch.Tensor) -> tuple[Any, ...]:
    index: list[Any] = []
    pairs = (
        (("rows", spec.rows), ("cols", spec.cols))
        if spec.cols is not None
        else (("rows", spec.rows),)
    )
    for axis, (label, idx) in enumerate(pairs):
        if idx is None:
            index.append(slice(None))
            continue
        if param.ndim <= axis:
            raise ConfigError(
                f"'{label}' needs a parameter with at least {axis + 1} dimensions; "
                f"{spec.parameter!r} has shape {tuple(param.shape)}."
            )
        bad = [i for i in idx if i >= param.shape[axis]]
        if bad:
            raise ConfigError(
                f"'{label}' index {bad[0]} is out of range for parameter {spec.parameter!r} of "
                f"shape {tuple(param.shape)} (valid: 0..{param.shape[axis] - 1})."
            )
        index.append(torch.tensor(idx, device=param.device))
    if len(index) == 2 and all(isinstance(i, torch.Tensor) for i in index):
        return (index[0][:, None], index[1][None, :])  # the block rows x cols
    return tuple(index)


@contextlib.contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, flag in flags:
            m.train(flag)


def record_activations(
    model: nn.Module, layers: Sequence[str] | str, inputs: Any, *, eval_mode: bool = True
) -> dict[str, torch.Tensor]:
    """Record the outputs of ``layers`` while ``model`` runs on ``inputs``.

    Parameters
    ----------
    model : torch.nn.Module
        Any torch model.
    layers : str or sequence of str
        Module names as in ``model.named_modules()``.
    inputs : Tensor or tuple of Tensor
        Reference data, passed as ``model(inputs)`` (or ``model(*inputs)`` for a tuple).
    eval_mode : bool, default=True
        Run in evaluation mode (dropout off, BatchNorm statistics frozen); every module's
        training flag is restored afterwards.

    Returns
    -------
    activations : dict of str to Tensor of shape (n_calls * batch, ...)
        Per layer, its output (first element of a tuple output), detached, on the CPU. A module
        called several times per forward pass (a recurrent cell stepped over time) has its calls
        concatenated along axis 0, so the result is always batch-axis first; pass it as the
        ``reference`` of :class:`Ablate`.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU())
    >>> tuple(record_activations(net, ["0"], torch.ones(5, 3))["0"].shape)
    (5, 4)
    """
    names = [layers] if isinstance(layers, str) else list(layers)
    modules = {name: _get_module(model, name) for name in names}
    store: dict[str, list[torch.Tensor]] = {name: [] for name in names}

    def make(name: str) -> Callable:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            store[name].append(_first(output).detach().cpu())

        return hook

    handles = [module.register_forward_hook(make(name)) for name, module in modules.items()]
    try:
        mode = _eval_mode(model) if eval_mode else contextlib.nullcontext()
        with mode, torch.no_grad():
            model(*inputs) if isinstance(inputs, tuple) else model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    empty = [name for name, outs in store.items() if not outs]
    if empty:
        raise ConfigError(f"Layer(s) {empty} were not called during the forward pass.")
    return {name: torch.cat(outs, dim=0) for name, outs in store.items()}


def state_dict_hash(model: nn.Module) -> str:
    """SHA-256 of every tensor of ``model.state_dict()`` (names, dtypes, shapes and bytes).

    Equal before and after a perturbation study proves the study left the model unchanged
    (buffers such as BatchNorm running statistics included).

    Examples
    --------
    >>> from neurodl.analyses.perturb import ScaleWeights
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    >>> before = state_dict_hash(net)
    >>> len(before)  # hex SHA-256
    64
    >>> with perturbed(net, ScaleWeights("0.weight", factor=0.0)):
    ...     state_dict_hash(net) == before  # weights cut inside the block
    False
    >>> state_dict_hash(net) == before  # restored bit for bit
    True
    """
    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        arr = tensor.detach().cpu().contiguous().numpy()
        h.update(f"{name}|{arr.dtype}|{arr.shape}|".encode())
        h.update(arr.tobytes())
    return h.hexdigest()
