"""Tests of neurodl.io.spikes: NWB units/trials/time series and suite2p folders."""

from __future__ import annotations

import logging
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np
import pytest

from neurodl.data import Recording, SpikeTrains
from neurodl.exceptions import ConfigError, DataFormatError, MissingDependencyError
from neurodl.io import read
from neurodl.io.spikes import read_nwb, read_nwb_timeseries, read_suite2p

# ============================================================================ synthetic NWB
_SPIKES = [np.array([0.1, 0.5, 0.9]), np.array([0.2]), np.array([0.05, 0.3, 0.31, 0.7])]
_LFP = np.arange(200 * 3, dtype=np.int16).reshape(200, 3)  # (n_times, n_channels) as in NWB
_ROI = np.linspace(0, 1, 50 * 2).reshape(50, 2)


@pytest.fixture(scope="module")
def nwb_file(tmp_path_factory) -> Path:
    """A small NWB file: 3 units, a trials table, an ElectricalSeries, a RoiResponseSeries."""
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.ecephys import ElectricalSeries
    from pynwb.file import Subject
    from pynwb.ophys import Fluorescence, ImageSegmentation, OpticalChannel, RoiResponseSeries

    path = tmp_path_factory.mktemp("nwb") / "synthetic.nwb"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pynwb's own notes while building; not under test
        nwb = NWBFile(
            session_description="test",
            identifier="id-1",
            session_id="7",
            session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc),
            subject=Subject(subject_id="mouse1", species="Mus musculus"),
        )
        device = nwb.create_device("probe")
        group = nwb.create_electrode_group(
            name="shank", description="s", location="CA1", device=device
        )
        for i in range(3):
            nwb.add_electrode(group=group, location=["CA1", "CA1", "V1"][i])
        nwb.add_unit_column("quality", "sorting quality")
        for i, t in enumerate(_SPIKES):
            nwb.add_unit(spike_times=t, quality=["good", "mua", "good"][i], electrodes=[i])
        nwb.add_trial_column("correct", "1 if correct")
        for i in range(4):
            nwb.add_trial(start_time=float(i), stop_time=i + 0.5, correct=i % 2)
        region = nwb.create_electrode_table_region([0, 1, 2], "all")
        nwb.add_acquisition(
            ElectricalSeries(
                name="lfp",
                data=_LFP,
                electrodes=region,
                rate=100.0,
                conversion=1e-6,
                starting_time=2.0,
            )
        )
        nwb.add_acquisition(
            TimeSeries(
                name="irregular", data=np.ones(4), unit="a.u.", timestamps=[0.0, 0.1, 0.5, 0.6]
            )
        )
        mod = nwb.create_processing_module("ophys", "calcium")
        img = nwb.create_device("scope")
        chan = OpticalChannel(name="green", description="g", emission_lambda=510.0)
        plane = nwb.create_imaging_plane(
            name="plane",
            optical_channel=chan,
            description="p",
            device=img,
            excitation_lambda=920.0,
            imaging_rate=30.0,
            indicator="GCaMP",
            location="CA1",
        )
        seg = ImageSegmentation()
        mod.add(seg)
        ps = seg.create_plane_segmentation(name="rois", imaging_plane=plane, description="seg")
        for _ in range(2):
            ps.add_roi(image_mask=np.ones((4, 4)))
        rois = ps.create_roi_table_region("both", region=[0, 1])
        fl = Fluorescence()
        mod.add(fl)
        fl.add_roi_response_series(
            RoiResponseSeries(
                name="dff", data=_ROI, rois=rois, unit="n.a.", timestamps=np.arange(50) / 20.0
            )
        )
        with NWBHDF5IO(str(path), "w") as io:
            io.write(nwb)
    return path


