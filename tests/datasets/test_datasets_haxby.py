"""Haxby 2001 (PyMVPA slice) reader: oracles are nibabel's reading and the literal labels."""

from __future__ import annotations

import shutil

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neurodl.datasets.haxby import read_haxby
from neurodl.exceptions import DataFormatError, DatasetError
from neurodl.io.fmri import volumes_to_dataset

HAXBY = "fmri/haxby2001_pymvpa"


@pytest.fixture
def haxby(shared_data):
    return read_haxby(shared_data(HAXBY))


@pytest.mark.realdata
def test_read_haxby(shared_data, haxby):
    root = shared_data(HAXBY)
    assert haxby.data.shape == (530, 1452) and haxby.tr == pytest.approx(2.5)
    assert int(haxby.mask.sum()) == 530 and haxby.shape3d == (40, 20, 1)
    ev = haxby.events
    assert list(ev.columns) == ["label", "run", "volume", "onset"]
    assert len(ev) == 1452 and sorted(ev["run"].unique()) == list(range(12))
    literal = pd.read_csv(root / "attributes_literal.txt", sep=r"\s+", header=None)
    assert (ev["label"].to_numpy() == literal[0].to_numpy()).all()  # numeric codes decoded
    np.testing.assert_allclose(ev["onset"], np.arange(1452) * 2.5)
    bold = nib.load(root / "bold.nii.gz").get_fdata()
    mask = nib.load(root / "mask.nii.gz").get_fdata() > 0
    np.testing.assert_allclose(haxby.data, bold[mask], rtol=1e-6)
    full = read_haxby(root, masked=False)
    assert full.data.shape == (40, 20, 1, 1452)
    np.testing.assert_array_equal(full.masked(), haxby.data)


@pytest.mark.realdata
def test_haxby_to_dataset(shared_data, haxby):
    ds = volumes_to_dataset(haxby)
    assert ds.X.shape == (864, 530) and len(ds.classes) == 8 and "rest" not in ds.classes
    assert np.bincount(ds.y).tolist() == [108] * 8
    md = ds.metadata
    assert md["run"].nunique() == 12 and md["segment"].nunique() == 96
    assert (md.groupby("segment")["run"].nunique() == 1).all()
    # first block of run 0 matches the run's BIDS events file (scissors at 15 s)
    ev0 = pd.read_csv(
        shared_data(f"{HAXBY}/bids_like/sub001/BOLD/task001_run001/bold_events.tsv"), sep="\t"
    )
    first = md.groupby("segment", sort=False).first()
    run0 = first[first["run"] == "0"]
    assert run0["label"].tolist() == ev0["trial_type"].tolist()
    np.testing.assert_allclose(run0["onset"], ev0["onset"])
    blocks = volumes_to_dataset(haxby, labels=["face", "house"], block_average=True)
    assert blocks.X.shape == (24, 530) and blocks.classes == ["face", "house"]
    seg = blocks.metadata["segment"].iloc[0]
    np.testing.assert_allclose(blocks.X[0], ds.X[md["segment"] == seg].mean(axis=0), rtol=1e-5)


@pytest.mark.realdata
def test_haxby_attributes_wrong_length(shared_data, tmp_path):
    root = shared_data(HAXBY)
    for name in ("bold.nii.gz", "mask.nii.gz", "README"):
        shutil.copy(root / name, tmp_path / name)
    lines = (root / "attributes.txt").read_text().splitlines()
    (tmp_path / "attributes.txt").write_text("\n".join(lines[:-3]) + "\n")
    with pytest.raises(DataFormatError, match=r"attributes\.txt: 1449 label rows.*1452 volumes"):
        read_haxby(tmp_path)
    (tmp_path / "attributes.txt").unlink()
    with pytest.raises(DatasetError, match=r"missing attributes\.txt"):
        read_haxby(tmp_path)
