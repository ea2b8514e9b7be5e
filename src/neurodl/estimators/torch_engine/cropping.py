"""Cropped training and prediction: which window of each trial the model sees.

Training (``crop_len`` set): each training sample is replaced by one crop of ``crop_len``
samples starting at a uniformly drawn offset (:func:`crop_starts`, generator seeded from
``seed`` and the epoch, independent per sample and epoch). Prediction: crops start at ``0,
crop_stride, 2 * crop_stride, ...`` plus a last crop ending at the final sample
(:func:`eval_crop_starts`); class probabilities (or outputs) are averaged over crops.
"""

from __future__ import annotations

from typing import Any

__all__ = ["crop_batch", "crop_starts", "eval_crop_starts"]


def crop_starts(n: int, n_times: int, crop_len: int, seed: int, epoch: int) -> Any:
    """Random crop offsets of an epoch's training samples (indexed by sample, not batch).

    Examples
    --------
    Offsets of 4 trials of 10 samples cropped to 6: each in ``0..4``, the same for the same
    seed and epoch, redrawn each epoch:

    >>> s0 = crop_starts(4, n_times=10, crop_len=6, seed=0, epoch=0)
    >>> s0.shape, bool(s0.min() >= 0), bool(s0.max() <= 10 - 6)
    (torch.Size([4]), True, True)
    >>> bool((s0 == crop_starts(4, 10, 6, seed=0, epoch=0)).all())
    True
    """
    import torch

    g = torch.Generator()
    g.manual_seed(10_007 * (seed + 1) + epoch)
    return torch.randint(0, n_times - crop_len + 1, (n,), generator=g)


def eval_crop_starts(n_times: int, crop_len: int, stride: int) -> list[int]:
    """Crop offsets used at prediction: every ``stride`` samples plus one ending at the end.

    Examples
    --------
    >>> eval_crop_starts(n_times=10, crop_len=6, stride=3)  # 0, 3 and a last crop at 4
    [0, 3, 4]
    >>> eval_crop_starts(n_times=10, crop_len=4, stride=3)  # 6 already ends at the end
    [0, 3, 6]
    """
    starts = list(range(0, n_times - crop_len + 1, max(int(stride), 1)))
    if starts[-1] != n_times - crop_len:
        starts.append(n_times - crop_len)
    return starts


def crop_batch(xb: Any, starts: Any, crop_len: int) -> Any:
    """Stack ``xb[i, :, starts[i] : starts[i] + crop_len]`` over the batch.

    Parameters
    ----------
    xb : torch.Tensor of shape (batch, n_chans, n_times)
    starts : sequence of int of length batch
        Offset of each sample's crop.
    crop_len : int

    Returns
    -------
    crops : torch.Tensor of shape (batch, n_chans, crop_len)

    Examples
    --------
    >>> import torch
    >>> xb = torch.arange(12.0).reshape(2, 1, 6)  # 2 trials, 1 channel, 6 samples
    >>> crop_batch(xb, [0, 3], crop_len=3)
    tensor([[[ 0.,  1.,  2.]],
    <BLANKLINE>
            [[ 9., 10., 11.]]])
    """
    import torch

    return torch.stack([xb[i, :, s : s + crop_len] for i, s in enumerate(starts)])
