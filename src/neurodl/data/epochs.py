"""Epochs/windows datasets: ``X`` + ``y`` + a metadata table used for grouping."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataFormatError
from ._checks import check_array

__all__ = [
    "METADATA_COLUMNS",
    "NO_SESSION",
    "EpochsDataset",
    "TorchEpochs",
    "as_epochs_dataset",
    "epochs_array",
    "has_sessions",
    "is_mne_epochs",
]

#: Columns every metadata table has (filled with defaults when not given).
METADATA_COLUMNS = ("subject", "session", "run", "recording", "segment", "trial", "onset")

#: The ``session`` of samples whose data say nothing about sessions (a placeholder, filled here
#: and by the readers and samplers); see :func:`has_sessions`.
NO_SESSION = "0"


def _default_metadata(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject": ["0"] * n,
            "session": [NO_SESSION] * n,
            "run": ["0"] * n,
            "recording": ["0"] * n,
            "segment": [str(i) for i in range(n)],
            "trial": np.arange(n),
            "onset": np.full(n, np.nan),
        }
    )


@dataclass
class EpochsDataset:
    """Samples cut from recordings (epochs around events, or sliding windows), with labels.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_channels, n_times) or (n_samples, n_features)
        The samples. May be a read-only memory map (see :meth:`save` / :meth:`load`).
    y : ndarray of shape (n_samples,) or (n_samples, n_targets), optional
        Labels (classes) or targets (regression).
    metadata : DataFrame, optional
        One row per sample with at least the columns in :data:`METADATA_COLUMNS`: ``subject``,
        ``session``, ``run``, ``recording``, ``segment``, ``trial``, ``onset`` (seconds within the
        recording). Missing columns are filled (each sample its own segment).
    sfreq : float or None
        Sampling rate of the time axis, if any.
    ch_names : list of str or None
        Channel names (3-D ``X``) or feature names (2-D ``X``).
    classes : list of str or None
        Names of the integer classes in ``y`` (``classes[k]`` is the name of label ``k``).
    info : dict
        Free-form provenance (dataset name, window length, ...). Epochs from MNE
        (:meth:`from_mne`, :func:`neurodl.io.epochs.read_epochs`) keep ``ch_types``, ``tmin``,
        ``event_id`` and ``montage`` here, which :meth:`to_mne` restores.

    Examples
    --------
    >>> import numpy as np
    >>> ds = EpochsDataset(np.zeros((4, 2, 10)), y=np.array([0, 1, 0, 1]))
    >>> ds.n_samples, ds.groups("segment").tolist()
    (4, ['0', '1', '2', '3'])
    """

    X: np.ndarray
    y: np.ndarray | None = None
    metadata: pd.DataFrame | None = None
    sfreq: float | None = None
    ch_names: list[str] | None = None
    classes: list[str] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.X, np.memmap):
            self.X = check_array(self.X, ndim=(2, 3), name="X")
        elif self.X.ndim not in (2, 3):
            raise DataFormatError(f"X must have 2 or 3 dimensions; got shape {self.X.shape}.")
        n = self.X.shape[0]
        if self.y is not None:
            self.y = np.asarray(self.y)
            if self.y.shape[0] != n:
                raise DataFormatError(
                    f"y has {self.y.shape[0]} labels but X has {n} samples; they must match."
                )
        if self.metadata is None:
            self.metadata = _default_metadata(n)
        else:
            md = pd.DataFrame(self.metadata).reset_index(drop=True)
            if len(md) != n:
                raise DataFormatError(f"metadata has {len(md)} rows but X has {n} samples.")
            default = _default_metadata(n)
            for col in METADATA_COLUMNS:
                if col not in md.columns:
                    md[col] = default[col]
            for col in ("subject", "session", "run", "recording", "segment"):
                md[col] = md[col].astype(str)
            self.metadata = md
        if self.ch_names is not None:
            expected = self.X.shape[1]
            if len(self.ch_names) != expected:
                raise DataFormatError(
                    f"ch_names has {len(self.ch_names)} entries but X has {expected} "
                    f"{'channels' if self.X.ndim == 3 else 'features'}."
                )
            self.ch_names = [str(c) for c in self.ch_names]

    # ------------------------------------------------------------------ basics
    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    def __len__(self) -> int:
        return self.n_samples

    def groups(self, by: str | list[str]) -> np.ndarray:
        """Return one group label per sample from metadata column(s) ``by``."""
        cols = [by] if isinstance(by, str) else list(by)
        assert self.metadata is not None
        missing = [c for c in cols if c not in self.metadata.columns]
        if missing:
            raise ValueError(
                f"Unknown metadata column(s) {missing}. Available: {list(self.metadata.columns)}."
            )
        if len(cols) == 1:
            return self.metadata[cols[0]].astype(str).to_numpy()
        return self.metadata[cols].astype(str).agg("/".join, axis=1).to_numpy()

    def subset(self, index: Any) -> EpochsDataset:
        """Return the samples selected by ``index`` (boolean mask or integer indices)."""
        idx = np.asarray(index)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        assert self.metadata is not None
        return EpochsDataset(
            np.asarray(self.X[idx]),
            None if self.y is None else self.y[idx],
            self.metadata.iloc[idx].reset_index(drop=True),
            self.sfreq,
            self.ch_names,
            self.classes,
            dict(self.info),
        )

    @classmethod
    def concatenate(cls, parts: list[EpochsDataset]) -> EpochsDataset:
        """Stack datasets sample-wise (shapes, sampling rates and channels must agree)."""
        if not parts:
            raise ValueError("Nothing to concatenate: got an empty list.")
        first = parts[0]
        for p in parts[1:]:
            if p.X.shape[1:] != first.X.shape[1:]:
                raise DataFormatError(
                    f"Cannot concatenate samples of shape {p.X.shape[1:]} with {first.X.shape[1:]}."
                )
            if p.sfreq != first.sfreq:
                raise DataFormatError(f"Mismatched sampling rates: {p.sfreq} vs {first.sfreq}.")
            if p.ch_names != first.ch_names:
                raise DataFormatError("Cannot concatenate datasets with different channel names.")
            if p.classes != first.classes:
                raise DataFormatError(f"Mismatched class names: {p.classes} vs {first.classes}.")
        y = None if any(p.y is None for p in parts) else np.concatenate([p.y for p in parts])  # type: ignore[misc]
        md = pd.concat([p.metadata for p in parts], ignore_index=True)
        return cls(
            np.concatenate([np.asarray(p.X) for p in parts]),
            y,
            md,
            first.sfreq,
            first.ch_names,
            first.classes,
            dict(first.info),
        )

    def data_hash(self) -> str:
        """SHA-256 of X, y and the grouping metadata: the identity of the data in a result."""
        h = hashlib.sha256()
        X = np.ascontiguousarray(self.X)
        h.update(str((X.shape, str(X.dtype))).encode())
        h.update(X.tobytes())
        if self.y is not None:
            h.update(np.ascontiguousarray(self.y).tobytes())
        assert self.metadata is not None
        h.update(self.metadata[list(METADATA_COLUMNS)].to_csv(index=False).encode())
        return h.hexdigest()

    # ------------------------------------------------------------------ conversions
    def to_mne(self) -> Any:
        """Return an ``mne.EpochsArray`` of 3-D ``X`` (n_samples, n_channels, n_times).

        What :meth:`from_mne` kept comes back: channel types (``info["ch_types"]``, else
        ``misc``), ``tmin`` (``info["tmin"]``, else 0), event codes and names
        (``info["event_id"]``, else class ``k`` is code ``k`` named ``classes[k]``), the montage
        (``info["montage"]``) and event samples (``onset * sfreq`` when finite and distinct).
        ``metadata`` becomes ``epochs.metadata``.
        """
        import mne

        if self.X.ndim != 3 or self.sfreq is None:
            raise ValueError("to_mne needs 3-D X (n_samples, n_channels, n_times) and sfreq.")
        names = self.ch_names or [f"ch{i:03d}" for i in range(self.X.shape[1])]
        types = self.info.get("ch_types")
        valid = set(mne.io.get_channel_type_constants())
        if not types or len(types) != len(names):
            types = ["misc"] * len(names)
        info = mne.create_info(names, self.sfreq, [t if t in valid else "misc" for t in types])
        codes, event_id = _event_codes(self)
        assert self.metadata is not None
        onset = self.metadata["onset"].to_numpy(dtype=float)
        samples = np.rint(onset * self.sfreq).astype(int) if np.isfinite(onset).all() else None
        if samples is None or len(np.unique(samples)) != len(samples):
            samples = np.arange(self.n_samples)
        events = np.column_stack([samples, np.zeros(self.n_samples, int), codes])
        epochs = mne.EpochsArray(
            np.asarray(self.X),
            info,
            events=events,
            tmin=float(self.info.get("tmin", 0.0)),
            event_id=event_id,
            metadata=self.metadata,
            verbose="error",
        )
        montage = self.info.get("montage")
        if montage:
            epochs.set_montage(_montage_from_dict(montage), on_missing="ignore", verbose="error")
        return epochs

    @classmethod
    def from_mne(
        cls,
        epochs: Any,
        *,
        y: np.ndarray | None = None,
        subject: str | None = None,
        session: str | None = None,
        run: str | None = None,
        recording: str | None = None,
    ) -> EpochsDataset:
        """Build from an ``mne.Epochs`` (the one conversion every neurodl entry point uses).

        Parameters
        ----------
        epochs : mne.Epochs
            Epochs of shape (n_epochs, n_channels, n_times) (loaded on demand).
        y : ndarray of shape (n_epochs,), optional
            Labels; by default the event codes mapped to ``0..K-1`` in code order, with
            ``classes`` their event names (``epochs.event_id``).
        subject, session, run : str, optional
            Identity written to every row of the metadata.
        recording : str, optional
            Recording id; each epoch then gets its own segment ``<recording>_<index>``.

        Returns
        -------
        EpochsDataset
            ``X`` in SI units; ``info`` keeps ``ch_types``, ``tmin``, ``event_id`` and the
            ``montage`` (channel positions, json-safe) so :meth:`to_mne` restores them; columns
            of ``epochs.metadata`` are kept.
        """
        X = epochs.get_data(copy=True)
        codes = np.asarray(epochs.events[:, 2])
        classes = None
        if y is None:
            inv = {v: k for k, v in epochs.event_id.items()}
            uniq = np.unique(codes)
            classes = [str(inv.get(c, c)) for c in uniq]
            y = np.searchsorted(uniq, codes)
        n = len(X)
        md = _default_metadata(n)
        if epochs.metadata is not None:
            for col in epochs.metadata.columns:
                md[col] = epochs.metadata[col].to_numpy()
        for key, val in (
            ("subject", subject),
            ("session", session),
            ("run", run),
            ("recording", recording),
        ):
            if val is not None:
                md[key] = str(val)
        md["onset"] = epochs.events[:, 0] / epochs.info["sfreq"]
        md["trial"] = np.arange(n)
        if recording is not None:
            md["segment"] = [f"{recording}_{i:03d}" for i in range(n)]
        info: dict[str, Any] = {
            "ch_types": list(epochs.get_channel_types()),
            "tmin": float(epochs.tmin),
            "event_id": {str(k): int(v) for k, v in epochs.event_id.items()},
        }
        montage = _montage_to_dict(epochs.get_montage())
        if montage:
            info["montage"] = montage
        return cls(X, y, md, epochs.info["sfreq"], list(epochs.ch_names), classes, info)

    def to_torch(self, *, transform: Any = None) -> TorchEpochs:
        """Return a ``torch.utils.data.Dataset`` yielding ``(x, y)`` float32/long tensors."""
        return TorchEpochs(self, transform=transform)

    # ------------------------------------------------------------------ storage
    def save(self, folder: str | Path, *, overwrite: bool = False) -> Path:
        """Save to ``folder`` (X.npy, y.npy, metadata.csv, meta.json) for memory-mapped loading."""
        folder = Path(folder)
        if folder.exists() and any(folder.iterdir()) and not overwrite:
            from ..exceptions import OutputExistsError

            raise OutputExistsError(f"{folder} exists and is not empty; pass overwrite=True.")
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "X.npy", np.asarray(self.X))
        if self.y is not None:
            np.save(folder / "y.npy", self.y)
        assert self.metadata is not None
        self.metadata.to_csv(folder / "metadata.csv", index=False)
        meta = {
            "sfreq": self.sfreq,
            "ch_names": self.ch_names,
            "classes": self.classes,
            "info": self.info,
        }
        (folder / "meta.json").write_text(json.dumps(meta, default=str))
        return folder

    @classmethod
    def load(cls, folder: str | Path, *, mmap: bool = True) -> EpochsDataset:
        """Load a dataset written by :meth:`save`; ``mmap=True`` keeps X on disk."""
        folder = Path(folder)
        for name in ("X.npy", "metadata.csv", "meta.json"):
            if not (folder / name).exists():
                raise DataFormatError(f"{folder} is not a saved EpochsDataset: {name} is missing.")
        X = np.load(folder / "X.npy", mmap_mode="r" if mmap else None)
        y = np.load(folder / "y.npy") if (folder / "y.npy").exists() else None
        md = pd.read_csv(folder / "metadata.csv", dtype={c: str for c in METADATA_COLUMNS[:5]})
        meta = json.loads((folder / "meta.json").read_text())
        return cls(X, y, md, meta["sfreq"], meta["ch_names"], meta["classes"], meta["info"])

    def __repr__(self) -> str:
        assert self.metadata is not None
        n_subj = self.metadata["subject"].nunique()
        ylab = "" if self.y is None else f", y {self.y.shape}"
        return f"<EpochsDataset X {self.X.shape}{ylab}, {n_subj} subject(s)>"


def _event_codes(ds: EpochsDataset) -> tuple[np.ndarray, dict[str, int]]:
    """MNE event codes of shape (n_samples,) and ``event_id`` for :meth:`EpochsDataset.to_mne`."""
    n = ds.n_samples
    if ds.y is None:
        return np.ones(n, int), {"0": 1}
    y = np.asarray(ds.y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            "to_mne needs integer class labels y of shape (n_samples,) (or none); got "
            f"{y.dtype} of shape {y.shape}."
        )
    names = ds.classes or [str(k) for k in range(int(y.max()) + 1 if n else 0)]
    saved = ds.info.get("event_id") or {}
    if all(name in saved for name in names):
        code_of = [int(saved[name]) for name in names]
    else:
        code_of = list(range(len(names)))
    if n and (y.min() < 0 or y.max() >= len(names)):
        raise ValueError(f"y holds codes outside 0..{len(names) - 1} (the classes).")
    codes = np.asarray(code_of, dtype=int)[y] if n else np.zeros(0, int)
    present = set(np.unique(y).tolist())
    event_id = {name: code_of[k] for k, name in enumerate(names) if k in present}
    return codes, event_id


def _montage_to_dict(montage: Any) -> dict[str, Any] | None:
    """A json-safe dict of an ``mne.channels.DigMontage`` (positions in metres), or None."""
    if montage is None:
        return None
    pos = montage.get_positions()
    ch_pos = {
        str(k): [float(c) for c in v]
        for k, v in pos["ch_pos"].items()
        if v is not None and np.isfinite(v).all()
    }
    if not ch_pos:
        return None
    out: dict[str, Any] = {"coord_frame": str(pos["coord_frame"]), "ch_pos": ch_pos}
    for key in ("nasion", "lpa", "rpa"):
        if pos.get(key) is not None:
            out[key] = [float(c) for c in pos[key]]
    return out


def _montage_from_dict(montage: dict[str, Any]) -> Any:
    """The ``mne.channels.DigMontage`` of a dict made by :func:`_montage_to_dict`."""
    import mne

    return mne.channels.make_dig_montage(
        ch_pos={k: np.asarray(v, float) for k, v in montage["ch_pos"].items()},
        nasion=montage.get("nasion"),
        lpa=montage.get("lpa"),
        rpa=montage.get("rpa"),
        coord_frame=montage.get("coord_frame", "head"),
    )


def has_sessions(metadata: Any) -> bool:
    """True when the ``session`` column of ``metadata`` names real sessions.

    Data without session information get the placeholder session :data:`NO_SESSION` (``"0"``)
    for every sample (:class:`EpochsDataset`'s defaults, the readers, the samplers), so a column
    that is missing or holds only ``"0"`` is a placeholder: reports then name folds and blocks
    by subject and run, never ``"session 0"``. A column with other values is real, ``"0"``
    included (some datasets number their sessions from 0).

    Parameters
    ----------
    metadata : DataFrame
        One row per sample (``EpochsDataset.metadata``).

    Returns
    -------
    bool

    Examples
    --------
    >>> has_sessions(EpochsDataset(np.zeros((4, 2, 10))).metadata)
    False
    >>> has_sessions(pd.DataFrame({"session": ["0", "0", "1", "1"]}))
    True
    """
    if metadata is None or "session" not in metadata:
        return False
    return bool((metadata["session"].astype(str) != NO_SESSION).any())


def is_mne_epochs(obj: Any) -> bool:
    """True when ``obj`` is an ``mne.Epochs`` (any ``mne.BaseEpochs``); never imports MNE.

    Examples
    --------
    >>> import mne
    >>> info = mne.create_info(["C3"], 100.0, "eeg")
    >>> is_mne_epochs(mne.EpochsArray(np.zeros((2, 1, 10)), info, verbose="error"))
    True
    >>> is_mne_epochs(EpochsDataset(np.zeros((4, 2, 10)))), is_mne_epochs(np.zeros(3))
    (False, False)
    """
    mne = sys.modules.get("mne")
    return mne is not None and isinstance(obj, mne.BaseEpochs)


def as_epochs_dataset(obj: Any, *, name: str = "dataset") -> EpochsDataset:
    """Return ``obj`` as an :class:`EpochsDataset`; an ``mne.Epochs`` goes through
    :meth:`EpochsDataset.from_mne` (labels = event names).

    Parameters
    ----------
    obj : EpochsDataset or mne.Epochs
        Samples of shape (n_samples, n_channels, n_times) (or (n_samples, n_features)).
    name : str
        Parameter name used in the error message.

    Returns
    -------
    EpochsDataset

    Raises
    ------
    TypeError
        Anything else, naming what is allowed and what was given.

    Examples
    --------
    >>> import mne
    >>> epochs = mne.EpochsArray(np.zeros((3, 2, 50)), mne.create_info(["C3", "C4"], 100.0, "eeg"),
    ...                          verbose="error")
    >>> ds = as_epochs_dataset(epochs)
    >>> ds.X.shape, ds.ch_names
    ((3, 2, 50), ['C3', 'C4'])
    """
    if isinstance(obj, EpochsDataset):
        return obj
    if is_mne_epochs(obj):
        return EpochsDataset.from_mne(obj)
    raise TypeError(
        f"Invalid value for {name!r}. Allowed: an mne.Epochs or an EpochsDataset; "
        f"got {type(obj).__name__}."
    )


def epochs_array(X: Any) -> Any:
    """``X`` itself, or the data array of an EpochsDataset / ``mne.Epochs``.

    Returns an ndarray of shape (n_samples, n_channels, n_times) for those two; anything else
    (array-like) is returned unchanged for the caller to validate.

    Examples
    --------
    >>> ds = EpochsDataset(np.zeros((4, 2, 10)))
    >>> epochs_array(ds).shape, epochs_array([1, 2])
    ((4, 2, 10), [1, 2])
    """
    if isinstance(X, EpochsDataset):
        return X.X
    if is_mne_epochs(X):
        return X.get_data(copy=True)
    return X


class TorchEpochs:
    """A ``torch.utils.data.Dataset`` view of an :class:`EpochsDataset` (no copy of X).

    Examples
    --------
    >>> ds = EpochsDataset(np.zeros((4, 2, 10), dtype=np.float32), y=np.array([0, 1, 0, 1]))
    >>> tds = TorchEpochs(ds)
    >>> x, y = tds[1]
    >>> len(tds), tuple(x.shape), int(y)
    (4, (2, 10), 1)
    """

    def __init__(self, dataset: EpochsDataset, *, transform: Any = None) -> None:
        self.dataset = dataset
        self.transform = transform

    def __len__(self) -> int:
        return self.dataset.n_samples

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        import torch

        x = torch.as_tensor(np.array(self.dataset.X[i], dtype=np.float32))
        if self.transform is not None:
            x = self.transform(x)
        y = self.dataset.y
        if y is None:
            return x, torch.tensor(-1)
        yi = y[i]
        if np.issubdtype(np.asarray(yi).dtype, np.integer):
            return x, torch.as_tensor(yi, dtype=torch.long)
        return x, torch.as_tensor(np.asarray(yi, dtype=np.float32))
