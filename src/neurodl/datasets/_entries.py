"""Named datasets without a reader of their own: format-fixture collections and sets read with a
generic reader of :mod:`neurodl.io` (arrays, NWB, suite2p) and a few keyword arguments.

A dataset that needs its own reader or has quirks gets its own module instead
(:mod:`.bonn`, :mod:`.eegmmidb`, :mod:`.eegmat`, :mod:`.haxby`, :mod:`.kriegeskorte92`,
:mod:`.abide`). Facts (rates, labels, citations) come from the data owners and from the reference
data folder's README; file lists and checksums from the package data
(``checksums/<folder>.txt``).
"""

from __future__ import annotations

from ..io.arrays import read_array
from ..io.spikes import read_nwb, read_suite2p
from ._common import NO_LICENCE as _NO_LICENCE
from .registry import DatasetEntry, register_dataset

# ---------------------------------------------------------------------------------------- EEG
register_dataset(
    DatasetEntry(
        name="mne-testing-subset",
        folder="eeg/mne_testing_subset",
        description="29 real-recording format fixtures (EDF/EDF+, BDF, GDF, BrainVision, EEGLAB, "
        "Nihon Kohden, FIF, CHB-MIT .seizures).",
        modality="mixed",
        sfreq=None,
        sfreq_note="Per file (e.g. EEGLAB test_raw.set 128 Hz).",
        citation="Gramfort A et al. MEG and EEG data analysis with MNE-Python. Front Neurosci 7:267 "
        "(2013).",
        license="As distributed in mne-tools/mne-testing-data (test fixtures).",
        source="mne-tools/mne-testing-data @e31ecb0a",
    )
)

# ---------------------------------------------------------------------------------------- fMRI
register_dataset(
    DatasetEntry(
        name="nibabel-testdata",
        folder="fmri/nibabel_testdata",
        description="NIfTI-1/2, CIFTI-2, MGH and GIfTI format fixtures.",
        modality="fmri",
        sfreq_note="Per file.",
        citation="Brett M et al. nibabel (Zenodo).",
        license="MIT.",
        source="nipy/nibabel @4704d904",
    )
)

register_dataset(
    DatasetEntry(
        name="nilearn-templates",
        folder="fmri/nilearn_templates",
        description="MNI ICBM152 2009 templates, fsaverage5 meshes and one real group statistical map.",
        modality="fmri",
        sfreq_note="Anatomical templates, no time axis.",
        citation="Fonov V et al. NeuroImage 54:313 (2011); Abraham A et al. Front Neuroinform 8:14 "
        "(2014).",
        license="Unknown (per nilearn).",
        source="nilearn/nilearn @59fffa24",
    )
)

# -------------------------------------------------------------------- spikes, calcium, LFP
register_dataset(
    DatasetEntry(
        name="mc-maze-trials",
        folder="spikes/nlb_mc_maze_trials_hisde",
        description="Two real MC_Maze (Neural Latents Benchmark) reaching trials: 182 units, cursor, "
        "eye and hand position/velocity at 1 ms.",
        modality="spikes",
        sfreq=1000.0,
        sfreq_note="1 ms bins; 3236 and 3566 rows.",
        citation="Churchland MM et al. Neural population dynamics during reaching. Nature 487:51 "
        "(2012); Pei F et al. Neural Latents Benchmark '21. NeurIPS Datasets and Benchmarks (2021).",
        license="MIT (HiSDE repository); original data DANDI 000128.",
        source="MaryamOstadsharif/HiSDE @a3fd0fd6",
        loader=read_array,
        loader_target="trial_748_data.csv",
        loader_kwargs={"sfreq": 1000.0},
    )
)

register_dataset(
    DatasetEntry(
        name="chewie-reaching",
        folder="spikes/dad_reaching_mihi_chewie",
        description="Binned M1 spike counts with 2-D hand velocity and reach target, monkeys Chewie "
        "(71 units; 1200- and 1818-bin splits) and Mihi.",
        modality="spikes",
        sfreq=None,
        sfreq_note="Bin width undocumented.",
        classes={str(k): f"reach target {k}" for k in range(8)},
        citation="Dyer EL, Gheshlaghi Azar M, Perich MG, Fernandes HL, Naufel S, Miller LE, "
        "Kording KP. A cryptography-based approach for movement decoding. Nat Biomed Eng 1:967 (2017).",
        license=_NO_LICENCE,
        source="KordingLab/DAD @2f205979",
        loader=read_array,
        loader_target="chewie_demo.mat",
        # One sample per time bin: 71 unit counts as features, the reach target as label.
        loader_kwargs={"key": "Yte", "label_key": "Tte", "axis_order": "epochs_features"},
    )
)

register_dataset(
    DatasetEntry(
        name="hatsopoulos-centerout",
        folder="spikes/centuri_hatsopoulos_centerout",
        description="Center-out reaching: firing rates of 143 motor-cortex neurons x 158 trials, "
        "8 directions.",
        modality="spikes",
        sfreq=None,
        sfreq_note="One firing rate per neuron and trial (no time axis).",
        classes={str(k): f"direction {k}: {45 * (k - 1)} degrees" for k in range(1, 9)},
        citation="Hatsopoulos NG, Joshi J, O'Leary JG. Decoding continuous and discrete motor "
        "behaviors using motor and premotor cortical ensembles. J Neurophysiol 92:1165 (2004).",
        license="GPL-3.0 (CENTURI summer school repository).",
        source="CONECT-INT/2022_CENTURI-SummerSchool @31379a8a",
        loader=read_array,
        loader_target="Dataset1.mat",
        loader_kwargs={"key": "R", "label_key": "direction", "axis_order": "features_epochs"},
    )
)

