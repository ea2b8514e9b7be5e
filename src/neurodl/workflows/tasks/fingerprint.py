"""The ``fingerprint`` task: how well do recordings identify their subject across sessions?

A re-identification risk measurement (Finn et al. 2015): one profile per recording (channel
correlations, log-Euclidean covariance or log band power), and the fraction of recordings of
session B whose most correlated profile in session A is the same subject's, both directions,
with a permutation null (chance 1 / n_subjects); then again after per-recording mitigations
(standardisation, re-centring the covariance to the identity), so the report says how much a
mitigation removes. Data: ``data`` giving continuous recordings (e.g. ``dataset: eegmat``
without ``window``; ``simulate`` with ``simulator: fingerprint_sessions``); the library call is
:func:`neurodl.analyses.fingerprint.fingerprint_study`.
"""

from __future__ import annotations

import time
from typing import Literal

from pydantic import Field, model_validator

from ...exceptions import ConfigError, DataFormatError
from ..config import TaskOptions
from ..data import load_data
from ..registry import RunContext, register_task
from ..results import ResultPart, TaskResult
from ._shared import array_hash, versions

__all__ = ["FingerprintOptions", "FingerprintResult", "run_fingerprint"]

Feature = Literal["correlation", "covariance", "bandpower"]
Mitigation = Literal["none", "standardise", "recentre"]


class FingerprintOptions(TaskOptions):
    """Options of the ``fingerprint`` task.

    Examples
    --------
    Channel correlations identified across sessions, before and after re-centring each
    recording's covariance; the rest takes its default (a 1-40 Hz band-pass first):

    >>> opts = FingerprintOptions.model_validate(
    ...     {"features": ["correlation"], "mitigations": ["none", "recentre"]}
    ... )
    >>> opts.split_by, opts.sessions, (opts.l_freq, opts.h_freq), opts.n_permutations
    ('session', None, (1.0, 40.0), 1000)

    The risk before mitigation (``none``) must be among the mitigations:

    >>> from neurodl.exceptions import ConfigError
    >>> from neurodl.workflows import parse_config
    >>> data = {"source": "simulate", "simulator": "fingerprint_sessions"}
    >>> try:
    ...     parse_config({"task": "fingerprint", "data": data,
    ...                   "options": {"mitigations": ["recentre"]}})
    ... except ConfigError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    Invalid config (mapping): invalid value at 'options': Value error, mitigations must include
    'none' (the risk before any mitigation).
    """

    split_by: str = "session"
    """What separates a subject's two recordings: ``session``, ``run`` or an info key
    (``condition`` for EEGMAT's rest and arithmetic files)."""
    sessions: tuple[str, str] | None = None
    """The two values of ``split_by`` compared (A, B); default the first two, sorted."""
    features: list[Feature] = Field(default_factory=lambda: ["correlation", "bandpower"])
    """Profiles identified from, each once: 'correlation' (channel correlations), 'covariance'
    (log-Euclidean covariance) and/or 'bandpower' (log band power per channel and band)."""
    mitigations: list[Mitigation] = Field(
        default_factory=lambda: ["none", "standardise", "recentre"]
    )
    """Per-recording mitigations compared (must include 'none', the risk before mitigation):
    'standardise' (each channel z-scored) and/or 'recentre' (signals whitened so the mean covariance
    is the identity)."""
    window: float = Field(2.0, gt=0.0)
    """Window (s) of the covariances and Welch segments."""
    bands: list[tuple[float, float]] | None = None
    """Bands (Hz) of the ``bandpower`` profile (default 1-4, 4-8, 8-10, 10-13, 13-20, 20-30)."""
    l_freq: float | None = Field(1.0, gt=0.0)
    """Low edge in Hz of the band-pass applied to every recording first; None: no high-pass."""
    h_freq: float | None = Field(40.0, gt=0.0)
    """High edge in Hz of that band-pass; None: no low-pass."""
    n_permutations: int = Field(1000, ge=0, le=100_000)
    """Permutations of the subject labels for the identification accuracy's null (chance 1 /
    n_subjects); 0: no p-value."""

    @model_validator(mode="after")
    def _check(self) -> FingerprintOptions:
        if "none" not in self.mitigations:
            raise ValueError("mitigations must include 'none' (the risk before any mitigation)")
        if not self.features:
            raise ValueError("give at least one feature")
        if len(set(self.features)) != len(self.features):
            raise ValueError(f"features repeat a name: {self.features}")
        if len(set(self.mitigations)) != len(self.mitigations):
            raise ValueError(f"mitigations repeat a name: {self.mitigations}")
        return self


