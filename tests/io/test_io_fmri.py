"""fMRI readers: NIfTI fixtures, TR policy, masks, volumes_to_dataset, bad input.

The Haxby dataset reader is tested in tests/datasets/test_datasets_haxby.py.
"""

from __future__ import annotations

import gzip
import logging

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neurodl.data import VolumeSeries
from neurodl.exceptions import DataFormatError
from neurodl.io import read
from neurodl.io.fmri import read_nifti, volumes_to_dataset

NIB = "fmri/nibabel_testdata"


def _write(tmp_path, data, *, name="img.nii.gz", zooms=None, units=("mm", "sec"), affine=None):
    affine = np.diag([2.0, 3.0, 4.0, 1.0]) if affine is None else affine
    img = nib.Nifti1Image(np.asarray(data), affine)
    img.header.set_xyzt_units(*units)
    if zooms is not None:
        img.header.set_zooms(zooms)
    path = tmp_path / name
    nib.save(img, path)
    return path


# ---------------------------------------------------------------------------- synthetic
def test_read_4d_planted_values_and_tr(tmp_path, rng):
    data = rng.normal(size=(3, 4, 5, 6)).astype(np.float32)
    path = _write(tmp_path, data, zooms=(2.0, 3.0, 4.0, 1.5))
    vs = read_nifti(path, subject="07", run=2)
    assert isinstance(vs, VolumeSeries)
    np.testing.assert_array_equal(vs.data, data)
    assert vs.tr == pytest.approx(1.5)
    np.testing.assert_allclose(vs.affine, np.diag([2.0, 3.0, 4.0, 1.0]))
    assert (vs.subject, vs.run, vs.source) == ("07", "2", str(path))
    assert vs.info["tr_source"].startswith("header")


@pytest.mark.parametrize(
    ("units", "pixdim4", "expected"),
    [
        ("sec", 2.0, 2.0),
        ("msec", 2000.0, 2.0),
        ("usec", 2.5e6, 2.5),
        ("unknown", 0.8, 0.8),
        ("sec", 2000.0, 2.0),
    ],  # last: implausible "seconds" read as ms
)
def test_tr_units_honoured(tmp_path, units, pixdim4, expected):
    path = _write(
        tmp_path, np.zeros((2, 2, 2, 3), np.float32), zooms=(1, 1, 1, pixdim4), units=("mm", units)
    )
    assert read_nifti(path).tr == pytest.approx(expected)


def test_tr_argument_overrides_header(tmp_path):
    path = _write(tmp_path, np.zeros((2, 2, 2, 3), np.float32), zooms=(1, 1, 1, 2.0))
    vs = read_nifti(path, tr=0.72)
    assert vs.tr == pytest.approx(0.72)
    assert vs.info["tr_source"] == "argument"


def test_4d_without_tr_raises_but_3d_gets_nominal_tr(tmp_path):
    path4 = _write(tmp_path, np.zeros((2, 2, 2, 3), np.float32), zooms=(1, 1, 1, 0.0))
    with pytest.raises(DataFormatError, match=r"no valid repetition time.*pass tr="):
        read_nifti(path4)
    assert read_nifti(path4, tr=2.0).tr == 2.0
    data3 = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    vs = read_nifti(_write(tmp_path, data3, name="a.nii"))
    assert vs.data.shape == (2, 3, 4, 1) and vs.n_volumes == 1
    np.testing.assert_array_equal(vs.data[..., 0], data3)
    assert vs.info["tr_source"] == "nominal"


@pytest.mark.parametrize("as_path", [True, False])
def test_mask_path_or_array(tmp_path, rng, as_path):
    data = rng.normal(size=(3, 4, 5, 6)).astype(np.float32)
    path = _write(tmp_path, data, zooms=(2.0, 3.0, 4.0, 2.0))
    mask = np.zeros((3, 4, 5), bool)
    mask[1, 2, :] = True
    mask[0, 0, 0] = True
    arg = _write(tmp_path, mask.astype(np.uint8), name="mask.nii.gz") if as_path else mask
    vs = read_nifti(path, mask=arg)
    assert vs.is_masked and vs.data.shape == (6, 6)
    np.testing.assert_array_equal(vs.data, data[mask])
    np.testing.assert_array_equal(vs.unmask(vs.data)[mask], data[mask])


@pytest.mark.parametrize("masked", [False, True])
def test_round_trip_to_nifti(tmp_path, rng, masked):
    data = rng.normal(size=(4, 3, 2, 5)).astype(np.float32)
    affine = np.array([[-3.0, 0, 0, 10], [0, 2.0, 0, -5], [0, 0, 2.5, 1], [0, 0, 0, 1]])
    mask = np.zeros((4, 3, 2), bool)
    mask[:2] = True
    vs = VolumeSeries(data, 1.25, affine, mask=mask if masked else None)
    if masked:
        vs = vs.apply_mask()
    out = tmp_path / "rt.nii.gz"
    nib.save(vs.to_nifti(), out)
    back = read_nifti(out, mask=mask if masked else None)
    np.testing.assert_array_equal(back.data, vs.data)
    np.testing.assert_allclose(back.affine, affine)
    assert back.tr == pytest.approx(1.25)


