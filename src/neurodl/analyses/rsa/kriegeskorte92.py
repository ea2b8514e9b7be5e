"""Reader for the 92-image human/monkey IT data of Kriegeskorte et al. (2008)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neurodl.exceptions import DatasetError

from .rdm import RDMs, _mat_struct_to_rdms

__all__ = ["read_kriegeskorte92"]

_FILES = ("92_brainRDMs.mat", "92_modelRDMs.mat", "Kriegeskorte_Neuron2008_supplementalData.mat")


def _condition_descriptors(supp: dict[str, Any]) -> dict[str, np.ndarray]:
    labels = [str(np.ravel(x)[0]) for x in np.ravel(supp["categoryLabels"])]
    vectors = np.asarray(supp["categoryVectors"], dtype=bool)
    desc = {f"is_{name}": vectors[:, i] for i, name in enumerate(labels)}
    desc["category"] = np.where(vectors[:, 0], "animate", "inanimate")
    return desc


def read_kriegeskorte92(root: str | Path, *, images: bool = False) -> dict[str, Any]:
    """Read the RDMs of the 92-image data set (rsatoolbox ``demos/92imageData`` files).

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
    """
    from scipy.io import loadmat

    root = Path(root)
    missing = [f for f in _FILES if not (root / f).exists()]
    if missing:
        raise DatasetError(f"kriegeskorte92 files missing under {root}: {missing}")
    supp = loadmat(root / _FILES[2])
    cdesc = _condition_descriptors(supp)

    brain = loadmat(root / _FILES[0])["RDMs"]  # (1, 4 subjects, 2 sessions) struct
    hit = _mat_struct_to_rdms(brain[0].reshape(-1))  # subject-major order
    names = hit.names
    subjects = np.array([n.split("|")[1].strip() for n in names])
    sessions = np.array([int(n.split(":")[-1]) for n in names])
    out: dict[str, Any] = {
        "hIT": RDMs(
            hit.dissimilarities,
            names=names,
            descriptors={"subject": subjects, "session": sessions},
            condition_descriptors=cdesc,
        ),
    }
    models = _mat_struct_to_rdms(loadmat(root / _FILES[1])["Models"])
    out["models"] = RDMs(models.dissimilarities, names=models.names, condition_descriptors=cdesc)
    fig1 = _mat_struct_to_rdms(supp["RDMs_mIT_hIT_fig1"])
    out["fig1"] = RDMs(fig1.dissimilarities, names=fig1.names, condition_descriptors=cdesc)
    if images:
        stim = supp["stimuli_92objs"].ravel()
        out["images"] = np.stack([np.asarray(s["image"], dtype=np.uint8) for s in stim])
    return out
