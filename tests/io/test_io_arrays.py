"""Tests of neurodl.io.arrays.read_array: synthetic round trips, real files, bad input."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.io

from neurodl.data import EpochsDataset, Recording
from neurodl.exceptions import ConfigError, DataFormatError
from neurodl.io import read
from neurodl.io.arrays import AXIS_ORDERS, read_array

# canonical shapes: Recording (n_channels, n_times); epochs (n_epochs, n_channels, n_times)
# or (n_epochs, n_features)
_CANONICAL = {"recording": (3, 50), "epochs3": (4, 3, 20), "epochs2": (6, 5)}


def _canonical(axis_order: str, rng: np.random.Generator) -> np.ndarray:
    ndim, _, container = AXIS_ORDERS[axis_order]
    shape = _CANONICAL["recording" if container == "recording" else f"epochs{ndim}"]
    return rng.standard_normal(shape)


def _stored(canonical: np.ndarray, axis_order: str) -> np.ndarray:
    """The array as written on disk: canonical permuted back to ``axis_order``."""
    perm = AXIS_ORDERS[axis_order][1]
    return np.ascontiguousarray(np.transpose(canonical, np.argsort(perm)))


def _write_mat73(path, variables: dict[str, np.ndarray]) -> None:
    """Write a minimal MATLAB v7.3 file (HDF5 with the 512-byte MATLAB header)."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, arr in variables.items():
            # MATLAB stores column-major: the HDF5 dataset holds the transpose.
            ds = f.create_dataset(name, data=np.asarray(arr, dtype=float).T)
            ds.attrs["MATLAB_class"] = np.bytes_("double")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by neurodl tests HDF5 schema 1.00 ."
    header = header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02IM"
    with open(path, "r+b") as fh:
        fh.write(header)


def _write(path, arr: np.ndarray, fmt: str, extra: dict | None = None) -> None:
    extra = extra or {}
    if fmt == "npy":
        np.save(path, arr)
    elif fmt == "npz":
        np.savez(path, data=arr, **extra)
    elif fmt == "mat":
        scipy.io.savemat(path, {"data": arr, **extra})
    elif fmt == "mat73":
        _write_mat73(path, {"data": arr, **extra})
    elif fmt == "csv":
        np.savetxt(path, arr, delimiter=",")
    elif fmt == "txt":
        np.savetxt(path, arr)


_SUFFIX = {
    "npy": ".npy",
    "npz": ".npz",
    "mat": ".mat",
    "mat73": ".mat",
    "csv": ".csv",
    "txt": ".txt",
}
_CASES = [
    (fmt, order)
    for fmt in _SUFFIX
    for order in AXIS_ORDERS
    if not (fmt in ("csv", "txt") and AXIS_ORDERS[order][0] == 3)
]


@pytest.mark.parametrize(("fmt", "axis_order"), _CASES)
def test_round_trip_every_format_and_axis_order(tmp_path, rng, fmt, axis_order):
    canonical = _canonical(axis_order, rng)
    path = tmp_path / f"x{_SUFFIX[fmt]}"
    _write(path, _stored(canonical, axis_order), fmt)
    before = sorted(p.name for p in tmp_path.iterdir())
    out = read_array(path, sfreq=100.0, axis_order=axis_order, subject="s1")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written next to it
    if AXIS_ORDERS[axis_order][2] == "recording":
        assert isinstance(out, Recording)
        np.testing.assert_allclose(out.data, canonical, rtol=1e-12, atol=1e-12)
        assert out.sfreq == 100.0 and out.subject == "s1"
    else:
        assert isinstance(out, EpochsDataset)
        np.testing.assert_allclose(out.X, canonical, rtol=1e-12, atol=1e-12)
        assert set(out.metadata["subject"]) == {"s1"}


def test_mat73_is_read_through_hdf5(tmp_path, rng):
    data = rng.standard_normal((2, 30))
    path = tmp_path / "v73.mat"
    _write_mat73(path, {"eeg": data, "fs": np.array([[250.0]])})
    with pytest.raises(NotImplementedError):  # scipy alone refuses: the HDF5 path is exercised
        scipy.io.loadmat(path)
    rec = read_array(path)
    np.testing.assert_allclose(rec.data, data)
    assert rec.sfreq == 250.0 and rec.info["key"] == "eeg"


@pytest.mark.parametrize("fmt", ["npz", "mat"])
def test_labels_and_sfreq_from_file(tmp_path, rng, fmt):
    X = rng.standard_normal((5, 2, 8))
    y = np.array([1, 2, 1, 3, 2])
    path = tmp_path / f"ep{_SUFFIX[fmt]}"
    _write(path, X, fmt, {"target": y, "srate": np.array(64.0)})
    ds = read_array(path, axis_order="epochs_channels_times", key="data", label_key="target")
    np.testing.assert_array_equal(ds.y, y)
    assert ds.sfreq == 64.0 and ds.classes is None
    ds2 = read_array(
        path,
        axis_order="epochs_channels_times",
        key="data",
        labels=["b", "a", "b", "c", "a"],
        ch_names=["x", "y"],
    )
    assert ds2.classes == ["a", "b", "c"]
    np.testing.assert_array_equal(ds2.y, [1, 0, 1, 2, 0])
    assert ds2.ch_names == ["x", "y"]


