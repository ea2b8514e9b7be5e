"""Train-time data augmentation: per-sample random transforms of a training batch, seeded.

A transform maps a batch ``x`` (tensor of shape ``(batch, n_chans, n_times)``) and a
:class:`torch.Generator` to a new tensor of the same shape, drawing its random parameters
independently for every sample; ``transform(x, rng) -> Tensor``. That one signature serves the
training loop (through :class:`Augmenter`) and any other objective (a contrastive loss builds
two views with the same transforms).

The loop calls the :class:`Augmenter` on training batches only (never on validation or
prediction inputs), with a generator seeded from ``(seed, epoch, batch index)``: two fits with
the same seed see the same augmented batches.

Specs are dicts ``{"name": ..., "p": probability, **params}`` (``p`` default 0.5: each sample
is transformed with that probability, drawn per sample). Names (:data:`AUGMENTATIONS`):

====================  ==========================================================================
name                  what happens to a transformed sample
====================  ==========================================================================
``time_shift``        shifted by an integer offset in ``[-max_shift, max_shift]`` samples,
                      zero-filled
``random_crop``       only a random window of ``fraction * n_times`` samples kept, zeros elsewhere
``gaussian_noise``    plus white noise of SD ``std`` times the sample's own SD
``amplitude_scale``   multiplied by a factor uniform in ``[low, high]``
``sign_flip``         multiplied by -1
``channel_dropout``   each channel zeroed with probability ``p_drop``
``channel_shuffle``   channels permuted within each of ``neighbourhoods`` (lists of channel
                      indices; default all channels one neighbourhood)
``frequency_shift``   every frequency shifted by ``delta`` Hz uniform in ``[-max_shift,
                      max_shift]`` (analytic signal times ``exp(2 pi i delta t)``); needs sfreq
``ft_surrogate``      Fourier phases randomised (``phase_noise`` in [0, 1] of a full turn, the
                      same random phases on every channel), amplitude spectrum kept
``bandstop``          a band ``bandwidth`` Hz wide, centred uniformly in ``[fmin, fmax]``,
                      removed (FFT bins zeroed); needs sfreq
``lr_symmetry``       the channels of each ``pairs`` entry swapped (left <-> right), and the
                      label mapped through ``label_map`` (e.g. left hand <-> right hand)
``mixup``             ``lam * x_i + (1 - lam) * x_j`` with a random partner ``j`` from the batch
                      and ``lam ~ Beta(alpha, alpha)``; the loss is mixed with the same ``lam``
                      (classification with the built-in loss only)
====================  ==========================================================================

Examples
--------
>>> import torch
>>> aug = build_augmenter([{"name": "sign_flip", "p": 1.0}])
>>> x = torch.ones(2, 1, 4)
>>> out = aug(x, torch.tensor([0, 1]), torch.Generator().manual_seed(0))
>>> out.x[:, 0, 0].tolist()
[-1.0, -1.0]
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ...exceptions import ConfigError

__all__ = [
    "AUGMENTATIONS",
    "AugmentedBatch",
    "Augmenter",
    "augment_seed",
    "build_augmenter",
    "check_augment",
    "make_transform",
]


def _uniform(rng: Any, n: int, low: float, high: float) -> Any:
    import torch

    return low + (high - low) * torch.rand(n, generator=rng, dtype=torch.float64)


def time_shift(max_shift: int = 10) -> Callable[[Any, Any], Any]:
    """Shift each sample by an integer offset in ``[-max_shift, max_shift]`` samples."""

    def f(x: Any, rng: Any) -> Any:
        import torch

        n_t = x.shape[-1]
        shifts = torch.randint(-max_shift, max_shift + 1, (len(x),), generator=rng)
        t = torch.arange(n_t)
        src = t[None, :] - shifts[:, None]  # (batch, n_times)
        valid = (src >= 0) & (src < n_t)
        idx = src.clamp(0, n_t - 1)[:, None, :].expand(-1, x.shape[1], -1).to(x.device)
        return torch.gather(x, 2, idx) * valid[:, None, :].to(x.device, x.dtype)

    return f


def random_crop(fraction: float = 0.8) -> Callable[[Any, Any], Any]:
    """Keep a random window of ``round(fraction * n_times)`` samples; zeros elsewhere."""

    def f(x: Any, rng: Any) -> Any:
        import torch

        n_t = x.shape[-1]
        n_keep = max(1, round(fraction * n_t))
        starts = torch.randint(0, n_t - n_keep + 1, (len(x),), generator=rng)
        t = torch.arange(n_t)[None, :]
        keep = (t >= starts[:, None]) & (t < starts[:, None] + n_keep)
        return x * keep[:, None, :].to(x.device, x.dtype)

    return f


def gaussian_noise(std: float = 0.1) -> Callable[[Any, Any], Any]:
    """Add white noise of SD ``std`` times each sample's own SD (scale-free)."""

    def f(x: Any, rng: Any) -> Any:
        import torch

        noise = torch.randn(x.shape, generator=rng, dtype=torch.float32).to(x.device, x.dtype)
        sd = x.std(dim=(1, 2), keepdim=True)
        return x + std * sd * noise

    return f


