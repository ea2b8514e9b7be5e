"""nilearn's vocabulary for fMRI: an image, an events table and a masker in; samples out.

What a nilearn user has in hand is a 4-D NIfTI image, a table with a label (and run) per volume
or BIDS events, and a mask image or a masker object (:class:`nilearn.maskers.NiftiMasker`,
:class:`nilearn.maskers.NiftiLabelsMasker`). :func:`masked_samples` takes exactly that and
returns an :class:`~neurodl.data.EpochsDataset` for decoding:

1. masking with nilearn (:func:`make_masker` fits a ``NiftiMasker`` on a mask path or image, or
   fits the given masker; its ``transform`` extracts the signals);
2. cleaning with :func:`nilearn.signal.clean`, **run by run** (``runs=``), through
   :func:`clean_signals`: detrend, confound regression, Butterworth high/low-pass and
   standardisation, in nilearn's order; every step is recorded in ``info["cleaning_steps"]``;
3. one sample per labelled volume (or per block), with the run as the fold unit.

The fitted masker stays in ``info["masker"]``, so a linear decoder's weights go back to the
brain with the masker's own ``inverse_transform`` (:func:`weight_map`).

Cleaning is per run with each run's own statistics (no statistic crosses a run), the leakage
policy of :mod:`neurodl.analyses.fmri.glm`; a masker carrying its own cleaning (``standardize``,
``detrend``, filters, ``smoothing_fwhm`` aside) is refused, so that no cleaning happens over the
concatenated runs unrecorded.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...data import EpochsDataset, VolumeSeries
from ...exceptions import ConfigError, DataFormatError

__all__ = [
    "clean_signals",
    "linear_weights",
    "make_masker",
    "masked_samples",
    "masker_from_mask",
    "weight_map",
]

#: Masker parameters that clean signals inside ``transform`` (refused: use ``clean=``).
_MASKER_CLEANING = ("standardize", "detrend", "high_pass", "low_pass")
#: ``standardize`` values of :func:`clean_signals` -> nilearn's name for them.
_STANDARDIZE = {True: "zscore_sample", False: None, "zscore_sample": "zscore_sample",
                "psc": "psc", None: None}  # fmt: skip


def _masker_classes() -> tuple[type, ...]:
    from nilearn.maskers import MultiNiftiMasker, NiftiLabelsMasker, NiftiMasker

    return (NiftiMasker, NiftiLabelsMasker, MultiNiftiMasker)


def _is_fitted(masker: Any) -> bool:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(masker)
    except NotFittedError:
        return False
    return True


def make_masker(mask: Any = None, *, img: Any = None) -> Any:
    """A fitted nilearn masker from a mask path, a mask image or a masker object.

    Parameters
    ----------
    mask : str, Path, nibabel image, NiftiMasker or NiftiLabelsMasker, optional
        A 3-D mask image (non-zero voxels kept) or its path -> a ``NiftiMasker`` on it; a masker
        object is fitted on ``img`` when it is not fitted yet. ``None``: nilearn computes an EPI
        mask from ``img`` (``NiftiMasker()``'s default strategy).
    img : str, Path or nibabel image of shape (nx, ny, nz, n_volumes), optional
        The functional image (needed when ``mask`` is None or an unfitted masker).

    Returns
    -------
    masker : fitted NiftiMasker or NiftiLabelsMasker
        ``transform(img)`` gives (n_volumes, n_features); ``inverse_transform`` maps
        (n_maps, n_features) back to images on the mask's grid.

    Raises
    ------
    ConfigError
        The masker cleans signals itself (``standardize``, ``detrend``, ``high_pass``,
        ``low_pass``): pass those to :func:`clean_signals` / ``clean=`` instead.
    DataFormatError
        The mask is not a readable 3-D image or selects no voxel.

    Examples
    --------
    >>> import nibabel as nib
    >>> from nilearn.maskers import NiftiMasker
    >>> mask = np.zeros((4, 4, 3), dtype=np.uint8)
    >>> mask[1:3, 1:3, 1] = 1  # 4 voxels
    >>> masker = make_masker(nib.Nifti1Image(mask, np.eye(4)))
    >>> bold = nib.Nifti1Image(np.ones((4, 4, 3, 6), dtype="float32"), np.eye(4))
    >>> type(masker).__name__, masker.transform(bold).shape  # (volumes, voxels)
    ('NiftiMasker', (6, 4))
    >>> try:
    ...     make_masker(NiftiMasker(standardize="zscore_sample"))
    ... except ValueError as err:
    ...     print(str(err).split(" over")[0])
    The masker cleans signals itself ({'standardize': 'zscore_sample'})
    """
    from nilearn.maskers import NiftiMasker

    if isinstance(mask, _masker_classes()):
        params = mask.get_params()
        busy = {k: params[k] for k in _MASKER_CLEANING if params.get(k) not in (None, False)}
        if busy:
            raise ConfigError(
                f"The masker cleans signals itself ({busy}) over the whole series, unrecorded; "
                "create it without these and pass them as clean= (applied run by run with "
                "nilearn.signal.clean and recorded)."
            )
        if _is_fitted(mask):
            return mask
        if getattr(mask, "mask_img", None) is not None and not hasattr(mask, "labels_img"):
            return mask.fit()  # a NiftiMasker with its mask: nothing to compute from img
        if img is None:
            raise DataFormatError("An unfitted masker needs 'img' to be fitted on.")
        return mask.fit(img)
    if mask is None:
        if img is None:
            raise DataFormatError("make_masker needs a mask, a masker or an image.")
        return NiftiMasker(standardize=None).fit(img)
    mask_img = _load_mask_img(mask)
    if not np.asarray(mask_img.dataobj).any():
        raise DataFormatError(f"Invalid value for 'mask': {_name(mask)} selects no voxel.")
    return NiftiMasker(mask_img=mask_img, standardize=None).fit()


def _name(obj: Any) -> str:
    return str(obj) if isinstance(obj, (str, Path)) else type(obj).__name__


def _load_mask_img(mask: Any) -> Any:
    import nibabel as nib

    if isinstance(mask, (str, Path)):
        if not Path(mask).is_file():
            raise DataFormatError(f"Invalid value for 'mask': no such file {mask}.")
        mask = nib.load(str(mask))
    if not hasattr(mask, "affine") or not hasattr(mask, "dataobj"):
        raise DataFormatError(
            "Invalid value for 'mask'. Allowed: a mask image path, a nibabel image, a "
            f"NiftiMasker or a NiftiLabelsMasker; got {type(mask).__name__}."
        )
    shape = mask.shape
    if len(shape) == 4 and shape[3] == 1:
        mask = nib.Nifti1Image(np.asarray(mask.dataobj)[..., 0], mask.affine)
    elif len(shape) != 3:
        raise DataFormatError(f"Invalid value for 'mask': a 3-D image; got shape {shape}.")
    return mask


def masker_from_mask(mask: np.ndarray, affine: np.ndarray) -> Any:
    """A fitted ``NiftiMasker`` for a boolean voxel mask on the grid of ``affine``.

    Parameters
    ----------
    mask : ndarray of bool, shape (nx, ny, nz)
        The voxels of a masked series (``VolumeSeries.mask``, ``EpochsDataset.info["mask"]``).
    affine : ndarray of shape (4, 4)

    Returns
    -------
    NiftiMasker
        Fitted; its feature order is the C order of ``mask``, the order of neurodl's masked
        series (``data[mask]``), so ``inverse_transform`` places each column at its voxel.

    Examples
    --------
    >>> mask = np.zeros((3, 3, 2), dtype=bool)
    >>> mask[1, 1, :] = True
    >>> masker = masker_from_mask(mask, np.eye(4))
    >>> masker.transform(masker.inverse_transform(np.array([[1.0, 2.0]]))).tolist()
    [[1.0, 2.0]]
    """
    import nibabel as nib

    arr = np.asarray(mask).astype(bool)
    if arr.ndim != 3 or not arr.any():
        raise DataFormatError(f"'mask' must be a non-empty 3-D boolean array; got {arr.shape}.")
    aff = np.asarray(affine, dtype=float)
    if aff.shape != (4, 4):
        raise DataFormatError(f"'affine' must be 4x4; got {aff.shape}.")
    return make_masker(nib.Nifti1Image(arr.astype(np.uint8), aff))


def clean_signals(
    signals: np.ndarray,
    *,
    runs: Sequence[Any] | None = None,
    t_r: float | None = None,
    detrend: bool = True,
    standardize: bool | str | None = True,
    confounds: np.ndarray | pd.DataFrame | None = None,
    high_pass: float | None = None,
    low_pass: float | None = None,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Clean signals run by run with :func:`nilearn.signal.clean`, recording every step.

    Parameters
    ----------
    signals : ndarray of shape (n_volumes, n_features)
        Time in rows, as nilearn has it (a masker's ``transform`` output).
    runs : array-like of shape (n_volumes,), optional
        Run of each volume: every run is cleaned alone, with its own statistics.
    t_r : float, optional
        Repetition time in seconds; required by ``high_pass``/``low_pass``.
    detrend : bool, default=True
        Remove each run's mean and linear trend.
    standardize : {True, False, None, "zscore_sample", "psc"}, default=True
        ``True`` means ``"zscore_sample"`` (unit variance, ``ddof=1``, per run).
    confounds : ndarray or DataFrame of shape (n_volumes, n_confounds), optional
        Regressed out (after the same detrending and filtering as the signals).
    high_pass, low_pass : float, optional
        Butterworth cut-offs in Hz.

    Returns
    -------
    cleaned : ndarray of shape (n_volumes, n_features), float64
    steps : list of dict
        One entry per applied step, in nilearn's order (detrend, filter, confounds,
        standardize), each with ``step``, its parameters, ``per`` (``"run"`` or ``"series"``)
        and ``function`` (``"nilearn.signal.clean"``).

    Raises
    ------
    ConfigError
        Unknown ``standardize``, a filter without ``t_r``, or a cut-off not below Nyquist.
    DataFormatError
        ``signals``, ``runs`` or ``confounds`` of the wrong shape, or non-finite signals.

    Examples
    --------
    >>> signals = np.arange(10.0)[:, None] * [1.0, 2.0]  # 10 volumes x 2 features, pure trends
    >>> cleaned, steps = clean_signals(signals, runs=[0] * 5 + [1] * 5)
    >>> cleaned.shape, bool(np.allclose(cleaned, 0)), len(steps) > 0
    ((10, 2), True, True)
    """
    import nilearn
    from nilearn import signal

    x = np.asarray(signals, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise DataFormatError(f"'signals' must be (n_volumes >= 2, n_features); got {x.shape}.")
    if not np.isfinite(x).all():
        raise DataFormatError(f"'signals' has {int((~np.isfinite(x)).sum())} NaN/inf values.")
    key = standardize if isinstance(standardize, (bool, str)) or standardize is None else None
    if key not in _STANDARDIZE:
        raise ConfigError(
            "Invalid value for 'standardize'. Allowed: True, False, None, 'zscore_sample', 'psc'; "
            f"got {standardize!r}."
        )
    std = _STANDARDIZE[key]
    run_arr = None if runs is None else np.asarray(runs)
    if run_arr is not None and run_arr.shape != (x.shape[0],):
        raise DataFormatError(f"'runs' must have shape ({x.shape[0]},); got {run_arr.shape}.")
    conf = None
    if confounds is not None:
        conf = np.asarray(confounds, dtype=np.float64)
        conf = conf[:, None] if conf.ndim == 1 else conf
        if conf.ndim != 2 or conf.shape[0] != x.shape[0] or not np.isfinite(conf).all():
            raise DataFormatError(
                f"'confounds' must be finite, of shape ({x.shape[0]}, n_confounds); got "
                f"{conf.shape}."
            )
    for name, cut in (("high_pass", high_pass), ("low_pass", low_pass)):
        if cut is None:
            continue
        if t_r is None:
            raise ConfigError(f"'{name}' needs the repetition time: pass t_r= (seconds).")
        if not 0 < float(cut) < 0.5 / float(t_r):
            raise ConfigError(
                f"Invalid value for '{name}': between 0 and Nyquist ({0.5 / float(t_r):g} Hz); "
                f"got {cut!r}."
            )
    # Run by run here rather than with clean(runs=...): nilearn stacks the cleaned runs in
    # np.unique order, which scrambles the volumes when runs are not sorted ("run-10" < "run-2").
    groups = [np.arange(x.shape[0])] if run_arr is None else [
        np.flatnonzero(run_arr == r) for r in pd.unique(run_arr)
    ]  # fmt: skip
    cleaned = np.empty_like(x)
    for idx in groups:
        if idx.size < 2:
            raise DataFormatError("Every run needs at least 2 volumes to be cleaned.")
        cleaned[idx] = signal.clean(
            x[idx],
            detrend=bool(detrend),
            standardize=std,
            confounds=None if conf is None else conf[idx],
            high_pass=high_pass,
            low_pass=low_pass,
            t_r=t_r,
            filter="butterworth",
        )
    per = "run" if run_arr is not None and len(pd.unique(run_arr)) > 1 else "series"
    common = {"per": per, "function": "nilearn.signal.clean", "nilearn": nilearn.__version__}
    steps: list[dict[str, Any]] = []
    if detrend:
        steps.append({"step": "detrend", "type": "linear (mean and slope)", **common})
    if high_pass is not None or low_pass is not None:
        steps.append({"step": "filter", "filter": "butterworth", "high_pass_hz": high_pass,
                      "low_pass_hz": low_pass, "t_r": t_r, **common})  # fmt: skip
    if conf is not None:
        steps.append({"step": "confounds", "n_confounds": int(conf.shape[1]),
                      "method": "projection on their orthogonal complement", **common})  # fmt: skip
    if std is not None:
        steps.append({"step": "standardize", "method": std, **common})
    return cleaned, steps


def _load_table(events: Any) -> pd.DataFrame:
    if isinstance(events, pd.DataFrame):
        return events.reset_index(drop=True)
    path = Path(events)
    if not path.is_file():
        raise DataFormatError(f"Invalid value for 'events': no such file {path}.")
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    return pd.read_csv(path, sep=sep, na_values=["n/a"])


def _header_tr(img: Any) -> float | None:
    zooms = img.header.get_zooms()
    tr = float(zooms[3]) if len(zooms) > 3 else float("nan")
    return tr if np.isfinite(tr) and tr > 0 else None


def masked_samples(
    img: Any,
    events: pd.DataFrame | str | Path,
    *,
    mask: Any = None,
    t_r: float | None = None,
    clean: dict[str, Any] | None = None,
    labels: Sequence[str] | None = None,
    exclude: Sequence[str] = ("rest",),
    block_average: bool = False,
    subject: str | None = None,
) -> EpochsDataset:
    """Decoding samples from a NIfTI image, an events table and a mask or nilearn masker.

    Parameters
    ----------
    img : str, Path or nibabel image of shape (nx, ny, nz, n_volumes)
        The functional series (several runs concatenated, with a ``run`` column in
        ``events``, or one run).
    events : DataFrame, str or Path
        One row per volume with ``label`` (and ``run``), or BIDS events (``onset``,
        ``duration``, ``trial_type``; one run). A path is read as TSV (CSV for ``.csv``).
    mask : mask path, nibabel image, NiftiMasker or NiftiLabelsMasker, optional
        See :func:`make_masker` (``None``: nilearn's EPI mask of ``img``).
    t_r : float, optional
        Repetition time in seconds (default: the header's ``pixdim[4]``).
    clean : dict, optional
        Keyword arguments of :func:`clean_signals` (``detrend``, ``standardize``,
        ``confounds``, ``high_pass``, ``low_pass``); default ``{"detrend": True,
        "standardize": True}``. Applied run by run.
    labels : sequence of str, optional
        Classes to keep, in code order (default: all but ``exclude``, sorted).
    exclude : sequence of str, default=("rest",)
    block_average : bool, default=False
        One sample per block (consecutive volumes of one label within a run).
    subject : str, optional

    Returns
    -------
    EpochsDataset
        ``X`` of shape (n_samples, n_features) (voxels of the mask, or regions of a labels
        masker), ``y`` indexing ``classes``, metadata with ``run`` and ``segment`` (the block).
        ``info``: ``masker`` (fitted; :func:`weight_map` uses it), ``affine``, ``mask`` (voxel
        maskers), ``mean_volume`` (the mean EPI, a background for maps), ``feature_space`` (``"voxels"`` or ``"regions"``), ``cleaning_steps``
        (:func:`clean_signals`' record), ``cleaning`` (``"per-run"``) and ``tr``.

    Raises
    ------
    DataFormatError
        Unreadable image or mask, events not matching the volumes, a mask on another grid.
    ConfigError
        Bad cleaning parameters or a masker that cleans signals itself.

    Examples
    --------
    Two runs of 12 volumes (rest, face, face, rest, house, house...), one voxel answering faces:

    >>> import nibabel as nib
    >>> rng = np.random.default_rng(0)
    >>> labels = np.tile(["rest", "face", "face", "rest", "house", "house"], 4)
    >>> events = pd.DataFrame({"label": labels, "run": np.repeat([0, 1], 12)})
    >>> data = rng.normal(size=(4, 4, 3, 24)).astype("float32")
    >>> data[1, 1, 1] += 2.0 * (labels == "face")
    >>> img = nib.Nifti1Image(data, np.eye(4))
    >>> img.header.set_zooms((3.0, 3.0, 3.0, 2.0))  # TR 2 s
    >>> mask = np.zeros((4, 4, 3), dtype=np.uint8)
    >>> mask[1:3, 1:3, 1] = 1  # 4 voxels
    >>> ds = masked_samples(img, events, mask=nib.Nifti1Image(mask, np.eye(4)))
    >>> ds.X.shape, ds.classes, np.bincount(ds.y).tolist()  # rest left out
    ((16, 4), ['face', 'house'], [8, 8])
    >>> ds.info["tr"], ds.info["cleaning"], [s["step"] for s in ds.info["cleaning_steps"]]
    (2.0, 'per-run', ['detrend', 'standardize'])
    >>> masked_samples(img, events, mask=nib.Nifti1Image(mask, np.eye(4)),
    ...                block_average=True).X.shape  # one sample per block
    (8, 4)
    """
    import nibabel as nib
    from nilearn.maskers import NiftiLabelsMasker

    from ...io.fmri import volumes_to_dataset

    source = str(img) if isinstance(img, (str, Path)) else None
    if isinstance(img, (str, Path)):
        if not Path(img).is_file():
            raise DataFormatError(f"Invalid value for 'img': no such file {img}.")
        img = nib.load(str(img))
    if len(img.shape) != 4:
        raise DataFormatError(f"'img' must be a 4-D image; got shape {img.shape}.")
    tr = float(t_r) if t_r is not None else _header_tr(img)
    masker = make_masker(mask, img=img)
    _check_grid(masker, img)
    with warnings.catch_warnings():  # nilearn 0.14 warns on its own default standardize=False
        warnings.filterwarnings("ignore", "boolean values for 'standardize'", FutureWarning)
        signals = masker.transform(img)  # (n_volumes, n_features)
    table = _load_table(events)
    n = signals.shape[0]
    runs = table["run"].astype(str).to_numpy() if "run" in table and len(table) == n else None
    cleaned, steps = clean_signals(signals, runs=runs, t_r=tr, **(clean or {}))
    regions = isinstance(masker, NiftiLabelsMasker)
    n_feat = cleaned.shape[1]
    grid = np.ones((n_feat, 1, 1), bool)  # one row per feature, in the masker's order
    vs = VolumeSeries(cleaned.T.astype(np.float32), tr or 1.0, np.eye(4), mask=grid,
                      events=table, subject=subject, source=source)  # fmt: skip
    ds = volumes_to_dataset(vs, labels=labels, exclude=exclude, block_average=block_average)
    mask_img = getattr(masker, "mask_img_", None)
    voxel_mask = None if regions or mask_img is None else np.asarray(mask_img.dataobj).astype(bool)
    ds.info.update(
        {
            "masker": masker,
            "affine": np.asarray(img.affine, dtype=float),
            "mask": voxel_mask,
            "feature_space": "regions" if regions else "voxels",
            "cleaning": "per-run" if runs is not None else "per-series",
            "cleaning_steps": steps,
            "tr": tr,
            "mean_volume": np.asarray(img.dataobj, dtype=np.float32).mean(axis=3),
        }
    )
    if voxel_mask is None:
        ds.info.pop("mask")
    return ds


def _check_grid(masker: Any, img: Any) -> None:
    mask_img = getattr(masker, "mask_img_", None)
    if mask_img is None:
        return
    if tuple(mask_img.shape[:3]) != tuple(img.shape[:3]) or not np.allclose(
        mask_img.affine, img.affine, atol=1e-3
    ):
        raise DataFormatError(
            f"Invalid value for 'mask': its grid (shape {tuple(mask_img.shape[:3])}) differs from "
            f"the image's ({tuple(img.shape[:3])}) or its affine does; resample the mask to the "
            "image first (nilearn.image.resample_to_img, interpolation='nearest')."
        )


def linear_weights(estimator: Any) -> np.ndarray:
    """The fitted ``coef_`` of a linear model, alone or at the end of a feature-wise pipeline.

    Parameters
    ----------
    estimator : fitted estimator or sklearn Pipeline
        Its last step has ``coef_`` (LDA, logistic regression, linear SVM, ridge); the steps
        before it must keep one column per feature (e.g. ``Flatten``, ``StandardScaler``).

    Returns
    -------
    weights : ndarray of shape (n_maps, n_features)
        One row per binary decision function (1 for two classes, one per class for more).
        With a ``StandardScaler`` in front, the weights are those of the standardised
        features (the units nilearn's ``Decoder`` reports).

    Raises
    ------
    TypeError
        No ``coef_`` (a network, a kernel model, an unfitted estimator).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = np.random.default_rng(0).standard_normal((20, 5)), np.tile([0, 1], 10)
    >>> linear_weights(LogisticRegression().fit(X, y)).shape  # (n_maps, n_features)
    (1, 5)
    """
    steps = getattr(estimator, "steps", None)
    last = steps[-1][1] if steps else estimator
    while getattr(last, "steps", None):  # nested pipelines
        last = last.steps[-1][1]
    coef = getattr(last, "coef_", None)
    if coef is None:
        raise TypeError(
            f"{type(last).__name__} has no fitted coef_: weight maps need a fitted linear model "
            "(lda, logistic_regression, linear_svm, ridge)."
        )
    coef = np.asarray(coef, dtype=float)
    return coef[None, :] if coef.ndim == 1 else coef


def weight_map(estimator: Any, masker: Any) -> Any:
    """Back-project a linear decoder's weights to the brain with the masker.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        See :func:`linear_weights`.
    masker : fitted NiftiMasker or NiftiLabelsMasker
        The masker that made the features (``EpochsDataset.info["masker"]``, or
        :func:`masker_from_mask`).

    Returns
    -------
    nibabel.Nifti1Image
        3-D (nx, ny, nz) for one decision function, 4-D (nx, ny, nz, n_maps) for several; the
        mask's shape and affine; 0 outside the mask.

    Raises
    ------
    DataFormatError
        The model has a different number of weights than the masker has features.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> mask = np.zeros((3, 3, 2), dtype=bool)
    >>> mask[1, 1, :] = True  # 2 voxels
    >>> X, y = np.random.default_rng(0).standard_normal((20, 2)), np.tile([0, 1], 10)
    >>> img = weight_map(LogisticRegression().fit(X, y), masker_from_mask(mask, np.eye(4)))
    >>> img.shape, float(img.get_fdata()[0, 0, 0])  # 0 outside the mask
    ((3, 3, 2), 0.0)
    """
    w = linear_weights(estimator)
    n_feat = _n_features(masker)
    if w.shape[1] != n_feat:
        raise DataFormatError(
            f"The model has {w.shape[1]} weights per map but the masker has {n_feat} features; "
            "a step before the model changed the features (e.g. PCA), so they have no voxel."
        )
    return masker.inverse_transform(w[0] if w.shape[0] == 1 else w)


def _n_features(masker: Any) -> int:
    if hasattr(masker, "n_elements_"):
        return int(masker.n_elements_)
    return int(np.asarray(masker.mask_img_.dataobj).astype(bool).sum())
