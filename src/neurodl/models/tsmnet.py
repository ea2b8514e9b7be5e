"""TSMNet, "tsmnet" in the registry: learnt filters -> covariance -> tangent space -> linear.

After Kobler et al. (2022, "SPD domain-specific batch normalization to crack interpretable
unsupervised domain adaptation in EEG", NeurIPS): a temporal convolution (a learnt filter bank)
and a spatial convolution over all channels and filters give ``n_virtual`` virtual channels;
their covariance is projected by a learnt bilinear map ``W^T C W`` (SPDNet's BiMap, ``W`` of
shape (n_virtual, n_spatial)), its small eigenvalues are floored (ReEig) and the matrix
logarithm (LogEig) gives a tangent vector, which a batch norm standardises before a linear
read-out.

Domain adaptation: Kobler et al. re-centre and re-scale the SPD matrices of each domain
(subject) on the domain's own Riemannian mean and dispersion. Here the batch norm on the
log-Euclidean tangent vector plays that part: trained with batches of one subject each
(``batch_by_group=True`` in :class:`~neurodl.estimators.NeuralClassifier`) it standardises every
subject with that subject's statistics, and ``adaptive_bn=True`` re-estimates them on a new
subject's unlabelled windows at test time (the log-Euclidean counterpart of their SPD
domain-specific batch norm: the mean is subtracted in the matrix-log domain and each tangent
coordinate is scaled, where they transport on the manifold and scale one dispersion).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..exceptions import ConfigError
from ._layers import check_n_times, check_positive_int, check_probability
from .registry import register_model
from .riemann import tangent_norm, tangent_vectors

__all__ = ["TSMNet"]


@register_model("tsmnet")
class TSMNet(nn.Module):
    """Temporal conv -> spatial conv -> covariance -> BiMap -> ReEig/LogEig -> batch norm -> linear.

    Parameters
    ----------
    n_chans, n_times, n_outputs : int
        Input channels, input samples, outputs (classes).
    sfreq : float, optional
        Unused (uniform signature): ``kernel_len`` is in samples.
    n_filters : int, default=4
        Temporal filters (the learnt filter bank).
    kernel_len : int, default=25
        Length of the temporal filters in samples (zero-padded, so the length is kept).
    n_virtual : int, default=40
        Virtual channels of the spatial convolution (over all channels and filters).
    n_spatial : int, default=20
        Size of the covariance after the bilinear map (``<= n_virtual``).
    drop_prob : float, default=0.0
        Dropout on the standardised tangent vector.
    rel_floor : float, default=1e-4
        Eigenvalues below ``rel_floor`` times their mean are raised to it (ReEig).
    norm : {"feature", "scalar"}, default="feature"
        Batch norm of the tangent vector: every coordinate standardised, or one dispersion for
        all (:class:`~neurodl.models.riemann.TangentBatchNorm`, as Kobler et al.'s SPD batch
        norm).

    Attributes
    ----------
    n_features_ : int
        Length of the tangent vector, ``n_spatial (n_spatial + 1) / 2``.

    Examples
    --------
    >>> import torch
    >>> net = TSMNet(19, 500, 2, n_virtual=8, n_spatial=4)
    >>> net.n_features_, tuple(net(torch.randn(3, 19, 500)).shape)
    (10, (3, 2))
    >>> TSMNet(19, 500, 2, n_virtual=8, n_spatial=10)
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: Invalid value for 'n_spatial': expected an integer <= n_virtual (8), got 10.
    """

    def __init__(
        self,
        n_chans: int,
        n_times: int,
        n_outputs: int,
        *,
        sfreq: Any = None,
        n_filters: int = 4,
        kernel_len: int = 25,
        n_virtual: int = 40,
        n_spatial: int = 20,
        drop_prob: float = 0.0,
        rel_floor: float = 1e-4,
        norm: str = "feature",
    ) -> None:
        super().__init__()
        c = check_positive_int("n_chans", n_chans)
        t = check_n_times("tsmnet", n_times, self.min_n_times(kernel_len=kernel_len))
        out = check_positive_int("n_outputs", n_outputs)
        f = check_positive_int("n_filters", n_filters)
        k = check_positive_int("kernel_len", kernel_len)
        v = check_positive_int("n_virtual", n_virtual, minimum=2)
        s = check_positive_int("n_spatial", n_spatial, minimum=2)
        p = check_probability("drop_prob", drop_prob)
        if s > v:
            raise ConfigError(
                f"Invalid value for 'n_spatial': expected an integer <= n_virtual ({v}), "
                f"got {n_spatial!r}."
            )
        if not (isinstance(rel_floor, int | float) and 0 < rel_floor < 1):
            raise ConfigError(
                f"Invalid value for 'rel_floor': expected a float in (0, 1), got {rel_floor!r}."
            )
        self.n_chans, self.n_times, self.n_outputs, self.sfreq = c, t, out, sfreq
        self.n_filters, self.kernel_len, self.n_virtual, self.n_spatial = f, k, v, s
        self.drop_prob, self.rel_floor, self.norm = p, float(rel_floor), norm
        self.n_features_ = s * (s + 1) // 2
        self.temporal = nn.Conv2d(1, f, (1, k), padding=(0, k // 2), bias=False)
        self.spatial = nn.Conv2d(f, v, (c, 1), bias=False)
        self.bimap = nn.Parameter(torch.linalg.qr(torch.randn(v, s))[0])
        self.bnorm = tangent_norm(norm, self.n_features_)
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(self.n_features_, out)

    @classmethod
    def min_n_times(cls, sfreq: float | None = None, **params: Any) -> int:
        """Smallest n_times: one temporal filter length (``kernel_len``, 25 by default)."""
        return check_positive_int("kernel_len", params.get("kernel_len", 25))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Tangent vectors (before batch norm), shape (batch, n_features_), from (batch,
        n_chans, n_times) signals (the covariance and logarithm in float64)."""
        z = self.spatial(self.temporal(x[:, None])).squeeze(2).double()  # (batch, virtual, time)
        z = z - z.mean(-1, keepdim=True)
        cov = z @ z.transpose(1, 2) / z.shape[-1]
        w = self.bimap.double()
        cov = w.T @ cov @ w
        return tangent_vectors(cov, rel_floor=self.rel_floor).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` of shape (batch, n_chans, n_times) -> logits (batch, n_outputs)."""
        return self.classifier(self.dropout(self.bnorm(self.features(x))))
