"""Subject cohorts of the real data sets, with every exclusion recorded.

* ABIDE (CC200 region time series): one Ledoit-Wolf covariance per subject
  (:func:`~.connectome.subject_covariances`), label autism (1) vs control (0), site, confounds
  age / sex / mean framewise displacement.
* EEGMAT: one task (serial subtraction) recording per subject, label good (1) vs bad (0)
  counter; one site.
* Bonn C vs D: the *segment* is the unit (the data set has no subject ids: its 100 segments per
  set come from 5 patients, and C and D share them), label D (epileptogenic zone, 1) vs C (0).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...datasets import abide as abide_mod
from ...exceptions import DataFormatError, DatasetError
from .cohort import (
    Exclusion,
    SubjectCohort,
    check_policy,
    exclude_constant_regions,
    exclude_single_class_sites,
    list_files,
    match_files,
)
from .connectome import subject_covariances

__all__ = ["load_abide_cohort", "load_bonn_cohort", "load_eegmat_cohort"]

#: ABIDE confounds -> phenotype column.
ABIDE_CONFOUNDS = ("age", "sex", "mean_fd")


def _read_abide_tolerant(
    root: Path, missing: list[str], qc: str, sites: Sequence[str] | None
) -> abide_mod.AbideTimeSeries:
    """read_abide, minus the phenotype rows whose file is missing (already reported)."""
    if not missing:
        return abide_mod.read_abide(root, qc=qc, sites=sites)
    table = abide_mod._read_phenotypes(root)
    keep = abide_mod._qc_mask(table, qc) & ~table["file"].isin(missing).to_numpy()
    if sites is not None:
        upper = [str(s).upper() for s in ([sites] if isinstance(sites, str) else sites)]
        keep &= table["site"].str.upper().isin(upper).to_numpy()
    table = table[keep].reset_index(drop=True)
    series = [abide_mod._read_1d(root / f) for f in table["file"]]
    table["n_times"] = [s.shape[0] for s in series]
    table["n_constant_regions"] = [int((np.ptp(s, axis=0) == 0).sum()) for s in series]
    return abide_mod.AbideTimeSeries(series, table, "cc200", {"dataset": "abide_pcp_cc200"})


def load_abide_cohort(
    root: str | Path,
    *,
    sites: Sequence[str] | None = None,
    qc: str = "none",
    constant_regions: str = "exclude_subjects",
    missing_files: str = "exclude",
    orphan_files: str = "exclude",
    single_class_sites: str = "error",
    confounds: Sequence[str] = ABIDE_CONFOUNDS,
    max_subjects_per_site: int | None = None,
    seed: int = 0,
) -> SubjectCohort:
    """ABIDE subjects as a cohort of Ledoit-Wolf covariance matrices (one per subject).

    Parameters
    ----------
    root : str or Path
        The ``abide_pcp_cc200`` folder.
    sites, qc
        Passed to :func:`neurodl.datasets.abide.read_abide`.
    constant_regions, missing_files, orphan_files, single_class_sites : str
        Exclusion policies, see :mod:`.cohort` (every exclusion is recorded).
    confounds : sequence of str
        Phenotype columns kept as confounds (``sex`` coded 0 male / 1 female). Subjects with a
        missing confound are excluded (rule ``missing_confounds``).
    max_subjects_per_site : int or None
        Keep at most this many subjects per site (random, stratified by label; for fast runs;
        recorded as rule ``subsampled``).
    seed : int, default=0

    Returns
    -------
    SubjectCohort
        ``X`` of shape (n_subjects, 200, 200) float32 covariances of the z-scored series.

    Examples
    --------
    The real files:

    >>> cohort = load_abide_cohort("data/abide_pcp_cc200", sites=["NYU"])  # doctest: +SKIP
    >>> cohort.X.shape[1:], cohort.classes  # doctest: +SKIP
    ((200, 200), ['control', 'autism'])

    Tiny stand-ins in the ABIDE layout (see :func:`neurodl.datasets.abide.read_abide`): five
    subjects at two sites, one with a constant (all-zero) region, plus a phenotype row whose
    file is absent; both are left out and recorded:

    >>> import tempfile
    >>> rng = np.random.default_rng(0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     Path(tmp, "rois_cc200").mkdir()
    ...     rows = []
    ...     for sub, (site, dx) in enumerate(
    ...         [("NYU", 1), ("NYU", 2), ("NYU", 2), ("UCLA_1", 1), ("UCLA_1", 2), ("UCLA_1", 1)]
    ...     ):
    ...         file = f"rois_cc200/{site}_{sub}_rois_cc200.1D"
    ...         series = rng.normal(size=(40, 200))
    ...         series[:, 7] *= sub != 2  # subject 2: region 7 constant
    ...         if sub != 5:  # subject 5: listed, no file
    ...             np.savetxt(f"{tmp}/{file}", series, header="#")
    ...         rows.append({"file": file, "SUB_ID": sub, "SITE_ID": site, "DX_GROUP": dx,
    ...                      "DSM_IV_TR": -9999, "AGE_AT_SCAN": 20.0 + sub, "SEX": 1 + sub % 2,
    ...                      "FIQ": -9999, "func_mean_fd": 0.1, "qc_rater_1": "OK",
    ...                      "qc_func_rater_2": "OK", "qc_func_rater_3": "OK"})
    ...     pd.DataFrame(rows).to_csv(f"{tmp}/phenotypes.csv", index=False)
    ...     cohort = load_abide_cohort(tmp)
    >>> cohort.X.shape, cohort.X.dtype, cohort.classes  # one 200 x 200 covariance per subject
    ((4, 200, 200), dtype('float32'), ['control', 'autism'])
    >>> cohort.subjects.tolist(), cohort.y.tolist(), cohort.sites.tolist()
    (['0', '1', '3', '4'], [1, 0, 1, 0], ['NYU', 'NYU', 'UCLA_1', 'UCLA_1'])
    >>> [(e.subject, e.rule) for e in cohort.exclusions]
    [('5', 'missing_files'), ('2', 'constant_regions')]
    >>> cohort.confounds.columns.tolist(), cohort.confounds["sex"].tolist()  # 1 = female
    (['age', 'sex', 'mean_fd'], [0.0, 1.0, 1.0, 0.0])
    """
    root = Path(root)
    for rule, value in (
        ("missing_files", missing_files),
        ("orphan_files", orphan_files),
        ("constant_regions", constant_regions),
        ("single_class_sites", single_class_sites),
    ):
        check_policy(rule, value)
    phen = root / "phenotypes.csv"
    if not phen.is_file():
        raise DatasetError(f"ABIDE phenotype table missing: {phen} does not exist.")
    listed = pd.read_csv(phen, usecols=["file", "SUB_ID"])
    present = list_files(root / "rois_cc200", "*.1D")
    _, missing, orphans = match_files(listed["file"].tolist(), present)
    exclusions: list[Exclusion] = []
    if missing and missing_files == "error":
        raise DataFormatError(
            f"{len(missing)} phenotype rows have no data file: {missing[:5]}. Set "
            "missing_files='exclude' to leave them out (reported)."
        )
    if orphans and orphan_files == "error":
        raise DataFormatError(
            f"{len(orphans)} data files have no phenotype row: {orphans[:5]}. Set "
            "orphan_files='exclude' to leave them out (reported)."
        )
    sub_of = dict(zip(listed["file"], listed["SUB_ID"].astype(str)))
    exclusions += [Exclusion(sub_of[f], "missing_files", f"no file {f}") for f in missing]
    exclusions += [Exclusion(f, "orphan_files", "no phenotype row") for f in orphans]
    ab = _read_abide_tolerant(root, missing, qc, sites)
    ph = ab.phenotypes
    subjects = ph["subject"].to_numpy(dtype=str)
    keep_s, keep_r, exc = exclude_constant_regions(ab.timeseries, subjects, constant_regions)
    exclusions += exc
    conf = pd.DataFrame({c: ph[c] for c in confounds})
    if "sex" in conf:
        conf["sex"] = (ph["sex"] == "F").astype(float).where(ph["sex"] != "unknown")
    conf = conf.astype(float)
    bad_conf = conf.isna().any(axis=1).to_numpy()
    exclusions += [
        Exclusion(s, "missing_confounds", f"missing {list(conf.columns[conf.iloc[i].isna()])}")
        for i, s in enumerate(subjects)
        if bad_conf[i] and keep_s[i]
    ]
    keep = keep_s & ~bad_conf
    y, site_arr = ab.y, ab.sites
    if max_subjects_per_site is not None:
        rng = np.random.default_rng(seed)
        sub = np.zeros(len(keep), dtype=bool)
        for s in np.unique(site_arr):
            for c in (0, 1):
                idx = np.flatnonzero(keep & (site_arr == s) & (y == c))
                take = rng.permutation(idx)[: max(1, max_subjects_per_site // 2)]
                sub[take] = True
        exclusions += [
            Exclusion(subjects[i], "subsampled", f"max_subjects_per_site={max_subjects_per_site}")
            for i in np.flatnonzero(keep & ~sub)
        ]
        keep &= sub
    keep_site, exc = exclude_single_class_sites(
        y[keep], site_arr[keep], subjects[keep], single_class_sites
    )
    exclusions += exc
    idx = np.flatnonzero(keep)[keep_site]
    series = [ab.timeseries[i][:, keep_r] for i in idx]
    covs = subject_covariances(series, dtype=np.float32)
    return SubjectCohort(
        covs,
        y[idx],
        subjects[idx],
        site_arr[idx],
        conf.iloc[idx],
        ["control", "autism"],
        "subject",
        exclusions,
        {
            "dataset": "abide_pcp_cc200",
            "features": "Ledoit-Wolf covariance of z-scored region series",
            "n_regions": int(keep_r.sum()),
            "qc": qc,
        },
    )


def load_eegmat_cohort(
    root: str | Path, *, condition: str = "task", seconds: float = 60.0
) -> SubjectCohort:
    """EEGMAT subjects: the last ``seconds`` of one recording each, label good (1) / bad (0) counter.

    Returns
    -------
    SubjectCohort
        ``X`` of shape (n_subjects, 19, seconds * 500) in volts; confounds age and sex (0 M,
        1 F); one site.

    Examples
    --------
    The real files:

    >>> cohort = load_eegmat_cohort("data/eegmat", seconds=60.0)  # doctest: +SKIP
    >>> cohort.X.shape[1:]  # doctest: +SKIP
    (19, 30000)

    Tiny stand-ins in the EEGMAT layout (see :func:`neurodl.datasets.eegmat.read_eegmat`): a
    6 s rest and a 4 s task EDF for two subjects; a third subject is in the table only:

    >>> import tempfile
    >>> import mne
    >>> rng = np.random.default_rng(0)
    >>> info = mne.create_info(["EEG Fz", "EEG Cz", "ECG ECG"], sfreq=500.0, ch_types="eeg")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     pd.DataFrame({"Subject": ["Subject00", "Subject01", "Subject02"],
    ...                   "Age": [21, 18, 19], "Gender": ["F", "M", "F"],
    ...                   "Recording year": [2011] * 3, "Number of subtractions": [9.7, 29.35, 20],
    ...                   "Count quality": [0, 1, 1]}).to_csv(f"{tmp}/subject-info.csv", index=False)
    ...     for subject in ("Subject00", "Subject01"):
    ...         for k, seconds in (("1", 6), ("2", 4)):  # rest, task
    ...             volts = rng.normal(scale=1e-5, size=(3, 500 * seconds))
    ...             raw = mne.io.RawArray(volts, info, verbose=False)
    ...             mne.export.export_raw(f"{tmp}/{subject}_{k}.edf", raw, verbose=False)
    ...     cohort = load_eegmat_cohort(tmp, seconds=2.0)
    ...     try:
    ...         load_eegmat_cohort(tmp, seconds=5.0)
    ...     except DataFormatError as err:
    ...         print(err)
    EEGMAT recordings shorter than 5 s: ['Subject00', 'Subject01'].
    >>> cohort.X.shape, cohort.info["ch_names"]  # the last 2 s of each task file, ECG dropped
    ((2, 2, 1000), ['Fz', 'Cz'])
    >>> cohort.classes, cohort.y.tolist(), cohort.confounds["sex"].tolist()  # 1 = female
    (['bad', 'good'], [0, 1], [1.0, 0.0])
    >>> cohort.exclusions
    [Exclusion(subject='Subject02', rule='missing_files', detail='no task recording')]
    """
    from ...datasets.eegmat import EEGMAT_SFREQ, read_eegmat, read_eegmat_subjects

    recs = read_eegmat(root, conditions=(condition,), last=seconds)
    n = round(seconds * EEGMAT_SFREQ)
    short = [r.subject for r in recs if r.n_times < n]
    if short:
        raise DataFormatError(f"EEGMAT recordings shorter than {seconds:g} s: {short}.")
    table = read_eegmat_subjects(root).set_index("subject")
    subjects = [str(r.subject) for r in recs]
    X = np.stack([r.data[:, -n:] for r in recs]).astype(np.float32)
    y = np.array([1 if r.info["count_quality"] == "good" else 0 for r in recs])
    conf = pd.DataFrame(
        {
            "age": [float(table.loc[s, "age"]) for s in subjects],
            "sex": [1.0 if table.loc[s, "sex"] == "F" else 0.0 for s in subjects],
        }
    )
    listed = set(table.index)
    exclusions = [
        Exclusion(s, "missing_files", f"no {condition} recording")
        for s in sorted(listed - set(subjects))
    ]
    return SubjectCohort(
        X,
        y,
        np.array(subjects),
        np.array(["eegmat"] * len(subjects)),
        conf,
        ["bad", "good"],
        "subject",
        exclusions,
        {
            "dataset": "eegmat",
            "condition": condition,
            "seconds": seconds,
            "sfreq": EEGMAT_SFREQ,
            "ch_names": list(recs[0].ch_names),
        },
    )


def load_bonn_cohort(root: str | Path) -> SubjectCohort:
    """Bonn sets C (0, interictal, opposite hemisphere) vs D (1, epileptogenic zone).

    The unit is the segment (4097 samples, 23.6 s): Bonn has no subject ids, so folds cannot
    keep a patient's segments together and a segment-level result is an upper bound for new
    patients. ``sites`` is one value.

    Returns
    -------
    SubjectCohort
        ``X`` of shape (200, 1, 4097); ``unit="segment"``.

    Examples
    --------
    The real files:

    >>> cohort = load_bonn_cohort("data/bonn")  # doctest: +SKIP
    >>> cohort.X.shape, cohort.unit  # doctest: +SKIP
    ((200, 1, 4097), 'segment')

    Tiny stand-ins in the Bonn layout (see :func:`neurodl.datasets.bonn.read_bonn`): two
    segments of 4097 integers in each of sets C and D:

    >>> import tempfile
    >>> rng = np.random.default_rng(0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for folder in ("C_N", "D_F"):
    ...         (Path(tmp) / folder).mkdir()
    ...         for i in (1, 2):
    ...             values = rng.integers(-200, 200, size=4097)  # one integer per line
    ...             segment = Path(tmp) / folder / f"{folder[-1]}{i:03d}.txt"
    ...             _ = segment.write_text("\\n".join(map(str, values)))
    ...     cohort = load_bonn_cohort(tmp)
    >>> cohort.X.shape, cohort.unit, cohort.classes, cohort.y.tolist()
    ((4, 1, 4097), 'segment', ['C', 'D'], [0, 0, 1, 1])
    >>> cohort.subjects.tolist()  # segments stand in for subjects
    ['C_N001', 'C_N002', 'D_F001', 'D_F002']
    """
    from ...datasets.bonn import read_bonn

    ds = read_bonn(root, sets=["C", "D"])
    md: Any = ds.metadata
    segments = md["segment"].to_numpy(dtype=str)
    return SubjectCohort(
        np.asarray(ds.X, dtype=np.float32),
        np.asarray(ds.y),
        segments,
        np.array(["bonn"] * len(segments)),
        pd.DataFrame(index=range(len(segments))),
        ["C", "D"],
        "segment",
        [],
        {"dataset": "bonn", "sfreq": float(ds.sfreq), "note": "no subject ids: unit = segment"},
    )