def amplitude_scale(low: float = 0.5, high: float = 2.0) -> Callable[[Any, Any], Any]:
    """Multiply each sample by a factor uniform in ``[low, high]``."""

    def f(x: Any, rng: Any) -> Any:
        g = _uniform(rng, len(x), low, high).to(x.device, x.dtype)
        return x * g[:, None, None]

    return f


def sign_flip() -> Callable[[Any, Any], Any]:
    """Multiply by -1."""

    def f(x: Any, rng: Any) -> Any:
        return -x

    return f


def channel_dropout(p_drop: float = 0.2) -> Callable[[Any, Any], Any]:
    """Zero each channel of each sample with probability ``p_drop``."""

    def f(x: Any, rng: Any) -> Any:
        import torch

        keep = torch.rand(x.shape[:2], generator=rng) >= p_drop
        return x * keep[:, :, None].to(x.device, x.dtype)

    return f


def channel_shuffle(
    neighbourhoods: Sequence[Sequence[int]] | None = None,
) -> Callable[[Any, Any], Any]:
    """Permute the channels within each neighbourhood (lists of channel indices), per sample."""

    def f(x: Any, rng: Any) -> Any:
        import torch

        n_c = x.shape[1]
        hoods = [list(range(n_c))] if neighbourhoods is None else [list(h) for h in neighbourhoods]
        bad = [i for h in hoods for i in h if not 0 <= i < n_c]
        if bad:
            raise ConfigError(
                f"Invalid value for 'neighbourhoods' of 'channel_shuffle'. Allowed: channel "
                f"indices in [0, {n_c}); got {bad}."
            )
        perm = torch.arange(n_c).repeat(len(x), 1)
        for h in hoods:
            h_t = torch.tensor(h)
            for i in range(len(x)):
                perm[i, h_t] = h_t[torch.randperm(len(h), generator=rng)]
        idx = perm[:, :, None].expand(-1, -1, x.shape[2]).to(x.device)
        return torch.gather(x, 1, idx)

    return f


