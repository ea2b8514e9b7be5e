"""fMRI-like block-design simulator and the canonical (SPM) haemodynamic response function."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage, signal, stats

from ...exceptions import ConfigError
from ..volume import VolumeSeries
from ._common import check_float, check_int, check_size, make_rng

__all__ = ["FMRI_CATEGORIES", "simulate_fmri", "spm_hrf"]

#: Category names of :func:`simulate_fmri` (beyond eight: ``category8``, ``category9``...).
FMRI_CATEGORIES = ("face", "house", "cat", "bottle", "scissors", "shoe", "chair", "scrambled")

_BASELINE = 1000.0  # image intensity inside the mask
_SHARED_PCT = 1.0  # response (% signal change) of the ROI to any stimulus
_SPECIFIC_PCT = 0.8  # spread of the category-specific pattern at effect_size=1
_NOISE_PCT = 1.0  # AR(1) noise standard deviation at noise=1
_AR_COEF = 0.4
_DRIFT_PCT = 1.0


def spm_hrf(
    tr: float,
    oversampling: int = 16,
    time_length: float = 32.0,
    onset: float = 0.0,
    *,
    peak_delay: float = 6.0,
    undershoot_delay: float = 16.0,
    peak_dispersion: float = 1.0,
    undershoot_dispersion: float = 1.0,
    ratio: float = 1.0 / 6.0,
) -> np.ndarray:
    """Canonical double-gamma haemodynamic response function (SPM's default shape).

    The difference of a gamma density (shape ``peak_delay / peak_dispersion``) and a scaled
    later one (the undershoot), sampled every ``tr / oversampling`` seconds and normalised to sum
    to 1. With the defaults it peaks at about 5 s and undershoots at about 15 s.

    Parameters
    ----------
    tr : float
        Repetition time in seconds.
    oversampling : int, default=16
        Samples per TR.
    time_length : float, default=32.0
        Length of the kernel in seconds.
    onset : float, default=0.0
        Shift of the response in seconds.
    peak_delay, undershoot_delay : float, default=6.0, 16.0
        Shape parameters (delays at dispersion 1) of the response and the undershoot.
    peak_dispersion, undershoot_dispersion : float, default=1.0
        Scale parameters of the two gamma densities.
    ratio : float, default=1/6
        Amplitude of the undershoot relative to the peak.

    Returns
    -------
    hrf : ndarray of shape (round(time_length * oversampling / tr),)
        The kernel; sample ``i`` is at ``i * tr / oversampling`` seconds.

    Examples
    --------
    >>> h = spm_hrf(2.0, oversampling=20)
    >>> float(np.argmax(h) * 2.0 / 20)
    5.0
    """
    tr = check_float("tr", tr, 0.0, 100.0, low_open=True)
    oversampling = check_int("oversampling", oversampling, 1)
    time_length = check_float("time_length", time_length, 0.0, low_open=True)
    dt = tr / oversampling
    t = np.arange(round(time_length / dt)) * dt - onset
    peak = stats.gamma.pdf(t, peak_delay / peak_dispersion, scale=peak_dispersion)
    under = stats.gamma.pdf(
        t, undershoot_delay / undershoot_dispersion, scale=undershoot_dispersion
    )
    hrf = peak - ratio * under
    total = hrf.sum()
    return hrf / total if total != 0 else hrf


def _ellipsoid(shape: tuple[int, int, int]) -> np.ndarray:
    grid = np.indices(shape, dtype=float)
    centre = (np.array(shape, dtype=float) - 1) / 2
    radius = np.maximum(np.array(shape, dtype=float) / 2, 1.0)
    r2 = sum(((grid[i] - centre[i]) / radius[i]) ** 2 for i in range(3))
    return r2 <= 1.0


def _design(
    rng: np.random.Generator,
    n_categories: int,
    n_blocks: int,
    block: float,
    rest: float,
    tr: float,
) -> tuple[pd.DataFrame, int]:
    """Block events of one run (random category order) and its number of volumes."""
    order = np.concatenate([rng.permutation(n_categories) for _ in range(n_blocks)])
    onsets = rest + np.arange(len(order)) * (block + rest)
    n_vols = int(np.ceil((onsets[-1] + block + rest) / tr))
    events = pd.DataFrame({"onset": onsets, "duration": block, "category": order})
    return events, n_vols


def _regressors(events: pd.DataFrame, n_vols: int, n_categories: int, tr: float) -> np.ndarray:
    """Boxcars convolved with the HRF, shape (n_vols, n_categories), peak about 1."""
    over = 16
    dt = tr / over
    t = np.arange(n_vols * over) * dt
    box = np.zeros((n_categories, t.size))
    for onset, dur, cat in events[["onset", "duration", "category"]].itertuples(index=False):
        box[int(cat), (t >= onset) & (t < onset + dur)] = 1.0
    hrf = spm_hrf(tr, over)
    conv = signal.fftconvolve(box, hrf[None, :], axes=1)[:, : t.size]
    return conv[:, ::over].T


def _ar1(rng: np.random.Generator, shape: tuple[int, int], coef: float) -> np.ndarray:
    """Unit-variance AR(1) noise along the last axis."""
    white = rng.standard_normal(shape) * np.sqrt(1 - coef**2)
    zi = rng.standard_normal((shape[0], 1))
    return signal.lfilter([1.0], [1.0, -coef], white, axis=1, zi=zi * coef)[0]


def simulate_fmri(
    n_runs: int = 6,
    n_categories: int = 4,
    shape: tuple[int, int, int] = (10, 10, 4),
    tr: float = 2.0,
    block_duration: float = 16.0,
    rest_duration: float = 10.0,
    n_blocks_per_category: int = 1,
    effect_size: float = 1.0,
    noise: float = 1.0,
    seed: int | None = 0,
) -> VolumeSeries:
    """Simulate a block-design category experiment (Haxby-like), runs concatenated.

    Inside an ellipsoidal brain mask, a region of interest (the 35% of mask voxels nearest a
    posterior-ventral point) responds to every category (1% signal change) plus a
    category-specific, spatially smooth pattern (standard deviation ``effect_size * 0.8%``).
    Block boxcars are convolved with :func:`spm_hrf`. Each voxel adds a slow cosine drift and
    AR(1) noise (coefficient 0.4, ``noise * 1%``) to a baseline of about 1000; each run has its
    own drift and a random category order.

    Parameters
    ----------
    n_runs : int, default=6
        Runs (concatenated; each holds every category's blocks in a shuffled order).
    n_categories : int, default=4
        Number of stimulus categories (2 to 20).
    shape : tuple of 3 int, default=(10, 10, 4)
        Volume shape (each at least 3).
    tr : float, default=2.0
        Repetition time in seconds.
    block_duration : float, default=16.0
        Length of a stimulation block in seconds.
    rest_duration : float, default=10.0
        Rest before the first block and after each block, in seconds.
    n_blocks_per_category : int, default=1
        Blocks of each category per run.
    effect_size : float, default=1.0
        Scale of the category-specific patterns; ``0`` makes the categories indistinguishable.
    noise : float, default=1.0
        Scale of the AR(1) noise.
    seed : int or None, default=0
        Seed of ``np.random.default_rng``; the same seed gives the same data. In a run config
        it defaults to the run's ``seed``.

    Returns
    -------
    volumes : VolumeSeries
        4-D ``data`` of shape (\\*shape, n_volumes) with ``mask``; ``events`` with one row per
        block (``onset`` within its run in seconds, ``duration``, ``trial_type``, ``run``);
        ``info["volume_labels"]`` (DataFrame, one row per volume: ``volume``, ``run``,
        ``time``, ``label`` = category shown or ``"rest"``, ``label_delayed`` = label
        ``info["label_delay"]`` seconds earlier, matching the haemodynamic lag) and
        ``info["ground_truth"]`` (``patterns`` of shape (n_categories, n_mask_voxels) in %
        signal change, ``roi`` 3-D boolean, ``design`` of shape (n_volumes, n_categories),
        ``categories``).

    Examples
    --------
    >>> vs = simulate_fmri(n_runs=2, n_categories=2)
    >>> vs.data.shape[:3], sorted(vs.events["trial_type"].unique())
    ((10, 10, 4), ['face', 'house'])
    """
    n_runs = check_int("n_runs", n_runs, 1)
    n_categories = check_int("n_categories", n_categories, 2, 20)
    if not isinstance(shape, (tuple, list)) or len(shape) != 3:
        raise ConfigError(f"Invalid value for 'shape'. Allowed: 3 ints >= 3; got {shape!r}.")
    dims = tuple(check_int("shape", v, 3) for v in shape)
    tr = check_float("tr", tr, 0.1, 20.0)
    block_duration = check_float("block_duration", block_duration, tr, 600.0)
    rest_duration = check_float("rest_duration", rest_duration, 0.0, 600.0)
    n_blocks = check_int("n_blocks_per_category", n_blocks_per_category, 1)
    effect_size = check_float("effect_size", effect_size, 0.0, 100.0)
    noise = check_float("noise", noise, 0.0, 100.0)
    n_volumes = round(n_runs * n_categories * n_blocks * (block_duration + rest_duration) / tr)
    check_size("fmri", x=dims[0], y=dims[1], z=dims[2], n_volumes=max(n_volumes, 1))
    rng = make_rng(seed)
    names = [
        FMRI_CATEGORIES[k] if k < len(FMRI_CATEGORIES) else f"category{k}"
        for k in range(n_categories)
    ]

    mask = _ellipsoid(dims)  # type: ignore[arg-type]
    coords = np.argwhere(mask).astype(float)
    n_vox = len(coords)
    target = np.array([(dims[0] - 1) * 0.6, (dims[1] - 1) * 0.25, (dims[2] - 1) * 0.35])
    dist = np.sqrt(((coords - target) ** 2).sum(1))
    roi_idx = np.argsort(dist, kind="stable")[: max(2, int(np.ceil(0.35 * n_vox)))]
    in_roi = np.zeros(n_vox, bool)
    in_roi[roi_idx] = True
    roi = np.zeros(dims, bool)
    roi[mask] = in_roi

    patterns = np.zeros((n_categories, n_vox))
    for k in range(n_categories):
        field = ndimage.gaussian_filter(rng.standard_normal(dims), 1.0)[mask][in_roi]
        field = (field - field.mean()) / (field.std() + 1e-12)
        patterns[k, in_roi] = _SHARED_PCT + effect_size * _SPECIFIC_PCT * field
    baseline = _BASELINE * (1 + 0.1 * ndimage.gaussian_filter(rng.standard_normal(dims), 1.5))
    base_in = baseline[mask]

    blocks, labels, runs_data, designs = [], [], [], []
    delay_vols = max(1, round(4.0 / tr))
    for r in range(n_runs):
        run = str(r + 1)
        events, n_vols = _design(rng, n_categories, n_blocks, block_duration, rest_duration, tr)
        reg = _regressors(events, n_vols, n_categories, tr)
        t = np.arange(n_vols) * tr
        cos = np.cos(np.pi * np.outer(np.arange(1, 4), (t + tr / 2) / (n_vols * tr)))
        drift = (rng.normal(0.0, _DRIFT_PCT, (n_vox, 3)) / np.arange(1, 4)) @ cos
        shared_noise = 0.3 * _ar1(rng, (1, n_vols), _AR_COEF)
        pct = (
            (reg @ patterns).T
            + drift
            + noise * (_NOISE_PCT * _ar1(rng, (n_vox, n_vols), _AR_COEF) + shared_noise)
        )
        runs_data.append(base_in[:, None] * (1 + pct / 100.0))
        designs.append(reg)
        label = np.array(["rest"] * n_vols, dtype=object)
        for onset, dur, cat in events[["onset", "duration", "category"]].itertuples(index=False):
            label[(t >= onset) & (t < onset + dur)] = names[int(cat)]
        delayed = np.concatenate([["rest"] * delay_vols, label[:-delay_vols]])
        labels.append(
            pd.DataFrame({"run": run, "time": t, "label": label, "label_delayed": delayed})
        )
        blocks.append(
            pd.DataFrame(
                {
                    "onset": events["onset"],
                    "duration": events["duration"],
                    "trial_type": [names[int(c)] for c in events["category"]],
                    "run": run,
                }
            )
        )
    masked = np.concatenate(runs_data, axis=1)
    n_total = masked.shape[1]
    data = np.repeat((0.02 * baseline)[..., None], n_total, axis=3)
    data += rng.normal(0.0, 0.5, data.shape)
    data[mask] = masked
    volume_labels = pd.concat(labels, ignore_index=True)
    volume_labels.insert(0, "volume", np.arange(n_total))
    starts = np.cumsum([0] + [len(d) for d in designs[:-1]])
    info: dict[str, Any] = {
        "simulator": "fmri",
        "seed": seed,
        "unit": "a.u. (baseline about 1000)",
        "volume_labels": volume_labels,
        "label_delay": delay_vols * tr,
        "run_start_volumes": [int(s) for s in starts],
        "ground_truth": {
            "categories": names,
            "patterns": patterns,
            "roi": roi,
            "design": np.concatenate(designs),
            "hrf": "spm_hrf (peak 6, undershoot 16, ratio 1/6)",
            "effect_size": effect_size,
        },
    }
    return VolumeSeries(
        data,
        tr,
        np.diag([3.0, 3.0, 3.0, 1.0]),
        mask,
        pd.concat(blocks, ignore_index=True),
        subject="01",
        info=info,
    )