def test_read_nwb_units_and_trials(nwb_file):
    st = read_nwb(nwb_file)
    assert isinstance(st, SpikeTrains) and st.n_units == 3
    for got, want in zip(st.times, _SPIKES):
        np.testing.assert_array_equal(got, want)
    assert st.units["quality"].tolist() == ["good", "mua", "good"]
    assert st.units["electrodes_location"].tolist() == ["CA1", "CA1", "V1"]
    assert st.trials[["start_time", "stop_time"]].to_numpy().tolist() == [
        [0.0, 0.5],
        [1.0, 1.5],
        [2.0, 2.5],
        [3.0, 3.5],
    ]
    assert st.trials["correct"].tolist() == [0, 1, 0, 1]
    assert st.subject == "mouse1" and st.session == "7"
    assert read_nwb(nwb_file, subject="override").subject == "override"
    assert set(st.info["timeseries"]) == {"lfp", "irregular", "dff"}
    assert isinstance(read(nwb_file), SpikeTrains)  # dispatch by suffix


def test_read_nwb_timeseries(nwb_file):
    lfp = read_nwb_timeseries(nwb_file, "lfp")
    assert isinstance(lfp, Recording) and lfp.data.shape == (3, 200)
    np.testing.assert_allclose(lfp.data, _LFP.T * 1e-6)  # transposed, in volts
    assert lfp.sfreq == 100.0 and lfp.info["t0"] == 2.0
    assert lfp.ch_types == ["ephys"] * 3 and lfp.units == ["V"] * 3
    dff = read_nwb_timeseries(nwb_file, "dff")
    np.testing.assert_allclose(dff.data, _ROI.T)
    assert dff.sfreq == pytest.approx(20.0) and dff.ch_types == ["calcium"] * 2
    with pytest.raises(DataFormatError, match=r"several time series.*'dff', 'irregular', 'lfp'"):
        read_nwb_timeseries(nwb_file)
    with pytest.raises(DataFormatError, match=r"no time series 'nope'"):
        read_nwb_timeseries(nwb_file, "nope")
    with pytest.raises(DataFormatError, match=r"'irregular' has irregular timestamps"):
        read_nwb_timeseries(nwb_file, "irregular")


def test_missing_pynwb_says_which_extra(nwb_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynwb", None)  # import pynwb -> ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install neurodl\[nwb\]"):
        read_nwb(nwb_file)


