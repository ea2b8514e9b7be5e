"""Spikes and calcium imaging: NWB files (pynwb) and suite2p plane folders.

:func:`read_nwb` returns the sorted units of an NWB file as :class:`~neurodl.data.SpikeTrains`
(with the unit and trial tables); :func:`read_nwb_timeseries` returns one acquisition or
processing time series (ElectricalSeries, RoiResponseSeries, TimeSeries) as a
:class:`~neurodl.data.Recording`; :func:`read_suite2p` turns a suite2p plane folder into a
dF/F (or raw F, or deconvolved) :class:`~neurodl.data.Recording`. pynwb objects never leave
this module: the file is read eagerly and closed.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._logging import logger
from ..data import Recording, SpikeTrains
from ..data._checks import check_option, check_sfreq
from ..exceptions import ConfigError, DataFormatError, MissingDependencyError

__all__ = ["read_nwb", "read_nwb_timeseries", "read_suite2p"]


# ============================================================================ NWB
def _import_pynwb() -> Any:
    try:
        import pynwb
    except ImportError as err:
        raise MissingDependencyError(
            "Reading NWB files needs pynwb: pip install neurodl[nwb]"
        ) from err
    return pynwb


@contextlib.contextmanager
def _open_nwb(path: Path) -> Iterator[Any]:
    """Open ``path`` read-only; hdmf/pynwb warnings are logged, failures become DataFormatError."""
    pynwb = _import_pynwb()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            io = pynwb.NWBHDF5IO(str(path), mode="r", load_namespaces=True)
        except Exception as err:  # h5py OSError (not HDF5, truncated), hdmf errors
            raise DataFormatError(f"{path}: not a readable NWB/HDF5 file ({err}).") from err
        try:
            try:
                nwbfile = io.read()
            except Exception as err:  # hdmf ConstructError, KeyError, ValueError on bad schemas
                raise DataFormatError(
                    f"{path}: pynwb could not read this NWB file ({type(err).__name__}: {err})."
                ) from err
            yield nwbfile
        finally:
            io.close()
            for w in caught:
                logger.info("%s: %s: %s", path.name, w.category.__name__, w.message)


def _clean_value(value: Any) -> Any:
    """Make one cell of a pynwb table plain Python (bytes -> str, containers -> name)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, pd.DataFrame):  # a DynamicTableRegion row (e.g. the unit's electrodes)
        if "location" in value.columns:
            locs = [str(_clean_value(v)) for v in value["location"]]
            return ",".join(dict.fromkeys(locs))
        return ",".join(str(i) for i in value.index)
    if hasattr(value, "name") and hasattr(value, "object_id"):  # an NWB container reference
        return str(value.name)
    if isinstance(value, np.ndarray | list | tuple):
        return [_clean_value(v) for v in value]
    return value


def _table_frame(table: Any, drop: tuple[str, ...] = ()) -> pd.DataFrame:
    """Return a DynamicTable as a plain DataFrame (column ``id`` first)."""
    exclude = {c for c in drop if c in table.colnames}
    df = (table.to_dataframe(exclude=exclude) if exclude else table.to_dataframe()).reset_index()
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = [_clean_value(v) for v in df[col]]
    if "electrodes" in df.columns:  # a list of brain areas per unit
        df = df.rename(columns={"electrodes": "electrodes_location"})
    return df


def _spike_times(units: Any) -> list[np.ndarray]:
    n = len(units.id)
    if "spike_times" not in units.colnames:
        return [np.zeros(0) for _ in range(n)]
    flat = np.asarray(units.spike_times.data[:], dtype=float)
    ends = np.asarray(units.spike_times_index.data[:], dtype=np.int64)
    return np.split(flat, ends[:-1]) if n else []