register_dataset(
    DatasetEntry(
        name="ca1-calcium",
        folder="spikes/tu2020_ca1_calcium_position",
        description="Mouse CA1 two-photon dF/F of 79 neurons x 420 steps with track position (0-108).",
        modality="calcium",
        sfreq=None,
        sfreq_note="Frame rate undocumented; 420 time steps.",
        citation="Tu M, Zhao R, Adler A, Gan W-B, Chen ZS. Efficient position decoding methods based "
        "on fluorescence calcium imaging in the mouse hippocampus. Neural Comput 32:1144 (2020).",
        license=_NO_LICENCE,
        source="Mengyu-TU/Position-Decoding-Methods-Based-on-Fluorescence-Calcium-Imaging @ce936334",
        loader=read_array,
        loader_target="Raw_DF_F_Two_Photon.mat",
        # One sample per time step (79 dF/F features); positions are in Position4DecodingOLE.mat.
        loader_kwargs={"key": "RawDF_F", "axis_order": "features_epochs"},
    )
)

register_dataset(
    DatasetEntry(
        name="suite2p-plane0",
        folder="spikes/pynapple_suite2p_plane0",
        description="A suite2p plane folder: F, Fneu, spks (219 ROIs x 2000 frames), iscell, stat.",
        modality="calcium",
        sfreq=None,
        sfreq_note="Frame rate unknown: pass fs= (frames per second) to load_dataset.",
        citation="Viejo G et al. Pynapple, a toolbox for data analysis in neuroscience. eLife 12:RP85786 "
        "(2023); Pachitariu M et al. Suite2p. bioRxiv 061507 (2017).",
        license="MIT (pynapple).",
        source="pynapple-org/pynapple @7ac20f7a",
        loader=read_suite2p,
    )
)

register_dataset(
    DatasetEntry(
        name="pynapple-nwb",
        folder="spikes/pynapple_nwb",
        description="NWB files: human MTL single units with trial tables (35 units, 214,278 spikes) "
        "and a 3-unit phy export.",
        modality="spikes",
        sfreq=None,
        sfreq_note="Spike times in seconds.",
        citation="Zheng J, Schjetnan AGP, Yebra M et al. Neurons detect cognitive boundaries to "
        "structure episodic memories in humans. Nat Neurosci 25:358 (2022); Viejo G et al. Pynapple. "
        "eLife (2023).",
        license="MIT (pynapple).",
        source="pynapple-org/pynapple",
        loader=read_nwb,
        loader_target="sub-4_ses-4_ecephys+image.nwb",
    )
)

register_dataset(
    DatasetEntry(
        name="pynwb-backcompat",
        folder="spikes/pynwb_backcompat_nwb",
        description="21 synthetic NWB files, schema 1.0.2 to 2.2.0, with edge cases (reader "
        "back-compatibility fixtures).",
        modality="spikes",
        sfreq_note="Per file.",
        citation="Rübel O et al. The Neurodata Without Borders ecosystem for neurophysiological data "
        "science. eLife 11:e78362 (2022).",
        license="BSD-3-Clause (pynwb).",
        source="NeurodataWithoutBorders/pynwb @e938202b",
    )
)

register_dataset(
    DatasetEntry(
        name="neurodsp-lfp",
        folder="spikes/neurodsp_lfp",
        description="Human M1 ECoG (10 s, beta peak 18 Hz) and rat hippocampal LFP (150 s, theta "
        "6.5 Hz), single channels.",
        modality="lfp",
        sfreq=1000.0,
        sfreq_note="1000 Hz for both files.",
        citation="Cole SR et al. J Neurosci 37:4830 (2017); Mizuseki K et al. Nat Neurosci (2012); "
        "Cole S et al. NeuroDSP. JOSS 4:1272 (2019).",
        license="Apache-2.0 (neurodsp).",
        source="neurodsp-tools/neurodsp @dfd40f09",
        # Single-channel 1-D .npy files; the default is the M1 ECoG trace, pass
        # loader_target-like kwargs via neurodl.io.read for sample_data_2.npy (hippocampal LFP).
        loader=read_array,
        loader_target="sample_data_1.npy",
        loader_kwargs={"sfreq": 1000.0},
    )
)

register_dataset(
    DatasetEntry(
        name="kramer-case-studies",
        folder="spikes/kramer_case_studies",
        description="Teaching data: place cell with track position, retinal and STN units, ECoG/LFP "
        "trials (some may be simulated).",
        modality="mixed",
        sfreq_note="Per file (place-cell data at 1 ms).",
        citation="Kramer MA, Eden UT. Case Studies in Neural Data Analysis. MIT Press (2016).",
        license="MIT.",
        source="Mark-Kramer/Case-Studies-Python @060e67e8",
    )
)
