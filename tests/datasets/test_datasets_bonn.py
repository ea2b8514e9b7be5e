"""Bonn reader: oracle is the raw text of the segment files."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from neurodl.data import EpochsDataset
from neurodl.datasets.bonn import read_bonn
from neurodl.exceptions import DataFormatError, DatasetError


@functools.lru_cache(maxsize=4)
def _bonn(root: Path, **kwargs) -> EpochsDataset:
    return read_bonn(root, **kwargs)


@pytest.mark.realdata
def test_bonn_segments(shared_data):
    root = shared_data("eeg/bonn")
    ds = _bonn(root)
    assert ds.X.shape == (500, 1, 4097)
    assert ds.sfreq == pytest.approx(173.61)
    assert ds.classes == ["A", "B", "C", "D", "E"]
    np.testing.assert_array_equal(np.bincount(ds.y), [100] * 5)
    md = ds.metadata
    assert md["segment"].nunique() == 500 and (md["subject"] == "unknown").all()
    assert list(md["recording"].unique()) == ["A", "B", "C", "D", "E"]
    # oracle: the raw text of one file per set (C uses .TXT)
    for letter, rel in [("A", "A_Z/Z001.txt"), ("C", "C_N/N042.TXT"), ("E", "E_S/S100.txt")]:
        expected = np.loadtxt(root / rel)
        segment = f"{letter}_{Path(rel).stem}"
        row = md.index[md["segment"] == segment][0]
        np.testing.assert_array_equal(ds.X[row, 0], expected)
        assert ds.y[row] == "ABCDE".index(letter)


@pytest.mark.realdata
def test_bonn_windows(shared_data):
    root = shared_data("eeg/bonn")
    ds = read_bonn(root, sets=("E", "A"), window=1024, stride=512)
    n_win = (4097 - 1024) // 512 + 1
    assert ds.X.shape == (200 * n_win, 1, 1024)
    assert ds.classes == ["E", "A"]
    assert (ds.y[ds.metadata["set"] == "E"] == 0).all()
    groups = ds.groups("segment")
    assert len(np.unique(groups)) == 200
    rows = np.flatnonzero(groups == "E_S007")
    assert len(rows) == n_win
    signal = np.loadtxt(root / "E_S" / "S007.txt")
    for k, row in enumerate(rows):
        assert ds.metadata.loc[row, "trial"] == k
        assert ds.metadata.loc[row, "onset"] == pytest.approx(k * 512 / 173.61)
        np.testing.assert_array_equal(ds.X[row, 0], signal[k * 512 : k * 512 + 1024])


def _fake_bonn(root: Path, bad: str | None = None) -> Path:
    folder = root / "A_Z"
    folder.mkdir(parents=True)
    for i in range(3):
        (folder / f"Z00{i}.txt").write_text("\n".join(str(v) for v in range(4097)) + "\n")
    if bad is not None:
        (folder / "Z009.txt").write_text(bad)
    return root


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sets": ("F",)}, ValueError, "Invalid value for 'sets'"),
        ({"sets": ("A", "A")}, ValueError, "distinct letters"),
        ({"sets": ()}, ValueError, "'sets'"),
        ({"window": 0}, ValueError, "Invalid value for 'window'"),
        ({"window": 5000}, ValueError, r"'window'.*\[1, 4097\]"),
        ({"window": 10.5}, ValueError, "'window'"),
        ({"window": 100, "stride": 0}, ValueError, "'stride'"),
        ({"sets": ("A", "B")}, DatasetError, "set 'B' not found"),
    ],
)
def test_bonn_bad_arguments(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        read_bonn(_fake_bonn(tmp_path), **kwargs)


@pytest.mark.parametrize(
    ("content", "match"),
    [("1\n2\n3\n", "4097 samples; got 3"), ("1\nx\n", "expected integers")],
)
def test_bonn_bad_segment(tmp_path, content, match):
    root = _fake_bonn(tmp_path, bad=content)
    with pytest.raises(DataFormatError, match=match):
        read_bonn(root, sets=("A",))


def test_bonn_synthetic_windows(tmp_path):
    ds = read_bonn(_fake_bonn(tmp_path), sets=["A"], window=4000, stride=97)
    assert ds.X.shape == (3 * 2, 1, 4000)  # starts 0 and 97
    np.testing.assert_array_equal(ds.X[1, 0], np.arange(97, 4097))
