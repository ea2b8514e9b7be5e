"""Data containers: the ground floor of neurodl (imports nothing above it)."""

from .epochs import (
    METADATA_COLUMNS,
    EpochsDataset,
    TorchEpochs,
    as_epochs_dataset,
    has_sessions,
)
from .recording import Annotations, Recording
from .spikes import SpikeTrains
from .volume import VolumeSeries

__all__ = [
    "METADATA_COLUMNS",
    "Annotations",
    "EpochsDataset",
    "Recording",
    "SpikeTrains",
    "TorchEpochs",
    "VolumeSeries",
    "as_epochs_dataset",
    "has_sessions",
]