def _timeseries(nwbfile: Any) -> dict[str, Any]:
    """All TimeSeries of acquisition and processing modules, by name (``module/name`` on clash)."""
    from pynwb import TimeSeries

    found: dict[str, Any] = {}

    def add(name: str, obj: Any, prefix: str) -> None:
        found[f"{prefix}/{name}" if name in found else name] = obj

    for name, obj in nwbfile.acquisition.items():
        if isinstance(obj, TimeSeries):
            add(name, obj, "acquisition")
        else:
            for child in getattr(obj, "children", []):
                if isinstance(child, TimeSeries):
                    add(child.name, child, f"acquisition/{name}")
    for mod_name, module in nwbfile.processing.items():
        for name, obj in module.data_interfaces.items():
            if isinstance(obj, TimeSeries):
                add(name, obj, mod_name)
            else:  # Fluorescence, LFP, ...: containers of series
                for child in getattr(obj, "children", []):
                    if isinstance(child, TimeSeries):
                        add(child.name, child, f"{mod_name}/{name}")
    return found


def read_nwb(path: str | Path, *, subject: str | None = None) -> SpikeTrains:
    """Read the sorted units and trial tables of an NWB file.

    Parameters
    ----------
    path : str or Path
        An ``.nwb`` file (HDF5 backend), NWB schema 1.x or 2.x.
    subject : str or None
        Subject identifier; default: the file's ``subject.subject_id``.

    Returns
    -------
    SpikeTrains
        ``times`` one array of spike times (s) per unit (zero units when the file has no units
        table); ``units`` one row per unit with the table's scalar columns (``id``,
        ``location``, ``electrodes_location``, quality...); ``trials`` the trials table
        (``start_time``, ``stop_time`` + all columns) or, without one, the other interval
        tables stacked with a ``table`` column; ``info`` holds ``identifier``,
        ``session_description``, ``intervals`` (name -> DataFrame, all interval tables) and
        ``timeseries`` (names readable with :func:`read_nwb_timeseries`).

    Raises
    ------
    DataFormatError
        If the file is not a readable NWB file (the message names the file and the reason).
    MissingDependencyError
        If pynwb is not installed (``pip install neurodl[nwb]``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from datetime import datetime, timezone
    >>> from pynwb import NWBHDF5IO, NWBFile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "session.nwb"
    >>> nwb = NWBFile("demo", "s1", datetime(2024, 1, 1, tzinfo=timezone.utc))
    >>> nwb.add_unit(spike_times=[0.1, 0.5, 0.9])
    >>> nwb.add_unit(spike_times=[0.2])
    >>> with NWBHDF5IO(path, "w") as io:
    ...     io.write(nwb)
    >>> st = read_nwb(path, subject="01")
    >>> len(st.times), st.times[0].tolist(), st.subject
    (2, [0.1, 0.5, 0.9], '01')
    """
    path = Path(path)
    with _open_nwb(path) as nwb:
        units = nwb.units
        if units is not None and len(units.id):
            times = _spike_times(units)
            unit_df = _table_frame(
                units,
                drop=("spike_times", "obs_intervals", "waveform_mean", "waveform_sd", "waveforms"),
            )
            unit_ids = [str(i) for i in units.id[:]]
        else:
            times, unit_df, unit_ids = [], None, []
        intervals: dict[str, pd.DataFrame] = {}
        for name, table in (nwb.intervals or {}).items():
            intervals[name] = _table_frame(table)
        if nwb.trials is not None:
            trials = intervals.get("trials", _table_frame(nwb.trials))
        else:
            others = {k: v for k, v in intervals.items() if k != "epochs"}
            trials = None
            if others:
                trials = pd.concat(
                    [df.assign(table=name) for name, df in others.items()], ignore_index=True
                )
                trials = trials.sort_values("start_time", kind="stable").reset_index(drop=True)
        series = sorted(_timeseries(nwb))
        if series and not unit_ids:
            logger.info(
                "%s has no units but time series %s: use read_nwb_timeseries().", path.name, series
            )
        file_subject = getattr(nwb.subject, "subject_id", None) if nwb.subject else None
        info = {
            "reader": "read_nwb",
            "identifier": nwb.identifier,
            "session_description": nwb.session_description,
            "session_start_time": str(nwb.session_start_time),
            "intervals": intervals,
            "timeseries": series,
        }
        session = nwb.session_id
    return SpikeTrains(
        times,
        unit_ids,
        unit_df,
        trials,
        subject=subject if subject is not None else file_subject,
        session=None if session is None else str(session),
        source=str(path),
        info=info,
    )


