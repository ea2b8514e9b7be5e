"""Class-conditional generative networks for windows of multichannel signals.

Three modules, all on tensors of shape ``(batch, n_chans, n_times)`` and integer class labels
of shape ``(batch,)``:

- :class:`ConditionalDecoder`: latent ``z`` of shape ``(batch, n_latent)`` and a class ->
  window. The generator of the WGAN-GP and the decoder of the VAE.
- :class:`ConditionalEncoder`: window and class -> ``(mu, logvar)``, each ``(batch, n_latent)``.
- :class:`ConditionalCritic`: window and class -> one unbounded score per window (WGAN critic,
  class given by an embedding projection, Miyato & Koyama 2018).

:class:`ConditionalVAE` pairs an encoder with a decoder (Sohn et al. 2015). The decoder grows a
short sequence by ``n_up`` nearest-neighbour upsampling + convolution stages (no transposed
convolutions: no checkerboard artefacts) and crops to ``n_times``. These modules are not in the
model registry (their signature is not ``(n_chans, n_times, n_outputs)``); the estimators of
:mod:`neurodl.estimators.generative` train them.

Examples
--------
>>> import torch
>>> dec = ConditionalDecoder(n_chans=4, n_times=100, n_classes=2, n_latent=8)
>>> tuple(dec(torch.zeros(3, 8), torch.tensor([0, 1, 1])).shape)
(3, 4, 100)
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._layers import check_positive_int

__all__ = ["ConditionalCritic", "ConditionalDecoder", "ConditionalEncoder", "ConditionalVAE"]


def _down_stages(n_times: int, n_up: int) -> int:
    """Length of the decoder's first sequence: ``ceil(n_times / 2**n_up)``."""
    return max(1, math.ceil(n_times / 2**n_up))


class ConditionalDecoder(nn.Module):
    """Latent code + class -> window of shape ``(n_chans, n_times)``.

    Parameters
    ----------
    n_chans, n_times, n_classes : int
        Output channels, output samples, number of classes.
    n_latent : int, default=32
        Size of the latent code.
    width : int, default=64
        Feature maps of every hidden convolution.
    n_up : int, default=3
        Upsampling stages (each doubles the length); the first sequence has
        ``ceil(n_times / 2**n_up)`` samples.
    kernel_size : int, default=9
        Odd kernel size of the convolutions (same padding).

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> dec = ConditionalDecoder(n_chans=4, n_times=100, n_classes=2, n_latent=8, width=16).eval()
    >>> dec.len0_  # first sequence: ceil(100 / 2**3) samples, upsampled to 104, cropped to 100
    13
    >>> fake = dec(torch.randn(6, 8), torch.tensor([0, 0, 0, 1, 1, 1]))
    >>> fake.shape  # 6 generated windows, 3 of each class
    torch.Size([6, 4, 100])
    """

    def __init__(
        self,
        n_chans: int,
        n_times: int,
        n_classes: int,
        *,
        n_latent: int = 32,
        width: int = 64,
        n_up: int = 3,
        kernel_size: int = 9,
    ):
        super().__init__()
        self.n_chans = check_positive_int("n_chans", n_chans)
        self.n_times = check_positive_int("n_times", n_times)
        self.n_classes = check_positive_int("n_classes", n_classes)
        self.n_latent = check_positive_int("n_latent", n_latent)
        self.width = check_positive_int("width", width)
        self.n_up = int(n_up)
        self.len0_ = _down_stages(n_times, n_up)
        pad = kernel_size // 2
        self.class_embedding = nn.Embedding(n_classes, n_latent)
        self.project = nn.Linear(2 * n_latent, width * self.len0_)
        stages: list[nn.Module] = []
        for _ in range(n_up):
            stages += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv1d(width, width, kernel_size, padding=pad),
                nn.BatchNorm1d(width),
                nn.LeakyReLU(0.2),
            ]
        self.upsample = nn.Sequential(*stages)
        self.to_signal = nn.Conv1d(width, n_chans, kernel_size, padding=pad)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Map z of shape (batch, n_latent) and y of shape (batch,) to (batch, n_chans, n_times)."""
        h = torch.cat([z, self.class_embedding(y)], dim=1)  # (batch, 2 * n_latent)
        h = self.project(h).view(len(z), self.width, self.len0_)  # (batch, width, len0)
        h = self.upsample(h)  # (batch, width, len0 * 2**n_up)
        return self.to_signal(h)[:, :, : self.n_times]


class _ConvTrunk(nn.Module):
    """Strided convolutions ``(batch, n_in, n_times) -> (batch, width * n_out_times)``."""

    def __init__(self, n_in: int, n_times: int, width: int, n_down: int, kernel_size: int, norm):
        super().__init__()
        layers: list[nn.Module] = []
        c, t = n_in, n_times
        for _ in range(n_down):
            layers += [nn.Conv1d(c, width, kernel_size, stride=2, padding=kernel_size // 2)]
            if norm:
                layers += [norm(width)]
            layers += [nn.LeakyReLU(0.2)]
            c, t = width, (t + 2 * (kernel_size // 2) - kernel_size) // 2 + 1
        self.convs = nn.Sequential(*layers)
        self.n_features_ = width * t

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.convs(x).flatten(1)


class ConditionalEncoder(nn.Module):
    """Window + class -> Gaussian posterior ``(mu, logvar)`` of the latent code.

    The class enters as extra constant input channels (one-hot).

    Parameters
    ----------
    n_chans, n_times, n_classes, n_latent, width, kernel_size : int
        As for :class:`ConditionalDecoder`.
    n_down : int, default=3
        Stride-2 convolutions.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> enc = ConditionalEncoder(n_chans=4, n_times=100, n_classes=2, n_latent=8, width=16)
    >>> mu, logvar = enc(torch.randn(5, 4, 100), torch.tensor([0, 1, 0, 1, 1]))
    >>> mu.shape, logvar.shape
    (torch.Size([5, 8]), torch.Size([5, 8]))
    >>> bool(logvar.abs().max() <= 10)  # log-variance clamped to [-10, 10]
    True
    """

    def __init__(
        self,
        n_chans: int,
        n_times: int,
        n_classes: int,
        *,
        n_latent: int = 32,
        width: int = 64,
        n_down: int = 3,
        kernel_size: int = 9,
    ):
        super().__init__()
        self.n_classes = check_positive_int("n_classes", n_classes)
        self.trunk = _ConvTrunk(
            n_chans + n_classes, n_times, width, n_down, kernel_size, nn.BatchNorm1d
        )
        self.mu = nn.Linear(self.trunk.n_features_, n_latent)
        self.logvar = nn.Linear(self.trunk.n_features_, n_latent)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Map x (batch, n_chans, n_times), y (batch,) to mu, logvar of shape (batch, n_latent)."""
        onehot = nn.functional.one_hot(y, self.n_classes).to(x.dtype)
        h = self.trunk(torch.cat([x, onehot[:, :, None].expand(-1, -1, x.shape[2])], dim=1))
        return self.mu(h), self.logvar(h).clamp(-10.0, 10.0)


