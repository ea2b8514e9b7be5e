"""Re-identification risk: how well recordings identify their subject across sessions.

Per-recording profiles (channel correlations, log-Euclidean covariance, log band power;
:mod:`.features`), identification accuracy by nearest-neighbour correlation across two sessions
in both directions with a permutation null (Finn et al. 2015; :mod:`.identify`), before and after
per-recording mitigations, and a simulator with planted fingerprints (:mod:`.simulate`).
"""

from .features import (
    DEFAULT_BANDS,
    FEATURES,
    MITIGATIONS,
    bandpass,
    mean_covariance,
    mitigate,
    recording_features,
)
from .identify import FingerprintStudy, Identification, fingerprint_study, identify, session_value
from .simulate import simulate_fingerprint_sessions

__all__ = [
    "DEFAULT_BANDS",
    "FEATURES",
    "MITIGATIONS",
    "FingerprintStudy",
    "Identification",
    "bandpass",
    "fingerprint_study",
    "identify",
    "mean_covariance",
    "mitigate",
    "recording_features",
    "session_value",
    "simulate_fingerprint_sessions",
]
