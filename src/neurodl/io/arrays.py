"""Plain numeric arrays: MATLAB ``.mat`` (v5 and v7.3), ``.npz``, ``.npy``, ``.csv``/``.txt``.

:func:`read_array` turns one array stored in such a file into a :class:`~neurodl.data.Recording`
(2-D, continuous) or an :class:`~neurodl.data.EpochsDataset` (3-D trials, or 2-D
trials x features), according to ``axis_order``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._logging import logger
from ..data import EpochsDataset, Recording
from ..data._checks import check_option, check_sfreq
from ..exceptions import ConfigError, DataFormatError

__all__ = ["AXIS_ORDERS", "read_array"]

#: axis_order -> (ndim, permutation to the canonical layout, container).
#: Canonical layouts: Recording (n_channels, n_times); EpochsDataset
#: (n_epochs, n_channels, n_times) or (n_epochs, n_features).
AXIS_ORDERS: dict[str, tuple[int, tuple[int, ...], str]] = {
    "channels_times": (2, (0, 1), "recording"),
    "times_channels": (2, (1, 0), "recording"),
    "epochs_channels_times": (3, (0, 1, 2), "epochs"),
    "epochs_times_channels": (3, (0, 2, 1), "epochs"),
    "epochs_features": (2, (0, 1), "epochs"),
    "features_epochs": (2, (1, 0), "epochs"),
}

#: Scalar variables read as the sampling rate when ``sfreq`` is not given (.mat/.npz).
_SFREQ_KEYS = ("sfreq", "fs", "Fs", "srate", "sampling_rate", "sample_rate")
#: CSV/TXT header names read as a time column (seconds): removed from the channels, and its
#: step gives the sampling rate when ``sfreq`` is not given.
_TIME_COLUMNS = ("time", "times", "timestamp", "timestamps", "t", "time_s")


# ---------------------------------------------------------------------------- loaders
# Each loader returns (variables, column names or None). Variables map a name to an array.


def _load_mat(path: Path) -> tuple[dict[str, Any], list[str] | None]:
    import scipy.io

    try:
        raw = scipy.io.loadmat(str(path), squeeze_me=False)
    except NotImplementedError:  # MATLAB v7.3 = HDF5: scipy refuses, pymatreader reads it
        from pymatreader import read_mat

        try:
            raw = read_mat(str(path))
        except Exception as err:  # h5py/pymatreader raise many types on damaged files
            raise DataFormatError(f"{path}: not a readable MATLAB v7.3 file ({err}).") from err
    except Exception as err:  # scipy raises ValueError/TypeError/OSError on garbage
        raise DataFormatError(f"{path}: not a readable MATLAB .mat file ({err}).") from err
    return {k: v for k, v in raw.items() if not k.startswith("__")}, None


def _load_npz(path: Path) -> tuple[dict[str, Any], list[str] | None]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}, None
    except Exception as err:  # zipfile/ValueError/OSError on damaged or pickled content
        raise DataFormatError(f"{path}: not a readable .npz file ({err}).") from err


def _load_npy(path: Path) -> tuple[dict[str, Any], list[str] | None]:
    try:
        return {"data": np.load(path, allow_pickle=False)}, None
    except Exception as err:
        raise DataFormatError(f"{path}: not a readable .npy file ({err}).") from err


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


#: Above this many columns a text file is parsed with numpy (pandas builds one object per
#: column: a 2-million-column row took minutes and gigabytes).
_WIDE_TEXT_COLUMNS = 1000


def first_blank_line(raw: bytes) -> int | None:
    """1-based number of the first blank line before the last non-blank one, or None."""
    for number, line in enumerate(raw.rstrip(b" \t\r\n").split(b"\n"), start=1):
        if not line.strip():
            return number
    return None


def _load_text(path: Path) -> tuple[dict[str, Any], list[str] | None]:
    raw = path.read_bytes()
    first = raw.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip()
    if not first:
        raise DataFormatError(f"{path}: the file is empty or starts with a blank line.")
    blank = first_blank_line(raw)
    if blank is not None:
        raise DataFormatError(
            f"{path}: line {blank} is blank; a missing row would shift every later sample "
            "(remove the line or write the missing values)."
        )
    sep = next((s for s in (",", "\t", ";") if s in first), r"\s+")
    tokens = [t.strip().strip('"') for t in (first.split() if sep == r"\s+" else first.split(sep))]
    has_header = not all(_is_number(t) for t in tokens if t)
    if len(tokens) > _WIDE_TEXT_COLUMNS:
        return _load_wide_text(path, sep, tokens, has_header)
    try:
        df = pd.read_csv(path, sep=sep, header=0 if has_header else None)
    except Exception as err:  # pandas ParserError/UnicodeDecodeError
        raise DataFormatError(f"{path}: not a readable delimited text file ({err}).") from err
    bad = [str(c) for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise DataFormatError(
            f"{path}: columns must be numeric; non-numeric column(s): {bad[:10]}"
            + (" ..." if len(bad) > 10 else "")
            + "."
        )
    names = [str(c) for c in df.columns] if has_header else None
    return {"data": df.to_numpy(dtype=float)}, names


def _load_wide_text(
    path: Path, sep: str, tokens: list[str], has_header: bool
) -> tuple[dict[str, Any], list[str] | None]:
    """Parse a file of many columns with ``np.loadtxt`` (C parser, one float64 array)."""
    try:
        data = np.loadtxt(
            path,
            delimiter=None if sep == r"\s+" else sep,
            skiprows=1 if has_header else 0,
            ndmin=2,
            dtype=float,
        )
    except ValueError as err:
        raise DataFormatError(
            f"{path}: not a rectangular numeric text file ({str(err).splitlines()[0]})."
        ) from None
    return {"data": data}, tokens if has_header else None


#: file suffix -> loader; the loader returns (variables, column names).
_LOADERS: dict[str, Callable[[Path], tuple[dict[str, Any], list[str] | None]]] = {
    ".mat": _load_mat,
    ".npz": _load_npz,
    ".npy": _load_npy,
    ".csv": _load_text,
    ".txt": _load_text,
    ".tsv": _load_text,
}


_TEXT = (".csv", ".txt", ".tsv")
_SINGLE_ARRAY = (".npy", *_TEXT)
#: layouts whose last stored axis is the channel/feature axis (text headers name channels).
_COLUMNS_ARE_CHANNELS = ("times_channels", "epochs_features")


# ---------------------------------------------------------------------------- helpers
def _is_numeric_array(value: Any) -> bool:
    return (
        isinstance(value, np.ndarray)
        and value.dtype != object
        and (np.issubdtype(value.dtype, np.number) or value.dtype == bool)
    )


def _pick_variable(
    variables: dict[str, Any], key: str | None, exclude: set[str], path: Path
) -> tuple[str, np.ndarray]:
    """Return (name, array) of the data variable: ``key`` or the only candidate."""
    if key is not None:
        if key not in variables:
            raise DataFormatError(
                f"{path}: no variable {key!r} (parameter 'key'). Available: {sorted(variables)}."
            )
        value = variables[key]
        if not _is_numeric_array(value):
            raise DataFormatError(
                f"{path}: variable {key!r} is a {type(value).__name__} "
                f"(dtype {getattr(value, 'dtype', None)}), not a numeric array."
            )
        return key, np.asarray(value)
    numeric = {
        k: v
        for k, v in variables.items()
        if k not in exclude and _is_numeric_array(v) and v.size > 1
    }
    # Prefer arrays that stay 2-D or more once singleton axes (MATLAB vectors) are removed.
    candidates = [k for k, v in numeric.items() if np.squeeze(v).ndim >= 2] or list(numeric)
    if len(candidates) == 1:
        return candidates[0], np.asarray(numeric[candidates[0]])
    if not candidates:
        raise DataFormatError(f"{path}: no numeric array found. Variables: {sorted(variables)}.")
    shapes = ", ".join(f"{k} {np.shape(variables[k])}" for k in sorted(numeric))
    raise DataFormatError(
        f"{path} holds several arrays; pass key= to choose one. Available keys: {shapes}."
    )


def _sfreq_from_file(variables: dict[str, Any]) -> tuple[float | None, str | None]:
    for name in _SFREQ_KEYS:
        value = variables.get(name)
        if value is not None and _is_numeric_array(np.asarray(value)) and np.size(value) == 1:
            return float(np.asarray(value).reshape(-1)[0]), name
    return None, None


def _sfreq_from_times(times: np.ndarray, path: Path) -> float:
    steps = np.diff(times)
    if steps.size == 0:
        raise DataFormatError(f"{path}: a single time point; cannot infer the sampling rate.")
    step = float(np.median(steps))
    if step <= 0 or np.max(np.abs(steps - step)) > 0.01 * step:
        raise DataFormatError(
            f"{path}: the time column is not regularly sampled (median step {step!r}, "
            f"range [{steps.min()!r}, {steps.max()!r}]); pass sfreq= explicitly."
        )
    return float(np.round(1.0 / step, 6))


def _labels(
    labels: Any, label_key: str | None, variables: dict[str, Any], path: Path
) -> np.ndarray | None:
    if labels is not None and label_key is not None:
        raise ConfigError("Pass either 'labels' or 'label_key', not both.")
    if label_key is not None:
        if label_key not in variables:
            raise DataFormatError(
                f"{path}: no variable {label_key!r} (parameter 'label_key'). "
                f"Available: {sorted(variables)}."
            )
        labels = variables[label_key]
    if labels is None:
        return None
    arr = np.asarray(labels)
    if arr.ndim > 1 and 1 in arr.shape:  # MATLAB row/column vectors
        arr = arr.reshape(-1)
    if arr.dtype.kind in "US" or arr.dtype == object:
        arr = np.array([str(x) for x in arr.reshape(-1)], dtype=object)
    elif np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool:
        arr = arr.astype(np.int64)
    return arr


# ---------------------------------------------------------------------------- public
def read_array(
    path: str | Path,
    *,
    sfreq: float | None = None,
    axis_order: str | None = None,
    key: str | None = None,
    labels: Sequence[Any] | np.ndarray | None = None,
    label_key: str | None = None,
    ch_names: Sequence[str] | None = None,
    subject: str | None = None,
) -> Recording | EpochsDataset:
    """Read one numeric array from a ``.mat``, ``.npz``, ``.npy``, ``.csv`` or ``.txt`` file.

    Parameters
    ----------
    path : str or Path
        The file. MATLAB v7.3 (HDF5) files are read with pymatreader.
    sfreq : float or None
        Sampling rate in Hz. Required for continuous data (``channels_times``,
        ``times_channels``) unless the file holds a scalar ``sfreq``/``fs``/``srate`` variable
        or a CSV time column (``time``, ``timestamp``...). Optional for epochs.
    axis_order : str or None
        Layout of the stored array: ``"channels_times"``, ``"times_channels"`` (2-D ->
        Recording), ``"epochs_channels_times"``, ``"epochs_times_channels"`` (3-D ->
        EpochsDataset), ``"epochs_features"``, ``"features_epochs"`` (2-D -> EpochsDataset of
        shape (n_epochs, n_features), e.g. trial-wise firing rates). Default (None):
        ``"times_channels"`` for ``.csv``/``.txt``/``.tsv`` (one column per channel),
        ``"channels_times"`` for the other formats.
    key : str or None
        Variable to read from a ``.mat``/``.npz`` file. Needed when the file holds several
        arrays (the error lists them).
    labels : array-like of shape (n_epochs,), optional
        One label per epoch (epochs layouts only).
    label_key : str or None
        Name of the variable in the file holding the labels (instead of ``labels``).
    ch_names : list of str, optional
        Channel (or feature) names; default: the CSV header, else ``ch000, ch001...``.
    subject : str or None
        Subject identifier stored in the container (used for grouping).

    Returns
    -------
    Recording or EpochsDataset
        A Recording with ``data`` of shape (n_channels, n_times), or an EpochsDataset with
        ``X`` of shape (n_epochs, n_channels, n_times) or (n_epochs, n_features).

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "x.npy"
    >>> np.save(f, np.zeros((1000, 4)))
    >>> read_array(f, sfreq=250.0, axis_order="times_channels").data.shape
    (4, 1000)
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _LOADERS:
        raise DataFormatError(
            f"{path}: unsupported file type {suffix!r}. Allowed: {', '.join(_LOADERS)}."
        )
    single = suffix in _SINGLE_ARRAY
    if axis_order is None:
        axis_order = "times_channels" if suffix in _TEXT else "channels_times"
    check_option("axis_order", axis_order, AXIS_ORDERS)
    ndim, perm, container = AXIS_ORDERS[axis_order]
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file.")
    if sfreq is not None:
        sfreq = check_sfreq(sfreq, source=str(path))
    variables, columns = _LOADERS[suffix](path)
    if axis_order not in _COLUMNS_ARE_CHANNELS:
        columns = None  # header names label time points or epochs here, not channels
    if single and key is not None:
        raise ConfigError(
            f"'key' selects a variable in .mat/.npz files; {suffix} files hold one array "
            f"(got key={key!r})."
        )
    if single and label_key is not None:
        raise ConfigError(
            f"'label_key' names a variable in .mat/.npz files; for {suffix} pass labels= "
            f"(got label_key={label_key!r})."
        )
    file_sfreq, sfreq_name = (None, None) if single else _sfreq_from_file(variables)
    exclude = {k for k in (label_key, sfreq_name) if k is not None}
    name, data = _pick_variable(variables, key, exclude, path)

    info: dict[str, Any] = {
        "reader": "read_array",
        "format": suffix,
        "key": None if single else name,
        "axis_order": axis_order,
    }
    # A CSV/TXT time column: dropped from the channels; its step gives the rate.
    if columns is not None and columns[0].strip().lower() in _TIME_COLUMNS and data.shape[1] > 1:
        times, data, columns = data[:, 0], data[:, 1:], columns[1:]
        info["t0"] = float(times[0])
        if sfreq is None and container == "recording":
            file_sfreq = _sfreq_from_times(times, path)
            logger.info("%s: sampling rate %g Hz from the time column.", path, file_sfreq)
    if sfreq is None and file_sfreq is not None:
        sfreq = check_sfreq(file_sfreq, source=str(path))

    if data.ndim == 1 and container == "recording" and ndim == 2:
        # A single-channel signal (e.g. one LFP trace): one channel, time along the array.
        data = data[None, :] if axis_order == "channels_times" else data[:, None]
        logger.info("%s: 1-D array %r read as one channel of %d samples.", path, name, data.size)
    if data.ndim != ndim:
        fitting = [k for k, v in AXIS_ORDERS.items() if v[0] == data.ndim]
        hint = f" Axis orders for {data.ndim}-D arrays: {fitting}." if fitting else ""
        raise DataFormatError(
            f"{path}: array {name!r} has shape {data.shape} ({data.ndim}-D) but "
            f"axis_order={axis_order!r} expects a {ndim}-D array.{hint}"
        )
    if np.iscomplexobj(data):
        raise DataFormatError(
            f"{path}: array {name!r} holds complex values (dtype {data.dtype}); pass its real "
            "part, magnitude or phase explicitly (np.real / np.abs / np.angle) in a new file."
        )
    data = np.transpose(data, perm)
    if not np.issubdtype(data.dtype, np.floating):
        data = data.astype(np.float64)
    if data.size == 0:
        raise DataFormatError(f"{path}: array {name!r} is empty (shape {data.shape}).")
    if not np.isfinite(data).all():
        n_bad = int((~np.isfinite(data)).sum())
        raise DataFormatError(f"{path}: array {name!r} contains {n_bad} NaN/inf values.")

    y = _labels(labels, label_key, variables, path)
    if ch_names is None and columns is not None:
        ch_names = columns
    if container == "recording":
        if y is not None:
            raise ConfigError(
                f"labels/label_key apply to epochs layouts; axis_order={axis_order!r} gives a "
                "continuous Recording."
            )
        if sfreq is None:
            raise DataFormatError(
                f"{path}: sampling rate unknown; pass sfreq= (Hz) to read a continuous recording "
                f"(axis_order={axis_order!r})."
            )
        return Recording(
            np.ascontiguousarray(data),
            sfreq,
            None if ch_names is None else list(ch_names),
            subject=subject,
            source=str(path),
            info=info,
        )

    n_epochs = data.shape[0]
    classes = None
    if y is not None:
        if y.shape[0] != n_epochs:
            raise DataFormatError(
                f"{path}: {y.shape[0]} labels for {n_epochs} epochs; the label count must "
                f"match the epochs axis of {name!r} (shape after axis_order {data.shape})."
            )
        if y.dtype == object:
            classes_arr, y = np.unique(y.astype(str), return_inverse=True)
            classes = [str(c) for c in classes_arr]
    metadata = pd.DataFrame(
        {
            "subject": [str(subject) if subject is not None else "0"] * n_epochs,
            "recording": [path.stem] * n_epochs,
        }
    )
    return EpochsDataset(
        np.ascontiguousarray(data),
        y,
        metadata,
        sfreq,
        None if ch_names is None else list(ch_names),
        classes,
        info,
    )