def test_events_table_from_frame_and_tsv(tmp_path):
    path = _write(tmp_path, np.zeros((2, 2, 2, 4), np.float32), zooms=(1, 1, 1, 2.0))
    ev = pd.DataFrame({"onset": [0.0, 4.0], "duration": [2.0, 2.0], "trial_type": ["a", "b"]})
    assert read_nifti(path, events=ev).events.equals(ev)
    tsv = tmp_path / "ev.tsv"
    ev.to_csv(tsv, sep="\t", index=False)
    pd.testing.assert_frame_equal(read_nifti(path, events=tsv).events, ev)


def test_io_read_dispatches_nifti(tmp_path):
    data = np.ones((2, 2, 2, 3), np.float32)
    path = _write(tmp_path, data, zooms=(1, 1, 1, 2.0))
    vs = read(path)
    assert isinstance(vs, VolumeSeries)
    np.testing.assert_array_equal(vs.data, data)


# ---------------------------------------------------------------------------- bad input
def _truncated(tmp_path):
    data = np.random.default_rng(0).normal(size=(8, 8, 8, 10)).astype(np.float32)
    src = _write(tmp_path, data, name="full.nii.gz", zooms=(1, 1, 1, 2.0))
    raw = src.read_bytes()
    path = tmp_path / "trunc.nii.gz"
    path.write_bytes(raw[: len(raw) // 2])
    return path


def _truncated_header(tmp_path):
    path = tmp_path / "head.nii.gz"
    path.write_bytes(gzip.compress(b"\x5c\x01\x00\x00" + b"\x00" * 40))
    return path


def _garbage(tmp_path):
    path = tmp_path / "garbage.nii"
    path.write_bytes(np.random.default_rng(1).bytes(1000))
    return path


def _empty(tmp_path):
    path = tmp_path / "empty.nii"
    path.write_bytes(b"")
    return path


def _five_d(tmp_path):
    return _write(tmp_path, np.ones((2, 2, 2, 3, 2), np.float32), name="five.nii")


def _good(tmp_path):
    return _write(
        tmp_path, np.ones((3, 4, 5, 2), np.float32), name="good.nii", zooms=(1, 1, 1, 2.0)
    )


@pytest.mark.parametrize(
    ("make", "kwargs", "match"),
    [
        (_truncated, {}, r"trunc\.nii\.gz: corrupt or truncated"),
        (_truncated_header, {}, r"head\.nii\.gz"),
        (_garbage, {}, r"garbage\.nii"),
        (_empty, {}, r"empty\.nii"),
        (_five_d, {}, r"five\.nii: expected a 3-D or 4-D image.*\(2, 2, 2, 3, 2\)"),
        (_good, {"mask": np.ones((3, 4, 6), bool)}, r"'mask'.*\(3, 4, 5\); got \(3, 4, 6\)"),
        (_good, {"mask": np.zeros((3, 4, 5), bool)}, r"'mask'.*selects no voxel"),
        (_good, {"tr": -1.0}, r"positive"),
    ],
)
def test_bad_input_raises_data_format_error(tmp_path, make, kwargs, match):
    path = make(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(DataFormatError, match=match):
        read_nifti(path, **kwargs)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_mask_on_other_grid_and_missing_file(tmp_path):
    path = _good(tmp_path)
    mask = _write(
        tmp_path, np.ones((3, 4, 5), np.uint8), name="m.nii", affine=np.diag([9.0, 9.0, 9.0, 1.0])
    )
    with pytest.raises(DataFormatError, match=r"m\.nii is on a different grid"):
        read_nifti(path, mask=mask)
    with pytest.raises(DataFormatError, match=r"nope\.nii: no such file"):
        read_nifti(tmp_path / "nope.nii")


# ---------------------------------------------------------------------------- fixtures
@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "shape", "tr"),
    [
        ("anatomical.nii", (33, 41, 25, 1), 1.0),  # big-endian int16, 3-D
        ("functional.nii", (17, 21, 3, 20), 2.0),
        ("example4d.nii.gz", (128, 96, 24, 2), 2.0),  # header says 2000 "sec"
        ("example_nifti2.nii.gz", (32, 20, 12, 2), 2.0),  # NIfTI-2
        ("reoriented_anat_moved.nii", (21, 26, 22, 1), 1.0),  # big-endian float32
        ("resampled_anat_moved.nii", (17, 21, 3, 1), 1.0),
        ("standard.nii.gz", (4, 5, 7, 1), 1.0),
        ("test.mgz", (3, 4, 5, 2), 0.002),  # MGH: tr field in ms
    ],
)
def test_nibabel_fixtures(shared_data, name, shape, tr):
    path = shared_data(f"{NIB}/{name}")
    oracle = nib.load(path).get_fdata()
    n_nan = int(np.isnan(oracle).sum())  # resampled_anat_moved.nii: NaN outside the field
    if n_nan:
        with pytest.raises(DataFormatError, match=rf"{n_nan} NaN/inf voxel values.*nonfinite="):
            read_nifti(path)
    vs = read_nifti(path, nonfinite="zero" if n_nan else "raise")
    assert vs.data.shape == shape
    assert vs.tr == pytest.approx(tr)
    assert vs.info.get("n_nonfinite_zeroed", 0) == n_nan
    np.testing.assert_allclose(vs.data.reshape(oracle.shape), np.nan_to_num(oracle), rtol=1e-6)
    np.testing.assert_allclose(vs.affine, nib.load(path).affine)


@pytest.mark.realdata
def test_big_endian_anatomical_is_native_values(shared_data):
    path = shared_data(f"{NIB}/anatomical.nii")
    assert nib.load(path).get_data_dtype().byteorder == ">"
    vs = read_nifti(path)
    raw = np.asarray(nib.load(path).dataobj)
    np.testing.assert_array_equal(vs.data[..., 0], raw.astype(np.float32))
    assert vs.data.dtype.isnative and vs.info["original_dtype"] == ">i2"


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("row_major.dconn.nii", "CIFTI-2"),
        ("gifti/ascii.gii", "GIfTI"),
        ("gifti/task.func.gii", "GIfTI"),
        ("nifti1.hdr", "data file is missing"),  # header of a pair without its .img
        ("README.rst", "not a readable image"),
    ],
)
def test_unsupported_fixtures_rejected(shared_data, name, match):
    with pytest.raises(DataFormatError, match=match):
        read_nifti(shared_data(f"{NIB}/{name}"))


