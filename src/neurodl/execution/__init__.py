"""Execution backends: independent units of work on this machine or on a Ray cluster.

One function, :func:`run_units`, fans out the independent units of neurodl (cross-validation
folds, permutations) to the backend in force: ``local`` (in process or a joblib pool) or ``ray``
(a Ray cluster, ``pip install 'neurodl[ray]'``). :class:`ExecutionConfig` holds the settings
(also a config's ``execution:`` section); :func:`use_execution` sets them for a block of code.
Finished units can be cached on disk (``cache_dir``) so a killed run resumes.
:func:`run_trials` runs hyper-parameter search trials step by step on the same backend (Ray Tune
on a Ray cluster), stopping bad trials early (successive halving).
:class:`LocalRayCluster` starts a real multi-node Ray cluster on this machine (tests,
benchmarks).
"""

from .cache import UnitCache, code_version
from .config import BACKENDS, ExecutionConfig, ExecutionSection, get_execution, use_execution
from .local_cluster import LocalRayCluster
from .ray_backend import RayUnreachableError, connect_ray
from .run import run_units
from .tune import TRIAL_SCHEDULERS, TrialRecord, run_trials

__all__ = [
    "BACKENDS",
    "TRIAL_SCHEDULERS",
    "ExecutionConfig",
    "ExecutionSection",
    "LocalRayCluster",
    "RayUnreachableError",
    "TrialRecord",
    "UnitCache",
    "code_version",
    "connect_ray",
    "get_execution",
    "run_trials",
    "run_units",
    "use_execution",
]