def test_csv_header_names_and_time_column(tmp_path, rng):
    data = rng.standard_normal((40, 3))
    times = 10.0 + np.arange(40) / 500.0
    path = tmp_path / "table.csv"
    pd.DataFrame({"timestamp": times, "Cz": data[:, 0], "Pz": data[:, 1], "Oz": data[:, 2]}).to_csv(
        path, index=False
    )
    rec = read_array(path)  # text default: one column per channel
    assert rec.ch_names == ["Cz", "Pz", "Oz"]
    assert rec.sfreq == pytest.approx(500.0) and rec.info["t0"] == pytest.approx(10.0)
    np.testing.assert_allclose(rec.data, data.T)
    # an explicit sfreq wins; a header without a time column keeps every column
    path2 = tmp_path / "t2.csv"
    pd.DataFrame(data, columns=["a", "b", "c"]).to_csv(path2, index=False)
    rec2 = read_array(path2, sfreq=100.0, ch_names=["A", "B", "C"])
    assert rec2.ch_names == ["A", "B", "C"] and rec2.sfreq == 100.0


def test_irregular_time_column_needs_sfreq(tmp_path):
    path = tmp_path / "irr.csv"
    pd.DataFrame({"time": [0.0, 0.1, 0.5, 0.6], "a": [1.0, 2, 3, 4]}).to_csv(path, index=False)
    with pytest.raises(DataFormatError, match="not regularly sampled"):
        read_array(path)
    assert read_array(path, sfreq=10.0).n_times == 4


def test_dispatch_through_read(tmp_path, rng):
    for suffix in (".npy", ".npz", ".mat", ".csv", ".txt"):
        path = tmp_path / f"d{suffix}"
        _write(path, rng.standard_normal((20, 2)), suffix[1:])
        out = read(path, sfreq=10.0, axis_order="times_channels")
        assert isinstance(out, Recording) and out.data.shape == (2, 20)


# ---------------------------------------------------------------------------- bad input
def _bad_files(tmp_path):
    (tmp_path / "garbage.mat").write_bytes(b"this is not a MAT file at all" * 10)
    np.savez(tmp_path / "two.npz", a=np.zeros((2, 5)), b=np.ones((3, 5)))
    np.save(tmp_path / "one_d.npy", np.arange(10.0))
    x = np.ones((2, 10))
    x[1, 3] = np.nan
    np.save(tmp_path / "nan.npy", x)
    np.save(tmp_path / "ok.npy", np.ones((2, 10)))
    np.save(tmp_path / "ep.npy", np.ones((4, 2, 10)))
    np.savez(tmp_path / "ep.npz", data=np.ones((4, 2, 10)), y=np.arange(4))
    (tmp_path / "words.csv").write_text("a,b\n1,x\n2,y\n")
    (tmp_path / "x.xyz").write_text("1 2 3")


_BAD = [
    ("garbage.mat", {"sfreq": 1.0}, DataFormatError, r"garbage\.mat.*not a readable MATLAB"),
    (
        "two.npz",
        {"sfreq": 1.0, "key": "nope"},
        DataFormatError,
        r"no variable 'nope'.*\['a', 'b'\]",
    ),
    ("two.npz", {"sfreq": 1.0}, DataFormatError, r"several arrays.*key=.*a \(2, 5\), b \(3, 5\)"),
    (
        "one_d.npy",
        {"sfreq": 1.0, "axis_order": "epochs_features"},
        DataFormatError,
        r"shape \(10,\) \(1-D\)",
    ),
    ("nan.npy", {"sfreq": 1.0}, DataFormatError, r"1 NaN/inf"),
    (
        "ok.npy",
        {"sfreq": 1.0, "axis_order": "chan_time"},
        ValueError,
        r"'axis_order'.*'channels_times'.*'epochs_times_channels'.*got 'chan_time'",
    ),
    ("ok.npy", {}, DataFormatError, r"sampling rate unknown; pass sfreq="),
    ("ok.npy", {"sfreq": 0}, DataFormatError, r"positive.*got 0"),
    ("ok.npy", {"sfreq": -5.0}, DataFormatError, r"positive.*got -5"),
    ("ok.npy", {"sfreq": 1.0, "key": "data"}, ConfigError, r"'key'.*got key='data'"),
    ("ok.npy", {"sfreq": 1.0, "labels": [0, 1]}, ConfigError, r"labels.*epochs layouts"),
    ("ok.npy", {"sfreq": 1.0, "ch_names": ["a"]}, DataFormatError, r"ch_names has 1 entries.*2"),
    ("ep.npy", {"sfreq": 1.0}, DataFormatError, r"3-D.*expects a 2-D.*'epochs_channels_times'"),
    (
        "ep.npy",
        {"axis_order": "epochs_channels_times", "labels": [0, 1, 0]},
        DataFormatError,
        r"3 labels for 4 epochs",
    ),
    (
        "ep.npz",
        {"axis_order": "epochs_channels_times", "labels": [0] * 4, "label_key": "y"},
        ConfigError,
        r"either 'labels' or 'label_key'",
    ),
    (
        "ep.npz",
        {"axis_order": "epochs_channels_times", "label_key": "lab"},
        DataFormatError,
        r"no variable 'lab' \(parameter 'label_key'\)",
    ),
    (
        "ep.npy",
        {"axis_order": "epochs_channels_times", "label_key": "y"},
        ConfigError,
        r"'label_key' names a variable in \.mat/\.npz",
    ),
    ("words.csv", {"sfreq": 1.0}, DataFormatError, r"non-numeric column\(s\): \['b'\]"),
    ("x.xyz", {"sfreq": 1.0}, DataFormatError, r"unsupported file type '\.xyz'"),
    ("missing.npy", {"sfreq": 1.0}, FileNotFoundError, r"no such file"),
]


