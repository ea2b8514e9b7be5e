"""ABIDE CC200 reader: facts of the data README, the raw text as oracle, filters, bad input."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurodl.datasets import load_dataset
from neurodl.datasets.abide import AbideTimeSeries, read_abide
from neurodl.exceptions import DataFormatError, DatasetError

ABIDE = "fmri/abide_pcp_cc200"
SITES = ["CALTECH", "CMU", "KKI", "MAX_MUN", "OHSU", "SBL", "SDSU", "STANFORD", "TRINITY",
         "UCLA_2"]  # fmt: skip


@functools.lru_cache(maxsize=1)
def _abide(root: Path) -> AbideTimeSeries:
    return load_dataset("abide-cc200", data_root=root.parents[1])


@pytest.mark.realdata
def test_abide_matches_the_readme(shared_data):
    root = shared_data(ABIDE)
    data = _abide(root)
    ph = data.phenotypes
    assert data.n_subjects == 386 and data.n_regions == 200
    assert sorted(ph["site"].unique()) == SITES  # 10 sites
    assert ph["subject"].is_unique
    # The README says 170 autism / 216 controls, but DX_GROUP in phenotypes.csv counts 178 / 208.
    counts = ph["diagnosis"].value_counts().to_dict()
    assert counts == {"autism": 178, "control": 208} and int(data.y.sum()) == 178
    assert ph["n_times"].min() == 78 and ph["n_times"].max() == 316
    assert (ph["n_constant_regions"] > 0).sum() == 41  # files with an all-zero region
    assert set(ph["sex"]) == {"M", "F"}
    assert ph["dsm_iv_tr"].isna().sum() == 70 and (ph["fiq"].dropna() > 0).all()  # -9999 -> NaN
    assert ph["age"].between(6, 65).all() and ph["mean_fd"].notna().sum() == 384
    # oracle: the raw text of one file
    row = ph.index[ph["subject"] == "50642"][0]
    raw = pd.read_csv(root / ph.loc[row, "file"], sep="\t").to_numpy(dtype=float)
    np.testing.assert_array_equal(data.timeseries[row], raw)
    assert data.sites[row] == "CMU" and ph.loc[row, "diagnosis"] == "autism"


@pytest.mark.realdata
def test_abide_filters(shared_data):
    root = shared_data(ABIDE)
    full = _abide(root)
    two = read_abide(root, sites=["caltech", "KKI"])
    assert sorted(two.phenotypes["site"].unique()) == ["CALTECH", "KKI"]
    assert two.n_subjects == int(full.phenotypes["site"].isin(["CALTECH", "KKI"]).sum())
    ok = read_abide(root, qc="all_ok")
    ratings = full.phenotypes[["qc_rater_1", "qc_func_rater_2", "qc_func_rater_3"]]
    assert ok.n_subjects == int((ratings == "OK").all(axis=1).sum()) < 386
    no_fail = read_abide(root, qc="no_fail")
    assert ok.n_subjects < no_fail.n_subjects < 386
    assert not (no_fail.phenotypes[ratings.columns] == "fail").any().any()
    low = read_abide(root, max_mean_fd=0.2)
    assert (low.phenotypes["mean_fd"] <= 0.2).all() and low.n_subjects < 384
    sub = full.subset(full.sites == "SBL")
    assert sub.n_subjects == 30 and (sub.sites == "SBL").all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"qc": "strict"}, ValueError, "Invalid value for 'qc'.*'no_fail'"),
        ({"max_mean_fd": 0.0}, ValueError, "Invalid value for 'max_mean_fd'"),
        ({"sites": ["NYU"]}, ValueError, "Invalid value for 'sites'.*CMU.*got \\['NYU'\\]"),
        ({"max_mean_fd": 0.01}, ValueError, "No ABIDE subject passes"),
    ],
)
def test_abide_bad_input(tmp_path, kwargs, error, match):
    _fake_abide(tmp_path)
    with pytest.raises(error, match=match):
        read_abide(tmp_path, **kwargs)


def _fake_abide(root: Path, n_cols: int = 200) -> None:
    (root / "rois_cc200").mkdir()
    header = "\t".join(f"#{i + 1}" for i in range(n_cols))
    rows = "\n".join("\t".join(["1.5"] * n_cols) for _ in range(3))
    (root / "rois_cc200/CMU_a_1_rois_cc200.1D").write_text(f"{header}\n{rows}\n")
    pd.DataFrame(
        {"file": ["rois_cc200/CMU_a_1_rois_cc200.1D"], "SUB_ID": [1], "SITE_ID": ["CMU"],
         "DX_GROUP": [1], "DSM_IV_TR": [-9999], "AGE_AT_SCAN": [20.0], "SEX": [2],
         "FIQ": [-9999], "func_mean_fd": [0.1], "qc_rater_1": ["OK"],
         "qc_func_rater_2": ["OK"], "qc_func_rater_3": ["fail"]}
    ).to_csv(root / "phenotypes.csv", index=False)  # fmt: skip


def test_abide_synthetic(tmp_path):
    _fake_abide(tmp_path)
    data = read_abide(tmp_path)
    ph = data.phenotypes
    assert data.timeseries[0].shape == (3, 200) and ph.loc[0, "n_constant_regions"] == 200
    assert (
        ph.loc[0, "sex"] == "F" and np.isnan(ph.loc[0, "fiq"]) and np.isnan(ph.loc[0, "dsm_iv_tr"])
    )
    with pytest.raises(ValueError, match="No ABIDE subject passes"):
        read_abide(tmp_path, qc="no_fail")


def test_abide_bad_files(tmp_path):
    with pytest.raises(DatasetError, match="phenotype table missing"):
        read_abide(tmp_path)
    _fake_abide(tmp_path, n_cols=3)
    with pytest.raises(DataFormatError, match=r"expected 200 region columns.*got 3"):
        read_abide(tmp_path)
    (tmp_path / "rois_cc200/CMU_a_1_rois_cc200.1D").unlink()
    with pytest.raises(DatasetError, match="time series missing"):
        read_abide(tmp_path)


def test_abide_container_checks():
    with pytest.raises(DataFormatError, match="2 time series but 1 phenotype rows"):
        AbideTimeSeries([np.zeros((3, 2))] * 2, pd.DataFrame({"site": ["A"]}))
    with pytest.raises(DataFormatError, match="same number of regions"):
        AbideTimeSeries([np.zeros((3, 2)), np.zeros((3, 4))], pd.DataFrame({"site": ["A", "B"]}))
