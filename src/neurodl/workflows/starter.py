"""``neurodl init``: a commented starter config written from what a data file holds.

:func:`starter_config` reads the file(s) the way ``neurodl info`` does and writes a config for
the decoding of that data: EEG/MEG recordings with annotations (``epochs`` around the events,
with their counts in the comments), an fMRI image with a per-volume labels table (one sample
per volume, leave-one-run-out when the table has runs) or NWB units with a trials table
(``spike_trial_decoding`` on a binary column of the table). Every choice is stated in a
comment so the user can edit it; ``neurodl run CONFIG --check`` validates the result.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import ConfigError, DataFormatError

__all__ = ["guess_pattern", "starter_config"]

#: Annotation labels that mark rest, recording edges or bad spans rather than trials.
_NOT_TRIALS = re.compile(r"^(T0|rest|baseline|bad.*|edge.*|boundary|new segment.*)$", re.I)


def _yaml(value: Any) -> str:
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def guess_pattern(paths: list[Path]) -> str | None:
    """A ``data.pattern`` giving each file its run: the one digit group that varies.

    >>> guess_pattern([Path("S001R04.edf"), Path("S001R08.edf")])
    '{subject}R{run}'
    """
    from .files import file_entities

    if len(paths) < 2 or all("run" in file_entities(p.name) for p in paths):
        return None
    stems = [p.name.split(".", 1)[0] for p in paths]
    tokens = [re.findall(r"\d+|\D+", s) for s in stems]
    if len({len(t) for t in tokens}) != 1:
        return None
    varying = [i for i in range(len(tokens[0])) if len({t[i] for t in tokens}) > 1]
    if len(varying) != 1 or not tokens[0][varying[0]].isdigit():
        return None
    parts = list(tokens[0])
    parts[varying[0]] = "{run}"
    head = "".join(parts[: varying[0]])
    if parts[: varying[0]] and head[-1:].isalpha() and len(parts[: varying[0]]) >= 2:
        # what precedes the run's letter (e.g. "S001" before "R04") names the subject
        parts = ["{subject}", parts[varying[0] - 1], *parts[varying[0] :]]
        if not re.fullmatch(r"\D+", parts[1]):
            return None
    return "".join(parts)


def _eeg(rec: Any, paths: list[Path], classes: list[str] | None) -> tuple[list[str], dict]:
    ann = rec.annotations
    counts = Counter(str(x) for x in ann.label)
    comments = [
        f"{rec.n_channels} channels ({', '.join(f'{t} x{n}' for t, n in Counter(rec.ch_types).items())}), "
        f"{rec.sfreq:g} Hz, {rec.duration:.1f} s per recording.",
        "Annotations: "
        + (", ".join(f"{k} x{v}" for k, v in sorted(counts.items())) or "none")
        + ".",
    ]
    if not counts:
        raise DataFormatError(
            f"{paths[0]}: no annotations to cut epochs around; neurodl init writes event-related "
            "configs for recordings with annotations (use to_samples: windows otherwise)."
        )
    if classes:
        unknown = sorted(set(classes) - set(counts))
        if unknown:
            raise ConfigError(
                f"Invalid value for '--classes': {unknown} are not annotation labels. "
                f"Present: {sorted(counts)}."
            )
        chosen = list(classes)
    else:
        chosen = [k for k in sorted(counts) if not _NOT_TRIALS.match(k) and counts[k] >= 2]
        left = sorted(set(counts) - set(chosen))
        if left:
            comments.append(f"Left out as rest/edge markers or too rare: {', '.join(left)}.")
    if len(chosen) < 2:
        raise ConfigError(
            f"{paths[0]}: fewer than two event labels to decode ({chosen}); name them with "
            f"--classes (present: {sorted(counts)})."
        )
    keep = np.isin(ann.label.astype(str), chosen)
    durations = ann.duration[keep]
    sustained = len(durations) and float(np.median(durations)) >= 1.0
    if sustained:
        tmin, tmax = 0.5, round(min(float(np.median(durations)), 2.5), 3)
        comments.append(
            f"Events last {float(np.median(durations)):.1f} s (median): epochs {tmin}-{tmax} s "
            "after each onset (past the evoked response), 7-30 Hz band-pass, covariance model."
        )
    else:
        tmin, tmax = -0.2, 0.8
        comments.append("Brief events: epochs -0.2 to 0.8 s with baseline (None, 0).")
    epochs: dict[str, Any] = {"event_id": {k: i for i, k in enumerate(chosen)}}
    epochs.update(tmin=tmin, tmax=tmax)
    if not sustained:
        epochs["baseline"] = [None, 0.0]
    data = _source(paths)
    data["to_samples"] = {"epochs": epochs}
    section = {
        "data": data,
        "preprocessing": [{"bandpass": {"l_freq": 7.0, "h_freq": 30.0}}] if sustained else [],
        "model": {"name": "tangent_space_lr", "params": {"estimator": "oas"}}
        if sustained
        else {"name": "lda", "params": {"shrinkage": "auto"}},
        "options": {"baseline": {"name": "csp_lda"}} if sustained else {},
        "protocol": "leave-one-run-out" if len(paths) > 1 else "within-session",
    }
    return comments, section


def _epoched(ds: Any, paths: list[Path], classes: list[str] | None) -> tuple[list[str], dict]:
    """Already-epoched files (``-epo.fif``, epoched EEGLAB): every event is a class."""
    from .files import file_entities

    names = list(ds.classes or [])
    counts = Counter(names[int(v)] if names else str(v) for v in np.asarray(ds.y))
    info = ds.info or {}
    tmin = float(info.get("tmin", 0.0))
    length = ds.X.shape[-1] / ds.sfreq if ds.sfreq else 0.0
    comments = [
        f"Epoched file(s): {ds.n_samples} epochs of {ds.X.shape[1]} channels x "
        f"{ds.X.shape[-1]} samples ({length:.2f} s from {tmin:g} s) in the first file.",
        "Events (the classes): " + ", ".join(f"{k} x{v}" for k, v in sorted(counts.items())) + ".",
    ]
    if classes and sorted(classes) != sorted(counts):
        raise ConfigError(
            f"Invalid value for '--classes': in epoched files every event is a class "
            f"({sorted(counts)}); save the epochs of the classes you want (mne.Epochs[...]) "
            "and give those files."
        )
    if len(counts) < 2:
        raise ConfigError(f"{paths[0]}: fewer than two event types to decode ({sorted(counts)}).")
    data = _source(paths)
    ents = [file_entities(p.name, data.get("pattern")) for p in paths]
    protocol = "within-session"
    if len({e.get("run") for e in ents}) > 1:
        protocol = "leave-one-run-out"
    elif len({e.get("subject") for e in ents}) > 1:
        protocol = "leave-one-subject-out"
    long = length >= 1.0
    comments.append(
        f"Epochs of {length:.2f} s: "
        + ("covariance model (tangent space), CSP + LDA beside it." if long else "shrinkage LDA.")
    )
    section = {
        "data": data,
        "preprocessing": [],
        "model": {"name": "tangent_space_lr", "params": {"estimator": "oas"}}
        if long
        else {"name": "lda", "params": {"shrinkage": "auto"}},
        "options": {"baseline": {"name": "csp_lda"}} if long else {},
        "protocol": protocol,
    }
    return comments, section


def _source(paths: list[Path]) -> dict[str, Any]:
    if len(paths) == 1:
        return {"source": "file", "path": str(paths[0])}
    from .files import file_entities

    data: dict[str, Any] = {"source": "files", "files": [str(p) for p in paths]}
    if all(file_entities(p.name) for p in paths):  # BIDS names (sub-01_run-02): read as such
        return data
    pattern = guess_pattern(paths)
    if pattern is not None:
        data["pattern"] = pattern
    return data


def _labels_table(image: Path, labels: Path | None, n_volumes: int) -> Path | None:
    """The labels table: given, or a CSV/TSV next to the image with one row per volume."""
    import pandas as pd

    if labels is not None:
        return labels
    for cand in sorted(image.parent.glob("*")):
        if cand.suffix.lower() not in (".csv", ".tsv") or not cand.is_file():
            continue
        sep = "," if cand.suffix.lower() == ".csv" else "\t"
        try:
            table = pd.read_csv(cand, sep=sep)
        except (ValueError, OSError):
            continue
        if "label" in table.columns and len(table) == n_volumes:
            return cand
    return None


def _fmri(
    vs: Any, path: Path, labels: Path | None, classes: list[str] | None
) -> tuple[list[str], dict]:
    import pandas as pd

    table_path = _labels_table(path, labels, vs.n_volumes)
    if table_path is None:
        raise DataFormatError(
            f"{path}: no labels table found. Pass --labels TABLE (CSV or TSV with a 'label' "
            "column, one row per volume, and a 'run' column for leave-one-run-out)."
        )
    sep = "," if table_path.suffix.lower() == ".csv" else "\t"
    table = pd.read_csv(table_path, sep=sep)
    if "label" not in table.columns:
        raise DataFormatError(f"{table_path}: no 'label' column (columns: {list(table.columns)}).")
    counts = Counter(str(x) for x in table["label"])
    comments = [
        f"{vs.n_volumes} volumes, TR {vs.tr:g} s; labels from {table_path.name}: "
        + ", ".join(f"{k} x{v}" for k, v in sorted(counts.items()))
        + "."
    ]
    chosen = list(classes) if classes else [k for k in sorted(counts) if not _NOT_TRIALS.match(k)]
    params: dict[str, Any] = {"events": str(table_path)}
    masks = sorted(p for p in path.parent.glob("mask*.nii*") if p != path)
    if masks:
        params["mask"] = str(masks[0])
        comments.append(f"Mask: {masks[0].name}.")
    data = {
        "source": "file",
        "path": str(path),
        "params": params,
        "to_samples": {
            "fmri_samples": {
                "kind": "volumes",
                "labels": chosen,
                "detrend": "linear",
                "standardize": True,
            }
        },
    }
    if not classes and len(chosen) > 2:
        comments.append(
            f"Decoding all {len(chosen)} labels; for one pair, list it in "
            f"data.to_samples.fmri_samples.labels (e.g. [{chosen[0]}, {chosen[1]}]) or rerun "
            "init with --classes A,B."
        )
    runs = "run" in table.columns and table["run"].nunique() > 1
    comments.append(
        "One sample per volume, linear detrend + z-score per run; "
        + ("leave-one-run-out." if runs else "no run column: 5-fold stratified CV.")
    )
    return comments, {
        "data": data,
        "preprocessing": [],
        "model": {"name": "lda", "params": {"shrinkage": "auto"}},
        "options": {},
        "protocol": "leave-one-run-out" if runs else "within-session",
    }


def _binary_columns(trials: Any) -> list[tuple[str, dict[str, int]]]:
    skip = {"id", "start_time", "stop_time", "table", "trial_num"}
    out = []
    for col in trials.columns:
        if col in skip or col.endswith("_time"):
            continue
        values = trials[col].dropna()
        counts = Counter(values.tolist())
        if len(counts) == 2 and min(counts.values()) >= 5:
            out.append((col, {str(k): v for k, v in sorted(counts.items())}))
    out.sort(key=lambda cv: -min(cv[1].values()) / sum(cv[1].values()))
    return out


def _spikes(
    st: Any, path: Path, classes: list[str] | None, network: bool = False
) -> tuple[list[str], dict]:
    trials = st.trials
    if trials is None or len(trials) == 0:
        raise DataFormatError(
            f"{path}: no trials table, so there is nothing to decode trial by trial."
        )
    comments = [f"{st.n_units} units, {len(trials)} trials."]
    options: dict[str, Any] = {}
    if "table" in trials.columns:
        sizes = trials["table"].value_counts()
        table = sorted(sizes.index, key=lambda t: (-sizes[t], str(t)))[0]
        comments.append(
            "Interval tables: "
            + ", ".join(f"{t} ({n})" for t, n in sizes.items())
            + f"; using {table} (edit options.trials)."
        )
        options["trials"] = {"column": "table", "values": [str(table)]}
        trials = trials[trials["table"] == table]
    candidates = _binary_columns(trials)
    if classes:
        label = classes[0]
    elif candidates:
        label = candidates[0][0]
    else:
        raise DataFormatError(f"{path}: no two-valued column in the trials table to decode.")
    comments.append(
        "Two-valued columns: "
        + "; ".join(f"{c} {v}" for c, v in candidates[:6])
        + f". Decoding {label!r} (edit options.label)."
    )
    dur = float(np.median(trials["stop_time"] - trials["start_time"]))
    options.update(
        label={"column": label},
        align="start_time",
        t_start=0.0,
        t_after=round(min(dur, 2.0), 3),
        sqrt=True,
    )
    if network:  # a network reads each unit's counts as a sequence of bins
        options["bin_size"] = round(max(options["t_after"] / 10, 0.01), 2)
        comments.append(f"Network: counts in {options['bin_size']} s bins, one sequence per unit.")
    return comments, {
        "task": "spike_trial_decoding",
        "data": {"source": "file", "path": str(path)},
        "model": {"name": "lda", "params": {"shrinkage": "auto"}},
        "options": options,
        "protocol": "within-session",
    }


def _check_model(model: str | None, n_permutations: Any, max_epochs: Any) -> bool:
    """Validate the model name and counts; return whether the model is a network."""
    import difflib

    from ..estimators import is_neural, list_estimators

    if (
        isinstance(n_permutations, bool)
        or not isinstance(n_permutations, int)
        or n_permutations < 0
    ):
        raise ConfigError(
            f"Invalid value for '--n-permutations': an int >= 0; got {n_permutations!r}."
        )
    if max_epochs is not None and (
        isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1
    ):
        raise ConfigError(f"Invalid value for '--max-epochs': an int >= 1; got {max_epochs!r}.")
    if model is None:
        return False
    families = list_estimators()
    allowed = sorted(set(families.get("classical", [])) | set(families.get("neural", [])))
    if model not in allowed:
        close = difflib.get_close_matches(model, allowed, n=1)
        raise ConfigError(
            f"Invalid value for '--model': {model!r}."
            + (f" Did you mean {close[0]!r}?" if close else "")
            + f" Allowed: {', '.join(allowed)}."
        )
    return is_neural(model)


def starter_config(
    paths: list[str | Path],
    *,
    task: str = "decoding",
    labels: str | Path | None = None,
    classes: list[str] | None = None,
    name: str | None = None,
    model: str | None = None,
    n_permutations: int = 100,
    max_epochs: int | None = None,
) -> str:
    """The YAML text of a commented starter config for ``paths``.

    Parameters
    ----------
    paths : list of str or Path
        One recording, image or NWB file; several recordings of one format (each becomes a
        run: ``data.source: files``).
    task : {"decoding"}
        The task the config runs (NWB units get ``spike_trial_decoding``).
    labels : str or Path or None
        A labels table for an fMRI image (CSV/TSV, ``label`` and ``run`` columns, one row per
        volume); default: such a table next to the image.
    classes : list of str or None
        The event labels (EEG), label values (fMRI) or label column (NWB) to decode; default:
        every event label except rest/edge markers, or the most balanced two-valued column.
    name : str or None
        The run's name (default: the first file's name).
    model : str or None
        The decoding model (any name of ``neurodl models`` or a classical model); default: a
        covariance model for sustained EEG events, shrinkage LDA otherwise. A network gets its
        sequence input (NWB: counts in bins) and keeps the classical baseline where there is one.
    n_permutations : int, default=100
        Label permutations of the main model's permutation test (0: none).
    max_epochs : int or None
        Training epochs of a network model (default: the network's own).

    Returns
    -------
    str
        YAML with a header comment stating what was found and every choice made.

    Examples
    --------
    A 60 s EEG recording with seven 2 s "left" and seven "right" events:

    >>> import tempfile, mne
    >>> from neurodl.workflows.validate import read_yaml
    >>> rng = np.random.default_rng(0)
    >>> info = mne.create_info(["C3", "Cz", "C4"], 100.0, "eeg")
    >>> raw = mne.io.RawArray(rng.normal(0, 1e-5, (3, 6000)), info, verbose="error")
    >>> events = mne.Annotations(np.arange(2, 58, 4.0), 2.0, ["left", "right"] * 7)
    >>> raw = raw.set_annotations(events)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "sub-01_task-mi_run-1_raw.fif"
    ...     _ = raw.save(path, verbose="error")
    ...     text = starter_config([path]).replace(tmp, "TMP")
    >>> lines = text.splitlines()
    >>> print("\\n".join(lines[1:3]))  # what was found
    # 3 channels (eeg x3), 100 Hz, 60.0 s per recording.
    # Annotations: left x7, right x7.
    >>> print("\\n".join(lines[lines.index("data:"):]))  # every choice, editable
    data:
      source: file
      path: TMP/sub-01_task-mi_run-1_raw.fif
      to_samples: {epochs: {event_id: {left: 0, right: 1}, tmin: 0.5, tmax: 2.0}}
    preprocessing:
      - {bandpass: {l_freq: 7.0, h_freq: 30.0}}
    model: {name: tangent_space_lr, params: {estimator: oas}}
    options:
      baseline: {name: csp_lda}
    evaluation:
      protocol: within-session
      protocol_params: {n_splits: 5}
      metric: balanced_accuracy
      n_permutations: 100
      n_boot: 1000
    >>> read_yaml(text)["data"]["to_samples"]["epochs"]["event_id"]
    {'left': 0, 'right': 1}
    """
    from ..data import EpochsDataset, Recording, SpikeTrains, VolumeSeries
    from ..io import read

    network = _check_model(model, n_permutations, max_epochs)

    if task != "decoding":
        raise ConfigError(f"Invalid value for '--task'. Allowed: 'decoding'; got {task!r}.")
    files = [Path(p) for p in paths]
    for p in files:
        if not p.exists():
            raise DataFormatError(f"{p}: no such file or folder.")
    first = read(files[0])
    if isinstance(first, Recording):
        comments, sec = _eeg(first, files, classes)
    elif isinstance(first, VolumeSeries):
        comments, sec = _fmri(first, files[0], Path(labels) if labels else None, classes)
    elif isinstance(first, SpikeTrains):
        comments, sec = _spikes(first, files[0], classes, network)
    elif isinstance(first, EpochsDataset):
        comments, sec = _epoched(first, files, classes)
    else:
        raise DataFormatError(
            f"{files[0]}: neurodl init writes configs for recordings, epoched files, fMRI images "
            "and NWB units; "
            f"this file gives a {type(first).__name__}."
        )
    if model is not None:
        sec["model"] = {"name": model}
        comments.append(f"Model: {model} (from --model).")
    if network and max_epochs is not None:
        sec["model"]["params"] = {"max_epochs": int(max_epochs)}
    if network and isinstance(first, Recording | EpochsDataset):  # volts: too small for a net
        sec["preprocessing"] = [*(sec.get("preprocessing") or []), {"standardize": {}}]
        comments.append(
            "Network: each channel standardised with the training trials' statistics (per fold)."
        )
    run_name = name or re.sub(r"[^A-Za-z0-9_-]+", "_", files[0].name.split(".", 1)[0])
    protocol = sec["protocol"]
    ev: dict[str, Any] = {"protocol": protocol}
    if protocol == "within-session":
        ev["protocol_params"] = {"n_splits": 5}
    ev.update(metric="balanced_accuracy", n_permutations=int(n_permutations), n_boot=1000)
    head = [
        f"Starter config written by `neurodl init` from {', '.join(p.name for p in files)}.",
        *comments,
        "Check it with `neurodl run THIS.yaml --check`; every key: `neurodl config schema`.",
    ]
    lines = [f"# {h}" for h in head]
    lines += [
        f"task: {sec.get('task', task)}",
        f"name: {run_name}",
        "seed: 0",
        "data:",
    ]
    lines += [f"  {k}: {_yaml(v)}" for k, v in sec["data"].items()]
    if sec.get("preprocessing"):
        lines.append("preprocessing:")
        lines += [f"  - {_yaml(step)}" for step in sec["preprocessing"]]
    lines.append(f"model: {_yaml(sec['model'])}")
    if sec.get("options"):
        lines.append("options:")
        lines += [f"  {k}: {_yaml(v)}" for k, v in sec["options"].items()]
    lines.append("evaluation:")
    lines += [f"  {k}: {_yaml(v)}" for k, v in ev.items()]
    return "\n".join(lines) + "\n"
