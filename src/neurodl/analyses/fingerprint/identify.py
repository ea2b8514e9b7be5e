"""Re-identification across sessions (Finn et al. 2015): does a recording's nearest neighbour in
the other session belong to the same subject?

:func:`identify` scores one pair of feature tables: each recording of session B is matched to
the recording of session A whose profile it correlates with most (Pearson), and the other way
round; the identification accuracy is the fraction matched to the same subject. A permutation
null shuffles which subject each recording of A belongs to; chance is 1 / n_subjects.
:func:`fingerprint_study` runs it for every feature and mitigation on a list of recordings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ...exceptions import DataFormatError
from .features import DEFAULT_BANDS, FEATURES, MITIGATIONS, bandpass, mitigate, recording_features

__all__ = ["FingerprintStudy", "Identification", "fingerprint_study", "identify", "session_value"]


@dataclass
class Identification:
    """Identification of one feature / mitigation (see :func:`identify`).

    Attributes
    ----------
    accuracy_ab, accuracy_ba : float
        Fraction of session-B recordings whose nearest session-A profile is the same subject's
        (A -> B: A is the database), and the reverse; tied nearest profiles count
        fractionally (the expected accuracy of breaking the tie at random).
    accuracy : float
        Mean of the two directions.
    chance : float
        Expected accuracy when the subjects of A are assigned at random (1 / n_subjects).
    p_value : float or None
        Permutation p-value of ``accuracy`` ((1 + #null >= observed) / (1 + n_permutations)).
    null_mean, null_95 : float or None
        Mean and 95th percentile of the permutation null of ``accuracy``.
    idiff : float
        Differential identifiability (Amico & Goni 2018): mean same-subject correlation minus
        mean other-subject correlation, times 100.
    self_similarity, other_similarity : float
        The two means of ``idiff``.
    n_permutations : int
    n_constant : int
        Profiles left constant (no information; matched at random), e.g. correlations after
        re-centring to the identity.
    similarity : list of list of float
        Correlation of every session-B profile (rows) with every session-A profile (columns),
        both ordered by ``subjects``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=(4, 10))
    >>> res = identify(a, a + 0.1 * rng.normal(size=(4, 10)), n_permutations=0)
    >>> res.accuracy_ab, res.accuracy_ba, res.chance, bool(res.idiff > 0)
    (1.0, 1.0, 0.25, True)
    """

    accuracy_ab: float
    accuracy_ba: float
    accuracy: float
    chance: float
    p_value: float | None
    null_mean: float | None
    null_95: float | None
    idiff: float
    self_similarity: float
    other_similarity: float
    n_permutations: int
    n_constant: int
    similarity: list[list[float]] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every attribute."""
        return asdict(self)


def _corr(b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Pearson correlation of every row of ``b`` with every row of ``a`` (NaN: constant row)."""
    b = b - b.mean(axis=1, keepdims=True)
    a = a - a.mean(axis=1, keepdims=True)
    nb, na = np.linalg.norm(b, axis=1), np.linalg.norm(a, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.outer(nb, na)
        r = (b @ a.T) / np.where(scale > 1e-300, scale, np.nan)
    return r


def _best(sim: np.ndarray) -> np.ndarray:
    """Mask of the largest value in each row (ties all kept; an all-NaN row: every column)."""
    s = np.where(np.isfinite(sim), sim, -np.inf)
    return s == s.max(axis=1, keepdims=True)


def _hit_rate(best: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> float:
    """Mean over rows of the share of each row's nearest columns with the row's subject
    (ties count fractionally: the expected accuracy of breaking them at random)."""
    same = rows[:, None] == cols[None, :]
    return float(np.mean((best & same).sum(axis=1) / best.sum(axis=1)))


def identify(
    features_a: np.ndarray,
    features_b: np.ndarray,
    *,
    n_permutations: int = 1000,
    seed: int = 0,
) -> Identification:
    """Identification accuracy of subjects across two sessions, both directions.

    Parameters
    ----------
    features_a, features_b : ndarray of shape (n_subjects, n_features)
        One profile per subject in session A and in session B; row ``i`` of both is the same
        subject.
    n_permutations : int, default=1000
        Permutations of the subject labels of session A for the null (0: no p-value).
    seed : int, default=0
        Seed of the permutations.

    Returns
    -------
    Identification

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> subj = rng.normal(size=(5, 40))
    >>> res = identify(subj + 0.1 * rng.normal(size=(5, 40)), subj, n_permutations=99)
    >>> res.accuracy, res.chance
    (1.0, 0.2)
    """
    a = np.asarray(features_a, dtype=float)
    b = np.asarray(features_b, dtype=float)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(
            f"features_a and features_b must both be (n_subjects, n_features); got {a.shape} "
            f"and {b.shape}."
        )
    n = a.shape[0]
    if n < 2:
        raise ValueError(f"Identification needs at least 2 subjects; got {n}.")
    if isinstance(n_permutations, bool) or int(n_permutations) < 0:
        raise ValueError(f"'n_permutations' must be >= 0; got {n_permutations!r}.")
    rng = np.random.default_rng(seed)
    # a profile left constant by a mitigation (e.g. correlations after re-centring: the
    # identity) carries no information: its rounding noise must not look like a fingerprint
    scale = max(float(np.abs(a).max(initial=0.0)), float(np.abs(b).max(initial=0.0)), 1.0)
    constant_a = a.std(axis=1) <= 1e-9 * scale
    constant_b = b.std(axis=1) <= 1e-9 * scale
    sim = _corr(b, a)  # rows: B, columns: A
    sim[constant_b, :] = np.nan
    sim[:, constant_a] = np.nan
    truth = np.arange(n)
    best_ab, best_ba = _best(sim), _best(sim.T)

    def score(labels_a: np.ndarray) -> float:
        return (_hit_rate(best_ab, truth, labels_a) + _hit_rate(best_ba, labels_a, truth)) / 2

    ab, ba = _hit_rate(best_ab, truth, truth), _hit_rate(best_ba, truth, truth)
    observed = (ab + ba) / 2
    p = null_mean = null_95 = None
    if n_permutations:
        null = np.array([score(rng.permutation(n)) for _ in range(int(n_permutations))])
        p = float((1 + np.sum(null >= observed - 1e-12)) / (1 + len(null)))
        null_mean, null_95 = float(null.mean()), float(np.quantile(null, 0.95))
    finite = np.where(np.isfinite(sim), sim, 0.0)
    diag = np.diag(finite)
    off = finite[~np.eye(n, dtype=bool)]
    return Identification(
        accuracy_ab=ab,
        accuracy_ba=ba,
        accuracy=observed,
        chance=1.0 / n,
        p_value=p,
        null_mean=null_mean,
        null_95=null_95,
        idiff=float(100 * (diag.mean() - off.mean())),
        self_similarity=float(diag.mean()),
        other_similarity=float(off.mean()),
        n_permutations=int(n_permutations),
        n_constant=int(constant_a.sum() + constant_b.sum()),
        similarity=np.round(finite, 4).tolist(),
    )


@dataclass
class FingerprintStudy:
    """Identification for every feature and mitigation (see :func:`fingerprint_study`).

    Attributes
    ----------
    rows : list of dict
        One per (feature, mitigation): those two names plus :class:`Identification` fields.
    subjects : list of str
        Subjects present in both sessions, in the order of the similarity matrices.
    sessions : (str, str)
        The values of ``split_by`` taken as session A and session B.
    left_out : list of dict
        Recordings not used and why (subject in one session only).
    n_channels : int
    sfreq : float

    Examples
    --------
    >>> from neurodl.analyses.fingerprint import simulate_fingerprint_sessions
    >>> recs = simulate_fingerprint_sessions(n_subjects=4, duration=10.0)
    >>> study = fingerprint_study(recs, features=["correlation"], mitigations=["none"],
    ...                           n_permutations=0)
    >>> study.subjects, study.sessions, len(study.rows), study.n_channels
    (['S01', 'S02', 'S03', 'S04'], ('1', '2'), 1, 8)
    """

    rows: list[dict[str, Any]]
    subjects: list[str]
    sessions: tuple[str, str]
    left_out: list[dict[str, str]]
    n_channels: int
    sfreq: float

    def row(self, feature: str, mitigation: str) -> dict[str, Any]:
        """The row of ``feature`` under ``mitigation``."""
        for r in self.rows:
            if r["feature"] == feature and r["mitigation"] == mitigation:
                return r
        raise KeyError(f"no row for feature {feature!r} and mitigation {mitigation!r}")


def session_value(rec: Any, split_by: str) -> str | None:
    """The value of ``split_by`` of a recording: its attribute (session, run...) or info key.

    Examples
    --------
    >>> from neurodl.analyses.fingerprint import simulate_fingerprint_sessions
    >>> recs = simulate_fingerprint_sessions(n_subjects=4, duration=10.0)
    >>> session_value(recs[1], "session"), session_value(recs[1], "condition")
    ('2', None)
    """
    value = getattr(rec, split_by, None) if split_by in ("session", "run", "subject") else None
    if value is None:
        value = (getattr(rec, "info", None) or {}).get(split_by)
    return None if value is None else str(value)


def _pair(recordings: Sequence[Any], split_by: str, sessions: Sequence[str] | None) -> Any:
    values = [session_value(r, split_by) for r in recordings]
    present = sorted({v for v in values if v is not None})
    if sessions is None:
        if len(present) < 2:
            raise DataFormatError(
                f"Identification needs recordings from two values of {split_by!r}; found "
                f"{present or 'none'}. Set split_by to the field that differs between the two "
                "recordings of a subject (session, run, or an info key such as condition)."
            )
        sessions = present[:2]
    sessions = [str(s) for s in sessions]
    if len(sessions) != 2 or sessions[0] == sessions[1] or any(s not in present for s in sessions):
        raise ValueError(
            f"Invalid value for 'sessions'. Allowed: two different values of {split_by!r} among "
            f"{present}; got {list(sessions)!r}."
        )
    by: dict[str, dict[str, Any]] = {s: {} for s in sessions}
    for rec, v in zip(recordings, values, strict=True):
        if v not in by:
            continue
        if rec.subject is None:
            raise DataFormatError(f"A recording of {split_by} {v!r} has no subject.")
        if str(rec.subject) in by[v]:
            raise DataFormatError(
                f"Subject {rec.subject} has more than one recording with {split_by} {v!r}; "
                "identification takes one per subject and session (concatenate or pick one)."
            )
        by[v][str(rec.subject)] = rec
    a, b = by[sessions[0]], by[sessions[1]]
    both = sorted(set(a) & set(b))
    left = [
        {"subject": s, "reason": f"no recording with {split_by} {other!r}"}
        for s, other in [(s, sessions[1]) for s in sorted(set(a) - set(b))]
        + [(s, sessions[0]) for s in sorted(set(b) - set(a))]
    ]
    return sessions, both, [a[s] for s in both], [b[s] for s in both], left


def fingerprint_study(
    recordings: Sequence[Any],
    *,
    split_by: str = "session",
    sessions: Sequence[str] | None = None,
    features: Sequence[str] = ("correlation", "bandpower"),
    mitigations: Sequence[str] = MITIGATIONS,
    window: float = 2.0,
    bands: Sequence[Sequence[float]] = DEFAULT_BANDS,
    l_freq: float | None = None,
    h_freq: float | None = None,
    n_permutations: int = 1000,
    seed: int = 0,
) -> FingerprintStudy:
    """How well recordings identify their subject across two sessions, before/after mitigation.

    Parameters
    ----------
    recordings : sequence of Recording
        Continuous recordings (data of shape (n_channels, n_times), same channels and rate),
        each with a ``subject`` and a session given by ``split_by``.
    split_by : str, default="session"
        What separates the two sessions: ``session``, ``run`` or a key of ``rec.info`` (e.g.
        ``condition`` for EEGMAT's rest and arithmetic files).
    sessions : (str, str), optional
        The two values of ``split_by`` (A, B); default the first two in sorted order.
    features : sequence of str, default=("correlation", "bandpower")
        Profiles (:data:`~.features.FEATURES`).
    mitigations : sequence of str, default=("none", "standardise", "recentre")
        Applied to each recording's signals (after the band-pass) before its profile
        (:func:`~.features.mitigate`).
    window : float, default=2.0
        Window (s) of the covariances and Welch segments.
    bands : sequence of (low, high)
        Bands (Hz) of the ``bandpower`` profile.
    l_freq, h_freq : float or None
        Band-pass applied to every recording first (None: none).
    n_permutations : int, default=1000
    seed : int, default=0

    Returns
    -------
    FingerprintStudy

    Raises
    ------
    DataFormatError
        Fewer than two sessions, a subject twice in a session, channels or rates that differ,
        fewer than two subjects in both sessions.

    Examples
    --------
    >>> from neurodl.analyses.fingerprint import simulate_fingerprint_sessions
    >>> recs = simulate_fingerprint_sessions(n_subjects=4, duration=10.0)
    >>> study = fingerprint_study(recs, features=["correlation"],
    ...                           mitigations=["none", "standardise"], n_permutations=0)
    >>> [(r["feature"], r["mitigation"], r["accuracy"]) for r in study.rows]
    [('correlation', 'none', 1.0), ('correlation', 'standardise', 1.0)]
    """
    for name in features:
        if name not in FEATURES:
            raise ValueError(
                f"Invalid value for 'features'. Allowed: {', '.join(FEATURES)}; got {name!r}."
            )
    for name in mitigations:
        if name not in MITIGATIONS:
            raise ValueError(
                f"Invalid value for 'mitigations'. Allowed: {', '.join(MITIGATIONS)}; got {name!r}."
            )
    if not features or not mitigations:
        raise ValueError("Give at least one feature and one mitigation.")
    sessions, subjects, recs_a, recs_b, left = _pair(recordings, split_by, sessions)
    if len(subjects) < 2:
        raise DataFormatError(
            f"Only {len(subjects)} subject(s) have recordings in both {split_by} {sessions[0]!r} "
            f"and {sessions[1]!r}; identification needs at least 2."
        )
    first = recs_a[0]
    for rec in recs_a + recs_b:
        if rec.sfreq != first.sfreq or list(rec.ch_names) != list(first.ch_names):
            raise DataFormatError(
                f"Recording of subject {rec.subject} differs in rate or channels from subject "
                f"{first.subject}'s ({rec.sfreq:g} vs {first.sfreq:g} Hz, "
                f"{len(rec.ch_names)} vs {len(first.ch_names)} channels)."
            )
    sfreq = float(first.sfreq)
    filtered = [[bandpass(r.data, sfreq, l_freq, h_freq) for r in rs] for rs in (recs_a, recs_b)]
    rows = []
    for mitigation in mitigations:
        signals = [[mitigate(x, sfreq, mitigation, window=window) for x in xs] for xs in filtered]
        for feature in features:
            tables = [
                np.stack(
                    [
                        recording_features(x, sfreq, kind=feature, window=window, bands=bands)
                        for x in xs
                    ]
                )
                for xs in signals
            ]
            res = identify(tables[0], tables[1], n_permutations=n_permutations, seed=seed)
            rows.append({"feature": feature, "mitigation": mitigation, **res.to_dict()})
    return FingerprintStudy(
        rows=rows,
        subjects=subjects,
        sessions=(sessions[0], sessions[1]),
        left_out=left,
        n_channels=len(first.ch_names),
        sfreq=sfreq,
    )
