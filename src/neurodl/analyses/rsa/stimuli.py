"""An offline shape-recognition task: rendered shapes with nuisance variation, in N classes.

Used to train small networks for model-brain comparisons without any download, and without
showing them the stimuli they are later compared on (e.g. the 92 images of Kriegeskorte 2008).

Each image shows one filled shape (the class) at a random position, size, rotation and aspect
ratio, in a random colour (optionally striped), on a random background with clutter (thin line
segments and blobs in other colours) and pixel noise. Rendering is anti-aliased by supersampling
and vectorised over images; the same seed gives the same images.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from neurodl.exceptions import ConfigError

__all__ = ["SHAPES", "ShapeStimuli", "make_shape_stimuli"]


def _polar(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.hypot(u, v), np.arctan2(v, u)


def _regular_polygon(n_sides: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Regular polygon inscribed in the unit circle (intersection of half-planes)."""

    def inside(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        apothem = np.cos(np.pi / n_sides)
        out = np.ones(u.shape, dtype=bool)
        for k in range(n_sides):
            phi = 2 * np.pi * k / n_sides + np.pi / n_sides + np.pi / 2
            out &= u * np.cos(phi) + v * np.sin(phi) <= apothem
        return out

    return inside


def _star(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    r, theta = _polar(u, v)
    t = (5 * (theta + np.pi / 2) / (2 * np.pi)) % 1.0
    return r <= 0.4 + 0.6 * np.abs(2 * t - 1)  # 5 sharp points, inner radius 0.4


def _crescent(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (u**2 + v**2 <= 1.0) & ((u - 0.45) ** 2 + v**2 > 0.8**2)


#: Shape name -> membership test on unit-scale coordinates ``(u, v)`` (shape within the unit disk).
SHAPES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "disk": lambda u, v: u**2 + v**2 <= 1.0,
    "square": lambda u, v: np.maximum(np.abs(u), np.abs(v)) <= 0.72,
    "triangle": _regular_polygon(3),
    "star": _star,
    "cross": lambda u, v: (
        ((np.abs(u) <= 0.28) & (np.abs(v) <= 0.95)) | ((np.abs(v) <= 0.28) & (np.abs(u) <= 0.95))
    ),
    "ring": lambda u, v: (u**2 + v**2 <= 1.0) & (u**2 + v**2 >= 0.55**2),
    "crescent": _crescent,
    "bar": lambda u, v: (np.abs(u) <= 1.0) & (np.abs(v) <= 0.25),
}


@dataclasses.dataclass
class ShapeStimuli:
    """Generated images with their class labels and nuisance parameters.

    Attributes
    ----------
    X : ndarray of shape (n_images, 3, image_size, image_size)
        float32 RGB images in [0, 1].
    y : ndarray of shape (n_images,)
        int64 class indices into ``classes``.
    classes : list of str
        Shape names, one per class.
    params : dict of str to ndarray of shape (n_images,)
        Per-image nuisance values: ``x``, ``y`` (centre, in [-1, 1]), ``scale``, ``rotation``
        (radians), ``aspect``, ``textured``.
    seed : int

    Examples
    --------
    >>> stim = make_shape_stimuli(2, classes=["disk", "square"], image_size=16)
    >>> stim.X.shape, stim.y.tolist().count(0), stim.classes
    ((4, 3, 16, 16), 2, ['disk', 'square'])
    """

    X: np.ndarray
    y: np.ndarray
    classes: list[str]
    params: dict[str, np.ndarray]
    seed: int

    def __len__(self) -> int:
        return len(self.y)


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"'{name}' must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def _check_range(name: str, value: Any, low: float, high: float) -> tuple[float, float]:
    try:
        a, b = (float(x) for x in value)
    except (TypeError, ValueError):
        raise ConfigError(f"'{name}' must be a (min, max) pair; got {value!r}.") from None
    if not low <= a <= b <= high:
        raise ConfigError(f"'{name}' must satisfy {low} <= min <= max <= {high}; got {value!r}.")
    return a, b


def _coverage(mask: np.ndarray, ss: int) -> np.ndarray:
    """(n, H*ss, W*ss) bool -> (n, H, W) fraction covered (anti-aliasing)."""
    n, hs, ws = mask.shape
    m = mask.view(np.uint8).reshape(n, hs // ss, ss, ws)
    rows = m.sum(axis=2, dtype=np.uint16).reshape(n, hs // ss, ws // ss, ss)
    return rows.sum(axis=3, dtype=np.uint16).astype(np.float32) / (ss * ss)


def _segment_mask(
    gx: np.ndarray, gy: np.ndarray, p0: np.ndarray, p1: np.ndarray, width: np.ndarray
) -> np.ndarray:
    """Points within ``width`` of segments p0-p1; p0, p1 (n, 2), width (n,) -> (n, H, W)."""
    p0, p1, width = p0.astype(np.float32), p1.astype(np.float32), width.astype(np.float32)
    d = p1 - p0
    px, py = gx[None] - p0[:, 0, None, None], gy[None] - p0[:, 1, None, None]
    length2 = np.maximum((d**2).sum(1), 1e-12)[:, None, None]
    t = np.clip((px * d[:, 0, None, None] + py * d[:, 1, None, None]) / length2, 0.0, 1.0)
    dx, dy = px - t * d[:, 0, None, None], py - t * d[:, 1, None, None]
    return dx**2 + dy**2 <= width[:, None, None] ** 2


def _render_chunk(
    y: np.ndarray,
    names: list[str],
    rng: np.random.Generator,
    size: int,
    ss: int,
    scale_range: tuple[float, float],
    n_clutter: int,
    noise: float,
    texture_prob: float,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    n = len(y)
    coords = (np.arange(size * ss, dtype=np.float32) + 0.5) / (size * ss) * 2 - 1
    gx, gy = np.meshgrid(coords, coords)  # x: columns, y: rows (both in [-1, 1])

    scale = rng.uniform(*scale_range, size=n)
    cx = rng.uniform(-1, 1, size=n) * (1 - scale)
    cy = rng.uniform(-1, 1, size=n) * (1 - scale)
    rot = rng.uniform(0, 2 * np.pi, size=n)
    aspect = np.exp(rng.uniform(np.log(0.8), np.log(1.25), size=n))
    textured = rng.random(n) < texture_prob

    bg = rng.uniform(0, 1, size=(n, 3)).astype(np.float32)
    fg = rng.uniform(0, 1, size=(n, 3)).astype(np.float32)
    low_contrast = np.abs(fg.mean(1) - bg.mean(1)) < 0.25
    shift = np.where(bg.mean(1) > 0.5, -0.45, 0.45)[:, None]
    fg = np.where(low_contrast[:, None], np.clip(fg + shift, 0, 1), fg).astype(np.float32)

    # background: colour with a faint low-frequency gradient
    gdir = rng.uniform(0, 2 * np.pi, size=n)
    ramp = np.cos(gdir)[:, None, None] * gx[None, ::ss, ::ss] + (
        np.sin(gdir)[:, None, None] * gy[None, ::ss, ::ss]
    )
    img = bg[:, :, None, None] + 0.08 * ramp[:, None].astype(np.float32)

    # clutter: thin segments and small blobs in random colours, behind the shape
    for _ in range(n_clutter):
        p0 = rng.uniform(-1, 1, size=(n, 2))
        is_blob = rng.random(n) < 0.3
        p1 = np.where(is_blob[:, None], p0, p0 + rng.normal(0, 0.5, size=(n, 2)))
        width = np.where(is_blob, rng.uniform(0.04, 0.1, n), rng.uniform(0.01, 0.03, n))
        alpha = _coverage(_segment_mask(gx, gy, p0, p1, width), ss)[:, None]
        colour = rng.uniform(0, 1, size=(n, 3)).astype(np.float32)[:, :, None, None]
        img = img * (1 - alpha) + colour * alpha

    # the shape
    f32 = np.float32
    xs, ys = gx[None] - cx.astype(f32)[:, None, None], gy[None] - cy.astype(f32)[:, None, None]
    c, s = np.cos(rot).astype(f32)[:, None, None], np.sin(rot).astype(f32)[:, None, None]
    sx = (scale * np.sqrt(aspect)).astype(f32)[:, None, None]
    sy = (scale / np.sqrt(aspect)).astype(f32)[:, None, None]
    u = (xs * c + ys * s) / sx
    v = (-xs * s + ys * c) / sy
    mask = np.zeros(u.shape, dtype=bool)
    for k, name in enumerate(names):
        sel = y == k
        if sel.any():
            mask[sel] = SHAPES[name](u[sel], v[sel])
    alpha = _coverage(mask, ss)[:, None]
    freq = rng.uniform(3, 6, size=n).astype(f32)[:, None, None]
    stripes = 0.75 + 0.25 * np.sin(np.pi * freq * u[:, ::ss, ::ss])
    fill = fg[:, :, None, None] * np.where(textured[:, None, None, None], stripes[:, None], 1.0)
    img = img * (1 - alpha) + fill.astype(np.float32) * alpha
    if noise > 0:
        img = img + rng.normal(0, noise, size=img.shape).astype(np.float32)
    params = {"x": cx, "y": cy, "scale": scale, "rotation": rot, "aspect": aspect}
    params["textured"] = textured
    return np.clip(img, 0.0, 1.0).astype(np.float32), params


def make_shape_stimuli(
    n_per_class: int = 200,
    *,
    classes: Sequence[str] | None = None,
    image_size: int = 64,
    scale_range: Sequence[float] = (0.3, 0.65),
    n_clutter: int = 3,
    noise: float = 0.03,
    texture_prob: float = 0.5,
    supersample: int = 2,
    seed: int = 0,
) -> ShapeStimuli:
    """Generate a balanced shape-recognition data set.

    Parameters
    ----------
    n_per_class : int, default=200
        Images per class (classes are exactly balanced; order is shuffled).
    classes : sequence of str, optional
        Shape names from :data:`SHAPES` (default: all of them, 8 classes).
    image_size : int, default=64
        Height and width in pixels.
    scale_range : (float, float), default=(0.3, 0.65)
        Range of the shape's radius as a fraction of half the image width.
    n_clutter : int, default=3
        Distractor segments/blobs per image.
    noise : float, default=0.03
        SD of additive Gaussian pixel noise (images are clipped to [0, 1] afterwards).
    texture_prob : float, default=0.5
        Probability that a shape is filled with stripes instead of a flat colour.
    supersample : int, default=2
        Anti-aliasing factor.
    seed : int, default=0
        Same seed, same images.

    Returns
    -------
    ShapeStimuli
        ``X`` of shape (n_per_class * n_classes, 3, image_size, image_size), float32 in [0, 1].

    Examples
    --------
    >>> stim = make_shape_stimuli(2, classes=["disk", "star"], image_size=16, seed=0)
    >>> stim.X.shape, sorted(stim.y.tolist()), stim.classes
    ((4, 3, 16, 16), [0, 0, 1, 1], ['disk', 'star'])
    """
    n_per_class = _check_int("n_per_class", n_per_class, 1)
    image_size = _check_int("image_size", image_size, 8)
    n_clutter = _check_int("n_clutter", n_clutter, 0)
    ss = _check_int("supersample", supersample, 1)
    seed = _check_int("seed", seed, 0)
    names = list(SHAPES) if classes is None else [str(c) for c in classes]
    unknown = [c for c in names if c not in SHAPES]
    if unknown or len(names) < 2 or len(set(names)) != len(names):
        raise ConfigError(
            f"Invalid value for 'classes'. Allowed: at least 2 distinct names from "
            f"{list(SHAPES)}; got {names!r}."
        )
    lo, hi = _check_range("scale_range", scale_range, 0.05, 1.0)
    if not np.isfinite(noise) or noise < 0:
        raise ConfigError(f"'noise' must be a finite number >= 0; got {noise!r}.")
    if not 0.0 <= texture_prob <= 1.0:
        raise ConfigError(f"'texture_prob' must be in [0, 1]; got {texture_prob!r}.")

    rng = np.random.default_rng(seed)
    y = rng.permutation(np.repeat(np.arange(len(names)), n_per_class)).astype(np.int64)
    chunk = max(1, int(4_000_000 // (image_size * ss) ** 2))  # bound the supersampled arrays
    images, params = [], []
    for start in range(0, len(y), chunk):
        img, par = _render_chunk(
            y[start : start + chunk],
            names,
            rng,
            image_size,
            ss,
            (lo, hi),
            n_clutter,
            float(noise),
            float(texture_prob),
        )
        images.append(img)
        params.append(par)
    return ShapeStimuli(
        X=np.concatenate(images),
        y=y,
        classes=names,
        params={k: np.concatenate([p[k] for p in params]) for k in params[0]},
        seed=seed,
    )
