"""Subject cohorts: one row per subject (the unit of a biomarker analysis) with explicit exclusions.

A :class:`SubjectCohort` holds one sample per subject (a covariance matrix, a feature vector or a
multichannel signal), the label, the site and the confounds. Every subject left out on the way is
recorded in :attr:`SubjectCohort.exclusions` with the rule that removed it, so a report can state
what was dropped and why: nothing is dropped silently.

Exclusion rules
---------------
``constant_regions``
    A region whose time series is constant (all zero in the ABIDE export) has no defined
    correlation. ``"exclude_subjects"`` (default) drops those subjects, ``"drop_regions"`` drops
    those regions from every subject (label-free, so not a leak), ``"error"`` refuses the cohort.
``missing_files`` / ``orphan_files``
    Phenotype rows whose data file is absent, and data files without a phenotype row:
    ``"exclude"`` (default; reported) or ``"error"``.
``single_class_sites``
    A site whose subjects all carry one label cannot be scored on its own under
    leave-one-site-out; ``"exclude"`` (reported) or ``"error"`` (default).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...data import EpochsDataset
from ...exceptions import ConfigError, DataFormatError

__all__ = [
    "EXCLUSION_POLICIES",
    "Exclusion",
    "SubjectCohort",
    "check_same_regions",
    "exclude_constant_regions",
    "exclude_single_class_sites",
    "match_files",
]

#: Rule -> allowed policies (first one is the default).
EXCLUSION_POLICIES: dict[str, tuple[str, ...]] = {
    "constant_regions": ("exclude_subjects", "drop_regions", "error"),
    "missing_files": ("exclude", "error"),
    "orphan_files": ("exclude", "error"),
    "single_class_sites": ("error", "exclude"),
}


def check_policy(rule: str, value: Any) -> str:
    """Return ``value`` if it is an allowed policy for ``rule``, else raise ConfigError."""
    allowed = EXCLUSION_POLICIES[rule]
    if value not in allowed:
        raise ConfigError(
            f"Invalid value for {rule!r}. Allowed: {', '.join(map(repr, allowed))}; got {value!r}."
        )
    return str(value)


@dataclass(frozen=True)
class Exclusion:
    """One subject (or region) left out, with the rule and the detail.

    Examples
    --------
    >>> Exclusion("sub-03", "constant_regions", "region 7 is constant")
    Exclusion(subject='sub-03', rule='constant_regions', detail='region 7 is constant')
    """

    subject: str
    rule: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        """JSON-safe dict."""
        return {"subject": self.subject, "rule": self.rule, "detail": self.detail}


@dataclass
class SubjectCohort:
    """One sample per subject with label, site and confounds.

    Parameters
    ----------
    X : ndarray of shape (n_subjects, ...)
        Per-subject data: covariance matrices (n_subjects, n_regions, n_regions), feature
        vectors (n_subjects, n_features) or signals (n_subjects, n_channels, n_times).
    y : ndarray of int of shape (n_subjects,)
        Class index into ``classes``.
    subjects : ndarray of str of shape (n_subjects,)
        Subject identifiers (unique).
    sites : ndarray of str of shape (n_subjects,)
        Acquisition site (one value for single-site data).
    confounds : DataFrame of shape (n_subjects, n_confounds)
        Numeric confounds (e.g. ``age``, ``sex`` coded 0/1, ``mean_fd``); may have no column.
    classes : list of str
        Class names in label order.
    unit : str, default="subject"
        What one row is (``"segment"`` for Bonn, which has no subject ids).
    exclusions : list of Exclusion
        Everything left out, with its rule.
    info : dict
        Provenance (dataset, feature kind, region count, ...).

    Examples
    --------
    >>> cohort = SubjectCohort(np.zeros((4, 3)), np.array([0, 1, 0, 1]),
    ...                        np.array(["s1", "s2", "s3", "s4"]), np.array(["A", "A", "B", "B"]),
    ...                        pd.DataFrame({"age": [30, 40, 50, 60]}), ["control", "patient"])
    >>> cohort.X.shape, cohort.unit, cohort.classes
    ((4, 3), 'subject', ['control', 'patient'])
    """

    X: np.ndarray
    y: np.ndarray
    subjects: np.ndarray
    sites: np.ndarray
    confounds: pd.DataFrame
    classes: list[str]
    unit: str = "subject"
    exclusions: list[Exclusion] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.X)
        self.y = np.asarray(self.y, dtype=np.int64)
        self.subjects = np.asarray(self.subjects, dtype=str)
        self.sites = np.asarray(self.sites, dtype=str)
        self.confounds = pd.DataFrame(self.confounds).reset_index(drop=True)
        sizes = {
            "y": len(self.y),
            "subjects": len(self.subjects),
            "sites": len(self.sites),
            "confounds": len(self.confounds),
        }
        bad = {k: v for k, v in sizes.items() if v != n}
        if bad:
            raise DataFormatError(f"SubjectCohort: X has {n} rows but {bad}; they must match.")
        if len(np.unique(self.subjects)) != n:
            dup = pd.Series(self.subjects).value_counts()
            raise DataFormatError(
                f"SubjectCohort: subject ids must be unique; repeated: {dup[dup > 1].index[:5].tolist()}."
            )

    @property
    def n_subjects(self) -> int:
        """Number of subjects (rows)."""
        return len(self.X)

    def subset(self, index: Any) -> SubjectCohort:
        """Return the rows selected by a boolean mask or integer index (exclusions kept)."""
        idx = np.arange(self.n_subjects)[np.asarray(index)]
        return SubjectCohort(
            self.X[idx],
            self.y[idx],
            self.subjects[idx],
            self.sites[idx],
            self.confounds.iloc[idx],
            list(self.classes),
            self.unit,
            list(self.exclusions),
            dict(self.info),
        )

    def to_epochs_dataset(self) -> EpochsDataset:
        """A light :class:`~neurodl.data.EpochsDataset` (X = row index) for the protocols.

        Metadata columns ``subject``, ``site``, ``segment`` (= subject) and ``recording``.
        """
        md = pd.DataFrame(
            {
                "subject": self.subjects,
                "site": self.sites,
                "segment": self.subjects,
                "recording": self.subjects,
                "session": "1",
                "run": "1",
            }
        )
        X = np.arange(self.n_subjects, dtype=float)[:, None]
        return EpochsDataset(X, self.y, md, None, None, list(self.classes))

    def summary(self) -> dict[str, Any]:
        """Counts per class and site, and the exclusions by rule."""
        by_rule: dict[str, int] = {}
        for e in self.exclusions:
            by_rule[e.rule] = by_rule.get(e.rule, 0) + 1
        return {
            "n_subjects": self.n_subjects,
            "unit": self.unit,
            "per_class": {c: int(np.sum(self.y == k)) for k, c in enumerate(self.classes)},
            "per_site": {str(s): int(np.sum(self.sites == s)) for s in sorted(set(self.sites))},
            "excluded": by_rule,
        }


def match_files(
    listed: Sequence[str], present: Sequence[str]
) -> tuple[list[str], list[str], list[str]]:
    """Match the files a phenotype table lists with the files on disk.

    Returns
    -------
    kept : list of str
        Listed and present, in the table's order.
    missing : list of str
        Listed but absent (phenotype rows without a data file).
    orphans : list of str
        Present but not listed (data files without a phenotype row), sorted.

    Examples
    --------
    >>> match_files(["a", "b"], ["b", "c"])
    (['b'], ['a'], ['c'])
    """
    present_set, listed_set = set(present), set(listed)
    kept = [f for f in listed if f in present_set]
    missing = [f for f in listed if f not in present_set]
    orphans = sorted(present_set - listed_set)
    return kept, missing, orphans


def check_same_regions(series: Sequence[np.ndarray], subjects: Sequence[str]) -> int:
    """Return the common number of regions; raise naming the subjects that differ.

    Parameters
    ----------
    series : sequence of ndarray of shape (n_times_i, n_regions_i)
    subjects : sequence of str

    Raises
    ------
    DataFormatError
        A series is not 2-D, or the subjects do not all have the same number of regions.

    Examples
    --------
    >>> check_same_regions([np.zeros((100, 5)), np.zeros((80, 5))], ["s1", "s2"])
    5
    """
    widths = []
    for ts, sub in zip(series, subjects):
        if np.ndim(ts) != 2:
            raise DataFormatError(
                f"Subject {sub!r}: a region time series must be 2-D (n_times, n_regions); "
                f"got shape {np.shape(ts)}."
            )
        widths.append(int(np.shape(ts)[1]))
    counts = pd.Series(widths).value_counts()
    if len(counts) > 1:
        common = int(counts.index[0])
        odd = [f"{s} ({w})" for s, w in zip(subjects, widths) if w != common]
        raise DataFormatError(
            f"Subjects must all have the same number of regions; most have {common}, these "
            f"differ: {odd[:8]}{' ...' if len(odd) > 8 else ''}. Use one atlas for every subject."
        )
    return int(widths[0]) if widths else 0


def exclude_constant_regions(
    series: list[np.ndarray], subjects: Sequence[str], policy: str
) -> tuple[np.ndarray, np.ndarray, list[Exclusion]]:
    """Apply the constant-region rule.

    Returns
    -------
    keep_subjects : ndarray of bool of shape (n_subjects,)
    keep_regions : ndarray of bool of shape (n_regions,)
    exclusions : list of Exclusion

    Examples
    --------
    >>> series = [np.random.default_rng(i).standard_normal((50, 3)) for i in range(3)]
    >>> series[2][:, 1] = 0.0  # subject s3 has a constant region
    >>> keep_subj, keep_reg, excl = exclude_constant_regions(series, ["s1", "s2", "s3"],
    ...                                                      "exclude_subjects")
    >>> keep_subj.tolist(), keep_reg.tolist(), [e.subject for e in excl]
    ([True, True, False], [True, True, True], ['s3'])
    """
    check_policy("constant_regions", policy)
    n_regions = check_same_regions(series, subjects)
    constant = np.array([np.ptp(ts, axis=0) == 0 for ts in series]).reshape(-1, n_regions)
    has = constant.any(axis=1)
    keep_subjects = np.ones(len(series), dtype=bool)
    keep_regions = np.ones(n_regions, dtype=bool)
    out: list[Exclusion] = []
    if not has.any():
        return keep_subjects, keep_regions, out
    if policy == "error":
        bad = [f"{s} ({int(c.sum())})" for s, c, h in zip(subjects, constant, has) if h]
        raise DataFormatError(
            f"{len(bad)} subjects have constant (e.g. all-zero) regions, whose correlations are "
            f"undefined: {bad[:8]}{' ...' if len(bad) > 8 else ''}. Set constant_regions to "
            "'exclude_subjects' or 'drop_regions'."
        )
    if policy == "exclude_subjects":
        keep_subjects = ~has
        out = [
            Exclusion(str(s), "constant_regions", f"{int(c.sum())} constant region(s)")
            for s, c, h in zip(subjects, constant, has)
            if h
        ]
    else:
        keep_regions = ~constant.any(axis=0)
        dropped = np.flatnonzero(~keep_regions).tolist()
        out = [
            Exclusion("*", "constant_regions", f"region {r} dropped from every subject")
            for r in dropped
        ]
    return keep_subjects, keep_regions, out


def exclude_single_class_sites(
    y: np.ndarray, sites: np.ndarray, subjects: np.ndarray, policy: str
) -> tuple[np.ndarray, list[Exclusion]]:
    """Apply the single-class-site rule; return the rows kept and the exclusions.

    Examples
    --------
    >>> y, sites = np.array([0, 1, 0, 0]), np.array(["A", "A", "B", "B"])
    >>> keep, excl = exclude_single_class_sites(y, sites, np.array(["s1", "s2", "s3", "s4"]),
    ...                                         "exclude")
    >>> keep.tolist(), sorted({e.rule for e in excl})
    ([True, True, False, False], ['single_class_sites'])
    """
    check_policy("single_class_sites", policy)
    bad = [str(s) for s in sorted(set(sites)) if len(np.unique(y[sites == s])) < 2]
    if not bad:
        return np.ones(len(y), dtype=bool), []
    if policy == "error":
        raise DataFormatError(
            f"Sites with one class only cannot be scored on their own under leave-one-site-out: "
            f"{bad}. Set single_class_sites to 'exclude' or use a site-stratified k-fold."
        )
    keep = ~np.isin(sites, bad)
    out = [
        Exclusion(str(sub), "single_class_sites", f"site {site!r} has one class only")
        for sub, site in zip(subjects[~keep], sites[~keep])
    ]
    return keep, out


def list_files(folder: Path, pattern: str) -> list[str]:
    """Files under ``folder`` matching ``pattern``, relative to the folder's parent, sorted."""
    return sorted(str(p.relative_to(folder.parent)) for p in folder.glob(pattern))
