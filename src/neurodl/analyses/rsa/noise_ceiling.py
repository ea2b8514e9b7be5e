"""Noise ceiling of RDM-model performance (leave-one-subject-out lower, all-subjects upper bound)."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np

from neurodl.exceptions import DataFormatError

from .compare import compare_vectors
from .rdm import RDMs

__all__ = ["NoiseCeiling", "noise_ceiling", "zscore_rdms"]


@dataclasses.dataclass(frozen=True)
class NoiseCeiling:
    """Lower and upper bounds of the best achievable mean subject-level score.

    Attributes
    ----------
    lower, upper : float
        Mean over subjects of the comparison between each subject's RDM and the mean RDM of the
        *other* subjects (lower) or of *all* subjects (upper).
    per_subject_lower, per_subject_upper : ndarray of shape (n_subjects,)
    method : str
    zscore : bool

    Examples
    --------
    >>> import numpy as np
    >>> data = np.random.default_rng(0).random(15) + 0.1 * np.random.default_rng(1).normal(size=(4, 15))
    >>> nc = noise_ceiling(data)
    >>> nc.per_subject_lower.shape, nc.method, nc.zscore
    ((4,), 'pearson', False)
    """

    lower: float
    upper: float
    per_subject_lower: np.ndarray
    per_subject_upper: np.ndarray
    method: str
    zscore: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return {
            "lower": self.lower,
            "upper": self.upper,
            "method": self.method,
            "zscore_before_averaging": self.zscore,
            "convention": "lower: leave-one-subject-out mean RDM; upper: mean RDM of all subjects",
        }


def zscore_rdms(vectors: np.ndarray) -> np.ndarray:
    """Z-score each condensed RDM vector (NaN-aware), shape (..., n_pairs) -> same shape.

    Examples
    --------
    >>> import numpy as np
    >>> z = zscore_rdms(np.array([[1.0, 2.0, 3.0], [2.0, 4.0, np.nan]]))
    >>> z.round(3)
    array([[-1.225,  0.   ,  1.225],
           [-1.   ,  1.   ,    nan]])
    """
    v = np.asarray(vectors, dtype=float)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN vectors stay NaN
        out = (v - np.nanmean(v, axis=-1, keepdims=True)) / np.nanstd(v, axis=-1, keepdims=True)
    return out


def _ceiling_vectors(subj: np.ndarray, method: str, zscore: bool) -> tuple[np.ndarray, np.ndarray]:
    """subj: (..., n_subjects, n_pairs) -> per-subject lower/upper (..., n_subjects)."""
    n = subj.shape[-2]
    avg = zscore_rdms(subj) if zscore else subj
    total = np.nansum(avg, axis=-2, keepdims=True)
    count = np.isfinite(avg).sum(axis=-2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_all = total / count
        loo = (total - np.nan_to_num(avg)) / (count - np.isfinite(avg))
    upper = compare_vectors(subj, np.broadcast_to(mean_all, subj.shape), method=method)
    lower = compare_vectors(subj, loo, method=method) if n > 1 else np.full(subj.shape[:-1], np.nan)
    return lower, upper


def noise_ceiling(
    data: RDMs | Any, *, method: str = "pearson", zscore: bool = False
) -> NoiseCeiling:
    """Leave-one-subject-out noise ceiling.

    Parameters
    ----------
    data : RDMs or ndarray of shape (n_subjects, n_pairs)
        One RDM per subject (average sessions first, e.g. ``rdms.average_by("subject")``).
    method : str, default='pearson'
        Comparison method (see :mod:`neurodl.analyses.rsa.compare`).
    zscore : bool, default=False
        Z-score each subject's RDM vector before averaging RDMs across subjects. The comparison
        itself always uses the subject's raw RDM.

    Returns
    -------
    NoiseCeiling

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> data = rng.random(15) + 0.1 * rng.normal(size=(4, 15))  # 4 subjects, 6 conditions
    >>> nc = noise_ceiling(data)
    >>> bool(0 < nc.lower <= nc.upper <= 1)
    True
    """
    rdms = data if isinstance(data, RDMs) else RDMs(data)
    if rdms.n_rdms < 2:
        raise DataFormatError(
            f"the noise ceiling needs RDMs from >= 2 subjects; got {rdms.n_rdms}."
        )
    lower, upper = _ceiling_vectors(rdms.dissimilarities, method, zscore)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo_mean, up_mean = float(np.nanmean(lower)), float(np.nanmean(upper))
    return NoiseCeiling(
        lower=lo_mean,
        upper=up_mean,
        per_subject_lower=lower,
        per_subject_upper=upper,
        method=method,
        zscore=zscore,
    )
