"""A network on Riemannian tangent vectors of shrinkage covariances, "tangent_mlp" in the registry.

The classical pipeline OAS covariances -> tangent space -> logistic regression, with the
logistic regression replaced by a small perceptron trained by the network engine (augmentation,
early stopping on whole training subjects, adaptive batch norm): each window's covariance is
computed inside the network (OAS shrinkage, Chen et al. 2010, as
:class:`sklearn.covariance.OAS`), optionally projected by a learnt bilinear map
``W^T C W`` (SPDNet's BiMap, Huang & Van Gool 2017), mapped to the tangent space at the identity
by the matrix logarithm and vectorised (upper triangle, off-diagonal terms times sqrt(2), so the
Euclidean norm of the vector is the Frobenius norm of the matrix).

The identity is the right reference point when every subject's signals were re-centred on the
subject's own Riemannian mean (the ``riemannian_recentring`` adaptation step): each subject's
mean covariance is then the identity. The first batch norm standardises the tangent vector;
with ``adaptive_bn`` in the estimator its statistics are re-estimated on the test subject's
unlabelled windows (a per-subject standardisation of the tangent features).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..exceptions import ConfigError
from ._layers import check_positive_int, check_probability
from .registry import register_model

__all__ = [
    "TANGENT_NORMS",
    "TangentBatchNorm",
    "TangentSpaceNet",
    "oas_covariances",
    "tangent_vectors",
]


def oas_covariances(x: torch.Tensor) -> torch.Tensor:
    """OAS-shrunk covariance of every window (the formula of :func:`sklearn.covariance.oas`).

    Parameters
    ----------
    x : Tensor of shape (batch, n_chans, n_times)

    Returns
    -------
    cov : Tensor of shape (batch, n_chans, n_chans)
        ``(1 - s) S + s mu I`` with ``S`` the empirical covariance (mean removed, divided by
        ``n_times``), ``mu = trace(S) / n_chans`` and ``s`` the OAS shrinkage (at most 1).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.covariance import oas
    >>> x = torch.randn(2, 4, 50, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    >>> cov = oas_covariances(x)
    >>> cov.shape  # one 4 x 4 covariance per window
    torch.Size([2, 4, 4])
    >>> np.allclose(cov[0].numpy(), oas(x[0].numpy().T)[0])  # as scikit-learn's OAS
    True
    """
    n_chans, n_times = x.shape[1], x.shape[2]
    xc = x - x.mean(dim=2, keepdim=True)
    emp = xc @ xc.transpose(1, 2) / n_times
    mu = torch.diagonal(emp, dim1=1, dim2=2).sum(-1) / n_chans  # (batch,)
    alpha = (emp**2).mean(dim=(1, 2))
    num = alpha + mu**2
    den = (n_times + 1) * (alpha - mu**2 / n_chans)
    safe = torch.where(den > 0, den, torch.ones_like(den))
    shrink = torch.where(den > 0, torch.clamp(num / safe, max=1.0), torch.ones_like(den))
    eye = torch.eye(n_chans, dtype=x.dtype, device=x.device)
    s = shrink[:, None, None]
    return (1.0 - s) * emp + s * mu[:, None, None] * eye


def tangent_vectors(
    cov: torch.Tensor, eps: float = 1e-8, rel_floor: float | None = None
) -> torch.Tensor:
    """Upper-triangle vectors of ``logm(cov)`` (the tangent space at the identity).

    Parameters
    ----------
    cov : Tensor of shape (batch, n, n)
        Symmetric positive definite matrices.
    eps : float, default=1e-8
        Eigenvalues are clamped at ``eps`` before the logarithm.
    rel_floor : float, optional
        Instead of ``eps``: eigenvalues below ``rel_floor`` times their matrix's mean eigenvalue
        are raised to it (SPDNet's ReEig, scale-free).

    Returns
    -------
    vec : Tensor of shape (batch, n * (n + 1) // 2)
        Diagonal terms as they are, off-diagonal terms times sqrt(2) (pyriemann's ``upper``).

    Examples
    --------
    >>> tangent_vectors(torch.eye(3)[None]).abs().max().item()  # the identity maps to 0
    0.0
    >>> cov = torch.tensor([[[2.0, 0.5], [0.5, 1.0]]])
    >>> vec = tangent_vectors(cov)
    >>> vec.shape  # n * (n + 1) / 2 = 3 terms
    torch.Size([1, 3])
    >>> evals, evecs = torch.linalg.eigh(cov[0])
    >>> logm = evecs @ torch.diag(evals.log()) @ evecs.T
    >>> bool(torch.isclose(vec.norm(), torch.linalg.matrix_norm(logm)))  # Frobenius norm kept
    True
    """
    n = cov.shape[-1]
    evals, evecs = torch.linalg.eigh(cov)
    if rel_floor is None:
        floored = torch.clamp(evals, min=eps)
    else:
        floored = torch.maximum(evals, rel_floor * evals.mean(-1, keepdim=True).clamp(min=1e-12))
    log = (evecs * torch.log(floored)[:, None, :]) @ evecs.transpose(1, 2)
    iu = torch.triu_indices(n, n, device=cov.device)
    weight = torch.where(iu[0] == iu[1], 1.0, math.sqrt(2.0)).to(cov.dtype)
    return log[:, iu[0], iu[1]] * weight


class TangentBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm of tangent vectors with one dispersion for all coordinates.

    Subtracts the batch's mean vector and divides every coordinate by one scalar, the root of
    the mean squared deviation over all coordinates (the mean squared distance to the mean,
    divided by the number of coordinates), then applies a per-coordinate scale and shift. The
    log-Euclidean counterpart of the SPD batch norm of Brooks et al. (2019) and Kobler et al.
    (2022), which re-centre on the batch's mean and rescale by one dispersion: the relative
    sizes of the coordinates are kept, where :class:`torch.nn.BatchNorm1d` equalises them.
    Running statistics, ``momentum=None`` (cumulative averages) and therefore adaptive batch
    norm (:func:`~neurodl.estimators.torch_engine.adaptation.adapt_batchnorm`) work as for
    :class:`torch.nn.BatchNorm1d`; ``running_var`` holds the scalar in every entry.

    Parameters
    ----------
    num_features : int
        Length of the vectors; input of shape (batch, num_features).
    eps, momentum : float
        As :class:`torch.nn.BatchNorm1d`.

    Examples
    --------
    Coordinates of variance 1 and 100: one dispersion keeps their ratio:

    >>> _ = torch.manual_seed(0)
    >>> x = torch.randn(500, 2) * torch.tensor([1.0, 10.0]) + 3.0
    >>> out = TangentBatchNorm(2)(x)
    >>> ratio = lambda z: (z.std(0)[1] / z.std(0)[0]).item()
    >>> out.mean(0).abs().max().item() < 1e-5, abs(ratio(out) - ratio(x)) < 1e-4
    (True, True)
    >>> round(out.pow(2).mean().item(), 2)  # unit mean square over all coordinates
    1.0
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1):
        super().__init__(num_features, eps=eps, momentum=momentum, affine=True)

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() != 2:
            raise ValueError(f"expected 2-D input (batch, features); got {input.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` of shape (batch, num_features) -> the same shape."""
        self._check_input_dim(x)
        if self.training:
            mean = x.mean(0)
            var = (x - mean).pow(2).mean()
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                f = (
                    1.0 / float(self.num_batches_tracked)
                    if self.momentum is None
                    else float(self.momentum)
                )
                self.running_mean.mul_(1 - f).add_(f * mean.detach())
                self.running_var.mul_(1 - f).add_(f * var.detach())
        else:
            mean, var = self.running_mean, self.running_var[0]
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


#: Normalisations of the tangent vector: name -> layer class.
TANGENT_NORMS: dict[str, type[nn.Module]] = {
    "feature": nn.BatchNorm1d,
    "scalar": TangentBatchNorm,
}


def tangent_norm(name: str, n_features: int) -> nn.Module:
    """The normalisation layer ``name`` of :data:`TANGENT_NORMS` for ``n_features`` inputs."""
    if name not in TANGENT_NORMS:
        raise ConfigError(
            f"Invalid value for 'norm'. Allowed: {', '.join(map(repr, TANGENT_NORMS))}; "
            f"got {name!r}."
        )
    return TANGENT_NORMS[name](n_features)


@register_model("tangent_mlp")
class TangentSpaceNet(nn.Module):
    """Covariance (OAS) -> [bilinear map] -> matrix log -> batch norm -> MLP head(s).

    Parameters
    ----------
    n_chans, n_times, n_outputs : int
        Input channels, input samples, outputs (classes).
    sfreq : float, optional
        Unused (uniform signature).
    n_hidden : int, default=64
        Hidden units of each head; 0 gives a linear read-out of the standardised tangent
        vector (a logistic regression trained by the engine).
    n_spatial : int or None, default=None
        With an int ``k < n_chans``: a learnt bilinear map ``W^T C W`` (``W`` of shape
        (n_chans, k), initialised with orthonormal columns) before the logarithm; None: the
        full covariance.
    drop_prob : float, default=0.5
        Dropout on the standardised tangent vector and on the hidden units.
    n_members : int, default=1
        Independently initialised heads on the same tangent vector; their logits are averaged
        (an ensemble inside one network).
    eps : float, default=1e-8
        Eigenvalue floor of the logarithm.
    norm : {"feature", "scalar"}, default="feature"
        Batch norm of the tangent vector: every coordinate standardised
        (:class:`torch.nn.BatchNorm1d`), or one dispersion for all (:class:`TangentBatchNorm`).

    Attributes
    ----------
    n_features_ : int
        Length of the tangent vector, ``m (m + 1) / 2`` with ``m = n_spatial or n_chans``.

    Examples
    --------
    >>> import torch
    >>> net = TangentSpaceNet(19, 500, 2)
    >>> net.n_features_, tuple(net(torch.randn(3, 19, 500)).shape)
    (190, (3, 2))
    """

    def __init__(
        self,
        n_chans: int,
        n_times: int,
        n_outputs: int,
        *,
        sfreq: Any = None,
        n_hidden: int = 64,
        n_spatial: int | None = None,
        drop_prob: float = 0.5,
        n_members: int = 1,
        eps: float = 1e-8,
        norm: str = "feature",
    ) -> None:
        super().__init__()
        c = check_positive_int("n_chans", n_chans)
        check_positive_int("n_times", n_times)
        out = check_positive_int("n_outputs", n_outputs)
        members = check_positive_int("n_members", n_members)
        p = check_probability("drop_prob", drop_prob)
        n_hidden = check_positive_int("n_hidden", n_hidden, minimum=0)
        if n_spatial is not None:
            k = check_positive_int("n_spatial", n_spatial)
            if k > c:
                raise ConfigError(
                    f"Invalid value for 'n_spatial': expected an integer <= n_chans ({c}), "
                    f"got {n_spatial!r}."
                )
        self.n_chans, self.n_times, self.n_outputs, self.sfreq = n_chans, n_times, n_outputs, sfreq
        self.n_hidden, self.n_spatial, self.drop_prob = n_hidden, n_spatial, drop_prob
        self.n_members, self.eps, self.norm = members, eps, norm
        m = c if n_spatial is None else n_spatial
        self.n_features_ = m * (m + 1) // 2
        if n_spatial is not None:
            w = torch.linalg.qr(torch.randn(c, m))[0]
            self.bimap = nn.Parameter(w)
        else:
            self.register_parameter("bimap", None)
        self.bnorm = tangent_norm(norm, self.n_features_)
        self.dropout = nn.Dropout(p)

        def head() -> nn.Module:
            if n_hidden == 0:
                return nn.Linear(self.n_features_, out)
            return nn.Sequential(
                nn.Linear(self.n_features_, n_hidden),
                nn.GELU(),
                nn.Dropout(p),
                nn.Linear(n_hidden, out),
            )

        self.heads = nn.ModuleList([head() for _ in range(members)])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Tangent vectors (before batch norm), shape (batch, n_features_), from (batch,
        n_chans, n_times) signals (computed in float64)."""
        cov = oas_covariances(x.double())
        if self.bimap is not None:
            w = self.bimap.double()
            cov = w.T @ cov @ w
            cov = cov + self.eps * torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device)
        return tangent_vectors(cov, self.eps).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` of shape (batch, n_chans, n_times) -> logits (batch, n_outputs)."""
        z = self.dropout(self.bnorm(self.features(x)))
        return torch.stack([h(z) for h in self.heads]).mean(0)
