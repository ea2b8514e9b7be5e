"""Batch order and data-parallel (DDP) training: which samples each rank trains on, and when.

Each epoch draws the permutation ``torch.randperm(n, generator=seed + epoch)``, exactly as
:class:`torch.utils.data.DistributedSampler` does, and cuts it into consecutive batches of
``batch_size`` (a last batch of a single sample is skipped so that batch norm never sees one
sample). Under DDP (:class:`DistContext` with ``world_size > 1``) each rank takes its
``DistributedSampler`` share and batches of ``batch_size // world_size``; losses and metrics
are all-reduced with :meth:`DistContext.all_reduce_sum`. Launching processes is
:mod:`neurodl.estimators.distributed`.

With ``batch_groups`` (one group code per training sample, e.g. the subject), each batch holds
the samples of one group only (:func:`group_train_order`): each group's samples are permuted
and cut into batches, and the order of all batches is permuted. Batch norm then learns with
one group's statistics at a time, as adaptive batch norm applies them at test time
(domain-specific batch norm, Kobler et al. 2022).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "DistContext",
    "epoch_permutation",
    "group_train_order",
    "shard_indices",
    "train_order",
]


@dataclass
class DistContext:
    """Process-group facts for data-parallel training (``world_size == 1``: single process).

    Examples
    --------
    The default is a single process: not active, reductions are the identity:

    >>> import torch
    >>> ctx = DistContext()
    >>> ctx, ctx.active
    (DistContext(rank=0, world_size=1), False)
    >>> ctx.all_reduce_sum(torch.tensor([1.5, 2.0], dtype=torch.float64))
    tensor([1.5000, 2.0000], dtype=torch.float64)
    >>> DistContext(rank=1, world_size=2).active  # rank 1 of a 2-process group
    True
    """

    rank: int = 0
    world_size: int = 1

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def all_reduce_sum(self, values: Any) -> Any:
        """Sum a float64 tensor over ranks (identity for a single process)."""
        if not self.active:
            return values
        import torch.distributed as dist

        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.barrier()


def shard_indices(n: int, dist: DistContext) -> np.ndarray:
    """This rank's contiguous share of ``n`` evaluation samples (all of them without DDP).

    Examples
    --------
    >>> shard_indices(5, DistContext())
    array([0, 1, 2, 3, 4])
    >>> shard_indices(5, DistContext(rank=0, world_size=2)), shard_indices(5, DistContext(1, 2))
    (array([0, 1, 2]), array([3, 4]))
    """
    return np.array_split(np.arange(n), dist.world_size)[dist.rank]


def epoch_permutation(n: int, seed: int, epoch: int) -> Any:
    """The training order of an epoch: what ``DistributedSampler(seed=seed)`` draws.

    Examples
    --------
    A permutation of the samples that depends only on the seed and the epoch:

    >>> p0 = epoch_permutation(6, seed=0, epoch=0)
    >>> sorted(p0.tolist())
    [0, 1, 2, 3, 4, 5]
    >>> bool((p0 == epoch_permutation(6, seed=0, epoch=0)).all())  # reproducible
    True
    >>> bool((p0 == epoch_permutation(6, seed=0, epoch=1)).all())  # reshuffled next epoch
    False
    """
    import torch

    g = torch.Generator()
    g.manual_seed(seed + epoch)
    return torch.randperm(n, generator=g)


def _batches(order: Any, batch_size: int) -> list[Any]:
    chunks = list(order.split(batch_size))
    if len(chunks) > 1 and len(chunks[-1]) == 1:
        chunks = chunks[:-1]
    return chunks


def group_train_order(
    groups: np.ndarray, batch_size: int, seed: int, epoch: int
) -> list[Any]:
    """One epoch's batches (index tensors), each drawn from the samples of a single group.

    Parameters
    ----------
    groups : ndarray of shape (n_samples,)
        Group code of each training sample (e.g. the subject).
    batch_size, seed, epoch : int
        As :func:`train_order`: the epoch's draws use the generator ``seed + epoch``.

    Returns
    -------
    batches : list of LongTensor
        Every sample once, in an order permuted across groups; a batch of a single sample (a
        group's remainder) is skipped, so batch norm never sees one sample.

    Examples
    --------
    Two subjects of 5 and 4 samples in batches of 3: no batch mixes them:

    >>> import numpy as np
    >>> groups = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1])
    >>> batches = group_train_order(groups, batch_size=3, seed=0, epoch=0)
    >>> sorted(len(b) for b in batches)  # subject 1's remainder of one sample is skipped
    [2, 3, 3]
    >>> all(len(set(groups[b.numpy()])) == 1 for b in batches)
    True
    """
    import torch

    codes = np.asarray(groups)
    g = torch.Generator().manual_seed(int(seed) + int(epoch))
    batches: list[Any] = []
    for code in np.unique(codes):
        members = torch.as_tensor(np.flatnonzero(codes == code), dtype=torch.long)
        order = members[torch.randperm(len(members), generator=g)]
        batches.extend(c for c in order.split(batch_size) if len(c) > 1)
    perm = torch.randperm(len(batches), generator=g).tolist()
    return [batches[i] for i in perm]


def train_order(n: int, batch_size: int, seed: int, epoch: int, dist: DistContext) -> list[Any]:
    """This rank's batches (index tensors) of one epoch (see the module docstring).

    Examples
    --------
    7 samples in batches of 3: the last batch of a single sample is skipped:

    >>> batches = train_order(7, batch_size=3, seed=0, epoch=0, dist=DistContext())
    >>> [len(b) for b in batches]
    [3, 3]
    >>> bool((batches[0] == epoch_permutation(7, seed=0, epoch=0)[:3]).all())
    True
    """
    if not dist.active:
        return _batches(epoch_permutation(n, seed, epoch), batch_size)
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(
        range(n), num_replicas=dist.world_size, rank=dist.rank, shuffle=True, seed=seed
    )
    sampler.set_epoch(epoch)
    import torch

    local = torch.tensor(list(iter(sampler)), dtype=torch.long)
    return _batches(local, batch_size // dist.world_size)