# ---------------------------------------------------------------------------- to dataset
def _series(labels, runs, n_vox=4, tr=2.0, seed=0):
    n = len(labels)
    X = np.random.default_rng(seed).normal(size=(n_vox, n))
    ev = pd.DataFrame({"label": labels, "run": runs})
    return VolumeSeries(X, tr, mask=np.ones((n_vox, 1, 1), bool), events=ev, subject="s1")


def test_volumes_to_dataset_blocks_and_metadata():
    labels = ["rest", "a", "a", "b", "b", "rest", "a", "a", "b", "b"]
    runs = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    vs = _series(labels, runs)
    ds = volumes_to_dataset(vs)
    assert ds.classes == ["a", "b"] and ds.y.tolist() == [0, 0, 1, 1, 0, 0, 1, 1]
    np.testing.assert_array_equal(ds.X, vs.data.T[[1, 2, 3, 4, 6, 7, 8, 9]])
    md = ds.metadata
    assert md["segment"].tolist() == ["1", "1", "2", "2", "4", "4", "5", "5"]
    assert md["run"].tolist() == ["0"] * 4 + ["1"] * 4
    np.testing.assert_allclose(md["onset"], [2, 4, 6, 8, 2, 4, 6, 8])  # seconds within run
    avg = volumes_to_dataset(vs, block_average=True, labels=["b", "a"])
    assert avg.classes == ["b", "a"] and avg.y.tolist() == [1, 0, 1, 0]
    np.testing.assert_allclose(avg.X[0], vs.data.T[1:3].mean(axis=0))
    assert avg.metadata["n_volumes"].tolist() == [2, 2, 2, 2]


def test_volumes_to_dataset_from_bids_events():
    vs = VolumeSeries(
        np.zeros((3, 8)),
        2.0,
        mask=np.ones((3, 1, 1), bool),
        run="1",
        events=pd.DataFrame(
            {"onset": [2.0, 10.0], "duration": [4.0, 4.0], "trial_type": ["x", "y"]}
        ),
    )
    ds = volumes_to_dataset(vs)
    assert ds.metadata["volume"].tolist() == [1, 2, 5, 6] and ds.classes == ["x", "y"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"labels": ["zebra"]}, ValueError, r"'labels'.*\['zebra'\].*Available"),
        ({"exclude": ["rest", "a", "b"]}, ValueError, "No label left"),
    ],
)
def test_volumes_to_dataset_bad_args(kwargs, error, match):
    vs = _series(["rest", "a", "b"], [0, 0, 0])
    with pytest.raises(error, match=match):
        volumes_to_dataset(vs, **kwargs)


def test_volumes_to_dataset_needs_matching_labels():
    vs = _series(["a", "b", "a"], [0, 0, 0])
    vs.events = vs.events.iloc[:2]
    with pytest.raises(DataFormatError, match=r"2 rows.*3 volumes"):
        volumes_to_dataset(vs)
    vs.events = None
    with pytest.raises(DataFormatError, match="no events"):
        volumes_to_dataset(vs)


def test_implausible_tr_is_logged(tmp_path, caplog):
    path = _write(tmp_path, np.zeros((2, 2, 2, 3), np.float32), zooms=(1, 1, 1, 1500.0))
    with caplog.at_level(logging.WARNING, logger="neurodl"):
        assert read_nifti(path).tr == pytest.approx(1.5)
    assert "implausible" in caplog.text
