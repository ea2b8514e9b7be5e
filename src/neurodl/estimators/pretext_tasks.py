"""Pretext examples and losses of self-supervised pretraining (:mod:`.pretraining`).

- :func:`draw_pairs` / :func:`draw_triplets`: seeded draws of window indices within recordings
  for relative positioning and temporal shuffling (Banville et al. 2021), with their labels;
- :func:`example_objective`: the logistic loss of a pair/triplet head, an engine objective
  (:func:`~neurodl.estimators.torch_engine.train`) whose "inputs" are rows of window indices;
- :func:`contrastive_objective`: NT-Xent (SimCLR) on two augmented views of each window.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import DataFormatError

__all__ = ["contrastive_objective", "draw_pairs", "draw_triplets", "example_objective"]


def draw_pairs(rec: np.ndarray, onset: np.ndarray, n: int, tau_pos: float, tau_neg: float, rng):
    """``n`` (i, j) pairs within recordings, half close (label 1) half far (label 0)."""
    out: list[tuple[int, int, float]] = []
    by_rec = [np.flatnonzero(rec == r) for r in np.unique(rec)]
    by_rec = [ix for ix in by_rec if len(ix) >= 2]
    if not by_rec:
        raise DataFormatError("Relative positioning needs recordings with at least two windows.")
    wanted = {1.0: n - n // 2, 0.0: n // 2}
    for _ in range(50 * n):
        if all(v <= 0 for v in wanted.values()):
            break
        ix = by_rec[rng.integers(len(by_rec))]
        i, j = rng.choice(ix, 2, replace=False)
        gap = abs(onset[i] - onset[j])
        label = 1.0 if gap <= tau_pos else 0.0 if gap >= tau_neg else None
        if label is not None and wanted[label] > 0:
            out.append((i, j, label))
            wanted[label] -= 1
    missing = [("close" if k else "far") for k, v in wanted.items() if v > 0]
    if missing:
        raise DataFormatError(
            f"No {' or '.join(missing)} window pairs for relative positioning with "
            f"tau_pos={tau_pos:g} s and tau_neg={tau_neg:g} s: recordings too short or windows "
            "too sparse; lower tau_neg or cut overlapping windows."
        )
    arr = np.asarray(out, dtype=np.float64)
    return arr[:, :2], arr[:, 2]


def draw_triplets(rec: np.ndarray, onset: np.ndarray, n: int, tau_pos: float, rng):
    """``n`` (i, j, k) triplets of one recording within ``tau_pos``: ordered (1) or not (0)."""
    out = []
    by_rec = [np.flatnonzero(rec == r) for r in np.unique(rec)]
    by_rec = [ix[np.argsort(onset[ix])] for ix in by_rec if len(ix) >= 3]
    for _ in range(50 * n):
        if len(out) >= n or not by_rec:
            break
        ix = by_rec[rng.integers(len(by_rec))]
        i = ix[rng.integers(len(ix))]
        later = ix[(onset[ix] > onset[i]) & (onset[ix] - onset[i] <= tau_pos)]
        later = later[np.unique(onset[later], return_index=True)[1]]  # distinct onsets
        if len(later) < 2:
            continue
        j, k = later[np.sort(rng.choice(len(later), 2, replace=False))]
        if len(out) % 2 == 0:
            out.append((i, j, k, 1.0))
        else:  # the middle window swapped with one end
            out.append((j, i, k, 0.0) if rng.random() < 0.5 else (i, k, j, 0.0))
    if len(out) < n:
        raise DataFormatError(
            f"Only {len(out)} of {n} window triplets within tau_pos={tau_pos:g} s for temporal "
            "shuffling: recordings too short or windows too sparse; raise tau_pos or cut "
            "overlapping windows."
        )
    arr = np.asarray(out, dtype=np.float64)
    return arr[:, :3], arr[:, 3]


def example_objective(windows: Any, n_parts: int):
    """Logistic loss of a pair/triplet head on examples given as window indices."""

    def objective(model: Any, xb: Any, yb: Any, ctx: Any) -> Any:
        import torch.nn.functional as F

        idx = xb.long()  # (batch, n_parts)
        h = model.encoder(windows[idx.reshape(-1)]).view(len(idx), n_parts, -1)
        logits = model.pretext_head(*(h[:, p] for p in range(n_parts)))
        return F.binary_cross_entropy_with_logits(logits, yb.float(), reduction="none")

    return objective


def contrastive_objective(windows: Any, augmenter: Any, temperature: float, seed: int):
    """NT-Xent (SimCLR) per window: mean of its two views' losses."""

    def objective(model: Any, xb: Any, yb: Any, ctx: Any) -> Any:
        import torch
        import torch.nn.functional as F

        x = windows[xb.long().reshape(-1)]
        n = len(x)
        views = []
        for v in range(2):
            gen = torch.Generator().manual_seed((seed * 1_000_003 + 2 * ctx.step + v) % 2**62)
            views.append(augmenter(x, yb, gen).x)
        z = F.normalize(model.pretext_head(model.encoder(torch.cat(views))), dim=1)
        sim = z @ z.T / temperature  # (2n, 2n)
        sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
        target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
        loss = F.cross_entropy(sim, target, reduction="none")
        return 0.5 * (loss[:n] + loss[n:])

    return objective