#: pynwb class name -> (channel type, unit override or None).
_SERIES_TYPES: dict[str, tuple[str, str | None]] = {
    "ElectricalSeries": ("ephys", "V"),
    "SpikeEventSeries": ("ephys", "V"),
    "RoiResponseSeries": ("calcium", None),
    "TimeSeries": ("misc", None),
}


def _series_kind(ts: Any) -> tuple[str, str | None]:
    for cls in type(ts).__mro__:
        if cls.__name__ in _SERIES_TYPES:
            return _SERIES_TYPES[cls.__name__]
    return _SERIES_TYPES["TimeSeries"]


def _series_rate(ts: Any, path: Path, name: str) -> tuple[float, float]:
    """Return (sampling rate, start time) from ``rate`` or regular ``timestamps``."""
    if ts.rate is not None:
        return check_sfreq(ts.rate, source=f"{path}:{name}"), float(ts.starting_time or 0.0)
    if ts.timestamps is None:
        raise DataFormatError(f"{path}: series {name!r} has neither a rate nor timestamps.")
    stamps = np.asarray(ts.timestamps[:], dtype=float)
    steps = np.diff(stamps)
    if stamps.size < 2 or not np.isfinite(steps).all():
        raise DataFormatError(
            f"{path}: series {name!r} has {stamps.size} timestamp(s); cannot infer a rate."
        )
    step = float(np.median(steps))
    if step <= 0 or np.max(np.abs(steps - step)) > 0.01 * step:
        raise DataFormatError(
            f"{path}: series {name!r} has irregular timestamps (steps from {steps.min():g} to "
            f"{steps.max():g} s); only regularly sampled series become a Recording."
        )
    return 1.0 / step, float(stamps[0])


def read_nwb_timeseries(path: str | Path, name: str | None = None) -> Recording:
    """Read one regularly sampled time series of an NWB file as a Recording.

    Parameters
    ----------
    path : str or Path
        An ``.nwb`` file.
    name : str or None
        Name of the series (acquisition name, or name inside a processing module; see
        ``read_nwb(path).info["timeseries"]``). May be omitted when the file holds one series.

    Returns
    -------
    Recording
        ``data`` of shape (n_channels, n_times) (the NWB (n_times, n_channels) array
        transposed, times ``conversion`` plus ``offset``); ``sfreq`` from ``rate`` or the
        timestamps; ``ch_types`` ``"ephys"`` (ElectricalSeries, volts), ``"calcium"``
        (RoiResponseSeries) or ``"misc"``; ``info["t0"]`` the start time in seconds.

    Raises
    ------
    DataFormatError
        Unknown or ambiguous ``name`` (the message lists the series), series with no data,
        more than 2 dimensions (images) or irregular timestamps.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from datetime import datetime, timezone
    >>> from pynwb import NWBHDF5IO, NWBFile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "session.nwb"
    >>> nwb = NWBFile("demo", "s1", datetime(2024, 1, 1, tzinfo=timezone.utc))
    >>> from pynwb import TimeSeries
    >>> pupil = TimeSeries(name="pupil", data=np.zeros((100, 1)), unit="mm", rate=50.0)
    >>> nwb.add_acquisition(pupil)
    >>> with NWBHDF5IO(path, "w") as io:
    ...     io.write(nwb)
    >>> rec = read_nwb_timeseries(path, "pupil")
    >>> rec.data.shape, rec.sfreq
    ((1, 100), 50.0)
    """
    path = Path(path)
    with _open_nwb(path) as nwb:
        series = _timeseries(nwb)
        if not series:
            raise DataFormatError(f"{path}: the file holds no time series.")
        if name is None:
            if len(series) > 1:
                raise DataFormatError(
                    f"{path} holds several time series; pass name=. Available: {sorted(series)}."
                )
            name = next(iter(series))
        if name not in series:
            raise DataFormatError(
                f"{path}: no time series {name!r} (parameter 'name'). Available: {sorted(series)}."
            )
        ts = series[name]
        if ts.data is None:
            raise DataFormatError(f"{path}: series {name!r} has no data (external file?).")
        data = np.asarray(ts.data[:])
        if data.size == 0:
            raise DataFormatError(f"{path}: series {name!r} has no samples (shape {data.shape}).")
        if data.ndim not in (1, 2):
            raise DataFormatError(
                f"{path}: series {name!r} ({type(ts).__name__}) has shape {data.shape}; only 1-D "
                "or 2-D (n_times, n_channels) series become a Recording."
            )
        data = np.atleast_2d(data.T if data.ndim == 2 else data).astype(np.float64)
        data = data * float(ts.conversion) + float(getattr(ts, "offset", 0.0) or 0.0)
        sfreq, t0 = _series_rate(ts, path, name)
        ch_type, unit = _series_kind(ts)
        unit = unit or (str(ts.unit) if ts.unit else "a.u.")
        ch_names = None
        region = getattr(ts, "electrodes", None) or getattr(ts, "rois", None)
        if region is not None:
            try:
                ids = np.asarray(region.table.id[:])[np.asarray(region.data[:], dtype=int)]
                ch_names = [f"{name}_{i}" for i in ids]
            except Exception:  # a broken region only costs the channel names
                ch_names = None
        if ch_names is not None and (
            len(ch_names) != data.shape[0] or len(set(ch_names)) != data.shape[0]
        ):
            ch_names = None
        if ch_names is None:
            ch_names = [f"{name}_{i}" for i in range(data.shape[0])]
        info = {
            "reader": "read_nwb_timeseries",
            "series": name,
            "neurodata_type": type(ts).__name__,
            "t0": t0,
            "description": ts.description,
        }
        file_subject = getattr(nwb.subject, "subject_id", None) if nwb.subject else None
        session = nwb.session_id
    n_ch = data.shape[0]
    return Recording(
        data,
        sfreq,
        ch_names,
        [ch_type] * n_ch,
        [unit] * n_ch,
        subject=file_subject,
        session=session,
        source=str(path),
        info=info,
    )