class IdentificationRow(ResultPart):
    """Identification with one profile under one mitigation."""

    feature: str
    mitigation: str
    accuracy_ab: float = Field(description="B recordings matched to their subject in A")
    accuracy_ba: float = Field(description="A recordings matched to their subject in B")
    accuracy: float = Field(description="mean of the two directions")
    chance: float
    p_value: float | None
    null_mean: float | None
    null_95: float | None
    idiff: float = Field(description="100 x (mean same-subject r - mean other-subject r)")
    self_similarity: float
    other_similarity: float
    n_permutations: int
    n_constant: int = Field(description="profiles with no information left (matched at chance)")
    similarity: list[list[float]] = Field(description="r of B profiles (rows) with A profiles")


class FingerprintResult(TaskResult):
    """Result of the ``fingerprint`` task (``results.json``).

    ``score_mean`` is the identification accuracy (mean of both directions) of the first
    feature without mitigation, ``chance_level`` 1 / n_subjects; ``rows`` holds every feature
    under every mitigation; ``reduction`` the accuracy each mitigation removes per feature.

    Examples
    --------
    The task's own fields, beside those of every :class:`~neurodl.workflows.results.TaskResult`
    (one :class:`IdentificationRow` per feature and mitigation in ``rows``, found with
    :meth:`row`):

    >>> from neurodl.workflows import TASKS
    >>> from neurodl.workflows.results import TaskResult
    >>> TASKS["fingerprint"].result is FingerprintResult
    True
    >>> [f for f in FingerprintResult.model_fields if f not in TaskResult.model_fields]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['split_by', 'sessions', 'subjects', 'n_subjects', 'left_out', 'n_channels', 'sfreq',
     'band_pass', 'rows', 'reduction', 'most_identifying', 'residual_risk', 'timing']
    """

    task: Literal["fingerprint"] = "fingerprint"
    split_by: str
    sessions: list[str]
    subjects: list[str]
    n_subjects: int
    left_out: list[dict[str, str]]
    n_channels: int
    sfreq: float
    band_pass: list[float | None]
    rows: list[IdentificationRow]
    reduction: dict[str, dict[str, float]] = Field(
        description="feature -> mitigation -> accuracy without mitigation minus with it"
    )
    most_identifying: str = Field(description="feature with the highest accuracy unmitigated")
    residual_risk: dict[str, float] = Field(
        description="mitigation -> highest accuracy over features under it"
    )
    timing: dict[str, float] = Field(default_factory=dict)

    def row(self, feature: str, mitigation: str) -> IdentificationRow:
        """The row of ``feature`` under ``mitigation``."""
        for r in self.rows:
            if r.feature == feature and r.mitigation == mitigation:
                return r
        raise KeyError(f"no row for feature {feature!r} and mitigation {mitigation!r}")

    def summary_lines(self) -> list[str]:
        """Subjects and sessions, then the accuracy of every feature before/after mitigation."""
        a, b = self.sessions
        lines = [
            f"{self.dataset}: {self.n_subjects} subjects, {self.split_by} {a!r} vs {b!r}; "
            f"identification accuracy (A->B / B->A), chance {self.chance_level:.3f}"
        ]
        for r in self.rows:
            p = "n/a" if r.p_value is None else f"{r.p_value:.3g}"
            lines.append(
                f"{r.feature}, {r.mitigation}: {r.accuracy_ab:.3f} / {r.accuracy_ba:.3f} "
                f"(p = {p}, Idiff {r.idiff:.1f})"
            )
        return lines


def _recordings(obj: object, name: str) -> list:
    from ...data import Recording

    recs = obj if isinstance(obj, list) else [obj]
    if not recs or not all(isinstance(r, Recording) for r in recs):
        kinds = sorted({type(r).__name__ for r in recs})
        raise DataFormatError(
            f"The fingerprint task needs continuous recordings (one per file/session); {name} "
            f"gave {', '.join(kinds) or 'nothing'}. Remove data.to_samples / the 'window' "
            "parameter so each recording stays whole."
        )
    return recs