@pytest.mark.parametrize(("fname", "kwargs", "error", "match"), _BAD)
def test_bad_input(tmp_path, fname, kwargs, error, match):
    _bad_files(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(error, match=match):
        read_array(tmp_path / fname, **kwargs)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# ---------------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_real_centuri_center_out(shared_data):
    path = shared_data("spikes/centuri_hatsopoulos_centerout/Dataset1.mat")
    ds = read_array(path, axis_order="features_epochs", label_key="direction")
    oracle = scipy.io.loadmat(path)
    assert ds.X.shape == (158, 143)  # 158 trials x 143 neurons
    np.testing.assert_array_equal(ds.X, oracle["R"].T)
    assert sorted(np.unique(ds.y)) == list(range(1, 9))
    np.testing.assert_array_equal(ds.y, oracle["direction"].ravel())


@pytest.mark.realdata
def test_real_tu2020_calcium(shared_data):
    path = shared_data("spikes/tu2020_ca1_calcium_position/Raw_DF_F_Two_Photon.mat")
    rec = read(path, sfreq=1.0)
    assert rec.data.shape == (79, 420) and rec.info["key"] == "RawDF_F"
    np.testing.assert_array_equal(rec.data, scipy.io.loadmat(path)["RawDF_F"])


@pytest.mark.realdata
def test_real_dad_reaching(shared_data):
    path = shared_data("spikes/dad_reaching_mihi_chewie/chewie_demo.mat")
    with pytest.raises(DataFormatError, match=r"Available keys:.*Ytr \(1200, 71\)"):
        read_array(path, sfreq=10.0, axis_order="times_channels")
    rec = read_array(path, key="Ytr", sfreq=10.0, axis_order="times_channels")
    oracle = scipy.io.loadmat(path)
    assert rec.data.shape == (71, 1200)
    np.testing.assert_array_equal(rec.data, oracle["Ytr"].T)
    mihi = read_array(
        path.with_name("mihi_demo.mat"), key="Yte", sfreq=10.0, axis_order="times_channels"
    )
    assert mihi.data.shape == (187, 803)


@pytest.mark.realdata
def test_real_nlb_csv(shared_data):
    path = shared_data("spikes/nlb_mc_maze_trials_hisde/trial_748_data.csv")
    rec = read(path)
    oracle = pd.read_csv(path)
    units = [c for c in rec.ch_names if c.startswith("unit_")]
    assert len(units) == 182 and rec.n_times == 3236
    assert rec.sfreq == pytest.approx(1000.0)  # 1 ms rows, from the timestamp column
    assert "timestamp" not in rec.ch_names and rec.info["t0"] == pytest.approx(2282.6)
    spikes = rec.pick(units).data
    np.testing.assert_array_equal(spikes, oracle[units].to_numpy().T)
    assert set(np.unique(spikes)) <= {0.0, 1.0}


def test_one_d_array_is_one_channel(tmp_path):
    sig = np.sin(np.arange(500) / 10.0)
    np.save(tmp_path / "lfp.npy", sig)
    rec = read_array(tmp_path / "lfp.npy", sfreq=1000.0)
    assert rec.data.shape == (1, 500)
    np.testing.assert_allclose(rec.data[0], sig)


@pytest.mark.realdata
def test_neurodsp_lfp_reads_as_one_channel(shared_data):
    path = shared_data("spikes/neurodsp_lfp/sample_data_1.npy")
    rec = read_array(path, sfreq=1000.0)
    raw = np.load(path)
    assert rec.data.shape == (1, raw.size)
    np.testing.assert_allclose(rec.data[0], raw)
