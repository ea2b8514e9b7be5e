"""The cross-dataset protocol, combining datasets, and adaptation refused unless allowed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurodl.data import EpochsDataset
from neurodl.evaluation import (
    CrossDataset,
    adapt_dataset,
    check_adaptation,
    check_no_leakage,
    combine_datasets,
    get_protocol,
)
from neurodl.evaluation.protocols import LeaveOneSubjectOut, WithinSession
from neurodl.exceptions import ConfigError, DataFormatError


def _ds(n_seg: int = 10, gain: float = 1.0, seed: int = 0, sfreq: float = 100.0) -> EpochsDataset:
    rng = np.random.default_rng(seed)
    y = np.arange(n_seg) % 2
    X = rng.normal(size=(n_seg, 3, 50)) * gain * (1 + y[:, None, None])
    md = pd.DataFrame({"subject": "1", "session": "1", "segment": [f"s{i}" for i in range(n_seg)]})
    return EpochsDataset(X, y, md, sfreq, ["a", "b", "c"], ["x", "z"])


def test_single_split_and_grouped_folds_never_share_a_group() -> None:
    both = combine_datasets(_ds(), _ds(gain=0.5, seed=1), train_name="bonn", test_name="site2")
    assert both.n_samples == 20 and set(both.metadata["dataset"]) == {"bonn", "site2"}
    ((tr, te),) = list(CrossDataset("bonn", "site2").split(both))
    assert tr.tolist() == list(range(10)) and te.tolist() == list(range(10, 20))
    proto = get_protocol(
        "cross-dataset", train="bonn", test="site2", n_splits=5, group_by="segment"
    )
    folds = proto.splits(both)
    assert len(folds) == 5
    seg = both.metadata["segment"].to_numpy()
    tested = []
    for tr, te, _ in folds:
        assert set(both.metadata["dataset"].iloc[tr]) == {"bonn"}
        assert set(both.metadata["dataset"].iloc[te]) == {"site2"}
        assert not set(seg[tr]) & set(seg[te])
        assert len(tr) == 8  # every other segment of the training dataset
        tested += te.tolist()
        check_no_leakage(both, tr, te, group_by=proto.groups)
    assert sorted(tested) == list(range(10, 20))  # each test sample tested once


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_splits": 3}, "Invalid value for 'group_by'"),
        ({"group_by": "segment"}, "it needs 'n_splits'"),
        ({"n_splits": 1, "group_by": "segment"}, "Invalid value for 'n_splits'"),
    ],
)
def test_bad_protocol_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        CrossDataset(**kwargs)


def test_combine_refuses_unharmonised_datasets() -> None:
    with pytest.raises(DataFormatError, match="one sampling rate"):
        combine_datasets(_ds(), _ds(sfreq=200.0))
    short = _ds()
    short = EpochsDataset(
        short.X[..., :40], short.y, short.metadata, 100.0, short.ch_names, short.classes
    )
    with pytest.raises(DataFormatError, match="same sample shape"):
        combine_datasets(_ds(), short)
    other = _ds()
    other.classes = ["u", "v"]
    with pytest.raises(DataFormatError, match="same classes"):
        combine_datasets(_ds(), other)
    with pytest.raises(ConfigError, match="must differ"):
        combine_datasets(_ds(), _ds(), train_name="a", test_name="a")
    with pytest.raises(DataFormatError, match="no sample has dataset='other'"):
        CrossDataset("train", "other").splits(combine_datasets(_ds(), _ds()))


def _subjects(n_sub: int = 4, n: int = 12, seed: int = 0) -> EpochsDataset:
    rng = np.random.default_rng(seed)
    X, y, subj = [], [], []
    for s in range(n_sub):
        gain = rng.uniform(0.2, 5.0, size=3)
        lab = np.arange(n) % 2
        Z = rng.normal(size=(n, 3, 64))
        Z[:, 0] *= 1 + lab[:, None]
        X.append(Z * gain[None, :, None])
        y.append(lab)
        subj += [f"S{s}"] * n
    md = pd.DataFrame(
        {"subject": subj, "session": "1", "segment": np.arange(n_sub * n).astype(str)}
    )
    return EpochsDataset(np.concatenate(X), np.concatenate(y), md, 64.0, ["a", "b", "c"])


def test_adaptation_is_refused_unless_unlabelled_test_data_allowed() -> None:
    ds = _subjects()
    with pytest.raises(ConfigError, match=r"Invalid value for 'unlabelled_test_data'.*got False"):
        adapt_dataset(ds, [{"name": "euclidean_alignment"}])
    out, rec = adapt_dataset(ds, [], unlabelled_test_data=False)
    assert out is ds and rec is None


def test_adaptation_record_and_test_subject_isolation() -> None:
    ds = _subjects()
    steps = [{"name": "riemannian_recentring", "by": "subject"}]
    out, rec = adapt_dataset(ds, steps, unlabelled_test_data=True, protocol=LeaveOneSubjectOut())
    assert rec["unlabelled_test_data"] is True and rec["steps"][0]["nested_in_folds"] is True
    assert rec["steps"][0]["n_groups"] == 4 and "own unlabelled samples" in rec["test_data_used"]
    assert out.info["adaptation"] == rec
    # changing the test subject's data changes nothing of the training subjects' inputs
    changed = EpochsDataset(ds.X.copy(), ds.y, ds.metadata, ds.sfreq, ds.ch_names)
    test = ds.metadata["subject"].to_numpy() == "S3"
    changed.X[test] = changed.X[test][:, ::-1] * 10
    out2, _ = adapt_dataset(
        changed, steps, unlabelled_test_data=True, protocol=LeaveOneSubjectOut()
    )
    np.testing.assert_allclose(out.X[~test], out2.X[~test])
    _, rec_w = adapt_dataset(ds, steps, unlabelled_test_data=True, protocol=WithinSession(2))
    assert (
        rec_w["steps"][0]["nested_in_folds"] is False and "transductive" in rec_w["test_data_used"]
    )


def test_alignment_recovers_a_planted_cross_subject_effect() -> None:
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.metrics import balanced_accuracy_score

    ds = _subjects(n_sub=6, n=20, seed=3)

    def loso(d: EpochsDataset) -> float:
        feats = np.log(np.asarray(d.X).var(axis=2))
        scores = []
        for tr, te in LeaveOneSubjectOut().split(d):
            lda = LinearDiscriminantAnalysis().fit(feats[tr], d.y[tr])
            scores.append(balanced_accuracy_score(d.y[te], lda.predict(feats[te])))
        return float(np.mean(scores))

    aligned, _ = adapt_dataset(
        ds, [{"name": "standardize", "by": "subject"}], unlabelled_test_data=True
    )
    assert loso(ds) < 0.75 and loso(aligned) > 0.9


@pytest.mark.parametrize(
    "specs, match",
    [
        ([{"name": "coral"}], r"adaptation\[0\]\.name.*'euclidean_alignment'.*got 'coral'"),
        ([{"name": "amplitude", "gain": 2}], r"\['gain'\].*'amplitude'.*'target'"),
        ([{"name": "standardize", "by": ""}], r"adaptation\[0\]\.by"),
        ([{"name": "euclidean_alignment", "min_windows": 0}], "min_windows.*got 0"),
    ],
)
def test_bad_adaptation_specs(specs: list, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        check_adaptation(specs)


def test_adaptation_needs_its_group_column_and_enough_windows() -> None:
    ds = _subjects()
    with pytest.raises(DataFormatError, match="column 'site' is not in the metadata"):
        adapt_dataset(ds, [{"name": "amplitude", "by": "site"}], unlabelled_test_data=True)
    with pytest.raises(DataFormatError, match=r"at least 20 windows per group.*group 'S0' has 12"):
        adapt_dataset(
            ds, [{"name": "euclidean_alignment", "min_windows": 20}], unlabelled_test_data=True
        )