@register_task(
    "fingerprint",
    options=FingerprintOptions,
    result=FingerprintResult,
    reads=("data", "options"),
    description="re-identification risk: subject identification across sessions from "
    "recording profiles, before/after mitigation",
)
def run_fingerprint(ctx: RunContext) -> FingerprintResult:
    """Run the task; write ``report.html`` into ``ctx.out_dir`` (if given).

    Examples
    --------
    Two simulated sessions of 8 subjects, each subject with its own spatial mixing (a planted
    fingerprint): channel correlations identify most subjects across sessions (chance 1/8);
    re-centring each recording's covariance to the identity leaves nothing to identify:

    >>> from neurodl.workflows import TASKS, parse_config, run_config
    >>> TASKS["fingerprint"].run is run_fingerprint
    True
    >>> cfg = parse_config({
    ...     "task": "fingerprint",
    ...     "data": {"source": "simulate", "simulator": "fingerprint_sessions",
    ...              "params": {"n_subjects": 8, "duration": 10.0, "spatial": 1.0}},
    ...     "options": {"features": ["correlation"], "mitigations": ["none", "recentre"],
    ...                 "n_permutations": 99, "l_freq": None, "h_freq": None},
    ... })
    >>> res = run_config(cfg).result
    >>> res.n_subjects, res.sessions, res.chance_level
    (8, ['1', '2'], 0.125)
    >>> before = res.row("correlation", "none")
    >>> before.accuracy >= 0.85, before.p_value  # no shuffle of 99 does as well: p = 1/100
    (True, 0.01)
    >>> res.row("correlation", "recentre").accuracy, res.residual_risk["recentre"]
    (0.125, 0.125)
    """
    from ...analyses.fingerprint import DEFAULT_BANDS, fingerprint_study

    cfg, opts = ctx.cfg, ctx.options
    t0 = time.perf_counter()
    obj, name = load_data(cfg.data, seed=cfg.seed)
    recs = _recordings(obj, name)
    try:
        study = fingerprint_study(
            recs,
            split_by=opts.split_by,
            sessions=opts.sessions,
            features=opts.features,
            mitigations=opts.mitigations,
            window=opts.window,
            bands=opts.bands or DEFAULT_BANDS,
            l_freq=opts.l_freq,
            h_freq=opts.h_freq,
            n_permutations=opts.n_permutations,
            seed=cfg.seed,
        )
    except ValueError as err:
        if isinstance(err, DataFormatError):
            raise
        raise ConfigError(f"Invalid options for task 'fingerprint': {err}") from None
    rows = study.rows
    base = {r["feature"]: r["accuracy"] for r in rows if r["mitigation"] == "none"}
    reduction = {
        f: {
            r["mitigation"]: base[f] - r["accuracy"]
            for r in rows
            if r["feature"] == f and r["mitigation"] != "none"
        }
        for f in opts.features
    }
    residual = {
        m: max(r["accuracy"] for r in rows if r["mitigation"] == m) for m in opts.mitigations
    }
    first = study.row(opts.features[0], "none")
    result = FingerprintResult.create(
        task="fingerprint",
        name=cfg.name,
        dataset=name,
        protocol=f"identification across {opts.split_by} (nearest-neighbour correlation)",
        metric="identification_accuracy",
        score_mean=first["accuracy"],
        chance_level=first["chance"],
        p_value=first["p_value"],
        seed=cfg.seed,
        versions=versions(),
        data_hash=array_hash(*(r.data[:, :1000] for r in recs)),
        split_by=opts.split_by,
        sessions=list(study.sessions),
        subjects=study.subjects,
        n_subjects=len(study.subjects),
        left_out=study.left_out,
        n_channels=study.n_channels,
        sfreq=study.sfreq,
        band_pass=[opts.l_freq, opts.h_freq],
        rows=rows,
        reduction=reduction,
        most_identifying=max(base, key=lambda f: base[f]),
        residual_risk=residual,
        timing={"total_s": time.perf_counter() - t0},
    )
    if ctx.write_report:
        from .fingerprint_report import write_fingerprint_report

        write_fingerprint_report(ctx, result)
    return result
