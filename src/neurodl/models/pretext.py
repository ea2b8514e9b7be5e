"""Self-supervised pretext networks around a registry model's encoder.

A registry classifier (``shallow``, ``eegnet``) ends in a linear ``head``; everything before it
is the encoder. :class:`FeatureExtractor` returns the head's input without its last dropout (the
flattened output of the layer named in :data:`FEATURE_LAYERS`) by running the network with a forward hook on that layer,
so the encoder's code is not duplicated. The pretext heads map those features to the pretext
task's output:

- :class:`PairHead`: relative positioning (Banville et al. 2021), ``|h(x1) - h(x2)|`` -> one
  logit ("close in time" vs "far apart");
- :class:`TripletHead`: temporal shuffling, ``[|h1 - h2|, |h2 - h3|]`` -> one logit ("in
  order" vs "shuffled");
- :class:`ProjectionHead`: SimCLR's two-layer projection for the contrastive loss.

:class:`PretextNet` holds the encoder and one head; the estimators of
:mod:`neurodl.estimators.pretraining` train it.

Examples
--------
>>> import torch
>>> from neurodl.models import build_model
>>> net = build_model("shallow", n_chans=3, n_times=200, n_outputs=2)
>>> feats = FeatureExtractor(net, "shallow")
>>> tuple(feats(torch.zeros(4, 3, 200)).shape) == (4, net.head.in_features)
True
"""

from __future__ import annotations

import torch
from torch import nn

from ..exceptions import ConfigError

__all__ = [
    "FEATURE_LAYERS",
    "FeatureExtractor",
    "PairHead",
    "PretextNet",
    "ProjectionHead",
    "TripletHead",
]

#: registry model -> submodule whose (flattened) output is the input of its linear ``head``
#: before the last dropout (dropout noise on both windows of a pair would swamp their
#: difference; in eval mode dropout is the identity, so these are exactly the head's inputs).
FEATURE_LAYERS: dict[str, str] = {"shallow": "pool_nonlin", "eegnet": "pool_2.1"}


def feature_layer(model: str) -> str:
    """The layer whose output :class:`FeatureExtractor` returns for registry ``model``."""
    if model not in FEATURE_LAYERS:
        raise ConfigError(
            f"Invalid value for 'model' for self-supervised pretraining. Allowed: "
            f"{', '.join(map(repr, FEATURE_LAYERS))}; got {model!r}."
        )
    return FEATURE_LAYERS[model]


class FeatureExtractor(nn.Module):
    """The encoder of a registry network: ``(batch, n_chans, n_times) -> (batch, n_features)``.

    Parameters
    ----------
    net : nn.Module
        A registry model listed in :data:`FEATURE_LAYERS` (its head is computed and discarded).
    model : str
        Its registry name.
    """

    def __init__(self, net: nn.Module, model: str):
        super().__init__()
        self.net = net
        self.layer_name = feature_layer(model)
        self.n_features = int(net.head.in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map x of shape (batch, n_chans, n_times) to features of shape (batch, n_features)."""
        captured: list[torch.Tensor] = []
        layer = self.net.get_submodule(self.layer_name)
        handle = layer.register_forward_hook(lambda mod, inp, out: captured.append(out))
        try:
            self.net(x)
        finally:
            handle.remove()
        return captured[-1].flatten(1)


class PairHead(nn.Module):
    """Relative positioning: features of two windows -> logit of "close in time"."""

    def __init__(self, n_features: int):
        super().__init__()
        self.linear = nn.Linear(n_features, 1)

    def forward(self, h1: torch.Tensor, h2: torch.Tensor) -> torch.Tensor:
        """Map two (batch, n_features) tensors to logits of shape (batch,)."""
        return self.linear((h1 - h2).abs())[:, 0]


class TripletHead(nn.Module):
    """Temporal shuffling: features of three windows -> logit of "in temporal order"."""

    def __init__(self, n_features: int):
        super().__init__()
        self.linear = nn.Linear(2 * n_features, 1)

    def forward(self, h1: torch.Tensor, h2: torch.Tensor, h3: torch.Tensor) -> torch.Tensor:
        """Map three (batch, n_features) tensors to logits of shape (batch,)."""
        return self.linear(torch.cat([(h1 - h2).abs(), (h2 - h3).abs()], dim=1))[:, 0]


class ProjectionHead(nn.Module):
    """SimCLR projection: Linear -> ReLU -> Linear, ``(batch, n_features) -> (batch, n_out)``."""

    def __init__(self, n_features: int, n_hidden: int = 128, n_out: int = 64):
        super().__init__()
        self.hidden = nn.Linear(n_features, n_hidden)
        self.out = nn.Linear(n_hidden, n_out)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.hidden(h)))


class PretextNet(nn.Module):
    """An encoder (:class:`FeatureExtractor`) and a pretext head trained together."""

    def __init__(self, encoder: FeatureExtractor, head: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.pretext_head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features of x (batch, n_chans, n_times): (batch, n_features)."""
        return self.encoder(x)