class ConditionalVAE(nn.Module):
    """Conditional VAE: :class:`ConditionalEncoder` + :class:`ConditionalDecoder`.

    ``forward(x, y)`` returns the reconstruction (batch, n_chans, n_times), ``mu`` and
    ``logvar`` (batch, n_latent); the latent is drawn with the reparameterisation trick in
    training mode and is ``mu`` in eval mode.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> vae = ConditionalVAE(n_chans=4, n_times=100, n_classes=2, n_latent=8, width=16)
    >>> x, y = torch.randn(5, 4, 100), torch.tensor([0, 1, 0, 1, 1])
    >>> recon, mu, logvar = vae(x, y)
    >>> recon.shape, mu.shape
    (torch.Size([5, 4, 100]), torch.Size([5, 8]))
    >>> _ = vae.eval()
    >>> torch.equal(vae(x, y)[0], vae.decoder(vae.encoder(x, y)[0], y))  # eval mode: z = mu
    True
    """

    def __init__(self, n_chans: int, n_times: int, n_classes: int, **params):
        super().__init__()
        n_latent = params.get("n_latent", 32)
        width = params.get("width", 64)
        depth = params.get("n_up", 3)
        k = params.get("kernel_size", 9)
        self.n_latent = n_latent
        self.encoder = ConditionalEncoder(
            n_chans, n_times, n_classes, n_latent=n_latent, width=width, n_down=depth, kernel_size=k
        )
        self.decoder = ConditionalDecoder(
            n_chans, n_times, n_classes, n_latent=n_latent, width=width, n_up=depth, kernel_size=k
        )

    def forward(
        self, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruct x (batch, n_chans, n_times) of class y; ``eps`` (batch, n_latent) noise."""
        mu, logvar = self.encoder(x, y)
        z = mu
        if self.training:
            eps = torch.randn_like(mu) if eps is None else eps
            z = mu + eps * torch.exp(0.5 * logvar)
        return self.decoder(z, y), mu, logvar


class ConditionalCritic(nn.Module):
    """WGAN critic with a class projection: ``score = w . h(x) + embed(y) . h(x)``.

    No batch norm: the gradient penalty is computed per sample, and batch norm would couple
    the samples of a batch (Gulrajani et al. 2017).

    Parameters
    ----------
    n_chans, n_times, n_classes, width, kernel_size : int
        As for :class:`ConditionalDecoder`.
    n_down : int, default=3
        Stride-2 convolutions.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> critic = ConditionalCritic(n_chans=4, n_times=100, n_classes=2, width=16)
    >>> x = torch.randn(5, 4, 100)
    >>> critic(x, torch.tensor([0, 1, 0, 1, 1])).shape  # one unbounded score per window
    torch.Size([5])
    >>> alone = critic(x[:1], torch.tensor([0]))  # no batch norm: a score ignores the batch
    >>> torch.allclose(alone, critic(x, torch.zeros(5, dtype=torch.long))[:1], atol=1e-5)
    True
    """

    def __init__(
        self,
        n_chans: int,
        n_times: int,
        n_classes: int,
        *,
        width: int = 64,
        n_down: int = 3,
        kernel_size: int = 9,
    ):
        super().__init__()
        self.trunk = _ConvTrunk(n_chans, n_times, width, n_down, kernel_size, None)
        self.score = nn.Linear(self.trunk.n_features_, 1)
        self.class_projection = nn.Embedding(n_classes, self.trunk.n_features_)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Map x (batch, n_chans, n_times), y (batch,) to scores of shape (batch,)."""
        h = self.trunk(x)
        return self.score(h)[:, 0] + (self.class_projection(y) * h).sum(1) / math.sqrt(h.shape[1])
