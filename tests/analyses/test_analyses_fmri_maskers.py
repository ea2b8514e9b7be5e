"""nilearn's vocabulary: image + events + mask/masker -> samples, cleaning, weight maps."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nilearn import signal
from nilearn.maskers import NiftiLabelsMasker, NiftiMasker

from neurodl.analyses.decoding import make_decoder
from neurodl.analyses.fmri.glm import clean_runs
from neurodl.analyses.fmri.maskers import (
    clean_signals,
    linear_weights,
    make_masker,
    masked_samples,
    masker_from_mask,
    weight_map,
)
from neurodl.exceptions import ConfigError, DataFormatError
from neurodl.io.fmri import read_nifti

AFFINE = np.diag([3.0, 3.0, 4.0, 1.0])
AFFINE[:3, 3] = [-10.0, -20.0, 5.0]
PLANTED = (slice(1, 3), slice(2, 4), 1)  # 4 voxels that carry the class


def _synthetic(rng, n_runs=3, n_per_run=40):
    """A 6x6x3 series whose planted voxels rise in class 'b', with a per-run drift."""
    shape = (6, 6, 3)
    mask = np.zeros(shape, bool)
    mask[1:5, 1:5, :] = True
    labels = np.tile(np.repeat(["a", "b", "rest", "a", "b"], n_per_run // 5 + 1)[:n_per_run], 1)
    n = n_runs * n_per_run
    data = rng.normal(size=(*shape, n)) + 100.0
    lab = np.tile(labels, n_runs)
    data[PLANTED] += 1.5 * (lab == "b")
    data += np.linspace(0, 5, n)  # drift removed by the detrending
    img = nib.Nifti1Image(data.astype(np.float32), AFFINE)
    img.header.set_zooms((3.0, 3.0, 4.0, 2.0))
    events = pd.DataFrame({"label": lab, "run": np.repeat(np.arange(n_runs), n_per_run)})
    return img, nib.Nifti1Image(mask.astype(np.uint8), AFFINE), events


def test_weight_map_has_the_mask_grid_and_finds_the_planted_voxels(rng):
    img, mask_img, events = _synthetic(rng)
    ds = masked_samples(img, events, mask=mask_img, labels=["a", "b"])
    assert ds.X.shape == (ds.n_samples, 48) and ds.classes == ["a", "b"]
    assert ds.info["feature_space"] == "voxels" and ds.info["cleaning"] == "per-run"
    assert [s["step"] for s in ds.info["cleaning_steps"]] == ["detrend", "standardize"]
    est = make_decoder("lda").fit(ds.X, ds.y)
    wmap = weight_map(est, ds.info["masker"])
    assert wmap.shape == mask_img.shape
    np.testing.assert_allclose(wmap.affine, mask_img.affine)
    w = wmap.get_fdata()
    assert np.all(w[~mask_img.get_fdata().astype(bool)] == 0)
    top = np.argsort(np.abs(w).ravel())[-4:]
    planted = np.zeros(w.shape, bool)
    planted[PLANTED] = True
    assert planted.ravel()[top].sum() >= 3


def test_masker_objects_and_paths_give_the_same_samples(rng, tmp_path):
    img, mask_img, events = _synthetic(rng)
    nib.save(img, tmp_path / "bold.nii.gz")
    nib.save(mask_img, tmp_path / "mask.nii.gz")
    events.to_csv(tmp_path / "events.tsv", sep="\t", index=False)
    by_path = masked_samples(tmp_path / "bold.nii.gz", tmp_path / "events.tsv",
                             mask=tmp_path / "mask.nii.gz")  # fmt: skip
    masker = NiftiMasker(mask_img=mask_img, standardize=None)
    by_masker = masked_samples(img, events, mask=masker)
    np.testing.assert_allclose(by_path.X, by_masker.X, atol=1e-6)
    # the voxel order is neurodl's (C order of the mask): back-projection puts each column home
    back = masker_from_mask(mask_img.get_fdata().astype(bool), AFFINE)
    col = np.arange(48, dtype=float)
    expected = np.zeros(mask_img.shape)
    expected[mask_img.get_fdata().astype(bool)] = col
    np.testing.assert_array_equal(back.inverse_transform(col).get_fdata(), expected)


def test_labels_masker_gives_regions_and_paints_their_voxels(rng):
    img, mask_img, events = _synthetic(rng)
    regions = np.zeros(mask_img.shape, np.int16)
    regions[1:3, 2:4, 1] = 1  # the planted voxels
    regions[3:5, 1:5, :] = 2
    labels_img = nib.Nifti1Image(regions, AFFINE)
    ds = masked_samples(img, events, mask=NiftiLabelsMasker(labels_img, standardize=None),
                        labels=["a", "b"])  # fmt: skip
    assert ds.X.shape[1] == 2 and ds.info["feature_space"] == "regions" and "mask" not in ds.info
    est = make_decoder("logistic_regression").fit(ds.X, ds.y)
    w = weight_map(est, ds.info["masker"]).get_fdata()
    coef = linear_weights(est)[0]
    np.testing.assert_allclose(w[regions == 1], coef[0])
    np.testing.assert_allclose(w[regions == 2], coef[1])
    assert abs(coef[0]) > abs(coef[1])  # the planted region carries the class


def test_clean_signals_is_nilearn_run_by_run(rng):
    x = rng.normal(size=(90, 4)) + np.linspace(0, 3, 90)[:, None]
    runs = np.repeat([0, 1, 2], 30)
    conf = rng.normal(size=(90, 2))
    out, steps = clean_signals(x, runs=runs, t_r=2.0, confounds=conf, high_pass=0.02)
    for r in range(3):  # independent oracle: nilearn on each run alone
        m = runs == r
        ref = signal.clean(x[m], detrend=True, standardize="zscore_sample", confounds=conf[m],
                           high_pass=0.02, t_r=2.0)  # fmt: skip
        np.testing.assert_allclose(out[m], ref, atol=1e-10)
    assert [s["step"] for s in steps] == ["detrend", "filter", "confounds", "standardize"]
    assert all(s["per"] == "run" and s["function"] == "nilearn.signal.clean" for s in steps)
    assert steps[1]["high_pass_hz"] == 0.02 and steps[2]["n_confounds"] == 2


def test_clean_signals_keeps_the_volume_order_of_unsorted_run_names(rng):
    """nilearn's clean(runs=...) stacks runs in sorted order; ours keeps each volume in place."""
    x = rng.normal(size=(60, 3)) + np.arange(60)[:, None]
    runs = np.repeat(["run-9", "run-10", "run-8"], 20)  # not in np.unique order
    out, _ = clean_signals(x, runs=runs)
    for r in ("run-9", "run-10", "run-8"):
        m = runs == r
        np.testing.assert_allclose(out[m], signal.clean(x[m], standardize="zscore_sample"))
    scrambled = signal.clean(x, runs=runs, standardize="zscore_sample")
    assert not np.allclose(scrambled, out)  # the pitfall this guards against


