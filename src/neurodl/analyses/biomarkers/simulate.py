"""Simulated subject cohorts with a known group effect and site effects (ground truth for tests
and the null-calibration benchmark)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .cohort import SubjectCohort

__all__ = ["simulate_cohort"]


def simulate_cohort(
    n_subjects: int = 60,
    n_features: int = 20,
    *,
    n_sites: int = 3,
    group_effect: float = 0.0,
    n_informative: int = 5,
    site_shift: float = 0.0,
    site_scale: float = 0.0,
    site_label_imbalance: float = 0.0,
    seed: int = 0,
) -> SubjectCohort:
    """A cohort of feature vectors: Gaussian noise + group effect + site location/scale effects.

    Parameters
    ----------
    n_subjects, n_features : int
    n_sites : int, default=3
        Sites of equal size (subjects assigned in turn).
    group_effect : float, default=0.0
        Mean difference (in noise SD units, i.e. Cohen's d) of class 1 on the first
        ``n_informative`` features; 0 is the null.
    n_informative : int, default=5
    site_shift : float, default=0.0
        SD of each site's additive offset per feature.
    site_scale : float, default=0.0
        SD of each site's log scale factor per feature.
    site_label_imbalance : float, default=0.0
        In [0, 1): the fraction of class 1 rises linearly across sites from
        ``0.5 - imbalance/2`` to ``0.5 + imbalance/2`` (site and label confounded; every site
        keeps both classes).
    seed : int, default=0

    Returns
    -------
    SubjectCohort
        ``X`` of shape (n_subjects, n_features); ``info["informative"]`` lists the true features;
        confounds ``age``.

    Examples
    --------
    >>> cohort = simulate_cohort(30, 6, n_sites=3, group_effect=1.0, site_shift=0.5)
    >>> cohort.X.shape, sorted(set(cohort.sites.tolist())), np.bincount(cohort.y).tolist()
    ((30, 6), ['site0', 'site1', 'site2'], [15, 15])
    """
    rng = np.random.default_rng(seed)
    sites = np.arange(n_subjects) % n_sites
    frac = 0.5 + site_label_imbalance * (np.linspace(-0.5, 0.5, n_sites) if n_sites > 1 else [0])
    y = np.zeros(n_subjects, dtype=np.int64)
    for s in range(n_sites):
        idx = rng.permutation(np.flatnonzero(sites == s))
        n1 = int(np.clip(round(frac[s] * len(idx)), 1, len(idx) - 1))
        y[idx[:n1]] = 1
    X = rng.normal(size=(n_subjects, n_features))
    X[:, :n_informative] += group_effect * y[:, None]
    shift = rng.normal(scale=site_shift, size=(n_sites, n_features))
    scale = np.exp(rng.normal(scale=site_scale, size=(n_sites, n_features)))
    X = X * scale[sites] + shift[sites]
    age = rng.uniform(10, 40, n_subjects)
    return SubjectCohort(
        X,
        y,
        np.array([f"sub{i:03d}" for i in range(n_subjects)]),
        np.array([f"site{s}" for s in sites]),
        pd.DataFrame({"age": age}),
        ["control", "patient"],
        "subject",
        [],
        {
            "dataset": "simulated",
            "informative": list(range(n_informative)),
            "group_effect": group_effect,
        },
    )
