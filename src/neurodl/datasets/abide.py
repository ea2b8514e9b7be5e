"""ABIDE I region time series (Preprocessed Connectomes Project, CC200 atlas): entry, reader, quirks.

``rois_cc200/<SITE>_<SUB_ID>_rois_cc200.1D``: text, one header row (``#1 #2 ...``), one row per
time point, 200 region columns; ``phenotypes.csv``: file, SUB_ID, SITE_ID, DX_GROUP (1 autism,
2 control), DSM_IV_TR, AGE_AT_SCAN, SEX (1 male, 2 female), FIQ, func_mean_fd and three QC
ratings. Quirks: ``-9999`` marks a missing value (DSM_IV_TR, FIQ); series lengths differ across
sites (78-316 time points) and the TR is not in the files; some files hold constant (all-zero)
regions (``n_constant_regions``); the preprocessing strategy of the export is undocumented.
Sites differ strongly: evaluate across sites (group folds by ``site``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..exceptions import DataFormatError, DatasetError
from .registry import DatasetEntry, register_dataset

__all__ = ["ABIDE_QC", "ENTRY", "AbideTimeSeries", "read_abide"]

#: Number of regions of the CC200 atlas.
N_REGIONS = 200
#: QC policy -> what it keeps.
ABIDE_QC: dict[str, str] = {
    "none": "every subject",
    "no_fail": "subjects that no rater marked 'fail' (a missing rating is not a fail)",
    "all_ok": "subjects rated 'OK' by all three raters",
}
_PHENOTYPE_FILE = "phenotypes.csv"
_MISSING = -9999
#: phenotypes.csv column -> metadata column.
_COLUMNS: dict[str, str] = {
    "file": "file",
    "SUB_ID": "subject",
    "SITE_ID": "site",
    "DX_GROUP": "dx_group",
    "DSM_IV_TR": "dsm_iv_tr",
    "AGE_AT_SCAN": "age",
    "SEX": "sex",
    "FIQ": "fiq",
    "func_mean_fd": "mean_fd",
    "qc_rater_1": "qc_rater_1",
    "qc_func_rater_2": "qc_func_rater_2",
    "qc_func_rater_3": "qc_func_rater_3",
}
_QC_COLUMNS = ("qc_rater_1", "qc_func_rater_2", "qc_func_rater_3")
_DIAGNOSIS = {1: "autism", 2: "control"}
_SEX = {1: "M", 2: "F"}


@dataclass
class AbideTimeSeries:
    """Region time series of several subjects with their phenotypes.

    Parameters
    ----------
    timeseries : list of ndarray of shape (n_times_i, n_regions)
        One float64 array per subject (lengths differ across sites).
    phenotypes : DataFrame
        One row per subject, in the order of ``timeseries``: ``subject`` (SUB_ID as str),
        ``site``, ``dx_group`` (1 autism, 2 control), ``diagnosis`` (``"autism"`` /
        ``"control"``), ``dsm_iv_tr`` (NaN when missing), ``age``, ``sex`` (``"M"``/``"F"``),
        ``fiq`` (NaN when missing), ``mean_fd`` (mean framewise displacement, mm), the three QC
        ratings, ``file``, ``n_times`` and ``n_constant_regions``.
    atlas : str
        Name of the parcellation (``"cc200"``).
    info : dict
        Provenance (dataset name, filters applied).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> ts = AbideTimeSeries([np.zeros((5, 3))], pd.DataFrame({"subject": ["1"], "site": ["A"],
    ...     "diagnosis": ["autism"]}))
    >>> ts.n_subjects, ts.n_regions, ts.y.tolist()
    (1, 3, [1])
    """

    timeseries: list[np.ndarray]
    phenotypes: pd.DataFrame
    atlas: str = "cc200"
    info: dict[str, Any] = field(default_factory=dict)

    #: class names of :attr:`y`.
    classes = ("control", "autism")

    def __post_init__(self) -> None:
        if len(self.timeseries) != len(self.phenotypes):
            raise DataFormatError(
                f"{len(self.timeseries)} time series but {len(self.phenotypes)} phenotype rows; "
                "they must match."
            )
        widths = {ts.shape[1] for ts in self.timeseries if ts.ndim == 2}
        if any(ts.ndim != 2 for ts in self.timeseries) or len(widths) > 1:
            raise DataFormatError(
                "Every time series must be 2-D (n_times, n_regions) with the same number of "
                f"regions; got shapes {sorted({ts.shape for ts in self.timeseries})[:5]}."
            )
        self.phenotypes = self.phenotypes.reset_index(drop=True)

    def __len__(self) -> int:
        return len(self.timeseries)

    @property
    def n_subjects(self) -> int:
        """Number of subjects."""
        return len(self.timeseries)

    @property
    def n_regions(self) -> int:
        """Number of regions (200 for CC200)."""
        return int(self.timeseries[0].shape[1]) if self.timeseries else 0

    @property
    def y(self) -> np.ndarray:
        """Diagnosis per subject, ndarray of shape (n_subjects,): 0 control, 1 autism."""
        return (self.phenotypes["diagnosis"] == "autism").to_numpy(dtype=np.int64)

    @property
    def sites(self) -> np.ndarray:
        """Site per subject, ndarray of shape (n_subjects,) (use as CV groups)."""
        return self.phenotypes["site"].to_numpy(dtype=str)

    def subset(self, index: Any) -> AbideTimeSeries:
        """Return the subjects selected by a boolean mask or integer index."""
        idx = np.arange(self.n_subjects)[np.asarray(index)]
        return AbideTimeSeries(
            [self.timeseries[i] for i in idx],
            self.phenotypes.iloc[idx],
            self.atlas,
            dict(self.info),
        )

    def __repr__(self) -> str:
        return (
            f"<AbideTimeSeries {self.n_subjects} subjects, {self.n_regions} regions ({self.atlas}), "
            f"{self.phenotypes['site'].nunique() if len(self.phenotypes) else 0} sites>"
        )


def _read_phenotypes(root: Path) -> pd.DataFrame:
    path = root / _PHENOTYPE_FILE
    if not path.is_file():
        raise DatasetError(f"ABIDE phenotype table missing: {path} does not exist.")
    table = pd.read_csv(path, dtype={"qc_rater_1": str, "qc_func_rater_2": str,
                                     "qc_func_rater_3": str})  # fmt: skip
    missing = [c for c in _COLUMNS if c not in table.columns]
    if missing:
        raise DataFormatError(f"{path}: missing columns {missing}; got {list(table.columns)}.")
    table = table.rename(columns=_COLUMNS)[list(_COLUMNS.values())]
    bad = sorted(set(table["dx_group"]) - set(_DIAGNOSIS))
    if bad:
        raise DataFormatError(f"{path}: DX_GROUP must be 1 (autism) or 2 (control); got {bad}.")
    table["subject"] = table["subject"].astype(str)
    table["site"] = table["site"].astype(str)
    table["diagnosis"] = table["dx_group"].map(_DIAGNOSIS)
    table["sex"] = table["sex"].map(_SEX).fillna("unknown")
    for col in ("dsm_iv_tr", "fiq", "age"):
        table[col] = table[col].where(table[col] != _MISSING).astype(float)
    return table


def _qc_mask(table: pd.DataFrame, qc: str) -> np.ndarray:
    ratings = table[list(_QC_COLUMNS)].apply(lambda c: c.str.strip().str.lower())
    if qc == "no_fail":
        return ~(ratings == "fail").any(axis=1).to_numpy()
    if qc == "all_ok":
        return (ratings == "ok").all(axis=1).to_numpy()
    return np.ones(len(table), dtype=bool)


def _read_1d(path: Path) -> np.ndarray:
    try:
        data = np.loadtxt(path, comments="#", dtype=float, ndmin=2)
    except ValueError as err:
        raise DataFormatError(f"{path}: not a region time-series table ({err}).") from None
    if data.shape[1] != N_REGIONS:
        raise DataFormatError(
            f"{path}: expected {N_REGIONS} region columns (CC200); got {data.shape[1]}."
        )
    return data


def read_abide(
    root: str | Path,
    *,
    sites: Sequence[str] | None = None,
    qc: Literal["none", "no_fail", "all_ok"] = "none",
    max_mean_fd: float | None = None,
) -> AbideTimeSeries:
    """Read the ABIDE I CC200 region time series with their phenotypes.

    Parameters
    ----------
    root : str or Path
        Folder with ``phenotypes.csv`` and ``rois_cc200/*.1D``.
    sites : sequence of str, optional
        Sites to keep (``SITE_ID`` values such as ``"CALTECH"``, ``"UCLA_2"``; case-insensitive);
        default all.
    qc : {"none", "no_fail", "all_ok"}, default="none"
        Quality-control filter on the three raters, see :data:`ABIDE_QC`.
    max_mean_fd : float, optional
        Keep subjects whose mean framewise displacement (mm) is at most this; subjects without
        a value are dropped too.

    Returns
    -------
    AbideTimeSeries
        ``timeseries``: one float64 array of shape (n_times, 200) per subject, in the order of
        ``phenotypes.csv``; ``phenotypes``: one row per subject (site, age, sex, diagnosis,
        motion and QC; see :class:`AbideTimeSeries`).

    Raises
    ------
    ValueError
        Unknown sites or qc policy, invalid max_mean_fd, or filters that leave no subject.
    DatasetError
        The phenotype table or a listed time-series file is missing.
    DataFormatError
        A table is malformed or a series does not have 200 columns.

    Examples
    --------
    The real files:

    >>> abide = read_abide("../shared/data/fmri/abide_pcp_cc200", qc="no_fail")  # doctest: +SKIP
    >>> abide.n_regions, abide.timeseries[0].shape[1]  # doctest: +SKIP
    (200, 200)

    Tiny stand-ins in the same layout: four subjects at two sites (30 and 20 time points),
    ``-9999`` for the missing FIQ, one subject failed by the third rater:

    >>> import tempfile
    >>> rng = np.random.default_rng(0)
    >>> subjects = [("NYU", 30, 1, "OK"), ("NYU", 30, 2, "fail"),
    ...             ("UCLA_1", 20, 1, "OK"), ("UCLA_1", 20, 2, "OK")]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     Path(tmp, "rois_cc200").mkdir()
    ...     rows = []
    ...     for sub, (site, n_times, dx, rater_3) in enumerate(subjects):
    ...         file = f"rois_cc200/{site}_{sub}_rois_cc200.1D"
    ...         np.savetxt(f"{tmp}/{file}", rng.normal(size=(n_times, 200)), header="#")
    ...         rows.append({"file": file, "SUB_ID": sub, "SITE_ID": site, "DX_GROUP": dx,
    ...                      "DSM_IV_TR": -9999, "AGE_AT_SCAN": 20.0 + sub, "SEX": 1,
    ...                      "FIQ": -9999, "func_mean_fd": 0.1 * (sub + 1), "qc_rater_1": "OK",
    ...                      "qc_func_rater_2": "OK", "qc_func_rater_3": rater_3})
    ...     pd.DataFrame(rows).to_csv(f"{tmp}/phenotypes.csv", index=False)
    ...     abide = read_abide(tmp)
    ...     kept = read_abide(tmp, qc="no_fail", max_mean_fd=0.35)
    ...     ucla = read_abide(tmp, sites=["ucla_1"])
    >>> abide
    <AbideTimeSeries 4 subjects, 200 regions (cc200), 2 sites>
    >>> [ts.shape for ts in abide.timeseries]
    [(30, 200), (30, 200), (20, 200), (20, 200)]
    >>> abide.y, abide.sites  # 1 autism, 0 control; sites as CV groups
    (array([1, 0, 1, 0]), array(['NYU', 'NYU', 'UCLA_1', 'UCLA_1'], dtype='<U6'))
    >>> bool(abide.phenotypes["fiq"].isna().all())  # -9999 read as missing
    True
    >>> kept.phenotypes["subject"].tolist(), ucla.phenotypes["subject"].tolist()
    (['0', '2'], ['2', '3'])
    """
    if qc not in ABIDE_QC:
        raise ValueError(
            f"Invalid value for 'qc'. Allowed: {', '.join(map(repr, ABIDE_QC))}; got {qc!r}."
        )
    if max_mean_fd is not None and (
        isinstance(max_mean_fd, bool) or not np.isfinite(max_mean_fd) or max_mean_fd <= 0
    ):
        raise ValueError(
            f"Invalid value for 'max_mean_fd'. Allowed: a positive number (mm) or None; "
            f"got {max_mean_fd!r}."
        )
    root = Path(root)
    table = _read_phenotypes(root)
    keep = _qc_mask(table, qc)
    if sites is not None:
        sites = [sites] if isinstance(sites, str) else list(sites)
        known = sorted(table["site"].unique())
        upper = {s.upper(): s for s in known}
        unknown = [s for s in sites if str(s).upper() not in upper]
        if not sites or unknown:
            raise ValueError(
                f"Invalid value for 'sites'. Allowed: {', '.join(known)}; got {sites!r}."
            )
        keep &= table["site"].isin([upper[str(s).upper()] for s in sites]).to_numpy()
    if max_mean_fd is not None:
        keep &= (table["mean_fd"] <= max_mean_fd).to_numpy()  # NaN compares False
    table = table[keep].reset_index(drop=True)
    if table.empty:
        raise ValueError(
            f"No ABIDE subject passes the filters sites={sites!r}, qc={qc!r}, "
            f"max_mean_fd={max_mean_fd!r}."
        )
    series = []
    for rel in table["file"]:
        path = root / rel
        if not path.is_file():
            raise DatasetError(f"ABIDE time series missing: {path} (listed in {_PHENOTYPE_FILE}).")
        series.append(_read_1d(path))
    table["n_times"] = [s.shape[0] for s in series]
    table["n_constant_regions"] = [int((np.ptp(s, axis=0) == 0).sum()) for s in series]
    info = {"dataset": "abide_pcp_cc200", "qc": qc, "sites": sites, "max_mean_fd": max_mean_fd}
    return AbideTimeSeries(series, table, "cc200", info)


ENTRY = register_dataset(
    DatasetEntry(
        name="abide-cc200",
        folder="fmri/abide_pcp_cc200",
        description="ABIDE I (Preprocessed Connectomes Project) CC200 region time series of 386 "
        "subjects from 10 sites (autism vs control) with phenotypes, motion and QC ratings.",
        modality="fmri",
        sfreq=None,
        sfreq_note="TR differs across sites and is not stored in the files; 78-316 time points.",
        classes={"autism": "DX_GROUP 1: autism spectrum disorder", "control": "DX_GROUP 2"},
        citation="Di Martino A et al. The autism brain imaging data exchange: towards a large-scale "
        "evaluation of the intrinsic brain architecture in autism. Mol Psychiatry 19:659 (2014); "
        "Craddock C et al. The Neuro Bureau Preprocessing Initiative: open sharing of preprocessed "
        "neuroimaging data and derivatives. Front Neuroinform (2013).",
        license="ABIDE data usage terms: non-commercial research use; cite the sources.",
        source="utsavchaudhry/CS455Final @2b5e6d3a (rois_cc200/, "
        "Phenotypic_V1_0b_preprocessed1.csv, columns subset)",
        loader=read_abide,
    )
)
