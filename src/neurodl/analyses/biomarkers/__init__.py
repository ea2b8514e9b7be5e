"""Biomarkers with the subject as the unit: connectome and EEG features, site harmonisation and
confound regression inside the folds, subject-level statistics (permutation over subjects,
bootstrap CIs, effect sizes with FDR, stability).

Modules: :mod:`.cohort` (one row per subject, explicit exclusions), :mod:`.loaders` (ABIDE,
EEGMAT, Bonn cohorts), :mod:`.connectome` (covariances, correlation / partial / tangent),
:mod:`.eeg_features` (band power, pyRiemann tangent space), :mod:`.harmonize` (ComBat, confound
regression, site decodability), :mod:`.pipeline` (subject CV, nested selection, permutation
test), :mod:`.stats` (metrics, effect sizes, FDR, stability), :mod:`.simulate` (ground truth).
"""

from .cohort import EXCLUSION_POLICIES, Exclusion, SubjectCohort, check_same_regions, match_files
from .connectome import CONNECTOME_KINDS, ConnectomeFeatures, subject_covariances, vectorize_upper
from .eeg_features import DEFAULT_BANDS, BandPowerFeatures, covariance_tangent_features
from .harmonize import ComBat, ConfoundRegressor, combat_apply, combat_fit, site_decodability
from .loaders import load_abide_cohort, load_bonn_cohort, load_eegmat_cohort
from .pipeline import (
    InnerCVSelect,
    SubjectCV,
    SubjectPipeline,
    subject_cross_validate,
    subject_permutation_test,
    subject_splits,
)
from .simulate import simulate_cohort
from .stats import (
    SUBJECT_METRICS,
    effect_sizes,
    minimum_detectable_effect,
    subject_metrics,
    subject_metrics_ci,
    weight_stability,
)

__all__ = [
    "CONNECTOME_KINDS",
    "DEFAULT_BANDS",
    "EXCLUSION_POLICIES",
    "SUBJECT_METRICS",
    "BandPowerFeatures",
    "ComBat",
    "ConfoundRegressor",
    "ConnectomeFeatures",
    "Exclusion",
    "InnerCVSelect",
    "SubjectCV",
    "SubjectCohort",
    "SubjectPipeline",
    "check_same_regions",
    "combat_apply",
    "combat_fit",
    "covariance_tangent_features",
    "effect_sizes",
    "load_abide_cohort",
    "load_bonn_cohort",
    "load_eegmat_cohort",
    "match_files",
    "minimum_detectable_effect",
    "simulate_cohort",
    "site_decodability",
    "subject_covariances",
    "subject_cross_validate",
    "subject_metrics",
    "subject_metrics_ci",
    "subject_permutation_test",
    "subject_splits",
    "vectorize_upper",
    "weight_stability",
]
