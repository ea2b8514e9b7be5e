"""Built-in simulators with known ground truth (EEG, fMRI, spiking populations).

Every simulator is deterministic under ``seed`` (``np.random.default_rng``), fast at its default
size, and stores what it planted in the returned container's ``info`` (``ground_truth``), so
analyses can be checked against the truth.
"""

from .eeg import MI_CLASSES, simulate_evoked, simulate_motor_imagery
from .fmri import FMRI_CATEGORIES, simulate_fmri, spm_hrf
from .seizures import ARTIFACT_RATES, simulate_continuous_seizures
from .spikes import DYNAMICS, LatentPopulation, simulate_latent_population, spikes_to_calcium

__all__ = [
    "ARTIFACT_RATES",
    "DYNAMICS",
    "FMRI_CATEGORIES",
    "MI_CLASSES",
    "LatentPopulation",
    "simulate_continuous_seizures",
    "simulate_evoked",
    "simulate_fmri",
    "simulate_latent_population",
    "simulate_motor_imagery",
    "spikes_to_calcium",
    "spm_hrf",
]