# ============================================================================ suite2p
def _fc(arrays: dict[str, np.ndarray], c: float) -> np.ndarray:
    return arrays["F"] - c * arrays["Fneu"]


#: signal -> (function of (arrays, neuropil_coef), channel type, unit).
_SUITE2P_SIGNALS: dict[
    str, tuple[Callable[[dict[str, np.ndarray], float], np.ndarray], str, str]
] = {
    "dff": (_fc, "calcium", "dF/F"),
    "Fcorr": (_fc, "calcium", "a.u."),
    "F": (lambda a, c: a["F"], "calcium", "a.u."),
    "spks": (lambda a, c: a["spks"], "calcium", "a.u."),
}


#: The only globals a suite2p ``ops.npy`` / ``stat.npy`` pickle may name: numpy's array and
#: scalar reconstruction (dicts, lists, numbers and strings need no global). Anything else (e.g.
#: ``os.system`` in a crafted file) is refused before it can run.
_SAFE_PICKLE_GLOBALS = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("collections", "OrderedDict"),
    }
)


def _safe_object_npy(path: Path) -> np.ndarray:
    """Read an object-dtype ``.npy`` without executing code from it.

    numpy stores object arrays as a pickle; unpickling can call any importable function. This
    reads the ``.npy`` header itself and unpickles the payload with an unpickler that resolves
    only :data:`_SAFE_PICKLE_GLOBALS`, so a crafted file raises :class:`DataFormatError` naming
    the refused global instead of running it.
    """
    import pickle

    class _Restricted(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if (module, name) not in _SAFE_PICKLE_GLOBALS:
                raise DataFormatError(
                    f"{path}: refusing to unpickle {module}.{name} (a data file may only hold "
                    "arrays, numbers, strings, lists and dicts; it could run code)."
                )
            return super().find_class(module, name)

    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            _, _, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            _, _, dtype = np.lib.format.read_array_header_2_0(fh)
        if not dtype.hasobject:
            fh.seek(0)
            return np.load(fh, allow_pickle=False)
        return np.asarray(_Restricted(fh, encoding="latin1").load())


def _load_suite2p_npy(folder: Path, name: str, *, pickled: bool = False) -> np.ndarray | None:
    f = folder / name
    if not f.exists():
        return None
    try:
        # Only stat.npy and ops.npy hold object arrays (dicts) written by suite2p; they are read
        # through a restricted unpickler that cannot run code. Everything else: no pickle at all.
        arr = _safe_object_npy(f) if pickled else np.load(f, allow_pickle=False)
    except DataFormatError:
        raise
    except Exception as err:
        raise DataFormatError(f"{f}: not a readable .npy file ({err}).") from err
    return arr


def _baseline(x: np.ndarray, percentile: float, window: int | None) -> np.ndarray:
    """Percentile baseline of each row: global, or running over ``window`` frames (centered).

    The global baseline is ``np.percentile`` (linear interpolation); the running one is
    ``scipy.ndimage.percentile_filter`` (an order statistic, edges repeated).
    """
    if window is None:
        return np.percentile(x, percentile, axis=1, keepdims=True) * np.ones_like(x)
    from scipy.ndimage import percentile_filter

    return percentile_filter(x, percentile, size=(1, window), mode="nearest")


def read_suite2p(
    folder: str | Path,
    *,
    fs: float | None = None,
    neuropil_coef: float = 0.7,
    cells_only: bool = True,
    baseline_percentile: float = 8.0,
    baseline_window: float | None = None,
    signal: Literal["dff", "Fcorr", "F", "spks"] = "dff",
) -> Recording:
    """Read a suite2p plane folder (``F.npy``, ``Fneu.npy``, ``spks.npy``, ``iscell.npy``...).

    Parameters
    ----------
    folder : str or Path
        The ``plane0``-like folder.
    fs : float or None
        Frame rate in Hz. Default: ``ops.npy["fs"]``; required when the folder has no
        ``ops.npy`` (a given ``fs`` wins over ``ops.npy``).
    neuropil_coef : float, default=0.7
        Neuropil coefficient ``c`` in ``Fcorr = F - c * Fneu``.
    cells_only : bool, default=True
        Keep only the ROIs classified as cells (``iscell.npy[:, 0] == 1``).
    baseline_percentile : float, default=8.0
        Percentile of ``Fcorr`` used as the baseline ``F0``.
    baseline_window : float or None
        Length in seconds of the running (centered) percentile window; None: one global
        percentile per ROI.
    signal : {"dff", "Fcorr", "F", "spks"}, default="dff"
        ``"dff"``: ``(Fcorr - F0) / F0`` (unit ``dF/F``); ``"Fcorr"``: neuropil-corrected
        fluorescence; ``"F"``: raw fluorescence; ``"spks"``: suite2p's deconvolved activity.

    Returns
    -------
    Recording
        ``data`` of shape (n_rois, n_frames), ``ch_types`` ``"calcium"``, channel names
        ``roi<index>`` (index into suite2p's ROI list). ``info`` holds ``roi_index``,
        ``iscell_prob``, ``spks`` (deconvolved activity of the kept ROIs, shape
        (n_rois, n_frames)), ``med`` (ROI centres from ``stat.npy``, when present) and
        ``excluded_rois`` (ROIs dropped from dF/F because their baseline ``F0`` is <= 0).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> plane = pathlib.Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> np.save(plane / "F.npy", 100 + rng.random((3, 200)))  # 3 ROIs x 200 frames
    >>> np.save(plane / "Fneu.npy", 10 * rng.random((3, 200)))
    >>> np.save(plane / "spks.npy", rng.random((3, 200)))
    >>> np.save(plane / "iscell.npy", np.array([[1, 0.9], [0, 0.2], [1, 0.8]]))
    >>> rec = read_suite2p(plane, fs=30.0)  # dF/F of the 2 cells
    >>> rec.data.shape, rec.sfreq
    ((2, 200), 30.0)
    """
    folder = Path(folder)
    check_option("signal", signal, _SUITE2P_SIGNALS)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder.")
    if not np.isfinite(neuropil_coef) or neuropil_coef < 0:
        raise ConfigError(f"neuropil_coef must be finite and >= 0; got {neuropil_coef!r}.")
    if not 0 < baseline_percentile <= 100:
        raise ConfigError(f"baseline_percentile must be in (0, 100]; got {baseline_percentile!r}.")
    if baseline_window is not None and not baseline_window > 0:
        raise ConfigError(f"baseline_window must be > 0 seconds or None; got {baseline_window!r}.")

    ops = _load_suite2p_npy(folder, "ops.npy", pickled=True)
    ops_fs = None
    if ops is not None:
        ops_dict = ops.item() if ops.dtype == object and ops.ndim == 0 else {}
        ops_fs = ops_dict.get("fs") if isinstance(ops_dict, dict) else None
    if fs is None and ops_fs is None:
        raise DataFormatError(
            f"{folder}: the frame rate is unknown (no ops.npy with 'fs'); pass fs=<frames per "
            "second> to read_suite2p."
        )
    if fs is not None and ops_fs is not None and not np.isclose(float(fs), float(ops_fs)):
        logger.info("%s: fs=%g given; ops.npy says %g. Using %g.", folder, fs, ops_fs, fs)
    sfreq = check_sfreq(fs if fs is not None else ops_fs, source=str(folder))

    arrays: dict[str, np.ndarray] = {}
    for name in ("F", "Fneu", "spks"):
        arr = _load_suite2p_npy(folder, f"{name}.npy")
        if arr is None:
            raise DataFormatError(f"{folder}: {name}.npy is missing; not a suite2p plane folder.")
        if arr.ndim != 2:
            raise DataFormatError(
                f"{folder}: {name}.npy must be 2-D (n_rois, n_frames); got shape {arr.shape}."
            )
        arrays[name] = arr.astype(np.float64)
    shapes = {k: v.shape for k, v in arrays.items()}
    if len(set(shapes.values())) != 1:
        raise DataFormatError(f"{folder}: F, Fneu and spks shapes differ: {shapes}.")
    n_rois = arrays["F"].shape[0]
    iscell = _load_suite2p_npy(folder, "iscell.npy")
    if iscell is not None and iscell.shape[0] != n_rois:
        raise DataFormatError(f"{folder}: iscell.npy has {iscell.shape[0]} rows for {n_rois} ROIs.")
    if cells_only:
        if iscell is None:
            raise DataFormatError(f"{folder}: iscell.npy is missing; pass cells_only=False.")
        keep = np.flatnonzero(np.asarray(iscell).reshape(n_rois, -1)[:, 0] > 0.5)
        if keep.size == 0:
            raise DataFormatError(f"{folder}: no ROI is classified as a cell in iscell.npy.")
    else:
        keep = np.arange(n_rois)
    arrays = {k: v[keep] for k, v in arrays.items()}
    func, ch_type, unit = _SUITE2P_SIGNALS[signal]
    data = func(arrays, neuropil_coef)
    excluded: dict[int, str] = {}
    if signal == "dff":
        window = None if baseline_window is None else max(1, round(baseline_window * sfreq))
        f0 = _baseline(data, baseline_percentile, window)
        bad = (f0 <= 0).any(axis=1)
        for i in np.flatnonzero(bad):
            excluded[int(keep[i])] = f"baseline F0 <= 0 (min {f0[i].min():.3g})"
        if bad.any():
            logger.warning(
                "%s: %d ROI(s) dropped from dF/F because their baseline F0 is <= 0: %s. "
                "Lower neuropil_coef or read signal='Fcorr'.",
                folder,
                int(bad.sum()),
                sorted(excluded),
            )
        data = (data[~bad] - f0[~bad]) / f0[~bad]
        keep = keep[~bad]
        arrays = {k: v[~bad] for k, v in arrays.items()}
        if keep.size == 0:
            raise DataFormatError(f"{folder}: every selected ROI has a baseline F0 <= 0.")
    info: dict[str, Any] = {
        "reader": "read_suite2p",
        "signal": signal,
        "roi_index": keep,
        "iscell_prob": None if iscell is None else np.asarray(iscell).reshape(n_rois, -1)[keep, -1],
        "spks": arrays["spks"],
        "neuropil_coef": neuropil_coef,
        "excluded_rois": excluded,
    }
    stat = _load_suite2p_npy(folder, "stat.npy", pickled=True)
    if stat is not None and len(stat) == n_rois:
        info["med"] = np.array([stat[i].get("med", (np.nan, np.nan)) for i in keep], dtype=float)
    n = len(keep)
    return Recording(
        data,
        sfreq,
        [f"roi{i:04d}" for i in keep],
        [ch_type] * n,
        [unit] * n,
        source=str(folder),
        info=info,
    )