def test_bad_inputs_raise_clear_errors(rng):
    img, mask_img, events = _synthetic(rng)
    x = rng.normal(size=(20, 3))
    with pytest.raises(ConfigError, match="needs the repetition time"):
        clean_signals(x, high_pass=0.01)
    with pytest.raises(ConfigError, match="Nyquist"):
        clean_signals(x, t_r=2.0, high_pass=0.5)
    with pytest.raises(ConfigError, match="'standardize'"):
        clean_signals(x, standardize="zscore")
    with pytest.raises(DataFormatError, match="'runs'"):
        clean_signals(x, runs=np.zeros(5))
    with pytest.raises(ConfigError, match="cleans signals itself"):
        make_masker(NiftiMasker(mask_img=mask_img, standardize="zscore_sample"))
    other = nib.Nifti1Image(mask_img.get_fdata().astype(np.uint8), np.eye(4))
    with pytest.raises(DataFormatError, match="grid"):
        masked_samples(img, events, mask=other)
    with pytest.raises(DataFormatError, match="selects no voxel"):
        make_masker(nib.Nifti1Image(np.zeros((6, 6, 3), np.uint8), AFFINE))
    ds = masked_samples(img, events, mask=mask_img, labels=["a", "b"])
    small = masker_from_mask(np.ones((2, 2, 1), bool), np.eye(4))
    with pytest.raises(DataFormatError, match="48 weights per map but the masker has 4"):
        weight_map(make_decoder("lda").fit(ds.X, ds.y), small)
    with pytest.raises(TypeError, match="no fitted coef_"):
        linear_weights(make_decoder("lda"))


# ---------------------------------------------------------------- real data: Haxby 2001
def _haxby(shared_data):
    root = shared_data("fmri/haxby2001_pymvpa")
    events = pd.read_csv(root / "attributes_literal.txt", sep=" ", header=None,
                         names=["label", "run"])  # fmt: skip
    return root, events


