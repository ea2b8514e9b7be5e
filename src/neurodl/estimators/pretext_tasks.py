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
    """``n`` (i, j) pairs within recordings, half close (label 1) half far (label 0).

    Examples
    --------
    Two recordings of 10 windows, 5 s apart: close pairs are at most 10 s apart, far ones at
    least 30 s, and both windows of a pair come from the same recording:

    >>> rec, onset = np.repeat([0, 1], 10), np.tile(np.arange(10) * 5.0, 2)
    >>> rng = np.random.default_rng(0)
    >>> pairs, labels = draw_pairs(rec, onset, 8, tau_pos=10.0, tau_neg=30.0, rng=rng)
    >>> pairs.shape, labels.tolist()
    ((8, 2), [0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    >>> i, j = pairs.T.astype(int)
    >>> gap = np.abs(onset[i] - onset[j])
    >>> bool((gap[labels == 1] <= 10).all() and (gap[labels == 0] >= 30).all())
    True
    >>> bool((rec[i] == rec[j]).all())
    True

    Recordings of 45 s hold no pair 100 s apart:

    >>> draw_pairs(rec, onset, 8, tau_pos=10.0, tau_neg=100.0, rng=rng)
    Traceback (most recent call last):
    ...
    neurodl.exceptions.DataFormatError: No far window pairs for relative positioning with tau_pos=10 s and tau_neg=100 s: recordings too short or windows too sparse; lower tau_neg or cut overlapping windows.
    """
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
    """``n`` (i, j, k) triplets of one recording within ``tau_pos``: ordered (1) or not (0).

    Examples
    --------
    Alternately in temporal order (label 1) and with the middle window swapped with an end:

    >>> rec, onset = np.repeat([0, 1], 10), np.tile(np.arange(10) * 5.0, 2)
    >>> triplets, labels = draw_triplets(rec, onset, 6, 15.0, np.random.default_rng(0))
    >>> triplets.shape, labels.tolist()
    ((6, 3), [1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    >>> t = onset[triplets.astype(int)]  # onsets (s) of each triplet's windows
    >>> t[0].tolist(), t[1].tolist()
    ([30.0, 35.0, 40.0], [0.0, 15.0, 5.0])
    >>> ordered = (np.diff(t, axis=1) > 0).all(axis=1)
    >>> bool((ordered == (labels == 1)).all())
    True
    """
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
    """Logistic loss of a pair/triplet head on examples given as window indices.

    Examples
    --------
    The objective maps a batch of pairs (rows of 2 window indices) and their labels to one
    loss per pair, for the engine's :func:`~neurodl.estimators.torch_engine.train`:

    >>> import torch
    >>> from neurodl.estimators.torch_engine import LossContext
    >>> from neurodl.models.pretext import PairHead, PretextNet
    >>> _ = torch.manual_seed(0)
    >>> windows = torch.randn(20, 2, 8)  # 20 unlabelled windows
    >>> encoder = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 8, 4))
    >>> model = PretextNet(encoder, PairHead(4))
    >>> objective = example_objective(windows, n_parts=2)
    >>> xb, yb = torch.tensor([[0.0, 1.0], [0.0, 9.0], [3.0, 4.0]]), torch.tensor([1.0, 0.0, 1.0])
    >>> ctx = LossContext(epoch=0, step=0, training=True, steps_per_epoch=1, max_epochs=1)
    >>> losses = objective(model, xb, yb, ctx)
    >>> losses.shape, bool((losses > 0).all())
    (torch.Size([3]), True)
    """

    def objective(model: Any, xb: Any, yb: Any, ctx: Any) -> Any:
        import torch.nn.functional as F

        idx = xb.long()  # (batch, n_parts)
        h = model.encoder(windows[idx.reshape(-1)]).view(len(idx), n_parts, -1)
        logits = model.pretext_head(*(h[:, p] for p in range(n_parts)))
        return F.binary_cross_entropy_with_logits(logits, yb.float(), reduction="none")

    return objective


def contrastive_objective(windows: Any, augmenter: Any, temperature: float, seed: int):
    """NT-Xent (SimCLR) per window: mean of its two views' losses.

    Examples
    --------
    One loss per window of the batch (rows of 1 window index); the views are seeded by the
    step, so the same step gives the same losses:

    >>> import torch
    >>> from neurodl.estimators.torch_engine import LossContext, build_augmenter
    >>> from neurodl.models.pretext import PretextNet, ProjectionHead
    >>> _ = torch.manual_seed(0)
    >>> windows = torch.randn(20, 2, 8)
    >>> encoder = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 8, 4))
    >>> model = PretextNet(encoder, ProjectionHead(4, n_hidden=8, n_out=3))
    >>> views = build_augmenter([{"name": "gaussian_noise", "p": 1.0, "std": 0.1}])
    >>> objective = contrastive_objective(windows, views, temperature=0.5, seed=0)
    >>> xb, yb = torch.arange(6.0)[:, None], torch.zeros(6)  # windows 0..5, labels unused
    >>> ctx = LossContext(epoch=0, step=0, training=True, steps_per_epoch=1, max_epochs=1)
    >>> losses = objective(model, xb, yb, ctx)
    >>> losses.shape, bool(torch.equal(losses, objective(model, xb, yb, ctx)))
    (torch.Size([6]), True)
    """

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
