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

    Examples
    --------
    >>> from neurodl.models import build_model
    >>> _ = torch.manual_seed(0)
    >>> net = build_model("shallow", n_chans=4, n_times=200, n_outputs=2).eval()
    >>> enc = FeatureExtractor(net, "shallow")
    >>> x = torch.randn(3, 4, 200)
    >>> h = enc(x)
    >>> h.shape == (3, enc.n_features)
    True
    >>> torch.allclose(net.head(h), net(x), atol=1e-6)  # eval mode: exactly the head's inputs
    True
    >>> try:
    ...     FeatureExtractor(net, "deep4")
    ... except ValueError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    Invalid value for 'model' for self-supervised pretraining.
    Allowed: 'shallow', 'eegnet'; got 'deep4'.
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
    """Relative positioning: features of two windows -> logit of "close in time".

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> head = PairHead(n_features=16)
    >>> h1, h2 = torch.randn(8, 16), torch.randn(8, 16)
    >>> head(h1, h2).shape  # one logit per pair
    torch.Size([8])
    >>> torch.equal(head(h1, h2), head(h2, h1))  # symmetric: only |h1 - h2| counts
    True
    """

    def __init__(self, n_features: int):
        super().__init__()
        self.linear = nn.Linear(n_features, 1)

    def forward(self, h1: torch.Tensor, h2: torch.Tensor) -> torch.Tensor:
        """Map two (batch, n_features) tensors to logits of shape (batch,)."""
        return self.linear((h1 - h2).abs())[:, 0]


class TripletHead(nn.Module):
    """Temporal shuffling: features of three windows -> logit of "in temporal order".

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> head = TripletHead(n_features=16)
    >>> h1, h2, h3 = torch.randn(3, 8, 16)
    >>> head(h1, h2, h3).shape  # one logit per triplet
    torch.Size([8])
    >>> still = torch.ones(1, 16)  # three identical windows: only the bias is left
    >>> torch.equal(head(still, still, still), head.linear.bias)
    True
    """

    def __init__(self, n_features: int):
        super().__init__()
        self.linear = nn.Linear(2 * n_features, 1)

    def forward(self, h1: torch.Tensor, h2: torch.Tensor, h3: torch.Tensor) -> torch.Tensor:
        """Map three (batch, n_features) tensors to logits of shape (batch,)."""
        return self.linear(torch.cat([(h1 - h2).abs(), (h2 - h3).abs()], dim=1))[:, 0]


class ProjectionHead(nn.Module):
    """SimCLR projection: Linear -> ReLU -> Linear, ``(batch, n_features) -> (batch, n_out)``.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> proj = ProjectionHead(n_features=40, n_hidden=32, n_out=8)
    >>> proj(torch.randn(6, 40)).shape  # the contrastive loss compares these
    torch.Size([6, 8])
    """

    def __init__(self, n_features: int, n_hidden: int = 128, n_out: int = 64):
        super().__init__()
        self.hidden = nn.Linear(n_features, n_hidden)
        self.out = nn.Linear(n_hidden, n_out)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.hidden(h)))


class PretextNet(nn.Module):
    """An encoder (:class:`FeatureExtractor`) and a pretext head trained together.

    Examples
    --------
    >>> from neurodl.models import build_model
    >>> _ = torch.manual_seed(0)
    >>> net = build_model("shallow", n_chans=3, n_times=200, n_outputs=2)
    >>> enc = FeatureExtractor(net, "shallow")
    >>> pretext = PretextNet(enc, PairHead(enc.n_features)).eval()
    >>> x1, x2 = torch.randn(2, 4, 3, 200)  # 4 pairs of windows
    >>> h1, h2 = pretext(x1), pretext(x2)
    >>> h1.shape == (4, enc.n_features)
    True
    >>> pretext.pretext_head(h1, h2).shape  # "close in time" logits
    torch.Size([4])
    """

    def __init__(self, encoder: FeatureExtractor, head: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.pretext_head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features of x (batch, n_chans, n_times): (batch, n_features)."""
        return self.encoder(x)