def _truncated(tmp_path, nwb_file):
    data = nwb_file.read_bytes()
    (tmp_path / "truncated.nwb").write_bytes(data[: len(data) // 3])
    (tmp_path / "garbage.nwb").write_bytes(np.random.default_rng(0).bytes(5000))
    (tmp_path / "empty.nwb").write_bytes(b"")
    with h5py.File(tmp_path / "plain.nwb", "w") as f:  # valid HDF5, not NWB
        f["x"] = np.arange(3)


@pytest.mark.parametrize(
    ("fname", "error", "match"),
    [
        ("truncated.nwb", DataFormatError, r"truncated\.nwb: not a readable NWB"),
        ("garbage.nwb", DataFormatError, r"garbage\.nwb: not a readable NWB"),
        ("empty.nwb", DataFormatError, r"empty\.nwb: not a readable NWB"),
        ("plain.nwb", DataFormatError, r"plain\.nwb: .*NWB"),
        ("absent.nwb", FileNotFoundError, r"absent\.nwb: no such file"),
    ],
)
def test_bad_nwb(tmp_path, nwb_file, fname, error, match):
    _truncated(tmp_path, nwb_file)
    before = sorted(p.name for p in tmp_path.iterdir())
    for reader in (read_nwb, read_nwb_timeseries):
        with pytest.raises(error, match=match):
            reader(tmp_path / fname)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# ============================================================================ real NWB
@pytest.mark.realdata
def test_real_nwb_human_mtl(shared_data, caplog):
    path = shared_data("spikes/pynapple_nwb/sub-4_ses-4_ecephys+image.nwb")
    with caplog.at_level(logging.INFO, logger="neurodl"):
        st = read(path)  # pynwb warns about its OpticalSeries: logged, not raised
    assert "OpticalSeries" in caplog.text
    assert "spike_times" not in st.units.columns
    assert st.n_units == 35 and st.n_spikes == 214_278
    with h5py.File(path, "r") as f:  # oracle: the raw ragged arrays
        flat, ends = f["units/spike_times"][:], f["units/spike_times_index"][:]
    np.testing.assert_array_equal(np.concatenate(st.times), flat)
    assert [t.size for t in st.times] == np.diff(np.r_[0, ends]).tolist()
    sizes = st.trials.groupby("table").size().to_dict()
    assert sizes == {
        "encoding_table": 90,
        "recognition_table": 180,
        "timediscrimination_table": 180,
    }
    assert {"RT", "accuracy", "confidence", "start_time", "stop_time"} <= set(st.trials.columns)
    assert (st.trials["stop_time"] >= st.trials["start_time"]).all()
    assert st.trials["frameName"].dropna().map(type).eq(str).all()  # bytes decoded
    assert {"hippocampus_right", "amygdala_right"} <= set(st.units["electrodes_location"])
    assert st.subject == "4"
    with pytest.raises(DataFormatError, match="irregular timestamps"):
        read_nwb_timeseries(path, "events")


@pytest.mark.realdata
def test_real_nwb_phy(shared_data):
    st = read_nwb(shared_data("spikes/pynapple_nwb/A8604-211122_phy.nwb"))
    assert st.n_units == 3 and st.unit_ids == ["6", "191", "206"]
    assert [t.size for t in st.times] == [11020, 4690, 5644]
    assert st.trials is None and list(st.info["intervals"]) == ["epochs"]


_BACKCOMPAT = [
    "1.0.2_nwbfile.nwb",
    "1.0.2_str_experimenter.nwb",
    "1.0.2_str_pub.nwb",
    "1.0.3_nwbfile.nwb",
    "1.0.3_str_experimenter.nwb",
    "1.0.3_str_pub.nwb",
    "1.1.0_nwbfile.nwb",
    "1.1.0_str_experimenter.nwb",
    "1.1.0_str_pub.nwb",
    "1.1.2_nwbfile.nwb",
    "1.1.2_str_experimenter.nwb",
    "1.1.2_str_pub.nwb",
    "1.5.1_imageseries_no_data.nwb",
    "1.5.1_imageseries_no_unit.nwb",
    "1.5.1_timeseries_no_data.nwb",
    "1.5.1_timeseries_no_unit.nwb",
    "2.1.0_imageseries_no_data.nwb",
    "2.1.0_imageseries_non_external_format.nwb",
    "2.1.0_imageseries_nonmatch_starting_frame.nwb",
    "2.1.0_nwbfile_with_extension.nwb",
    "2.2.0_subject_no_age__reference.nwb",
]
#: Files that fail with pynwb 4.2 / hdmf 6.2 (none at present: all 21 open).
_BACKCOMPAT_FAIL: set[str] = set()
#: Files whose single acquisition series reads as a Recording (others: no/empty/3-D data).
_BACKCOMPAT_SERIES = {
    "1.5.1_timeseries_no_unit.nwb": (1, 1),
    "2.1.0_nwbfile_with_extension.nwb": (1, 3),
}


@pytest.mark.realdata
def test_real_nwb_backcompat_folder_is_complete(shared_data):
    folder = shared_data("spikes/pynwb_backcompat_nwb")
    assert sorted(p.name for p in folder.glob("*.nwb")) == _BACKCOMPAT  # 21 files, 1.0.2-2.2.0


@pytest.mark.realdata
@pytest.mark.parametrize("fname", _BACKCOMPAT)
def test_real_nwb_backcompat(shared_data, fname):
    path = shared_data(f"spikes/pynwb_backcompat_nwb/{fname}")
    if fname in _BACKCOMPAT_FAIL:
        with pytest.raises(DataFormatError, match=fname):
            read_nwb(path)
        return
    st = read_nwb(path)
    assert st.n_units == 0 and st.source == str(path)
    for name in st.info["timeseries"]:
        if fname in _BACKCOMPAT_SERIES:
            assert read_nwb_timeseries(path, name).data.shape == _BACKCOMPAT_SERIES[fname]
        else:
            with pytest.raises(DataFormatError, match=fname):
                read_nwb_timeseries(path, name)


# ============================================================================ suite2p
def _suite2p_folder(folder: Path, rng, *, ops_fs: float | None = None) -> dict:
    n_rois, n_frames = 5, 600
    t = np.arange(n_frames)
    drift = 100 + 0.1 * t  # a slow baseline drift, planted
    F = np.tile(drift, (n_rois, 1)) + rng.exponential(1.0, (n_rois, n_frames))
    F[:, ::50] += 80  # sparse transients
    Fneu = 20 + rng.standard_normal((n_rois, n_frames))
    spks = rng.exponential(1.0, (n_rois, n_frames))
    iscell = np.column_stack([[1, 0, 1, 1, 0], [0.9, 0.1, 0.8, 0.7, 0.2]])
    folder.mkdir(parents=True, exist_ok=True)
    for name, arr in (("F", F), ("Fneu", Fneu), ("spks", spks), ("iscell", iscell)):
        np.save(folder / f"{name}.npy", arr.astype(np.float32))
    if ops_fs is not None:
        np.save(folder / "ops.npy", np.array({"fs": ops_fs, "nplanes": 1}, dtype=object))
    return {
        "F": F.astype(np.float32).astype(float),
        "Fneu": Fneu.astype(np.float32).astype(float),
        "spks": spks.astype(np.float32).astype(float),
        "cells": np.array([0, 2, 3]),
    }


def test_suite2p_running_baseline(tmp_path, rng):
    arr = _suite2p_folder(tmp_path / "plane0", rng, ops_fs=10.0)
    rec = read_suite2p(tmp_path / "plane0", baseline_window=6.0, baseline_percentile=10)
    assert rec.sfreq == 10.0 and rec.ch_names == ["roi0000", "roi0002", "roi0003"]
    fc = arr["F"][arr["cells"]] - 0.7 * arr["Fneu"][arr["cells"]]
    # oracle: centered 60-frame window, edges repeated, rank int(p * w / 100) of the sorted window
    w = 60
    padded = np.pad(fc, ((0, 0), (w // 2, w - 1 - w // 2)), mode="edge")
    f0 = np.stack(
        [[np.sort(row[i : i + w])[int(10 * w / 100)] for i in range(fc.shape[1])] for row in padded]
    )
    np.testing.assert_allclose(rec.data, (fc - f0) / f0, rtol=1e-10, atol=1e-12)
    # the running baseline removes the planted drift; one global percentile does not
    glob = read_suite2p(tmp_path / "plane0", baseline_percentile=10)
    first, last = slice(0, 100), slice(-100, None)
    assert abs(np.median(rec.data[:, last]) - np.median(rec.data[:, first])) < 0.02
    assert np.median(glob.data[:, last]) - np.median(glob.data[:, first]) > 0.3
    assert rec.ch_types == ["calcium"] * 3 and rec.units == ["dF/F"] * 3


def test_suite2p_signals_and_fs(tmp_path, rng):
    arr = _suite2p_folder(tmp_path / "p", rng)
    with pytest.raises(DataFormatError, match=r"frame rate is unknown.*pass fs="):
        read_suite2p(tmp_path / "p")
    cells = arr["cells"]
    np.testing.assert_allclose(read_suite2p(tmp_path / "p", fs=5, signal="F").data, arr["F"][cells])
    np.testing.assert_allclose(
        read_suite2p(tmp_path / "p", fs=5, signal="spks").data, arr["spks"][cells]
    )
    fc = read_suite2p(tmp_path / "p", fs=5, signal="Fcorr", neuropil_coef=0.5)
    np.testing.assert_allclose(fc.data, arr["F"][cells] - 0.5 * arr["Fneu"][cells])
    rec = read_suite2p(tmp_path / "p", fs=5, cells_only=False)
    assert rec.n_channels == 5
    np.testing.assert_allclose(rec.info["spks"], arr["spks"])


_BAD_S2P = [
    ({"neuropil_coef": -0.1}, ConfigError, r"neuropil_coef.*got -0\.1"),
    ({"baseline_percentile": 0}, ConfigError, r"baseline_percentile.*\(0, 100\].*got 0"),
    ({"baseline_window": 0}, ConfigError, r"baseline_window.*got 0"),
    ({"signal": "dfof"}, ValueError, r"'signal'.*'dff'.*got 'dfof'"),
    ({"fs": -1}, DataFormatError, r"positive.*got -1"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), _BAD_S2P)
def test_suite2p_bad_parameters(tmp_path, rng, kwargs, error, match):
    _suite2p_folder(tmp_path / "p", rng, ops_fs=10.0)
    with pytest.raises(error, match=match):
        read_suite2p(tmp_path / "p", **kwargs)


def test_suite2p_bad_folders(tmp_path, rng):
    _suite2p_folder(tmp_path / "p", rng)
    (tmp_path / "p" / "iscell.npy").unlink()
    with pytest.raises(DataFormatError, match=r"iscell\.npy is missing; pass cells_only=False"):
        read_suite2p(tmp_path / "p", fs=1)
    (tmp_path / "p" / "spks.npy").unlink()
    with pytest.raises(DataFormatError, match=r"spks\.npy is missing"):
        read_suite2p(tmp_path / "p", fs=1, cells_only=False)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        read_suite2p(tmp_path / "nope", fs=1)


@pytest.mark.realdata
def test_real_suite2p_against_numpy(shared_data):
    folder = shared_data("spikes/pynapple_suite2p_plane0")
    F, Fneu, spks = (np.load(folder / f"{n}.npy").astype(float) for n in ("F", "Fneu", "spks"))
    cells = np.flatnonzero(np.load(folder / "iscell.npy")[:, 0] == 1)
    assert cells.size == 20 and F.shape == (219, 2000)
    fc = F[cells] - 0.7 * Fneu[cells]
    f0 = np.percentile(fc, 8, axis=1, keepdims=True)
    ok = f0[:, 0] > 0  # ROI 210 has F ~ 0: its corrected baseline is negative
    rec = read(folder, fs=30.0)  # dispatch: folder with F.npy -> read_suite2p
    assert rec.n_channels == int(ok.sum()) == 19 and rec.n_times == 2000
    assert rec.info["excluded_rois"].keys() == {210}
    np.testing.assert_array_equal(rec.info["roi_index"], cells[ok])
    np.testing.assert_allclose(rec.data, ((fc - f0) / f0)[ok], rtol=1e-10)
    np.testing.assert_allclose(rec.info["spks"], spks[cells[ok]])
    raw = read_suite2p(folder, fs=30.0, signal="spks")
    assert raw.n_channels == 20
    np.testing.assert_allclose(raw.data, spks[cells])
    assert rec.info["med"].shape == (19, 2)
    with pytest.raises(DataFormatError, match="pass fs="):
        read_suite2p(folder)


class _RunsCode:
    """Pickles to a call of ``os.system``: what a crafted ``ops.npy`` would hold."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("name", ["ops.npy", "stat.npy"])
def test_suite2p_pickles_cannot_run_code(tmp_path, rng, name):
    from neurodl.cli.main import main
    from neurodl.exceptions import DataFormatError

    folder = tmp_path / "plane0"
    _suite2p_folder(folder, rng, ops_fs=10.0)
    marker = tmp_path / "pwned"
    payload = {"fs": 10.0, "evil": _RunsCode(marker)} if name == "ops.npy" else None
    if payload is None:  # stat.npy: one dict per ROI, the first one crafted
        payload = [{"med": (1, 2), "evil": _RunsCode(marker)}] + [{"med": (i, i)} for i in range(4)]
        np.save(folder / name, np.array(payload, dtype=object), allow_pickle=True)
    else:
        np.save(folder / name, np.array(payload, dtype=object), allow_pickle=True)
    with pytest.raises(DataFormatError, match=r"refusing to unpickle posix\.system"):
        read_suite2p(folder, fs=10.0)
    assert main(["-q", "info", str(folder)]) == 1
    assert not marker.exists()


def test_suite2p_plain_object_arrays_still_read(tmp_path, rng):
    folder = tmp_path / "plane0"
    _suite2p_folder(folder, rng, ops_fs=12.5)
    stat = [{"med": np.array([i, 2 * i]), "npix": np.int64(10 + i), "lam": np.ones(3)} for i in range(5)]
    np.save(folder / "stat.npy", np.array(stat, dtype=object), allow_pickle=True)
    rec = read_suite2p(folder)
    assert rec.sfreq == pytest.approx(12.5)  # fs read from the dict in ops.npy
    np.testing.assert_array_equal(rec.info["med"], [[0, 0], [2, 4], [3, 6]])  # cells 0, 2, 3
