"""De-identify one EEGLAB recording (``.set``, MATLAB v5/v7 file read with :mod:`scipy.io`).

The EEG structure's identifying text fields (:data:`BLANKED_FIELDS`: set and file names, the
original folder, subject, group, condition, session, comments, history, event and epoch
descriptions, the free-form ``etc``) are emptied, a channel-location file name in ``chaninfo``
is emptied, and every text value of the events (``event``, ``urevent``) and of ``epoch`` is
replaced by a neutral code (the same text gets the same code, as for EDF annotations); numbers
(latencies, durations, positions) stay. The signals are untouched: a separate ``.fdt`` file is
copied byte for byte, data held inside the ``.set`` are written back with their dtype and
values. MATLAB v7.3 (HDF5) files are refused.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import DataFormatError

__all__ = ["BLANKED_FIELDS", "copy_eeglab_data", "deidentify_eeglab", "eeglab_data_file"]

#: Fields of the EEG structure emptied (they name people, places, folders or free text).
BLANKED_FIELDS = (
    "setname",
    "filename",
    "filepath",
    "subject",
    "group",
    "condition",
    "session",
    "comments",
    "history",
    "eventdescription",
    "epochdescription",
    "etc",
)
#: Event fields that hold numbers a reader needs; every other text value is coded.
_EVENT_STRUCTS = ("event", "urevent", "epoch")
#: The file name of the signals when they are stored beside the ``.set``.
_DATA_NAME_FIELDS = ("data", "datfile")


def _load(path: Path) -> dict[str, Any]:
    import scipy.io

    try:
        return scipy.io.loadmat(path, squeeze_me=False, struct_as_record=True)
    except NotImplementedError:
        raise DataFormatError(
            f"{path.name}: a MATLAB v7.3 (HDF5) EEGLAB file; de-identification of these is "
            "not supported yet (save it from EEGLAB as a v7 file)."
        ) from None
    except (ValueError, OSError, TypeError) as err:
        raise DataFormatError(
            f"{path.name}: cannot read it as an EEGLAB .set file ({err})."
        ) from None


def _struct(mat: dict[str, Any]) -> tuple[np.ndarray | None, dict[str, Any] | np.ndarray]:
    """The EEG structure: ``mat["EEG"]`` (one struct) or the top-level variables (newer files)."""
    eeg = mat.get("EEG")
    if isinstance(eeg, np.ndarray) and eeg.dtype.names:
        return eeg, eeg[0, 0] if eeg.size == 1 else eeg
    return None, mat


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        return "".join(value.ravel().tolist())
    return None


def eeglab_data_file(path: Path) -> str | None:
    """The name of the ``.fdt`` file holding the signals of ``path`` (None: data inside).

    Examples
    --------
    >>> import tempfile
    >>> import scipy.io
    >>> event = np.zeros((1, 2), dtype=[("type", object), ("latency", object)])
    >>> event[0, 0], event[0, 1] = ("Jane: stim", 100.0), ("response", 250.0)
    >>> fields = {"setname": "Jane Doe rest", "subject": "JD1984", "srate": 100.0,
    ...           "data": "rec.fdt", "event": event}  # the signals are in rec.fdt
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     scipy.io.savemat(f"{tmp}/rec.set", fields)
    ...     beside = eeglab_data_file(Path(tmp) / "rec.set")
    ...     scipy.io.savemat(f"{tmp}/inside.set", {**fields, "data": np.zeros((2, 10))})
    ...     inside = eeglab_data_file(Path(tmp) / "inside.set")
    >>> beside, inside
    ('rec.fdt', None)
    """
    mat = _load(path)
    _, eeg = _struct(mat)
    for name in _DATA_NAME_FIELDS:
        value = _text(eeg[name]) if name in _fields(eeg) else None
        if value and value.lower().endswith(".fdt"):
            return Path(value.replace("\\", "/")).name
    return None


def _fields(eeg: Any) -> tuple[str, ...]:
    names = getattr(getattr(eeg, "dtype", None), "names", None)
    return tuple(names) if names else tuple(k for k in eeg if not k.startswith("__"))


def _empty_like(value: Any) -> np.ndarray:
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        return np.array([""])
    return np.zeros((0, 0))


def _code_texts(value: Any, codes: dict[bytes, bytes]) -> tuple[Any, int]:
    """``value`` with every text inside replaced by its code; the number of texts replaced."""
    text = _text(value)
    if text is not None:
        if not text.strip():
            return value, 0
        code = codes.setdefault(text.encode("utf-8"), b"A%d" % (len(codes) + 1)).decode()
        return np.array([code]), 1
    if isinstance(value, np.ndarray) and value.dtype.names:
        out, n = value.copy(), 0
        for idx in np.ndindex(value.shape):
            for field in value.dtype.names:
                out[idx][field], k = _code_texts(value[idx][field], codes)
                n += k
        return out, n
    if isinstance(value, np.ndarray) and value.dtype == object:
        out, n = value.copy(), 0
        for idx in np.ndindex(value.shape):
            out[idx], k = _code_texts(value[idx], codes)
            n += k
        return out, n
    return value, 0


def deidentify_eeglab(
    src: Path, dst: Path, codes: dict[bytes, bytes], recode: Callable[[str], str]
) -> dict[str, object]:
    """Write the de-identified copy of the EEGLAB file ``src`` to ``dst``.

    Parameters
    ----------
    src, dst : Path
        The ``.set`` file and where to write its copy.
    codes : dict
        Text -> neutral code, shared across the files of one call.
    recode : callable
        Re-codes subject codes inside the name of the ``.fdt`` file (as in the output folder).

    Returns
    -------
    dict
        ``fields_blanked`` (names of the non-empty fields emptied), ``event_texts_replaced``,
        ``data_in_file`` (the signals are inside the ``.set``).

    Examples
    --------
    >>> import tempfile
    >>> import scipy.io
    >>> event = np.zeros((1, 2), dtype=[("type", object), ("latency", object)])
    >>> event[0, 0], event[0, 1] = ("Jane: stim", 100.0), ("response", 250.0)
    >>> fields = {"setname": "Jane Doe rest", "subject": "JD1984", "srate": 100.0,
    ...           "data": "rec.fdt", "event": event}  # the signals are in rec.fdt
    >>> codes = {}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     scipy.io.savemat(f"{tmp}/sub-JD1984.set", fields)
    ...     found = deidentify_eeglab(Path(tmp) / "sub-JD1984.set", Path(tmp) / "clean.set", codes,
    ...                               lambda text: text.replace("JD1984", "P01"))
    ...     clean = scipy.io.loadmat(f"{tmp}/clean.set")
    >>> found
    {'fields_blanked': ['setname', 'subject'], 'event_texts_replaced': 2, 'data_in_file': False}
    >>> clean["subject"].size, clean["setname"].size, codes  # emptied; event texts coded
    (0, 0, {b'Jane: stim': b'A1', b'response': b'A2'})
    >>> float(clean["event"]["latency"][0, 1].item())  # numbers stay
    250.0
    """
    import scipy.io

    mat = _load(src)
    wrapper, eeg = _struct(mat)
    names = _fields(eeg)
    blanked = []
    for name in BLANKED_FIELDS:
        if name in names:
            value = eeg[name]
            if isinstance(value, np.ndarray) and value.size:
                blanked.append(name)
            eeg[name] = _empty_like(value)
    chaninfo = eeg["chaninfo"] if "chaninfo" in names else None
    if (
        isinstance(chaninfo, np.ndarray)
        and chaninfo.dtype.names
        and "filename" in chaninfo.dtype.names
    ):
        for idx in np.ndindex(chaninfo.shape):
            if np.asarray(chaninfo[idx]["filename"]).size:
                blanked.append("chaninfo.filename")
            chaninfo[idx]["filename"] = np.array([""])
    n_texts = 0
    for name in _EVENT_STRUCTS:
        if name in names:
            eeg[name], k = _code_texts(eeg[name], codes)
            n_texts += k
    data_inside = True
    for name in _DATA_NAME_FIELDS:
        text = _text(eeg[name]) if name in names else None
        if text is not None and text.lower().endswith(".fdt"):
            eeg[name] = np.array([recode(Path(text.replace("\\", "/")).name)])
            data_inside = False
    out = {k: v for k, v in mat.items() if not k.startswith("__")}
    if wrapper is not None:
        out["EEG"] = wrapper
    scipy.io.savemat(dst, out, format="5", do_compression=False, oned_as="row")
    return {
        "fields_blanked": blanked,
        "event_texts_replaced": n_texts,
        "data_in_file": data_inside,
    }


def copy_eeglab_data(src: Path, dst: Path) -> dict[str, object]:
    """Copy an EEGLAB ``.fdt`` signal file byte for byte.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     np.zeros((2, 10), dtype="<f4").tofile(f"{tmp}/rec.fdt")  # 2 channels x 10 samples
    ...     copy_eeglab_data(Path(tmp) / "rec.fdt", Path(tmp) / "clean.fdt")
    {'bytes_copied': 80}
    """
    shutil.copyfile(src, dst)
    return {"bytes_copied": src.stat().st_size}
