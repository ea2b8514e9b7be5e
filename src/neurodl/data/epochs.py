"""Epochs/windows datasets: ``X`` + ``y`` + a metadata table used for grouping."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataFormatError
from ._checks import check_array

__all__ = ["METADATA_COLUMNS", "EpochsDataset", "TorchEpochs"]

#: Columns every metadata table has (filled with defaults when not given).
METADATA_COLUMNS = ("subject", "session", "run", "recording", "segment", "trial", "onset")


def _default_metadata(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject": ["0"] * n,
            "session": ["0"] * n,
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
        Free-form provenance (dataset name, window length, ...).

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
        """Return an ``mne.EpochsArray`` (3-D X only); metadata become ``epochs.metadata``."""
        import mne

        if self.X.ndim != 3 or self.sfreq is None:
            raise ValueError("to_mne needs 3-D X (n_samples, n_channels, n_times) and sfreq.")
        names = self.ch_names or [f"ch{i:03d}" for i in range(self.X.shape[1])]
        info = mne.create_info(names, self.sfreq, "misc")
        y = np.zeros(self.n_samples, int) if self.y is None else np.asarray(self.y).astype(int)
        events = np.column_stack([np.arange(self.n_samples), np.zeros(self.n_samples, int), y])
        return mne.EpochsArray(
            np.asarray(self.X), info, events=events, metadata=self.metadata, verbose="error"
        )

    @classmethod
    def from_mne(
        cls,
        epochs: Any,
        *,
        y: np.ndarray | None = None,
        subject: str | None = None,
        session: str | None = None,
        run: str | None = None,
    ) -> EpochsDataset:
        """Build from an ``mne.Epochs``; ``y`` defaults to the event codes mapped to 0..K-1."""
        X = epochs.get_data(copy=True)
        codes = epochs.events[:, 2]
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
        for key, val in (("subject", subject), ("session", session), ("run", run)):
            if val is not None:
                md[key] = str(val)
        md["onset"] = epochs.events[:, 0] / epochs.info["sfreq"]
        md["trial"] = np.arange(n)
        return cls(X, y, md, epochs.info["sfreq"], list(epochs.ch_names), classes)

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


class TorchEpochs:
    """A ``torch.utils.data.Dataset`` view of an :class:`EpochsDataset` (no copy of X)."""

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
