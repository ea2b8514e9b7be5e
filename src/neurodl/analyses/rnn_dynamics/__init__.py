"""Dynamics of trained recurrent networks: fixed/slow points, line attractors, PCA trajectories.

Everything works on a recurrent update ``F(h, x) -> h_next`` given as a torch function on
batched states of shape (n_states, n_hidden); :func:`cell_update`, :func:`layer_update` and
:func:`leaky_rnn_update` build one from torch modules or weights. :func:`find_fixed_points`
returns a :class:`FixedPoints` (points, Jacobians, eigenvalues, stability of the discrete map:
stable when all ``|lambda| < 1``); :func:`detect_line_attractor` looks for a line of marginal
points; :func:`pca_trajectories` projects per-condition mean trajectories on the top PCs.
"""

from __future__ import annotations

from .adapters import cell_update, layer_update, leaky_rnn_update
from .fixed_points import (
    STABILITY_LABELS,
    FixedPoints,
    classify_stability,
    find_fixed_points,
    sample_states,
)
from .line_attractor import LineAttractor, detect_line_attractor
from .trajectories import PCATrajectories, pca_trajectories

__all__ = [
    "STABILITY_LABELS",
    "FixedPoints",
    "LineAttractor",
    "PCATrajectories",
    "cell_update",
    "classify_stability",
    "detect_line_attractor",
    "find_fixed_points",
    "layer_update",
    "leaky_rnn_update",
    "pca_trajectories",
    "sample_states",
]