def _analytic(x: Any) -> Any:
    """Analytic signal along the last axis (FFT method, as :func:`scipy.signal.hilbert`)."""
    import torch

    n = x.shape[-1]
    spec = torch.fft.fft(x.double(), dim=-1)
    h = torch.zeros(n, dtype=torch.float64, device=x.device)
    h[0] = 1.0
    if n % 2 == 0:
        h[n // 2] = 1.0
        h[1 : n // 2] = 2.0
    else:
        h[1 : (n + 1) // 2] = 2.0
    return torch.fft.ifft(spec * h, dim=-1)


def frequency_shift(max_shift: float = 2.0, *, sfreq: float) -> Callable[[Any, Any], Any]:
    """Shift every frequency by ``delta`` Hz, ``delta`` uniform in ``[-max_shift, max_shift]``."""

    def f(x: Any, rng: Any) -> Any:
        import torch

        delta = _uniform(rng, len(x), -max_shift, max_shift).to(x.device)
        t = torch.arange(x.shape[-1], dtype=torch.float64, device=x.device) / sfreq
        phase = torch.exp(2j * math.pi * delta[:, None] * t[None, :])
        return (_analytic(x) * phase[:, None, :]).real.to(x.dtype)

    return f


def ft_surrogate(phase_noise: float = 1.0) -> Callable[[Any, Any], Any]:
    """Add random phases (uniform in ``[0, 2 pi phase_noise)``, shared by the channels)."""

    def f(x: Any, rng: Any) -> Any:
        import torch

        n = x.shape[-1]
        spec = torch.fft.rfft(x.double(), dim=-1)
        phases = (
            2
            * math.pi
            * phase_noise
            * torch.rand((len(x), 1, spec.shape[-1]), generator=rng, dtype=torch.float64).to(
                x.device
            )
        )
        phases[..., 0] = 0.0  # keep the mean real
        if n % 2 == 0:
            phases[..., -1] = 0.0  # and the Nyquist bin
        return torch.fft.irfft(spec * torch.exp(1j * phases), n=n, dim=-1).to(x.dtype)

    return f


def bandstop(
    bandwidth: float = 2.0, fmin: float = 1.0, fmax: float | None = None, *, sfreq: float
) -> Callable[[Any, Any], Any]:
    """Remove a band ``bandwidth`` Hz wide centred uniformly in ``[fmin, fmax]`` (FFT bins)."""
    hi = sfreq / 2 if fmax is None else fmax

    def f(x: Any, rng: Any) -> Any:
        import torch

        n = x.shape[-1]
        spec = torch.fft.rfft(x.double(), dim=-1)
        freqs = torch.fft.rfftfreq(n, d=1.0 / sfreq).to(x.device)
        centre = _uniform(rng, len(x), fmin, hi).to(x.device)
        stop = (freqs[None, :] - centre[:, None]).abs() <= bandwidth / 2
        spec = spec * (~stop)[:, None, :]
        return torch.fft.irfft(spec, n=n, dim=-1).to(x.dtype)

    return f


def lr_symmetry(
    pairs: Sequence[Sequence[int]] = (), label_map: dict[Any, Any] | None = None
) -> Callable[[Any, Any], Any]:
    """Swap the channels of each ``(left, right)`` pair (labels mapped by the Augmenter)."""

    def f(x: Any, rng: Any) -> Any:
        out = x.clone()
        for a, b in pairs:
            out[:, a], out[:, b] = x[:, b], x[:, a]
        return out

    return f


@dataclass(frozen=True)
class _Entry:
    factory: Callable[..., Callable[[Any, Any], Any]]
    needs_sfreq: bool = False
    check: Callable[[dict[str, Any]], str | None] = lambda p: None


def _in_range(name: str, lo: float, hi: float) -> Callable[[dict[str, Any]], str | None]:
    def check(p: dict[str, Any]) -> str | None:
        v = p.get(name)
        if v is None:
            return None
        ok = isinstance(v, int | float) and not isinstance(v, bool) and lo <= v <= hi
        return None if ok else f"{name!r} must be a number in [{lo}, {hi}]; got {v!r}"

    return check


def _check_pairs(p: dict[str, Any]) -> str | None:
    pairs = p.get("pairs", ())
    ok = isinstance(pairs, list | tuple) and all(
        isinstance(q, list | tuple) and len(q) == 2 and all(isinstance(i, int) for i in q)
        for q in pairs
    )
    return (
        None
        if ok and pairs
        else f"'pairs' must be a non-empty list of [left, right] channel indices; got {pairs!r}"
    )


#: Augmentation name -> factory (parameters: keyword arguments, ``sfreq`` for those that need it).
AUGMENTATIONS: dict[str, _Entry] = {
    "time_shift": _Entry(time_shift, check=_in_range("max_shift", 0, 1e9)),
    "random_crop": _Entry(random_crop, check=_in_range("fraction", 1e-9, 1.0)),
    "gaussian_noise": _Entry(gaussian_noise, check=_in_range("std", 0, 1e9)),
    "amplitude_scale": _Entry(amplitude_scale),
    "sign_flip": _Entry(sign_flip),
    "channel_dropout": _Entry(channel_dropout, check=_in_range("p_drop", 0, 1)),
    "channel_shuffle": _Entry(channel_shuffle),
    "frequency_shift": _Entry(frequency_shift, needs_sfreq=True),
    "ft_surrogate": _Entry(ft_surrogate, check=_in_range("phase_noise", 0, 1)),
    "bandstop": _Entry(bandstop, needs_sfreq=True),
    "lr_symmetry": _Entry(lr_symmetry, check=_check_pairs),
    "mixup": _Entry(lambda alpha=0.4: None, check=_in_range("alpha", 1e-9, 1e9)),  # type: ignore[arg-type, misc, return-value]
}


def check_augment(
    specs: Any, *, sfreq: float | None = None, where: str = "augment", check_sfreq: bool = True
) -> list[dict]:
    """Validate augmentation specs (torch-free); return them as plain dicts with ``p`` set.

    Parameters
    ----------
    specs : list of dict or None
        ``[{"name": ..., "p": 0.5, **params}, ...]``.
    sfreq : float or None
        Sampling rate; ``frequency_shift`` and ``bandstop`` need it.
    where : str
        How the caller names the specs in messages.
    check_sfreq : bool, default=True
        Refuse Hz-based transforms without ``sfreq`` (``False`` when validating a config
        before the data, and so the rate, are known).

    Raises
    ------
    ConfigError
        Unknown name or parameter, probability outside [0, 1], or a bad parameter value.

    Examples
    --------
    Specs from a config, ``p`` filled in:

    >>> check_augment([{"name": "time_shift", "max_shift": 5}, {"name": "sign_flip", "p": 1}])
    [{'name': 'time_shift', 'p': 0.5, 'max_shift': 5}, {'name': 'sign_flip', 'p': 1.0}]
    >>> check_augment([{"name": "time_shift", "shift": 5}])
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: Invalid parameter(s) ['shift'] for augmentation 'time_shift' at 'augment[0]'. Allowed: 'max_shift'.

    A transform in Hz needs the sampling rate, unless only the config is checked:

    >>> check_augment([{"name": "bandstop"}])
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: Augmentation 'bandstop' at 'augment[0]' works in Hz and needs the sampling rate: pass 'sfreq' to the estimator.
    >>> check_augment([{"name": "bandstop"}], check_sfreq=False)
    [{'name': 'bandstop', 'p': 0.5}]
    """
    if specs is None:
        return []
    if not isinstance(specs, list | tuple):
        raise ConfigError(
            f"Invalid value for {where!r}. Allowed: a list of {{name, p, params...}} dicts; "
            f"got {specs!r}."
        )
    out = []
    for i, spec in enumerate(specs):
        if not isinstance(spec, dict) or "name" not in spec:
            raise ConfigError(
                f"Invalid value for '{where}[{i}]'. Allowed: a dict with 'name' (one of "
                f"{', '.join(map(repr, AUGMENTATIONS))}), 'p' and parameters; got {spec!r}."
            )
        name = spec["name"]
        if name not in AUGMENTATIONS:
            raise ConfigError(
                f"Invalid value for '{where}[{i}].name'. Allowed: "
                f"{', '.join(map(repr, AUGMENTATIONS))}; got {name!r}."
            )
        entry = AUGMENTATIONS[name]
        p = spec.get("p", 0.5)
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 1:
            raise ConfigError(
                f"Invalid value for '{where}[{i}].p'. Allowed: a probability in [0, 1]; got {p!r}."
            )
        params = {k: v for k, v in spec.items() if k not in ("name", "p")}
        allowed = [k for k in inspect.signature(entry.factory).parameters if k != "sfreq"]
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise ConfigError(
                f"Invalid parameter(s) {unknown} for augmentation {name!r} at '{where}[{i}]'. "
                f"Allowed: {', '.join(map(repr, allowed)) or 'none'}."
            )
        problem = entry.check(params)
        if problem:
            raise ConfigError(f"Invalid value in '{where}[{i}]' ({name!r}): {problem}.")
        if entry.needs_sfreq and sfreq is None and check_sfreq:
            raise ConfigError(
                f"Augmentation {name!r} at '{where}[{i}]' works in Hz and needs the sampling "
                "rate: pass 'sfreq' to the estimator."
            )
        out.append({"name": name, "p": float(p), **params})
    return out


def make_transform(name: str, *, sfreq: float | None = None, **params: Any) -> Callable:
    """The transform ``(x, rng) -> Tensor`` called ``name`` (applied to every sample).

    Examples
    --------
    >>> import torch
    >>> f = make_transform("amplitude_scale", low=2.0, high=2.0)
    >>> f(torch.ones(1, 1, 3), torch.Generator()).tolist()
    [[[2.0, 2.0, 2.0]]]
    """
    (spec,) = check_augment([{"name": name, "p": 1.0, **params}], sfreq=sfreq, where=name)
    if name == "mixup":
        raise ConfigError("'mixup' mixes samples and labels: use it through build_augmenter.")
    entry = AUGMENTATIONS[name]
    kwargs = {k: v for k, v in spec.items() if k not in ("name", "p")}
    if entry.needs_sfreq:
        kwargs["sfreq"] = float(sfreq)  # type: ignore[arg-type]
    return entry.factory(**kwargs)


def augment_seed(seed: int, epoch: int, batch: int) -> int:
    """Seed of the generator of one training batch: a function of seed, epoch and batch only.

    Examples
    --------
    Every batch of every epoch gets its own seed, the same in every fit with that seed:

    >>> augment_seed(0, epoch=0, batch=0), augment_seed(0, epoch=0, batch=1)
    (0, 1)
    >>> augment_seed(0, epoch=1, batch=0), augment_seed(1, epoch=0, batch=0)
    (10007, 1000003)
    """
    return (int(seed) * 1_000_003 + epoch * 10_007 + batch) % (2**63 - 1)


@dataclass
class AugmentedBatch:
    """A training batch after augmentation.

    Attributes
    ----------
    x : Tensor of shape (batch, n_chans, n_times)
    y : Tensor of shape (batch,) or (batch, ...)
        Labels (changed only by ``lr_symmetry``'s ``label_map``).
    y_mix : Tensor or None
        Mixup partners' labels (``None`` without mixup).
    lam : Tensor of shape (batch,) or None
        Mixup weights of ``y`` (``1 - lam`` for ``y_mix``).

    Examples
    --------
    What mixup returns for 4 samples: the mixed inputs, the partners' labels and the weights:

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> aug = build_augmenter([{"name": "mixup", "p": 1.0}])
    >>> batch = aug(torch.randn(4, 2, 5), torch.tensor([0, 1, 0, 1]), torch.Generator())
    >>> batch.x.shape, batch.y_mix.shape, batch.lam.shape
    (torch.Size([4, 2, 5]), torch.Size([4]), torch.Size([4]))
    >>> bool(((batch.lam >= 0) & (batch.lam <= 1)).all())
    True
    >>> AugmentedBatch(x=torch.zeros(2, 1, 3), y=torch.tensor([0, 1])).y_mix is None  # no mixup
    True
    """

    x: Any
    y: Any
    y_mix: Any = None
    lam: Any = None


class Augmenter:
    """Applies a list of specs to a training batch, each to a random subset of samples.

    Parameters
    ----------
    specs : list of dict
        As :func:`check_augment` returns them.
    sfreq : float or None

    Examples
    --------
    Left/right symmetry on every sample: channels 0 and 1 swapped, labels 0 and 1 too:

    >>> import torch
    >>> aug = Augmenter(
    ...     [{"name": "lr_symmetry", "p": 1.0, "pairs": [[0, 1]], "label_map": {0: 1, 1: 0}}]
    ... )
    >>> x = torch.tensor([[[1.0, 1.0], [2.0, 2.0]], [[3.0, 3.0], [4.0, 4.0]]])
    >>> batch = aug(x, torch.tensor([0, 1]), torch.Generator().manual_seed(0))
    >>> batch.x[:, :, 0].tolist(), batch.y.tolist(), aug.mixes
    ([[2.0, 1.0], [4.0, 3.0]], [1, 0], False)
    """

    def __init__(self, specs: list[dict[str, Any]], sfreq: float | None = None) -> None:
        self.specs = check_augment(specs, sfreq=sfreq)
        self.sfreq = sfreq
        self._steps: list[tuple[dict[str, Any], Callable | None]] = [
            (
                s,
                None
                if s["name"] == "mixup"
                else make_transform(
                    s["name"], sfreq=sfreq, **{k: v for k, v in s.items() if k not in ("name", "p")}
                ),
            )
            for s in self.specs
        ]

    @property
    def mixes(self) -> bool:
        """Whether mixup is among the specs (the loss must then be mixed)."""
        return any(s["name"] == "mixup" for s in self.specs)

    def __call__(self, x: Any, y: Any, rng: Any) -> AugmentedBatch:
        """Augment ``x`` of shape (batch, n_chans, n_times) and labels ``y``, with ``rng``."""
        import torch

        if x.ndim != 3:
            raise ConfigError(
                f"Augmentation needs inputs of shape (batch, n_chans, n_times); got {tuple(x.shape)}."
            )
        y_mix = lam = None
        for spec, f in self._steps:
            chosen = torch.rand(len(x), generator=rng) < spec["p"]
            if spec["name"] == "mixup":
                partner = torch.randperm(len(x), generator=rng)
                u = torch.rand(len(x), generator=rng, dtype=torch.float64)
                lam_s = _beta_from_uniform(u, float(spec.get("alpha", 0.4)))
                lam = torch.where(chosen, lam_s, torch.ones_like(lam_s)).to(x.device, x.dtype)
                x = lam[:, None, None] * x + (1 - lam[:, None, None]) * x[partner]
                y_mix = y[partner]
                continue
            assert f is not None
            new = f(x, rng)
            mask = chosen.to(x.device)[:, None, None]
            x = torch.where(mask, new, x)
            if spec["name"] == "lr_symmetry" and spec.get("label_map"):
                mapping = {int(k): int(v) for k, v in spec["label_map"].items()}
                mapped = y.clone()
                for a, b in mapping.items():
                    mapped[y == a] = b
                y = torch.where(chosen.to(y.device), mapped, y)
        return AugmentedBatch(x, y, y_mix, lam)


def _beta_from_uniform(u: Any, alpha: float) -> Any:
    """Beta(alpha, alpha) draws by the inverse CDF (SciPy) of uniforms ``u`` from the batch's
    generator, so that all randomness stays in that seeded generator."""
    import torch
    from scipy.stats import beta

    return torch.as_tensor(beta.ppf(u.numpy(), alpha, alpha), dtype=torch.float64)


def build_augmenter(specs: Any, sfreq: float | None = None) -> Augmenter | None:
    """An :class:`Augmenter` for ``specs`` (``None`` for no specs).

    Examples
    --------
    >>> import torch
    >>> aug = build_augmenter([{"name": "amplitude_scale", "p": 1.0, "low": 2.0, "high": 3.0}])
    >>> type(aug).__name__, aug.specs
    ('Augmenter', [{'name': 'amplitude_scale', 'p': 1.0, 'low': 2.0, 'high': 3.0}])
    >>> x = torch.ones(3, 2, 8)
    >>> out = aug(x, torch.tensor([0, 1, 0]), torch.Generator().manual_seed(0)).x
    >>> out.shape, bool(((out >= 2) & (out <= 3)).all())  # each sample scaled by 2 to 3
    (torch.Size([3, 2, 8]), True)
    >>> build_augmenter([]) is None and build_augmenter(None) is None
    True
    """
    checked = check_augment(specs, sfreq=sfreq)
    return Augmenter(checked, sfreq) if checked else None
