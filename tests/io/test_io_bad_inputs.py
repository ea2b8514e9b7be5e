"""Regression tests of issue 18: corrupt headers, truncation, bad values -> one clear error.

Each case is a real fixture damaged the way a probe found a defect: declared sizes beyond the
file (refused before allocating), silent truncation or misalignment, NaN/inf and complex values,
impossible sampling rates and simulation sizes.
"""

from __future__ import annotations

import gzip
import re
import resource
import shutil
import struct

import nibabel as nib
import numpy as np
import pytest
import yaml

from neurodl.cli.main import main
from neurodl.data.simulate import simulate_motor_imagery
from neurodl.datasets.bonn import _read_bonn_segment
from neurodl.exceptions import ConfigError, DataFormatError
from neurodl.io.arrays import read_array
from neurodl.io.eeg import read_raw
from neurodl.io.fmri import read_nifti

SUBSET = "eeg/mne_testing_subset"
NIB = "fmri/nibabel_testdata"


@pytest.fixture
def memory_cap():
    """Cap the address space at 3 GiB: a reader that trusts a header fails loudly, not slowly."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, hard))
    yield
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# ---------------------------------------------------------------------------- EEG (MNE)
@pytest.mark.realdata
def test_gdf_declaring_1e12_records_is_refused_before_allocating(shared_data, tmp_path, memory_cap):
    data = bytearray(shared_data(f"{SUBSET}/GDF/test_1ch.gdf").read_bytes())
    assert data[:8] == b"GDF 2.10"
    data[236:244] = struct.pack("<q", 10**12)  # number of data records
    path = tmp_path / "huge.gdf"
    path.write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match=r"declares 1000000000000 samples x 1 channels"):
        read_raw(path)


@pytest.mark.realdata
def test_eeglab_declaring_1e9_points_is_refused_before_allocating(
    shared_data, tmp_path, memory_cap
):
    import scipy.io

    src = shared_data(f"{SUBSET}/EEGLAB/test_raw.set")
    mat = scipy.io.loadmat(src, squeeze_me=False, appendmat=False)
    mat["EEG"]["pnts"][0, 0] = np.array([[1e9]])
    scipy.io.savemat(tmp_path / "test_raw.set", {"EEG": mat["EEG"]}, appendmat=False)
    shutil.copy(src.with_suffix(".fdt"), tmp_path / "test_raw.fdt")
    with pytest.raises(DataFormatError, match=r"declares 1000000000 samples x 32 channels"):
        read_raw(tmp_path / "test_raw.set")


def _brainvision(shared_data, tmp_path):
    for ext in ("eeg", "vmrk", "vhdr"):
        shutil.copy(shared_data(f"{SUBSET}/Brainvision/test_NO.{ext}"), tmp_path / f"t.{ext}")
    header = (tmp_path / "t.vhdr").read_text(encoding="utf-8")
    header = header.replace("test_NO.eeg", "t.eeg").replace("test_NO.vmrk", "t.vmrk")
    (tmp_path / "t.vhdr").write_text(header, encoding="utf-8")
    return tmp_path / "t.vhdr"


@pytest.mark.realdata
def test_brainvision_cut_by_3_bytes_is_an_error(shared_data, tmp_path):
    vhdr = _brainvision(shared_data, tmp_path)
    full = read_raw(vhdr)
    assert full.data.shape == (65, 2238)
    eeg = tmp_path / "t.eeg"
    eeg.write_bytes(eeg.read_bytes()[:-3])
    with pytest.raises(DataFormatError, match=r"not a whole number of 260-byte frames.*truncated"):
        read_raw(vhdr)


@pytest.mark.realdata
@pytest.mark.parametrize("declared", [64, 66])
def test_brainvision_wrong_number_of_channels_is_an_error(shared_data, tmp_path, declared):
    vhdr = _brainvision(shared_data, tmp_path)
    text = vhdr.read_text(encoding="utf-8").replace(
        "NumberOfChannels=65", f"NumberOfChannels={declared}"
    )
    vhdr.write_text(text, encoding="utf-8")
    with pytest.raises(
        DataFormatError, match=r"NumberOfChannels is wrong|missing entries at indices \[65\]"
    ):
        read_raw(vhdr)


@pytest.mark.realdata
def test_brainvision_markers_beyond_the_data_mean_truncation(shared_data, tmp_path):
    vhdr = _brainvision(shared_data, tmp_path)
    eeg = tmp_path / "t.eeg"
    eeg.write_bytes(eeg.read_bytes()[: 1000 * 260])  # frame-aligned cut: 1000 of 2238 samples
    with (tmp_path / "t.vmrk").open("a", encoding="utf-8") as fh:
        fh.write("Mk2=Stimulus,S  1,2000,1,0\n")
    with pytest.raises(DataFormatError, match=r"annotations lie beyond the end of the data"):
        read_raw(vhdr)


@pytest.mark.realdata
def test_truncated_edf_inside_bids_is_an_error(shared_data, tmp_path):
    import warnings

    import mne
    import mne_bids

    from neurodl.io.bids import read_bids

    raw = mne.io.read_raw_edf(
        shared_data(f"{SUBSET}/EDF/test_reduced.edf"), preload=True, verbose="error"
    )
    raw.pick(raw.ch_names[:4]).crop(0, 5, include_tmax=False)
    path = mne_bids.BIDSPath(subject="01", task="rest", root=tmp_path, datatype="eeg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mne-bids' conversion notes (test setup)
        mne_bids.write_raw_bids(raw, path, allow_preload=True, format="EDF", verbose=False)
    assert read_bids(tmp_path, datatype="eeg")[0].data.shape[1] == 5 * int(raw.info["sfreq"])
    edf = next(tmp_path.rglob("*_eeg.edf"))
    edf.write_bytes(edf.read_bytes()[: -edf.stat().st_size // 2])
    with pytest.raises(DataFormatError, match=r"truncated"):
        read_bids(tmp_path, datatype="eeg")
    with pytest.raises(DataFormatError, match=r"truncated"):  # the same file read directly
        read_raw(edf)


# ---------------------------------------------------------------------------- NIfTI
def _nifti_bytes(shared_data, name="reoriented_anat_moved.nii"):
    return bytearray(shared_data(f"{NIB}/{name}").read_bytes())


def _endian(data: bytearray) -> str:
    return "<" if struct.unpack("<i", data[:4])[0] == 348 else ">"


@pytest.mark.realdata
def test_nifti_bad_datatype_code_is_a_data_format_error(shared_data, tmp_path):
    data = _nifti_bytes(shared_data)
    data[70:72] = struct.pack(_endian(data) + "h", 9999)
    (tmp_path / "a.nii").write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match=r"a\.nii: corrupt .*HeaderDataError"):
        read_nifti(tmp_path / "a.nii")


@pytest.mark.realdata
def test_nifti_negative_dimension_is_a_data_format_error(shared_data, tmp_path):
    data = _nifti_bytes(shared_data)
    data[42:44] = struct.pack(_endian(data) + "h", -5)
    (tmp_path / "b.nii").write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match=r"b\.nii: corrupt image header"):
        read_nifti(tmp_path / "b.nii")


@pytest.mark.realdata
@pytest.mark.parametrize("compressed", [False, True])
def test_nifti_declaring_more_than_the_file_holds_is_refused(
    shared_data, tmp_path, memory_cap, compressed
):
    data = bytearray(gzip.decompress(shared_data(f"{NIB}/example4d.nii.gz").read_bytes()))
    data[48:50] = struct.pack(_endian(data) + "h", 30000)  # dim[4]: 2 -> 30000 volumes
    path = tmp_path / ("c.nii.gz" if compressed else "c.nii")
    path.write_bytes(gzip.compress(bytes(data)) if compressed else bytes(data))
    with pytest.raises(DataFormatError, match=r"declares \(128, 96, 24, 30000\) voxels"):
        read_nifti(path)


def _float_image(tmp_path, values, **header):
    img = nib.Nifti1Image(values.astype(np.float32), np.eye(4))
    for key, value in header.items():
        img.header[key] = value
    path = tmp_path / "f.nii"
    nib.save(img, path)
    return path


def test_nifti_nan_and_inf_voxels_are_refused_or_zeroed_on_request(tmp_path):
    values = np.ones((4, 4, 4, 3))
    values[0, 0, 0, 1], values[1, 1, 1, 2] = np.nan, np.inf
    path = _float_image(tmp_path, values)
    with pytest.raises(DataFormatError, match=r"f\.nii: 2 NaN/inf voxel values; pass nonfinite="):
        read_nifti(path, tr=2.0)
    vs = read_nifti(path, tr=2.0, nonfinite="zero")
    assert vs.info["n_nonfinite_zeroed"] == 2 and np.isfinite(vs.data).all()
    assert vs.data[0, 0, 0, 1] == 0 and vs.data.sum() == values.size - 2
    mask = np.ones((4, 4, 4), bool)
    mask[0, 0, 0] = mask[1, 1, 1] = False
    assert read_nifti(path, tr=2.0, mask=mask).data.shape == (62, 3)  # NaN outside the mask
    with pytest.raises(ValueError, match=r"'nonfinite'. Allowed: 'raise', 'zero'; got 'keep'"):
        read_nifti(path, tr=2.0, nonfinite="keep")


@pytest.mark.parametrize(("slope", "inter"), [(np.nan, 0.0), (np.inf, 0.0), (1.0, np.inf)])
def test_nifti_invalid_intensity_scaling_is_refused(tmp_path, slope, inter):
    img = nib.Nifti1Image(np.arange(64, dtype=np.int16).reshape(4, 4, 4), np.eye(4))
    path = tmp_path / "s.nii"
    nib.save(img, path)
    data = bytearray(path.read_bytes())
    data[112:120] = struct.pack("<ff", slope, inter)
    path.write_bytes(bytes(data))
    with pytest.raises(
        DataFormatError, match=r"invalid intensity scaling scl_slope=|invalid intercept inf"
    ):
        read_nifti(path)


def test_nifti_unset_scaling_nan_nan_reads_raw_values(tmp_path):
    path = _float_image(tmp_path, np.arange(64.0).reshape(4, 4, 4))  # nibabel writes NaN/NaN
    assert np.isnan(nib.load(path).header["scl_slope"])
    np.testing.assert_array_equal(read_nifti(path).data[..., 0], np.arange(64.0).reshape(4, 4, 4))


# ---------------------------------------------------------------------------- arrays / text
@pytest.mark.parametrize("suffix", [".npy", ".mat"])
def test_complex_arrays_are_refused(tmp_path, suffix):
    import scipy.io

    values = np.ones((4, 100)) * (1 + 2j)
    path = tmp_path / f"c{suffix}"
    np.save(path, values) if suffix == ".npy" else scipy.io.savemat(path, {"data": values})
    with pytest.raises(DataFormatError, match=r"holds complex values.*np\.real"):
        read_array(path, sfreq=100.0)


def test_absurd_sampling_rates_are_refused(tmp_path):
    import scipy.io

    np.save(tmp_path / "x.npy", np.ones((4, 100)))
    with pytest.raises(DataFormatError, match=r"at most 1e\+06 Hz \(.*x\.npy\); got 1e\+300"):
        read_array(tmp_path / "x.npy", sfreq=1e300)
    scipy.io.savemat(tmp_path / "x.mat", {"data": np.ones((4, 100)), "fs": 1e300})
    with pytest.raises(DataFormatError, match=r"at most 1e\+06 Hz"):
        read_array(tmp_path / "x.mat")
    assert read_array(tmp_path / "x.npy", sfreq=30_000.0).sfreq == 30_000.0  # spikes: fine


def test_wide_csv_is_parsed_fast_and_equal_to_the_narrow_path(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(3, 5000)).round(4)
    path = tmp_path / "wide.csv"
    header = ",".join(f"c{i}" for i in range(5000))
    path.write_text(header + "\n" + "\n".join(",".join(map(str, row)) for row in values) + "\n")
    ds = read_array(path, axis_order="epochs_features")
    np.testing.assert_array_equal(ds.X, values)
    assert ds.ch_names[:2] == ["c0", "c1"]
    one_row = tmp_path / "row.csv"
    one_row.write_text(",".join(["1.5"] * 200_000) + "\n")  # issue: 2 M columns took 209 s
    rec = read_array(one_row, sfreq=100.0, axis_order="channels_times")
    assert rec.data.shape == (1, 200_000)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(",".join(["1"] * 2000) + "\n" + ",".join(["1"] * 1999) + "\n")
    with pytest.raises(DataFormatError, match=r"ragged\.csv: not a rectangular numeric"):
        read_array(ragged, sfreq=10.0)


@pytest.mark.parametrize(
    ("content", "line"), [("1\n2\n\n3\n", 3), ("1\r\n \r\n2\r\n", 2), ("t,a\n0,1\n\n1,2\n", 3)]
)
def test_blank_line_in_text_data_is_an_error(tmp_path, content, line):
    path = tmp_path / "x.csv"
    path.write_text(content, newline="")
    with pytest.raises(DataFormatError, match=rf"x\.csv: line {line} is blank"):
        read_array(path, sfreq=10.0)


def test_trailing_blank_lines_are_fine(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("1\n2\n3\n\n\n")
    assert read_array(path, sfreq=10.0).data.shape == (1, 3)


@pytest.mark.realdata
def test_bonn_segment_with_a_blank_line_or_nan_is_an_error(shared_data, tmp_path):
    src = shared_data("eeg/bonn/A_Z/Z001.txt")
    lines = src.read_bytes().split(b"\r\n")
    assert _read_bonn_segment(src).size == 4097
    blank = tmp_path / "Z001.txt"
    blank.write_bytes(b"\r\n".join([*lines[:10], b"", *lines[11:]]))
    with pytest.raises(DataFormatError, match=r"Z001\.txt: line 11 is blank"):
        _read_bonn_segment(blank)
    blank.write_bytes(b"\r\n".join([*lines[:10], b"nan", *lines[11:]]))
    with pytest.raises(DataFormatError, match=r"Z001\.txt: 1 NaN/inf values"):
        _read_bonn_segment(blank)


# ---------------------------------------------------------------------------- simulators
def test_simulator_sizes_are_bounded():
    with pytest.raises(ConfigError, match=r"'n_trials'. Allowed: an int >= 2 and <= 1000000"):
        simulate_motor_imagery(n_trials=1_000_000_000)
    with pytest.raises(ConfigError, match=r"Invalid simulation size for motor_imagery: .*"):
        simulate_motor_imagery(n_subjects=1000, n_trials=100_000)


def test_config_with_a_billion_trials_is_one_cli_line(tmp_path, capsys):
    cfg = {
        "name": "huge",
        "data": {"source": "simulate", "simulator": "motor_imagery"},
        "model": {"name": "lda"},
    }
    cfg["data"]["params"] = {"n_trials": 1_000_000_000}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["-q", "run", str(path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(r"'n_trials'.*got 1000000000", err[0]), err
    assert not (tmp_path / "out").exists()


def test_unknown_reader_parameter_is_a_config_error(tmp_path):
    from neurodl.io import read

    np.save(tmp_path / "x.npy", np.ones((3, 50)))
    with pytest.raises(ConfigError, match=r"Invalid reader parameter\(s\) 'bogus' for x\.npy"):
        read(tmp_path / "x.npy", sfreq=10.0, bogus=1)
    assert read(tmp_path / "x.npy", sfreq=10.0).data.shape == (3, 50)