@pytest.mark.realdata
def test_haxby_cleaning_equals_nilearn_signal_clean(shared_data):
    """neurodl's per-run cleaning (the configs' fmri_samples) against nilearn.signal.clean."""
    root, events = _haxby(shared_data)
    x = NiftiMasker(mask_img=root / "mask.nii.gz", standardize=None).fit_transform(
        root / "bold.nii.gz"
    )  # (1452, 530)
    x = x.astype(np.float64)
    runs = events["run"].to_numpy()
    ours = clean_runs(x.T, runs, detrend="linear", standardize=False).T
    ref = signal.clean(x, runs=runs, detrend=True, standardize=None, t_r=2.5)
    np.testing.assert_allclose(ours, ref, atol=1e-6 * np.abs(ref).max())
    # z-scoring: neurodl divides by the population SD (ddof=0), nilearn by the sample SD
    ours = clean_runs(x.T, runs, detrend="linear", standardize=True).T
    ref = signal.clean(x, runs=runs, detrend=True, standardize="zscore_sample", t_r=2.5)
    n_per_run = np.bincount(runs)[runs][:, None]
    np.testing.assert_allclose(ours, ref * np.sqrt(n_per_run / (n_per_run - 1)), atol=1e-6)
    # and masked_samples is nilearn itself
    got, _ = clean_signals(x, runs=runs, t_r=2.5)
    np.testing.assert_allclose(got, ref, atol=1e-6)


@pytest.mark.realdata
def test_haxby_read_nifti_mask_equals_nilearn_masker(shared_data):
    root, _ = _haxby(shared_data)
    vs = read_nifti(root / "bold.nii.gz", mask=root / "mask.nii.gz")
    ref = NiftiMasker(mask_img=root / "mask.nii.gz", standardize=None).fit_transform(
        root / "bold.nii.gz"
    )
    np.testing.assert_array_equal(vs.masked().T, ref)


@pytest.mark.realdata
def test_haxby_face_vs_house_weight_map(shared_data):
    from neurodl.evaluation import cross_validate

    root, events = _haxby(shared_data)
    mask_img = nib.load(root / "mask.nii.gz")
    ds = masked_samples(root / "bold.nii.gz", events, mask=root / "mask.nii.gz",
                        labels=["face", "house"])  # fmt: skip
    assert ds.X.shape == (216, 530) and ds.metadata["run"].nunique() == 12
    cv = cross_validate(make_decoder("lda"), ds, "leave-one-run-out", "balanced_accuracy")
    assert np.mean(cv.scores) > 0.9  # PyMVPA's linear SVM reference: 0.981
    wmap = weight_map(make_decoder("lda").fit(ds.X, ds.y), ds.info["masker"])
    assert wmap.shape == mask_img.shape == (40, 20, 1)
    np.testing.assert_allclose(wmap.affine, mask_img.affine)
    w = wmap.get_fdata()
    inside = mask_img.get_fdata() > 0
    assert np.all(w[~inside] == 0) and np.count_nonzero(w[inside]) == 530


def test_fmri_samples_high_pass_and_confounds_go_through_nilearn(tmp_path):
    from neurodl.analyses.fmri.glm import fmri_samples
    from neurodl.data.simulate import simulate_fmri

    vs = simulate_fmri(n_runs=3, n_categories=2, shape=(4, 4, 3), n_blocks_per_category=2)
    runs = vs.info["volume_labels"]["run"].astype(str).to_numpy()  # one per volume
    conf = np.random.default_rng(1).normal(size=(vs.n_volumes, 2))
    pd.DataFrame(conf, columns=["a", "b"]).to_csv(tmp_path / "conf.tsv", sep="\t", index=False)
    ds = fmri_samples(vs, high_pass=0.01, confounds=tmp_path / "conf.tsv")
    steps = ds.info["cleaning_steps"]
    assert [s["step"] for s in steps] == ["detrend", "filter", "confounds", "standardize"]
    assert all(s["function"] == "nilearn.signal.clean" for s in steps)
    ref, _ = clean_signals(vs.masked().T, runs=runs, t_r=vs.tr, confounds=conf,
                           high_pass=0.01)  # fmt: skip
    np.testing.assert_allclose(ds.X, ref[ds.metadata["volume"].to_numpy()], atol=1e-5)
    plain = fmri_samples(vs)
    assert plain.info["cleaning_steps"][0]["function"].startswith("neurodl clean_runs")
    with pytest.raises(ConfigError, match="detrend must be 'linear' or 'none'"):
        fmri_samples(vs, high_pass=0.01, detrend="quadratic")
    with pytest.raises(ConfigError, match="kind 'volumes' or 'blocks'"):
        fmri_samples(vs, kind="lsa", high_pass=0.01)
    conf[0, 0] = np.nan
    with pytest.raises(DataFormatError, match="missing values"):
        fmri_samples(vs, confounds=conf)
