"""EEG/MEG readers built on MNE: continuous recordings, annotation files, seizure times.

Every reader returns a neutral container (:class:`~neurodl.data.Recording`,
:class:`~neurodl.data.Annotations`, :class:`~neurodl.data.EpochsDataset`); MNE objects never
leave this module. Anything MNE cannot read becomes one :class:`~neurodl.exceptions.DataFormatError`
that names the file and the problem. MNE's informational output is silenced; its warnings are
forwarded to the ``neurodl`` logger, except the few that mean the file is damaged (see
:data:`FATAL_WARNINGS`), which raise.

Readers of named datasets (EEGMMIDB, Bonn, EEGMAT...) live in :mod:`neurodl.datasets`, one
module per dataset; this module knows file formats only.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .._logging import logger, use_log_level
from ..data import Annotations, Recording
from ..exceptions import DataFormatError

__all__ = [
    "FATAL_WARNINGS",
    "check_declared_size",
    "check_fatal_warnings",
    "is_annotation_only",
    "read_annotations",
    "read_chbmit_seizures",
    "read_raw",
]

#: MNE warnings that mean the input is damaged: regex -> problem reported in the DataFormatError.
FATAL_WARNINGS: dict[str, str] = {
    r"Number of records from the header does not match the file size": (
        "the file is truncated: it holds fewer data records than its header declares"
    ),
    r"MarkerFile .* not found": (
        "the BrainVision marker file (.vmrk) named in the header is missing"
    ),
    r"Omitted \d+ annotation\(s\) that were outside data range": (
        "annotations lie beyond the end of the data: the data file is truncated"
    ),
}

#: BrainVision ``BinaryFormat`` -> bytes per sample.
_BRAINVISION_BYTES: dict[str, int] = {
    "INT_16": 2,
    "UINT_16": 2,
    "INT_32": 4,
    "UINT_32": 4,
    "IEEE_FLOAT_32": 4,
    "IEEE_FLOAT_64": 8,
}

#: MNE warnings that are noise for neurodl users (logged at DEBUG level only).
_QUIET_WARNINGS: tuple[str, ...] = (r"does not conform to MNE naming conventions",)

#: regex on MNE's error message -> the explanation given to the user.
_ERROR_HINTS: dict[str, str] = {
    r"number of trials is \d+": (
        "it holds epoched data (several trials); read_raw reads continuous recordings only: "
        "use neurodl.io.epochs.read_epochs (neurodl.io.read picks it)"
    ),
    r"Could not find measurement data": (
        "it holds no continuous measurement (e.g. an MNE events '-eve.fif' or another "
        "non-raw FIF file)"
    ),
    r"picks .* yielded no channels": (
        "it holds no signal channels; if it is an annotation-only EDF+ file use "
        "neurodl.io.eeg.read_annotations"
    ),
    r"Mat file appears to be truncated|Unknown mat file type|Expecting miMATRIX": (
        "it is not a valid MATLAB/EEGLAB .set file (empty, truncated or garbage)"
    ),
    r"Could not find the \.fdt data file|\.fdt not found": "its .fdt data file is missing",
    r"Unsupported file type": "MNE has no reader for this file type",
    r"Could not find event data|does not seem to contain epochs": (
        "it holds continuous data, not epochs (read it with neurodl.io.eeg.read_raw)"
    ),
    r"does not start with a file id tag": "it is corrupt or not a FIF file (no FIF file id tag)",
    r"No raw data in": (
        "it holds no continuous data (an epochs FIF? use neurodl.io.epochs.read_epochs)"
    ),
    r"Incorrect number of samples": (
        "its data file holds fewer samples than the header declares (truncated .fdt?)"
    ),
}

#: lower-case suffix -> format name used in messages.
_FORMATS: dict[str, str] = {
    ".edf": "EDF/EDF+",
    ".bdf": "BDF",
    ".gdf": "GDF",
    ".vhdr": "BrainVision",
    ".ahdr": "BrainVision",
    ".set": "EEGLAB",
    ".fif": "FIF",
    ".fif.gz": "FIF",
    ".eeg": "Nihon Kohden",
    ".cnt": "Neuroscan CNT",
}

#: data/marker files that belong to a header file -> (header suffix, format).
_COMPANIONS: dict[str, tuple[str, str]] = {
    ".fdt": (".set", "EEGLAB"),
    ".vmrk": (".vhdr", "BrainVision"),
    ".eeg": (".vhdr", "BrainVision"),
}

#: EDF/BDF signal labels that carry annotations, not samples.
_ANNOTATION_LABELS = ("EDF Annotations", "BDF Annotations")


# ---------------------------------------------------------------------------- helpers
def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(_FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def _format_name(path: Path) -> str:
    return _FORMATS.get(_suffix(path), "")


@contextlib.contextmanager
def _mne_guard(path: Path, what: str) -> Iterator[None]:
    """Run MNE code: forward its warnings to the logger, turn its failures into DataFormatError.

    ``what`` names the attempted reading (e.g. ``"EDF/EDF+ recording"``).
    """
    fatal: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except (DataFormatError, MemoryError):
            raise
        except Exception as err:  # MNE raises many types on bad input
            logger.debug("MNE failed on %s", path, exc_info=True)
            message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            problem = next(
                (hint for pat, hint in _ERROR_HINTS.items() if re.search(pat, message, re.I)), None
            )
            if problem is None and isinstance(err, FileNotFoundError):
                problem = f"a file it needs is missing: {err.filename or message}"
            fatal = [_fatal_problem(str(w.message)) for w in caught]
            fatal = [f for f in fatal if f]
            problem = problem or (fatal[0] if fatal else None)
            detail = f" (MNE: {type(err).__name__}: {message})"
            raise DataFormatError(
                f"{path}: cannot be read as {what}: "
                f"{problem or 'the file is corrupt, truncated or not in this format'}{detail}."
            ) from None
        finally:
            for w in caught:
                _forward_warning(path, str(w.message), fatal)
    if fatal:
        raise DataFormatError(f"{path}: cannot be read as {what}: {fatal[0]}.")


def _fatal_problem(message: str) -> str | None:
    return next((p for pat, p in FATAL_WARNINGS.items() if re.search(pat, message)), None)


def _forward_warning(path: Path, message: str, fatal: list[str]) -> None:
    problem = _fatal_problem(message)
    if problem is not None:
        if problem not in fatal:
            fatal.append(problem)
        return
    if any(re.search(pat, message) for pat in _QUIET_WARNINGS):
        logger.debug("MNE (%s): %s", path.name, message)
    else:
        logger.warning("MNE (%s): %s", path.name, message)


def _check_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: no such file.")
    if not path.is_file():
        raise DataFormatError(f"{path}: is a folder, not a file.")
    if path.stat().st_size == 0:
        raise DataFormatError(f"{path}: the file is empty (0 bytes).")
    return path


def _edf_signal_labels(path: Path) -> list[str] | None:
    """Signal labels from an EDF/BDF header, or None when the header cannot be parsed."""
    with open(path, "rb") as fid:
        head = fid.read(256)
        try:
            n_signals = int(head[252:256].decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            return None
        labels = fid.read(16 * n_signals) if 0 < n_signals < 10_000 else b""
    if len(labels) != 16 * n_signals:
        return None
    return [labels[16 * i : 16 * (i + 1)].decode("latin-1").strip() for i in range(n_signals)]


def is_annotation_only(path: str | Path) -> bool:
    """True when ``path`` is an EDF/BDF(+) file whose only signals are annotations (a hypnogram).

    Reads the 256-byte header and the signal labels only.

    Examples
    --------
    >>> import pathlib, tempfile, mne, numpy as np
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> info = mne.create_info(["C3", "C4"], 100.0, "eeg")
    >>> raw = mne.io.RawArray(np.zeros((2, 500)), info, verbose="error")
    >>> mne.export.export_raw(folder / "x.edf", raw, verbose="error")
    >>> is_annotation_only(folder / "x.edf")  # it has EEG signals
    False
    """
    path = Path(path)
    if _suffix(path) not in (".edf", ".bdf") or not path.is_file():
        return False
    labels = _edf_signal_labels(path)
    return bool(labels) and all(lab in _ANNOTATION_LABELS for lab in labels)  # type: ignore[union-attr]


def _brainvision_companions(path: Path) -> None:
    """Raise when the data or marker file named in a BrainVision header is missing."""
    text = path.read_bytes()[:65536].decode("latin-1")
    for key, role in (("DataFile", "data file (.eeg)"), ("MarkerFile", "marker file (.vmrk)")):
        match = re.search(rf"^\s*{key}\s*=\s*(.+?)\s*$", text, re.M)
        if match and not (path.parent / match.group(1)).exists():
            raise DataFormatError(
                f"{path}: the BrainVision {role} {match.group(1)!r} named in the header is "
                f"missing from {path.parent}."
            )


def _precheck(path: Path) -> None:
    """Cheap checks that give clearer messages than MNE would."""
    suffix = _suffix(path)
    if suffix in _COMPANIONS:
        header_suffix, fmt = _COMPANIONS[suffix]
        siblings = [
            p for p in path.parent.glob(f"{path.stem}.*") if p.suffix.lower() == header_suffix
        ]
        if siblings or suffix != ".eeg":
            target = siblings[0].name if siblings else f"the matching {header_suffix} file"
            raise DataFormatError(
                f"{path}: is the {suffix} companion of a {fmt} recording, not a recording "
                f"header; read {target} instead."
            )
    if suffix in (".edf", ".bdf"):
        labels = _edf_signal_labels(path)
        if labels and all(lab in _ANNOTATION_LABELS for lab in labels):
            raise DataFormatError(
                f"{path}: is an annotation-only {_format_name(path)} file (e.g. a sleep "
                "hypnogram) with no signal channels; read it with "
                "neurodl.io.eeg.read_annotations(path)."
            )
    if suffix in (".vhdr", ".ahdr"):
        _brainvision_companions(path)


def _declared_bytes_per_sample(path: Path, data_files: list[Path]) -> tuple[int | None, bool]:
    """(smallest bytes one sample can take in ``data_files``, whether the size must be exact).

    ``None``: no safe lower bound (compressed or embedded data). EDF/BDF/GDF may mix sampling
    rates (MNE upsamples), so 1 byte is the bound there; MNE's own record count check catches
    their truncation.
    """
    name = path.name.lower()
    if name.endswith(".gz") or any(f.suffix.lower() in (".gz", ".set") for f in data_files):
        return None, False
    suffix = _suffix(path)
    if suffix in (".vhdr", ".ahdr"):
        text = path.read_bytes()[:65536].decode("latin-1")
        binary = re.search(r"^\s*DataFormat\s*=\s*BINARY", text, re.M | re.I)
        fmt = re.search(r"^\s*BinaryFormat\s*=\s*(\w+)", text, re.M)
        if binary and fmt and fmt.group(1).upper() in _BRAINVISION_BYTES:
            return _BRAINVISION_BYTES[fmt.group(1).upper()], True
        return None, False
    if suffix == ".set":  # separate .fdt: float32 samples
        return 4, False
    return 1, False


def check_declared_size(raw: Any, path: Path) -> None:
    """Refuse a recording whose header declares more samples than its data files can hold.

    Runs on an MNE raw opened with ``preload=False`` (headers only), before any sample is
    allocated: a corrupt header declaring 10**12 records is refused here instead of asking for
    terabytes. For BrainVision binary data the data file must hold a whole number of frames
    (a cut file or a wrong ``NumberOfChannels`` misaligns every sample).

    Raises
    ------
    DataFormatError
        The declared size exceeds what the files hold, or a BrainVision file is misaligned.

    Examples
    --------
    >>> import pathlib, tempfile, mne, numpy as np
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> info = mne.create_info(["C3", "C4"], 100.0, "eeg")
    >>> raw = mne.io.RawArray(np.zeros((2, 500)), info, verbose="error")
    >>> _ = raw.save(folder / "x_raw.fif", verbose="error")
    >>> header_only = mne.io.read_raw_fif(folder / "x_raw.fif", preload=False, verbose="error")
    >>> check_declared_size(header_only, folder / "x_raw.fif") is None  # the file holds its data
    True
    """
    data_files = [Path(f) for f in (getattr(raw, "filenames", None) or ()) if f]
    if not data_files:
        return
    min_bytes, exact = _declared_bytes_per_sample(path, data_files)
    if min_bytes is None:
        return
    try:
        held = sum(f.stat().st_size for f in data_files)
    except OSError:
        return  # a missing data file is reported by the reading itself
    n_channels, n_times = len(raw.ch_names), int(raw.n_times)
    declared = n_channels * n_times * min_bytes
    if declared > held:
        raise DataFormatError(
            f"{path}: the header declares {n_times} samples x {n_channels} channels "
            f"(at least {declared} bytes) but the data file holds only {held} bytes: the header "
            "is corrupt or the data file is truncated."
        )
    if exact and n_channels and held % (n_channels * min_bytes):
        frame = n_channels * min_bytes
        raise DataFormatError(
            f"{path}: the data file ({held} bytes) is not a whole number of {frame}-byte frames "
            f"({n_channels} channels x {min_bytes} bytes): it is truncated ({held % frame} bytes "
            "left over) or NumberOfChannels is wrong."
        )


def check_fatal_warnings(path: Path, messages: list[str], what: str) -> None:
    """Raise the DataFormatError of the first MNE warning in :data:`FATAL_WARNINGS`, if any.

    Examples
    --------
    >>> from pathlib import Path
    >>> check_fatal_warnings(Path("x.edf"), ["Channel names are not unique"], "reading")
    >>> msg = "Number of records from the header does not match the file size"
    >>> try:
    ...     check_fatal_warnings(Path("x.edf"), [msg], "reading")
    ... except ValueError as err:
    ...     print(type(err).__name__)
    DataFormatError
    """
    for message in messages:
        problem = _fatal_problem(message)
        if problem is not None:
            raise DataFormatError(f"{path}: cannot be read as {what}: {problem}.")


# ---------------------------------------------------------------------------- readers
def read_raw(
    path: str | Path,
    *,
    subject: str | None = None,
    session: str | None = None,
    run: str | None = None,
    preload: bool = True,
    verbose: bool | str | int | None = None,
) -> Recording:
    """Read a continuous EEG/MEG/iEEG recording with MNE.

    Supported: EDF/EDF+ (UTF-8 annotations included), BDF, GDF, BrainVision (``.vhdr``),
    EEGLAB (``.set`` with or without ``.fdt``), Nihon Kohden (``.EEG``), FIF (MEG + EEG) and
    every other format ``mne.io.read_raw`` knows.

    Parameters
    ----------
    path : str or Path
        The recording (the header file for multi-file formats: ``.vhdr``, ``.set``, ``.EEG``).
    subject, session, run : str or None
        Identity stored on the recording (used for grouping by the evaluation layer).
    preload : bool, default=True
        Passed to MNE. The returned recording always holds its data in memory; ``False`` only
        skips MNE's intermediate buffer.
    verbose : bool, str, int or None
        Level of the ``neurodl`` logger during the call. MNE's own messages are silenced; its
        warnings are logged on the ``neurodl`` logger.

    Returns
    -------
    Recording
        ``data`` of shape (n_channels, n_times) in SI units (V, T, T/m), MNE channel types
        (``eeg``, ``mag``, ``grad``, ``stim``...), annotations with onsets in seconds from the
        first sample.

    Raises
    ------
    DataFormatError
        The file is missing, empty, truncated, corrupt, of an unsupported type, an annotation-only
        EDF+ (use :func:`read_annotations`), epoched, or a companion of a header file.

    Examples
    --------
    A 2 s, 3-channel EDF written with MNE stands in for a real recording:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import mne
    >>> info = mne.create_info(["Fz", "Cz", "Pz"], sfreq=128.0, ch_types="eeg")
    >>> volts = np.random.default_rng(0).normal(scale=20e-6, size=(3, 256))
    >>> raw = mne.io.RawArray(volts, info, verbose=False)
    >>> _ = raw.set_annotations(mne.Annotations([0.5], [1.0], ["blink"]))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "sub-01_eeg.edf"
    ...     mne.export.export_raw(path, raw, verbose=False)
    ...     rec = read_raw(path, subject="01")
    >>> rec
    <Recording sub-01: 3 ch x 256 samples @ 128 Hz (2.0 s), 1 annotations>
    >>> rec.n_channels, rec.sfreq, rec.data.shape
    (3, 128.0, (3, 256))
    >>> bool(np.abs(rec.data - volts).max() < 1e-8)  # volts back, to EDF's 16-bit resolution
    True
    >>> rec.annotations.onset, rec.annotations.label
    (array([0.5]), array(['blink'], dtype=object))
    """
    import mne

    path = _check_file(path)
    with use_log_level(verbose) if verbose is not None else contextlib.nullcontext():
        _precheck(path)
        what = f"{_format_name(path) or 'a'} recording"
        # headers first (nothing allocated), checked against the file sizes, then the samples;
        # EDF/BDF are read in one go (MNE checks their record count itself, and a lazy read of
        # mixed sampling rates would resample in pieces)
        lazy = _suffix(path) not in (".edf", ".bdf")
        with _mne_guard(path, what):
            raw = mne.io.read_raw(path, preload=preload and not lazy, verbose="warning")
        check_declared_size(raw, path)
        with _mne_guard(path, what):
            if preload and lazy:
                raw.load_data(verbose="warning")
            rec = Recording.from_mne(
                raw, subject=subject, session=session, run=run, source=str(path)
            )
        rec.info.update(
            {"reader": "mne", "format": _format_name(path), "first_samp": int(raw.first_samp)}
        )
        logger.info("Read %r", rec)
        return rec


def read_annotations(path: str | Path) -> Annotations:
    """Read an annotation file (EDF+ hypnogram, BrainVision ``.vmrk``, CHB-MIT ``.seizures``...).

    Parameters
    ----------
    path : str or Path
        Any file ``mne.read_annotations`` understands, or a CHB-MIT ``.seizures`` file
        (read with :func:`read_chbmit_seizures` at 256 Hz).

    Returns
    -------
    Annotations
        Onsets in seconds as stored in the file (from the file's start, or from its
        measurement date for FIF). For the annotations of a recording aligned to its first
        sample, use ``read_raw(path).annotations``.

    Raises
    ------
    DataFormatError
        The file is missing, empty, corrupt or holds no annotations MNE can read.

    Examples
    --------
    >>> import pathlib, tempfile, mne
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.txt"
    >>> mne.Annotations([1.0, 5.0], [2.0, 0.0], ["seizure", "blink"]).save(path)
    >>> ann = read_annotations(path)
    >>> ann.onset.tolist(), ann.duration.tolist(), ann.label.tolist()
    ([1.0, 5.0], [2.0, 0.0], ['seizure', 'blink'])
    """
    import mne

    path = _check_file(path)
    if path.name.lower().endswith(".seizures"):
        return read_chbmit_seizures(path)
    if _suffix(path) in (".edf", ".bdf"):
        labels = _edf_signal_labels(path)
        if labels is None or not set(labels) & set(_ANNOTATION_LABELS):
            raise DataFormatError(
                f"{path}: cannot be read as annotations: "
                + (
                    "the EDF/BDF header is corrupt"
                    if labels is None
                    else "this EDF/BDF file has no 'EDF Annotations' signal"
                )
                + "."
            )
    with _mne_guard(path, f"{_format_name(path)} annotations".strip()):
        with mne.utils.use_log_level("warning"):
            ann = mne.read_annotations(path)
    return Annotations(ann.onset, ann.duration, [str(d) for d in ann.description])


# ---------------------------------------------------------------------------- CHB-MIT / WFDB
# WFDB "MIT format" annotation files (https://physionet.org/physiotools/wag/annot-5.htm): a
# stream of little-endian 16-bit words, 6 bits of annotation code over 10 bits of interval
# (samples since the previous annotation); the codes below are pseudo-annotations.
_WFDB_SKIP, _WFDB_NUM, _WFDB_SUB, _WFDB_CHN, _WFDB_AUX = 59, 60, 61, 62, 63
_WFDB_MAX_CODE = 49  # ACMAX: highest regular annotation code
#: CHB-MIT marks seizure start/end with the WFDB codes of '[' and ']'.
_SEIZURE_START, _SEIZURE_END = 32, 33


def _parse_wfdb_annotations(data: bytes, path: Path) -> tuple[list[tuple[int, int]], list[str]]:
    """Return ``[(sample, code), ...]`` and the AUX strings of a WFDB annotation file."""
    events: list[tuple[int, int]] = []
    aux: list[str] = []
    t, i, n = 0, 0, len(data)
    while True:
        if i + 2 > n:
            raise DataFormatError(
                f"{path}: truncated WFDB annotation file: no end-of-file marker after {n} bytes."
            )
        word = data[i] | (data[i + 1] << 8)
        i += 2
        code, value = word >> 10, word & 0x3FF
        if code == 0 and value == 0:
            break
        if code == _WFDB_SKIP:
            if i + 4 > n:
                raise DataFormatError(f"{path}: truncated WFDB annotation file (SKIP at byte {i}).")
            high = data[i] | (data[i + 1] << 8)
            low = data[i + 2] | (data[i + 3] << 8)
            skip = (high << 16) | low
            t += skip - (1 << 32) if skip >= 1 << 31 else skip
            i += 4
        elif code == _WFDB_AUX:
            if i + value > n:
                raise DataFormatError(f"{path}: truncated WFDB annotation file (AUX at byte {i}).")
            aux.append(data[i : i + value].decode("latin-1").rstrip("\x00"))
            i += value + (value & 1)
        elif code in (_WFDB_NUM, _WFDB_SUB, _WFDB_CHN):
            continue
        elif code > _WFDB_MAX_CODE:
            raise DataFormatError(
                f"{path}: not a WFDB annotation file: invalid annotation code {code} at byte {i - 2}."
            )
        else:
            t += value
            events.append((t, code))
    if t < 0 or any(s < 0 for s, _ in events):
        raise DataFormatError(f"{path}: WFDB annotation file with negative sample times.")
    return events, aux


def read_chbmit_seizures(path: str | Path, sfreq: float | None = 256.0) -> Annotations:
    """Read a CHB-MIT ``.seizures`` file (WFDB annotations) into seizure intervals.

    Parameters
    ----------
    path : str or Path
        A ``chbNN_MM.edf.seizures`` file from the CHB-MIT Scalp EEG Database.
    sfreq : float or None, default=256.0
        Sampling rate that converts sample indices to seconds. ``None`` uses the
        ``## time resolution`` note stored in the file. When both are known and disagree, a
        DataFormatError is raised rather than returning wrong times.

    Returns
    -------
    Annotations
        One annotation per seizure, label ``"seizure"``, onset and duration in seconds from the
        start of the matching EDF recording.

    Raises
    ------
    DataFormatError
        Empty, truncated or non-WFDB input; a seizure start without an end (or vice versa).

    Examples
    --------
    A hand-written file with one seizure: each WFDB annotation is a little-endian 16-bit word,
    6-bit code (32 = ``[`` start, 33 = ``]`` end) over a 10-bit sample delta; ``0x0000`` ends
    the file (two zero bytes).

    >>> import tempfile
    >>> from pathlib import Path
    >>> def annotation(code, delta):
    ...     return ((code << 10) | delta).to_bytes(2, "little")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "chb99_01.edf.seizures"
    ...     _ = path.write_bytes(annotation(32, 768) + annotation(33, 512) + bytes(2))
    ...     ann = read_chbmit_seizures(path)  # samples 768 and 1280 at 256 Hz
    >>> ann.onset, ann.duration, ann.label
    (array([3.]), array([2.]), array(['seizure'], dtype=object))
    """
    path = _check_file(path)
    events, aux = _parse_wfdb_annotations(path.read_bytes(), path)
    found = [float(m.group(1)) for a in aux if (m := re.search(r"time resolution:\s*([0-9.]+)", a))]
    file_sfreq = found[0] if found else None
    if sfreq is None:
        if file_sfreq is None:
            raise DataFormatError(
                f"{path}: the file states no time resolution; pass sfreq= (256.0 for CHB-MIT)."
            )
        sfreq = file_sfreq
    sfreq = float(sfreq)
    if not np.isfinite(sfreq) or sfreq <= 0:
        raise ValueError(f"Invalid value for 'sfreq'. Allowed: a positive number; got {sfreq!r}.")
    if file_sfreq is not None and not np.isclose(file_sfreq, sfreq):
        raise DataFormatError(
            f"{path}: the file states a time resolution of {file_sfreq:g} Hz but sfreq={sfreq:g} "
            "was given; pass sfreq=None to use the file's value."
        )
    onsets, offsets, start = [], [], None
    for sample, code in events:
        if code == _SEIZURE_START:
            if start is not None:
                raise DataFormatError(
                    f"{path}: seizure start at sample {sample} before the "
                    f"previous seizure (start {start}) ended."
                )
            start = sample
        elif code == _SEIZURE_END:
            if start is None:
                raise DataFormatError(f"{path}: seizure end at sample {sample} without a start.")
            onsets.append(start)
            offsets.append(sample)
            start = None
    if start is not None:
        raise DataFormatError(f"{path}: seizure starting at sample {start} has no end marker.")
    onset = np.asarray(onsets, dtype=float) / sfreq
    duration = (np.asarray(offsets, dtype=float) - np.asarray(onsets, dtype=float)) / sfreq
    return Annotations(onset, duration, ["seizure"] * len(onsets))
