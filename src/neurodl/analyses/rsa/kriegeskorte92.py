"""The 92-image human/monkey IT data of Kriegeskorte et al. (2008) as :class:`RDMs`.

The files are read by :func:`neurodl.datasets.kriegeskorte92.read_kriegeskorte92` (plain arrays);
this module only wraps them in RSA containers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurodl.datasets.kriegeskorte92 import RDMStack
from neurodl.datasets.kriegeskorte92 import read_kriegeskorte92 as _read_arrays

from .rdm import RDMs

__all__ = ["read_kriegeskorte92"]


def _as_rdms(stack: RDMStack, conditions: dict[str, Any]) -> RDMs:
    return RDMs(
        stack.dissimilarities,
        names=list(stack.names),
        descriptors=dict(stack.descriptors),
        condition_descriptors=conditions,
    )


def read_kriegeskorte92(root: str | Path, *, images: bool = False) -> dict[str, Any]:
    """Read the RDMs of the 92-image data set (rsatoolbox ``demos/92imageData`` files) as RDMs.

    Parameters
    ----------
    root : str or Path
        Folder holding ``92_brainRDMs.mat``, ``92_modelRDMs.mat`` and
        ``Kriegeskorte_Neuron2008_supplementalData.mat``.
    images : bool, default=False
        Also return the 92 stimulus images.

    Returns
    -------
    data : dict
        ``"hIT"``: RDMs of 8 human-IT RDMs (4 subjects x 2 sessions) with descriptors
        ``subject`` and ``session`` (use ``.average_by("subject")`` for the 4 subject RDMs);
        ``"models"``: RDMs of the 8 model RDMs (animacy, FaceBodyManmadeNatobj, monkeyIT, EVA, HMAX,
        V1, Silhouette, RADON); ``"fig1"``: RDMs ``mIT_674neurons`` and ``hITvisStim_316vx`` of
        the paper's figure 1; ``"images"`` (if asked): uint8 ndarray of shape (92, 175, 175, 3).
        All RDMs carry condition descriptors from ``categoryVectors`` (``is_animate``, ``is_face``,
        ..., and ``category``). Values are float64 (the files store float32).

    Raises
    ------
    DatasetError
        A required file is missing under ``root``.

    Examples
    --------
    The real files:

    >>> data = read_kriegeskorte92("92imageData")  # doctest: +SKIP
    >>> data["hIT"].n_rdms, data["hIT"].n_conditions, data["models"].n_rdms  # doctest: +SKIP
    (8, 92, 8)

    Tiny stand-ins in the same layout (4 conditions, 2 subjects x 2 sessions; see
    :func:`neurodl.datasets.kriegeskorte92.read_kriegeskorte92` for the file layout):

    >>> import tempfile
    >>> import numpy as np
    >>> from scipy.io import savemat
    >>> from scipy.spatial.distance import pdist, squareform
    >>> rng = np.random.default_rng(0)
    >>> def structs(names, shape):  # RSA-toolbox struct array: fields RDM (square) and name
    ...     out = np.zeros(shape, dtype=[("RDM", "O"), ("name", "O")])
    ...     for index, name in zip(np.ndindex(shape), names):
    ...         out[index] = (squareform(pdist(rng.normal(size=(4, 3)))), name)
    ...     return out
    >>> brain = structs([f"hIT | {s} | Session: {k}" for s in ("BE", "KO") for k in (1, 2)],
    ...                 (1, 2, 2))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     savemat(f"{tmp}/92_brainRDMs.mat", {"RDMs": brain})
    ...     savemat(f"{tmp}/92_modelRDMs.mat", {"Models": structs(["animacy"], (1, 1))})
    ...     savemat(f"{tmp}/Kriegeskorte_Neuron2008_supplementalData.mat", {
    ...         "RDMs_mIT_hIT_fig1": structs(["mIT", "hIT"], (1, 2)),
    ...         "categoryLabels": np.array([["animate", "inanim"]], dtype=object),
    ...         "categoryVectors": np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=np.uint8)})
    ...     data = read_kriegeskorte92(tmp)
    >>> sorted(data), data["hIT"].n_rdms, data["hIT"].n_conditions, data["models"].n_rdms
    (['fig1', 'hIT', 'models'], 4, 4, 1)
    >>> subjects = data["hIT"].average_by("subject")  # mean of each subject's 2 sessions
    >>> subjects.names, subjects.dissimilarities.shape
    (['BE', 'KO'], (2, 6))
    >>> data["models"].condition_descriptors["category"]
    array(['animate', 'animate', 'inanimate', 'inanimate'], dtype='<U9')
    """
    data = _read_arrays(root, images=images)
    cdesc = data.conditions
    out: dict[str, Any] = {
        "hIT": _as_rdms(data.hit, cdesc),
        "models": _as_rdms(data.models, cdesc),
        "fig1": _as_rdms(data.fig1, cdesc),
    }
    if images:
        out["images"] = data.images
    return out
