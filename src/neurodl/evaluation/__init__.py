"""Leakage-safe evaluation: protocols, leakage guard, metrics, cross-validation, statistics."""

from .adaptation import ADAPTATIONS, adapt_dataset, check_adaptation
from .compare import PairedComparison, compare_models, corrected_resampled_ttest
from .crossdataset import CrossDataset, combine_datasets  # registers "cross-dataset"
from .crossval import CVResult, cross_validate
from .heldout import held_out_permutation_test
from .leakage import check_no_leakage
from .metrics import METRICS, Metric, chance_level, get_metric, score
from .protocols import (
    PROTOCOLS,
    BlockedTimeSeries,
    CrossSession,
    GroupedKFold,
    LeaveOneRunOut,
    LeaveOneSubjectOut,
    Protocol,
    WithinSession,
    get_protocol,
)
from .provenance import library_versions, provenance
from .search import SearchCV, SearchResult, search_hyperparameters
from .search_space import DISTRIBUTIONS, SearchSpace, sample_configs
from .stats import (
    BOOTSTRAP_METHODS,
    ConfidenceInterval,
    PermutationResult,
    bootstrap_ci,
    fold_ci,
    permutation_labels,
    permutation_test,
)

__all__ = [
    "ADAPTATIONS",
    "BOOTSTRAP_METHODS",
    "DISTRIBUTIONS",
    "METRICS",
    "PROTOCOLS",
    "BlockedTimeSeries",
    "CVResult",
    "ConfidenceInterval",
    "CrossDataset",
    "CrossSession",
    "GroupedKFold",
    "LeaveOneRunOut",
    "LeaveOneSubjectOut",
    "Metric",
    "PairedComparison",
    "PermutationResult",
    "Protocol",
    "SearchCV",
    "SearchResult",
    "SearchSpace",
    "WithinSession",
    "adapt_dataset",
    "bootstrap_ci",
    "chance_level",
    "check_adaptation",
    "check_no_leakage",
    "combine_datasets",
    "compare_models",
    "corrected_resampled_ttest",
    "cross_validate",
    "fold_ci",
    "get_metric",
    "get_protocol",
    "held_out_permutation_test",
    "library_versions",
    "permutation_labels",
    "permutation_test",
    "provenance",
    "sample_configs",
    "score",
    "search_hyperparameters",
]
