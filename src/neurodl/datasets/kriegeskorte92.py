"""Kriegeskorte et al. (2008) 92-image data: registry entry, reader and quirks.

The rsatoolbox ``demos/92imageData`` files: ``92_brainRDMs.mat`` (8 human-IT RDMs, 4 subjects x 2
sessions), ``92_modelRDMs.mat`` (8 model RDMs), ``Kriegeskorte_Neuron2008_supplementalData.mat``
(the 92 images, category vectors, the figure-1 RDMs of monkey and human IT) and
``92_behavRDMs.mat``. The RDMs are RSA-toolbox MATLAB struct arrays (fields ``RDM`` and
``name``). Quirks: ``simTruePatterns`` holds values near 1e16 (use ``simTruePatterns2``);
``modelRDMs_A2020.mat`` is probably not this stimulus set.

This module returns plain arrays; :func:`neurodl.analyses.rsa.read_kriegeskorte92` wraps them in
:class:`~neurodl.analyses.rsa.RDMs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.distance import squareform

from ..exceptions import DatasetError
from ._common import NO_LICENCE
from .registry import DatasetEntry, register_dataset

__all__ = ["ENTRY", "K92_FILES", "Kriegeskorte92", "RDMStack", "read_kriegeskorte92"]

#: The files the reader needs: brain RDMs, model RDMs, supplemental data.
K92_FILES = (
    "92_brainRDMs.mat",
    "92_modelRDMs.mat",
    "Kriegeskorte_Neuron2008_supplementalData.mat",
)


@dataclass(frozen=True)
class RDMStack:
    """Several RDMs over the same conditions, as plain arrays.

    Parameters
    ----------
    dissimilarities : ndarray of shape (n_rdms, n_pairs)
        Condensed upper triangles (``scipy.spatial.distance.squareform`` order), float64.
    names : list of str
        One name per RDM.
    descriptors : dict of str to ndarray of shape (n_rdms,)
        Per-RDM descriptors (e.g. ``subject``, ``session``); may be empty.

    Examples
    --------
    >>> stack = RDMStack(np.array([[1.0, 2.0, 3.0], [0.5, 0.5, 1.0]]), ["hIT", "model"])
    >>> stack.n_rdms
    2
    >>> stack.matrices()[0]  # 3 conditions: pairs (0, 1), (0, 2), (1, 2)
    array([[0., 1., 2.],
           [1., 0., 3.],
           [2., 3., 0.]])
    """

    dissimilarities: np.ndarray
    names: list[str]
    descriptors: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_rdms(self) -> int:
        """Number of RDMs."""
        return int(self.dissimilarities.shape[0])

    def matrices(self) -> np.ndarray:
        """Return the square RDMs, ndarray of shape (n_rdms, n_conditions, n_conditions)."""
        return np.stack([squareform(d, checks=False) for d in self.dissimilarities])


@dataclass(frozen=True)
class Kriegeskorte92:
    """What :func:`read_kriegeskorte92` returns.

    Parameters
    ----------
    hit : RDMStack
        The 8 human-IT RDMs (4 subjects x 2 sessions, subject-major) with descriptors
        ``subject`` (str) and ``session`` (int).
    models : RDMStack
        The 8 model RDMs (animacy, FaceBodyManmadeNatobj, monkeyIT, EVA, HMAX, V1, Silhouette,
        RADON).
    fig1 : RDMStack
        The RDMs of the paper's figure 1 (``mIT_674neurons``, ``hITvisStim_316vx``).
    conditions : dict of str to ndarray of shape (92,)
        Condition descriptors from ``categoryVectors``: ``is_animate``, ``is_face``, ... (bool)
        and ``category`` (``"animate"`` / ``"inanimate"``).
    images : ndarray of shape (92, 175, 175, 3) or None
        The stimulus images (uint8), when asked for.

    Examples
    --------
    The registry entry of the real files, and the container built from tiny stand-in RDMs:

    >>> from neurodl.datasets import get_dataset
    >>> entry = get_dataset("kriegeskorte92")
    >>> entry.folder, entry.n_files, sorted(entry.classes)
    ('fmri/kriegeskorte92', 11, ['animate', 'inanimate'])
    >>> hit = RDMStack(np.ones((2, 6)), ["BE | session: 1", "BE | session: 2"],
    ...                {"subject": np.array(["BE", "BE"]), "session": np.array([1, 2])})
    >>> models = RDMStack(np.zeros((1, 6)), ["animacy"])
    >>> data = Kriegeskorte92(hit, models, models, {"is_animate": np.array([1, 1, 0, 0], bool)})
    >>> data.hit.matrices().shape, data.models.names, data.images is None  # 4 conditions
    ((2, 4, 4), ['animacy'], True)
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     try:
    ...         read_kriegeskorte92(tmp)
    ...     except DatasetError as err:
    ...         print(str(err).replace(tmp, "<tmp>"))  # doctest: +NORMALIZE_WHITESPACE
    kriegeskorte92 files missing under <tmp>: ['92_brainRDMs.mat', '92_modelRDMs.mat',
    'Kriegeskorte_Neuron2008_supplementalData.mat']
    """

    hit: RDMStack
    models: RDMStack
    fig1: RDMStack
    conditions: dict[str, np.ndarray]
    images: np.ndarray | None = None


def mat_struct_rdms(arr: np.ndarray) -> RDMStack:
    """Read an RSA-toolbox (MATLAB) struct array with fields ``RDM`` and ``name``.

    Parameters
    ----------
    arr : ndarray
        Structured array as returned by :func:`scipy.io.loadmat`; read in MATLAB (column-major)
        order.

    Returns
    -------
    RDMStack
        Square RDMs condensed to their upper triangle; missing names become ``"rdm<i>"``.
    """
    flat = arr.ravel(order="F")
    mats, names = [], []
    for i, entry in enumerate(flat):
        rdm = np.asarray(entry["RDM"], dtype=float)
        mats.append(
            squareform(rdm, checks=False)
            if rdm.ndim == 2 and rdm.shape[0] == rdm.shape[1]
            else rdm.ravel()
        )
        name = entry["name"] if "name" in arr.dtype.names else None
        names.append(str(np.ravel(name)[0]) if name is not None and np.size(name) else f"rdm{i}")
    return RDMStack(np.stack(mats), names)


def _condition_descriptors(supp: dict[str, Any]) -> dict[str, np.ndarray]:
    labels = [str(np.ravel(x)[0]) for x in np.ravel(supp["categoryLabels"])]
    vectors = np.asarray(supp["categoryVectors"], dtype=bool)
    desc = {f"is_{name}": vectors[:, i] for i, name in enumerate(labels)}
    desc["category"] = np.where(vectors[:, 0], "animate", "inanimate")
    return desc


def read_kriegeskorte92(root: str | Path, *, images: bool = False) -> Kriegeskorte92:
    """Read the RDMs of the 92-image data set (rsatoolbox ``demos/92imageData`` files).

    Parameters
    ----------
    root : str or Path
        Folder holding the files of :data:`K92_FILES`.
    images : bool, default=False
        Also return the 92 stimulus images.

    Returns
    -------
    Kriegeskorte92
        ``hit``, ``models`` and ``fig1`` RDM stacks of shape (n_rdms, 4186) (condensed 92 x 92),
        float64 (the files store float32), the condition descriptors and, if asked, the images.

    Raises
    ------
    DatasetError
        A file of :data:`K92_FILES` is missing under ``root``.

    Examples
    --------
    The real files (92 conditions, 4 subjects x 2 sessions):

    >>> data = read_kriegeskorte92("../shared/data/fmri/kriegeskorte92")  # doctest: +SKIP
    >>> data.hit.dissimilarities.shape, data.hit.descriptors["subject"][:2]  # doctest: +SKIP
    ((8, 4186), array(['BE', 'BE'], dtype='<U2'))

    Tiny stand-ins in the same layout (4 conditions, 2 subjects x 2 sessions) written with
    :func:`scipy.io.savemat`: RSA-toolbox struct arrays with fields ``RDM`` (square) and
    ``name``, brain RDMs indexed (1, subject, session), plus the category labels and vectors.

    >>> import tempfile
    >>> from scipy.io import savemat
    >>> from scipy.spatial.distance import pdist
    >>> rng = np.random.default_rng(0)
    >>> def structs(names, shape):
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
    >>> data.hit.dissimilarities.shape, data.models.names, data.fig1.names  # 6 pairs of 4
    ((4, 6), ['animacy'], ['mIT', 'hIT'])
    >>> data.hit.descriptors["subject"], data.hit.descriptors["session"]
    (array(['BE', 'BE', 'KO', 'KO'], dtype='<U2'), array([1, 2, 1, 2]))
    >>> bool(np.allclose(data.hit.matrices()[1], brain[0, 0, 1]["RDM"]))  # BE, session 2
    True
    >>> data.conditions["category"]
    array(['animate', 'animate', 'inanimate', 'inanimate'], dtype='<U9')
    """
    from scipy.io import loadmat

    root = Path(root)
    missing = [f for f in K92_FILES if not (root / f).exists()]
    if missing:
        raise DatasetError(f"kriegeskorte92 files missing under {root}: {missing}")
    supp = loadmat(root / K92_FILES[2])
    conditions = _condition_descriptors(supp)

    brain = loadmat(root / K92_FILES[0])["RDMs"]  # (1, 4 subjects, 2 sessions) struct
    hit = mat_struct_rdms(brain[0].reshape(-1))  # subject-major order
    subjects = np.array([n.split("|")[1].strip() for n in hit.names])
    sessions = np.array([int(n.split(":")[-1]) for n in hit.names])
    hit = RDMStack(hit.dissimilarities, hit.names, {"subject": subjects, "session": sessions})
    stim = None
    if images:
        stim = np.stack(
            [np.asarray(s["image"], dtype=np.uint8) for s in supp["stimuli_92objs"].ravel()]
        )
    return Kriegeskorte92(
        hit=hit,
        models=mat_struct_rdms(loadmat(root / K92_FILES[1])["Models"]),
        fig1=mat_struct_rdms(supp["RDMs_mIT_hIT_fig1"]),
        conditions=conditions,
        images=stim,
    )


ENTRY = register_dataset(
    DatasetEntry(
        name="kriegeskorte92",
        folder="fmri/kriegeskorte92",
        description="92 object images with human-IT (4 subjects x 2 sessions) and monkey-IT RDMs, "
        "model and behavioural RDMs.",
        modality="fmri",
        sfreq=None,
        sfreq_note="RDMs, no time axis.",
        classes={
            "animate": "human/animal bodies and faces",
            "inanimate": "natural and artificial objects",
        },
        citation="Kriegeskorte N, Mur M, Ruff DA, Kiani R, Bodurka J, Esteky H, Tanaka K, "
        "Bandettini PA. Matching categorical object representations in inferior temporal cortex of "
        "man and monkey. Neuron 60:1126 (2008); Mur M et al. 2013.",
        license=NO_LICENCE,
        source="rsagroup/rsatoolbox @f1f83cad (demos/92imageData)",
        loader=read_kriegeskorte92,
    )
)
