"""From fMRI scans to samples: per-run cleaning, HRF-delay handling, LSA/LSS trial betas.

Leakage policy of the per-run cleaning
--------------------------------------
:func:`clean_runs` detrends and z-scores **each run with statistics of that run alone** (its own
polynomial trend, mean and standard deviation, computed over all of its volumes, labels unused).
We chose per-run operations over a transformer fitted on training runs because, under
leave-one-run-out (or any protocol whose folds keep runs whole), no statistic of a test run ever
enters the training data and no training statistic is needed to transform the test run: the
transform of every run is fixed before any split and is identical whichever fold the run lands
in, so it cannot carry label or test information across the fold boundary. (A transformer fitted
on training runs and applied to the test run would instead need a trend model for a run it has
never seen, which does not exist for drifts that differ by run.) The guarantee holds only when
folds keep runs whole: a protocol that splits volumes of one run between train and test would let
the run's mean and trend, computed over both, link them. :func:`fmri_samples` records
``info["cleaning"] = "per-run"`` and the run of each sample so such protocols can be refused.

HRF delay
---------
Block labels describe the stimulus; the BOLD response lags it by about 4-6 s. ``delay`` (seconds)
labels each volume with the condition shown ``delay`` seconds earlier **within the same run**
(volumes whose shifted label would come from another run become ``"rest"``). The Haxby files
already have their labels aligned for decoding, so the example configs use ``delay: 0``.
Trial betas (LSA/LSS) model the lag with the canonical HRF (:func:`neurodl.data.simulate.spm_hrf`)
instead.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import signal

from ...data import EpochsDataset, VolumeSeries
from ...data.simulate import spm_hrf
from ...exceptions import ConfigError, DataFormatError

__all__ = [
    "SAMPLE_KINDS",
    "block_events",
    "clean_runs",
    "fmri_samples",
    "hrf_design",
    "lsa_betas",
    "lss_betas",
    "shift_labels",
]

#: ``kind`` of :func:`fmri_samples` -> description.
SAMPLE_KINDS: dict[str, str] = {
    "volumes": "one sample per labelled volume",
    "blocks": "one sample per block (mean of its volumes)",
    "lsa": "one beta per block from a least-squares-all GLM (all trials in one model)",
    "lss": "one beta per block from least-squares-separate GLMs (one model per trial)",
}

_DETRENDS = {"none": None, "constant": 0, "linear": 1, "quadratic": 2}


def _runs_of(vs: VolumeSeries) -> np.ndarray:
    ev = vs.events
    if ev is not None and "run" in ev.columns and len(ev) == vs.n_volumes:
        return ev["run"].astype(str).to_numpy()
    labels = vs.info.get("volume_labels")
    if isinstance(labels, pd.DataFrame) and "run" in labels and len(labels) == vs.n_volumes:
        return labels["run"].astype(str).to_numpy()
    return np.full(vs.n_volumes, str(vs.run or "0"))


def clean_runs(
    data: np.ndarray,
    runs: Sequence[Any],
    *,
    detrend: Literal["none", "constant", "linear", "quadratic"] = "linear",
    standardize: bool = True,
) -> np.ndarray:
    """Detrend and z-score each run with its own statistics (see the module's leakage policy).

    Parameters
    ----------
    data : ndarray of shape (n_voxels, n_volumes)
    runs : array-like of shape (n_volumes,)
        Run of each volume.
    detrend : {"none", "constant", "linear", "quadratic"}, default="linear"
        Polynomial removed from each voxel within each run (least squares).
    standardize : bool, default=True
        Divide each voxel by its standard deviation within the run (after detrending; a voxel
        constant in a run is left at 0).

    Returns
    -------
    cleaned : ndarray of shape (n_voxels, n_volumes), float64

    Examples
    --------
    >>> data = np.r_[np.arange(5.0), 10 + np.arange(5.0)][None, :]  # 1 voxel, 2 runs
    >>> out = clean_runs(data, [0] * 5 + [1] * 5, detrend="constant", standardize=False)
    >>> out.shape, (out[0].round(6) + 0.0).tolist()  # each run centred on its own mean
    ((1, 10), [-2.0, -1.0, 0.0, 1.0, 2.0, -2.0, -1.0, 0.0, 1.0, 2.0])
    """
    if detrend not in _DETRENDS:
        raise ConfigError(
            f"Invalid value for 'detrend'. Allowed: {', '.join(map(repr, _DETRENDS))}; "
            f"got {detrend!r}."
        )
    data = np.asarray(data, dtype=float)
    runs = np.asarray(runs)
    if data.ndim != 2 or runs.shape != (data.shape[1],):
        raise DataFormatError(
            f"'data' must be (n_voxels, n_volumes) and 'runs' (n_volumes,); got {data.shape} "
            f"and {runs.shape}."
        )
    order = _DETRENDS[detrend]
    out = np.empty_like(data)
    for r in pd.unique(runs):
        idx = np.flatnonzero(runs == r)
        x = data[:, idx]
        if order is not None:
            t = np.linspace(-1, 1, idx.size)
            basis = np.vander(t, order + 1)  # (n, order+1)
            coef, *_ = np.linalg.lstsq(basis, x.T, rcond=None)
            x = x - (basis @ coef).T
        if standardize:
            sd = x.std(axis=1, keepdims=True)
            mean = x.mean(axis=1, keepdims=True)
            x = np.divide(x - mean, sd, out=np.zeros_like(x), where=sd > 1e-12)
        out[:, idx] = x
    return out


def shift_labels(
    labels: Sequence[Any], runs: Sequence[Any], n_shift: int, *, fill: str = "rest"
) -> np.ndarray:
    """Label volume ``i`` with the label of volume ``i - n_shift`` of the same run.

    Parameters
    ----------
    labels, runs : array-like of shape (n_volumes,)
    n_shift : int
        Volumes of delay (>= 0).
    fill : str, default="rest"
        Label of the first ``n_shift`` volumes of each run.

    Returns
    -------
    shifted : ndarray of str, shape (n_volumes,)

    Examples
    --------
    >>> shift_labels(["a", "a", "b", "b"], [0, 0, 0, 0], n_shift=1).tolist()
    ['rest', 'a', 'a', 'b']
    """
    if isinstance(n_shift, bool) or not isinstance(n_shift, (int, np.integer)) or n_shift < 0:
        raise ConfigError(f"Invalid value for 'n_shift': a non-negative int; got {n_shift!r}.")
    labels = np.asarray(labels).astype(str).astype(object)
    runs = np.asarray(runs)
    out = labels.copy()
    if n_shift == 0:
        return out.astype(str)
    for r in pd.unique(runs):
        idx = np.flatnonzero(runs == r)
        seg = np.full(idx.size, fill, dtype=object)
        seg[n_shift:] = labels[idx[: idx.size - n_shift]] if idx.size > n_shift else seg[n_shift:]
        out[idx] = seg
    return out.astype(str)


def block_events(
    labels: Sequence[Any], runs: Sequence[Any], tr: float, *, exclude: Sequence[str] = ("rest",)
) -> pd.DataFrame:
    """Blocks (runs of consecutive equal labels within a run) as an events table.

    Returns
    -------
    events : DataFrame
        One row per block: ``run``, ``onset`` (s from the start of its run), ``duration`` (s),
        ``trial_type``, ``first_volume`` (index in the series), ``n_volumes``.

    Examples
    --------
    >>> labels = ["rest", "face", "face", "rest", "house", "house"]
    >>> ev = block_events(labels, [0] * 6, tr=2.0)
    >>> ev[["onset", "duration", "trial_type", "n_volumes"]].values.tolist()
    [[2.0, 4.0, 'face', 2], [8.0, 4.0, 'house', 2]]
    """
    labels = np.asarray(labels).astype(str)
    runs = np.asarray(runs).astype(str)
    n = labels.size
    change = np.ones(n, bool)
    change[1:] = (labels[1:] != labels[:-1]) | (runs[1:] != runs[:-1])
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], n)
    run_start = {r: np.flatnonzero(runs == r)[0] for r in pd.unique(runs)}
    rows = [
        {
            "run": runs[s],
            "onset": (s - run_start[runs[s]]) * tr,
            "duration": (e - s) * tr,
            "trial_type": labels[s],
            "first_volume": int(s),
            "n_volumes": int(e - s),
        }
        for s, e in zip(starts, ends, strict=True)
        if labels[s] not in set(exclude)
    ]
    return pd.DataFrame(
        rows, columns=["run", "onset", "duration", "trial_type", "first_volume", "n_volumes"]
    )


def hrf_design(
    onsets: Sequence[float],
    durations: Sequence[float],
    n_volumes: int,
    tr: float,
    *,
    oversampling: int = 16,
) -> np.ndarray:
    """One regressor per event: its boxcar convolved with the SPM canonical HRF.

    Parameters
    ----------
    onsets, durations : array-like of shape (n_events,)
        Seconds from the first volume of the run.
    n_volumes : int
    tr : float
    oversampling : int, default=16

    Returns
    -------
    design : ndarray of shape (n_volumes, n_events)
        Sampled at volume acquisition times ``k * tr``; peak about 1 for long blocks.

    Examples
    --------
    >>> design = hrf_design([0.0, 20.0], [10.0, 10.0], n_volumes=20, tr=2.0)
    >>> design.shape, int(design[:, 0].argmax()), int(design[:, 1].argmax())  # at 12 s and 32 s
    ((20, 2), 6, 16)
    """
    onsets = np.asarray(onsets, float)
    durations = np.asarray(durations, float)
    dt = tr / oversampling
    t = np.arange(n_volumes * oversampling) * dt
    box = (t[None, :] >= onsets[:, None] - 1e-9) & (
        t[None, :] < (onsets + durations)[:, None] - 1e-9
    )
    hrf = spm_hrf(tr, oversampling)
    conv = signal.fftconvolve(box.astype(float), hrf[None, :], axes=1)[:, : t.size]
    return conv[:, ::oversampling].T


def _run_confounds(n: int, order: int) -> np.ndarray:
    t = np.linspace(-1, 1, n)
    return np.vander(t, order + 1)


def lsa_betas(
    data: np.ndarray,
    events: pd.DataFrame,
    runs: Sequence[Any],
    tr: float,
    *,
    drift_order: int = 1,
) -> np.ndarray:
    """Least-squares-all trial betas: one GLM per run with a regressor per trial.

    Parameters
    ----------
    data : ndarray of shape (n_voxels, n_volumes)
    events : DataFrame
        ``run``, ``onset`` (s within the run), ``duration`` (s): one row per trial.
    runs : array-like of shape (n_volumes,)
    tr : float
    drift_order : int, default=1
        Polynomial drift regressors per run (0 = intercept only).

    Returns
    -------
    betas : ndarray of shape (n_trials, n_voxels), in the row order of ``events``.

    Examples
    --------
    >>> from neurodl.data.simulate import simulate_fmri
    >>> vs = simulate_fmri(n_runs=2, n_categories=2, shape=(3, 3, 3))
    >>> runs = vs.info["volume_labels"]["run"].to_numpy()  # run of each volume
    >>> betas = lsa_betas(vs.data[vs.mask], vs.events, runs, vs.tr)  # one block = one trial
    >>> betas.shape  # (n_trials, n_voxels)
    (4, 19)
    """
    data, runs = _check_glm(data, events, runs)
    betas = np.zeros((len(events), data.shape[0]))
    for r in pd.unique(runs):
        idx = np.flatnonzero(runs == r)
        rows = np.flatnonzero(events["run"].astype(str).to_numpy() == str(r))
        if rows.size == 0:
            continue
        ev = events.iloc[rows]
        X = np.column_stack(
            [
                hrf_design(ev["onset"], ev["duration"], idx.size, tr),
                _run_confounds(idx.size, drift_order),
            ]
        )
        coef, *_ = np.linalg.lstsq(X, data[:, idx].T, rcond=None)
        betas[rows] = coef[: rows.size]
    return betas


def lss_betas(
    data: np.ndarray,
    events: pd.DataFrame,
    runs: Sequence[Any],
    tr: float,
    *,
    drift_order: int = 1,
) -> np.ndarray:
    """Least-squares-separate trial betas (Mumford et al. 2012): one GLM per trial.

    Each model has the trial's regressor, one regressor summing every other trial of the run,
    and the run's drift terms; the trial's beta is kept.

    Parameters
    ----------
    data, events, runs, tr, drift_order
        As in :func:`lsa_betas`.

    Returns
    -------
    betas : ndarray of shape (n_trials, n_voxels)

    Examples
    --------
    >>> from neurodl.data.simulate import simulate_fmri
    >>> vs = simulate_fmri(n_runs=2, n_categories=2, shape=(3, 3, 3))
    >>> runs = vs.info["volume_labels"]["run"].to_numpy()  # run of each volume
    >>> lss_betas(vs.data[vs.mask], vs.events, runs, vs.tr).shape  # (n_trials, n_voxels)
    (4, 19)
    """
    data, runs = _check_glm(data, events, runs)
    betas = np.zeros((len(events), data.shape[0]))
    for r in pd.unique(runs):
        idx = np.flatnonzero(runs == r)
        rows = np.flatnonzero(events["run"].astype(str).to_numpy() == str(r))
        if rows.size == 0:
            continue
        ev = events.iloc[rows]
        trials = hrf_design(ev["onset"], ev["duration"], idx.size, tr)
        total = trials.sum(axis=1)
        conf = _run_confounds(idx.size, drift_order)
        Y = data[:, idx].T
        for j, row in enumerate(rows):
            X = np.column_stack([trials[:, j], total - trials[:, j], conf])
            coef, *_ = np.linalg.lstsq(X, Y, rcond=None)
            betas[row] = coef[0]
    return betas


def _check_glm(data: Any, events: Any, runs: Any) -> tuple[np.ndarray, np.ndarray]:
    data = np.asarray(data, dtype=float)
    runs = np.asarray(runs).astype(str)
    if data.ndim != 2 or runs.shape != (data.shape[1],):
        raise DataFormatError(
            f"'data' must be (n_voxels, n_volumes) and 'runs' (n_volumes,); got {data.shape} and "
            f"{runs.shape}."
        )
    if not isinstance(events, pd.DataFrame) or not {"run", "onset", "duration"} <= set(
        events.columns
    ):
        raise DataFormatError("'events' must be a DataFrame with columns run, onset, duration.")
    return data, runs


def _volume_labels(vs: VolumeSeries) -> np.ndarray:
    ev = vs.events
    if ev is not None and "label" in ev.columns and len(ev) == vs.n_volumes:
        return ev["label"].astype(str).to_numpy()
    vl = vs.info.get("volume_labels")
    if isinstance(vl, pd.DataFrame) and "label" in vl and len(vl) == vs.n_volumes:
        return vl["label"].astype(str).to_numpy()
    raise DataFormatError(
        "fmri_samples needs a label per volume: events with a 'label' column (read_haxby) or "
        "info['volume_labels'] (simulate_fmri)."
    )


def _mean_volume(vs: VolumeSeries) -> np.ndarray:
    """The mean over time on the 3-D grid (0 outside the mask): a background for brain maps."""
    mean = vs.data.mean(axis=-1)
    return vs.unmask(mean, fill=0.0) if vs.is_masked else mean


def fmri_samples(
    vs: VolumeSeries,
    *,
    kind: Literal["volumes", "blocks", "lsa", "lss"] = "volumes",
    labels: Sequence[str] | None = None,
    exclude: Sequence[str] = ("rest",),
    detrend: Literal["none", "constant", "linear", "quadratic"] = "linear",
    standardize: bool = True,
    delay: float = 0.0,
    drift_order: int = 1,
    high_pass: float | None = None,
    confounds: Any = None,
) -> EpochsDataset:
    """Turn a labelled fMRI series into decoding samples, cleaned per run without leakage.

    Parameters
    ----------
    vs : VolumeSeries
        Labelled series (a ``label`` per volume in ``events`` as from ``read_haxby``, or
        ``info["volume_labels"]`` as from ``simulate_fmri``), with a ``run`` per volume.
    kind : {"volumes", "blocks", "lsa", "lss"}, default="volumes"
        See :data:`SAMPLE_KINDS`. ``lsa``/``lss`` fit the raw (uncleaned) series with drift
        regressors and z-score the betas within each run.
    labels : sequence of str, optional
        Classes to keep, in code order (default: all except ``exclude``, sorted).
    exclude : sequence of str, default=("rest",)
        Labels dropped when ``labels`` is not given.
    detrend : {"none", "constant", "linear", "quadratic"}, default="linear"
        Polynomial trend removed from each voxel within each run (``volumes``/``blocks``;
        ``none`` keeps it).
    standardize : bool, default=True
        Per-run z-scoring (see the module's leakage policy).
    delay : float, default=0.0
        HRF delay in seconds applied to the labels for ``volumes``/``blocks`` (rounded to whole
        volumes, never crossing a run boundary).
    drift_order : int, default=1
        Drift regressors per run of the LSA/LSS GLMs.
    high_pass : float, optional
        Butterworth high-pass cut-off in Hz (``volumes``/``blocks``).
    confounds : str, Path, DataFrame or ndarray of shape (n_volumes, n_confounds), optional
        Regressed out of each run (a path is read as TSV with a header, CSV for ``.csv``).
        With ``high_pass`` or ``confounds`` the cleaning is
        :func:`neurodl.analyses.fmri.maskers.clean_signals` (``nilearn.signal.clean`` run by
        run: linear detrend, filter, confounds, z-score with ``ddof=1``); otherwise
        :func:`clean_runs`, equal to ``nilearn.signal.clean`` up to the z-score's ``ddof``.

    Returns
    -------
    EpochsDataset
        ``X`` of shape (n_samples, n_voxels), metadata with ``run`` (one fold unit per run for
        leave-one-run-out), ``segment`` (block id), ``label``; ``info["cleaning"] == "per-run"``,
        ``info["mask"]``, ``info["affine"]`` and ``info["mean_volume"]`` (nx, ny, nz) for maps.

    Examples
    --------
    >>> from neurodl.data.simulate import simulate_fmri
    >>> vs = simulate_fmri(n_runs=2, n_categories=2, shape=(3, 3, 3))
    >>> ds = fmri_samples(vs, kind="blocks")  # one averaged pattern per block
    >>> ds.X.shape, ds.classes, sorted(set(ds.metadata["run"]))
    ((4, 19), ['face', 'house'], ['1', '2'])
    """
    from ...io.fmri import volumes_to_dataset

    if kind not in SAMPLE_KINDS:
        raise ConfigError(
            f"Invalid value for 'kind'. Allowed: {', '.join(map(repr, SAMPLE_KINDS))}; got {kind!r}."
        )
    if not np.isfinite(delay) or delay < 0:
        raise ConfigError(f"Invalid value for 'delay': seconds >= 0; got {delay!r}.")
    runs = _runs_of(vs)
    lab = shift_labels(_volume_labels(vs), runs, round(delay / vs.tr))
    raw = vs.masked()
    events = pd.DataFrame({"label": lab, "run": runs})
    nilearn_steps = None
    if high_pass is not None or confounds is not None:
        cleaned, nilearn_steps = _nilearn_clean(vs, raw, runs, kind, detrend, standardize,
                                                high_pass, confounds)  # fmt: skip
    elif kind in ("volumes", "blocks"):
        cleaned = clean_runs(raw, runs, detrend=detrend, standardize=standardize)
    if kind in ("volumes", "blocks"):
        out = copy.copy(vs)
        out.data = cleaned
        out.mask = vs.mask if vs.mask is not None else np.ones(vs.shape3d, bool)
        out.events = events
        ds = volumes_to_dataset(out, labels=labels, exclude=exclude, block_average=kind == "blocks")
    else:
        ds = _glm_samples(vs, raw, lab, runs, kind, labels, exclude, drift_order, standardize)
    if kind in ("volumes", "blocks"):
        how = {
            "per": "run",
            "function": "neurodl clean_runs (tested equal to nilearn.signal.clean)",
        }
        steps = [{"step": "detrend", "type": detrend, **how}] if detrend != "none" else []
        if standardize:
            steps.append({"step": "standardize", "method": "zscore (ddof=0)", **how})
        ds.info["cleaning_steps"] = steps if nilearn_steps is None else nilearn_steps
    ds.info.update(
        {"cleaning": "per-run", "detrend": detrend, "standardize": bool(standardize), "kind": kind,
         "delay_s": float(delay),
         "mask": vs.mask if vs.mask is not None else np.ones(vs.shape3d, bool),
         "affine": vs.affine, "mean_volume": _mean_volume(vs)}
    )  # fmt: skip
    return ds


def _nilearn_clean(
    vs: VolumeSeries,
    raw: np.ndarray,
    runs: np.ndarray,
    kind: str,
    detrend: str,
    standardize: bool,
    high_pass: float | None,
    confounds: Any,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """``high_pass``/``confounds`` cleaning through nilearn; (n_voxels, n_volumes) and steps."""
    from pathlib import Path

    from .maskers import clean_signals

    if kind not in ("volumes", "blocks"):
        raise ConfigError(
            f"high_pass and confounds apply to kind 'volumes' or 'blocks'; got {kind!r} (the "
            "LSA/LSS GLMs model the drifts with drift_order)."
        )
    if detrend not in ("none", "linear"):
        raise ConfigError(
            "With high_pass or confounds the cleaning is nilearn.signal.clean, whose detrending "
            f"is linear: detrend must be 'linear' or 'none'; got {detrend!r}."
        )
    if isinstance(confounds, (str, Path)):
        path = Path(confounds)
        if not path.is_file():
            raise DataFormatError(f"Invalid value for 'confounds': no such file {path}.")
        confounds = pd.read_csv(path, sep="," if path.suffix.lower() == ".csv" else "\t",
                                na_values=["n/a"])  # fmt: skip
    if confounds is not None:
        confounds = np.asarray(confounds, dtype=float)
        if confounds.ndim == 2 and np.isnan(confounds).any():
            raise DataFormatError(
                f"'confounds' has {int(np.isnan(confounds).sum())} missing values (fMRIPrep "
                "derivatives start with n/a): keep complete columns or fill them first."
            )
    cleaned, steps = clean_signals(raw.T, runs=runs, t_r=vs.tr, detrend=detrend == "linear",
                                   standardize=bool(standardize), confounds=confounds,
                                   high_pass=high_pass)  # fmt: skip
    return cleaned.T, steps


def _glm_samples(
    vs: VolumeSeries,
    raw: np.ndarray,
    lab: np.ndarray,
    runs: np.ndarray,
    kind: str,
    labels: Sequence[str] | None,
    exclude: Sequence[str],
    drift_order: int,
    standardize: bool,
) -> EpochsDataset:
    events = block_events(lab, runs, vs.tr, exclude=())
    present = sorted(set(events["trial_type"]))
    if labels is None:
        classes = [c for c in present if c not in set(exclude)]
    else:
        classes = [str(c) for c in labels]
        unknown = [c for c in classes if c not in present]
        if unknown:
            raise ConfigError(
                f"Invalid value for 'labels': {unknown} not in the series; available {present}."
            )
    trials = events[events["trial_type"] != "rest"].reset_index(drop=True)
    func = lsa_betas if kind == "lsa" else lss_betas
    betas = func(raw, trials, runs, vs.tr, drift_order=drift_order)
    keep = trials["trial_type"].isin(classes).to_numpy()
    betas, trials = betas[keep], trials[keep].reset_index(drop=True)
    if standardize:  # per-run z-score of the betas (each run's own statistics)
        for r in pd.unique(trials["run"]):
            m = (trials["run"] == r).to_numpy()
            sd = betas[m].std(0)
            betas[m] = np.divide(
                betas[m] - betas[m].mean(0), sd, out=np.zeros_like(betas[m]), where=sd > 1e-12
            )
    subject = vs.subject or "0"
    meta = pd.DataFrame(
        {
            "subject": subject,
            "session": vs.session or "0",
            "run": trials["run"].to_numpy(),
            "recording": [f"sub-{subject}_run-{r}" for r in trials["run"]],
            "segment": np.arange(len(trials)).astype(str),
            "trial": np.arange(len(trials)),
            "onset": trials["onset"].to_numpy(),
            "volume": trials["first_volume"].to_numpy(),
            "label": trials["trial_type"].to_numpy(),
            "n_volumes": trials["n_volumes"].to_numpy(),
        }
    )
    y = np.array([classes.index(v) for v in meta["label"]], dtype=int)
    info = {"tr": vs.tr, "source": vs.source, "n_voxels": int(betas.shape[1])}
    return EpochsDataset(betas, y, meta, None, None, classes, info)
