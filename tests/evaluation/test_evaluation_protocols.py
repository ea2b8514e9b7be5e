"""Protocol structure: who is tested, who is trained on, and clear refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurodl.data import EpochsDataset
from neurodl.evaluation import PROTOCOLS, check_no_leakage, get_protocol
from neurodl.exceptions import ConfigError, DataFormatError


def make_dataset(n_subjects=3, n_sessions=2, n_runs=2, n_per_run=8, window_s=None, seed=0):
    """Balanced 2-class data; one recording per run; onsets 1 s apart within a recording."""
    rows, y = [], []
    for s in range(n_subjects):
        for ses in range(n_sessions):
            for r in range(n_runs):
                for t in range(n_per_run):
                    rows.append(
                        {
                            "subject": f"S{s}",
                            "session": f"ses{ses}",
                            "run": f"run{r}",
                            "recording": f"S{s}_ses{ses}_run{r}",
                            "segment": f"S{s}_ses{ses}_run{r}_{t}",
                            "trial": t,
                            "onset": float(t),
                        }
                    )
                    y.append(t % 2)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(len(y), 4))
    info = {} if window_s is None else {"window_s": window_s}
    return EpochsDataset(X, np.array(y), pd.DataFrame(rows), info=info)


def test_loso_test_folds_are_exactly_one_subject():
    ds = make_dataset()
    subjects = ds.groups("subject")
    folds = list(get_protocol("leave-one-subject-out").split(ds))
    assert len(folds) == 3
    seen = []
    for train, test in folds:
        assert len(np.unique(subjects[test])) == 1
        (s,) = np.unique(subjects[test])
        np.testing.assert_array_equal(test, np.flatnonzero(subjects == s))
        np.testing.assert_array_equal(train, np.flatnonzero(subjects != s))
        seen.append(s)
    assert sorted(seen) == ["S0", "S1", "S2"]


def test_within_session_folds_stay_inside_a_block_and_partition_it():
    ds = make_dataset()
    blocks = ds.groups(["subject", "session"])
    proto = get_protocol("within-session", n_splits=4)
    triples = proto.splits(ds)
    assert len(triples) == 6 * 4
    tested = np.concatenate([te for _, te, _ in triples])
    np.testing.assert_array_equal(np.sort(tested), np.arange(ds.n_samples))  # each once
    for train, test, block in triples:
        assert set(blocks[train]) == {block} and set(blocks[test]) == {block}
        # stratified: both classes in every test fold, in equal numbers
        counts = np.bincount(ds.y[test], minlength=2)
        assert counts[0] == counts[1]
    assert proto.aggregate_by_block


def test_cross_session_trains_on_other_sessions_of_the_same_subject():
    ds = make_dataset()
    subj, ses = ds.groups("subject"), ds.groups("session")
    triples = get_protocol("cross-session").splits(ds)
    assert len(triples) == 3 * 2
    for train, test, block in triples:
        assert set(subj[test]) == {block} and set(subj[train]) == {block}
        assert len(set(ses[test])) == 1
        assert not set(ses[test]) & set(ses[train])
        assert len(train) + len(test) == np.sum(subj == block)


def test_leave_one_run_out_within_subject_session():
    ds = make_dataset(n_runs=3)
    block, run = ds.groups(["subject", "session"]), ds.groups("run")
    triples = get_protocol("leave-one-run-out").splits(ds)
    assert len(triples) == 6 * 3
    for train, test, b in triples:
        assert set(block[train]) == set(block[test]) == {b}
        assert len(set(run[test])) == 1 and not set(run[test]) & set(run[train])


@pytest.mark.parametrize("group_by", ["recording", "segment", "subject"])
def test_grouped_kfold_keeps_groups_on_one_side(group_by):
    ds = make_dataset()
    groups = ds.groups(group_by)
    folds = list(get_protocol("grouped-kfold", n_splits=3, group_by=group_by).split(ds))
    assert len(folds) == 3
    np.testing.assert_array_equal(
        np.sort(np.concatenate([te for _, te in folds])), np.arange(ds.n_samples)
    )
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])


def test_grouped_kfold_stratified_balances_classes():
    ds = make_dataset()
    for _, test in get_protocol("grouped-kfold", n_splits=4, stratify=True).split(ds):
        counts = np.bincount(ds.y[test], minlength=2)
        assert abs(int(counts[0]) - int(counts[1])) <= 1


@pytest.mark.parametrize("gap", [0, 2])
def test_blocked_timeseries_never_trains_on_the_future(gap):
    ds = make_dataset(n_subjects=2, n_sessions=1, n_runs=2, n_per_run=12)
    # shuffle the sample order so that time order is not index order
    perm = np.random.default_rng(1).permutation(ds.n_samples)
    ds = ds.subset(perm)
    rec, onset = ds.groups("recording"), ds.metadata["onset"].to_numpy()
    folds = list(get_protocol("blocked-timeseries", n_splits=3, gap=gap).split(ds))
    assert len(folds) == 3
    tested = np.concatenate([te for _, te in folds])
    assert len(np.unique(tested)) == len(tested)
    for train, test in folds:
        for r in np.unique(rec[test]):
            tr_on = onset[train][rec[train] == r]
            te_on = np.sort(onset[test][rec[test] == r])
            assert tr_on.max() < te_on.min()
            # the gap: `gap` samples (1 s apart) between last train and first test
            assert te_on.min() - tr_on.max() == gap + 1
            # the test block is contiguous
            np.testing.assert_array_equal(np.diff(te_on), 1.0)
    # the first block of each recording is never tested
    first = onset[tested].min()
    assert first > 0


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_every_protocol_split_passes_the_guard_on_its_groups(name):
    ds = make_dataset(n_subjects=3, n_sessions=2, n_runs=2, n_per_run=12)
    params = (
        {"n_splits": 3} if name in ("within-session", "grouped-kfold", "blocked-timeseries") else {}
    )
    if name == "cross-dataset":  # two "datasets" sharing subjects: the sessions, apart
        ds.metadata["dataset"] = np.where(ds.metadata["session"] == "ses0", "train", "test")
        params = {"n_splits": 3, "group_by": "subject"}
    if name in ("leave-one-site-out", "site-stratified-kfold"):  # 6 subjects at 3 sites
        ds = make_dataset(n_subjects=6, n_sessions=1, n_runs=2, n_per_run=12)
        subject_index = ds.metadata["subject"].str.extract(r"(\d+)$")[0].astype(int)
        ds.metadata["site"] = "site" + (subject_index % 3).astype(str)
        params = {"n_splits": 2} if name == "site-stratified-kfold" else {}
    proto = get_protocol(name, **params)
    n = 0
    for train, test in proto.split(ds):
        check_no_leakage(ds, train, test, group_by=proto.groups)
        n += 1
    assert n == proto.get_n_splits(ds) > 1
    d = proto.to_dict()
    assert d["name"] == name and d["groups"] == list(proto.groups)


def test_get_protocol_returns_instances_unchanged():
    proto = get_protocol("grouped-kfold", group_by="recording")
    assert get_protocol(proto) is proto
    assert "GroupedKFold(" in repr(proto)


@pytest.mark.parametrize(
    ("name", "params", "data", "error", "match"),
    [
        ("loso", {}, {}, ConfigError, "Allowed: 'within-session', 'cross-session'.*got 'loso'"),
        ("grouped-kfold", {"n_splits": 1}, {}, ConfigError, "'n_splits'.*got 1"),
        ("grouped-kfold", {"group_by": 3}, {}, ConfigError, "'group_by'.*got 3"),
        ("grouped-kfold", {"bogus": 1}, {}, ConfigError, "protocol 'grouped-kfold'.*bogus"),
        ("blocked-timeseries", {"gap": -1}, {}, ConfigError, "'gap'.*got -1"),
        (
            "leave-one-subject-out",
            {},
            {"n_subjects": 1},
            DataFormatError,
            "at least 2 subjects; found 1: \\['S0'\\]",
        ),
        (
            "cross-session",
            {},
            {"n_sessions": 1},
            DataFormatError,
            "at least 2 sessions.*'S0': 1, 'S1': 1",
        ),
        ("leave-one-run-out", {}, {"n_runs": 1}, DataFormatError, "at least 2 runs"),
        (
            "grouped-kfold",
            {"n_splits": 5, "group_by": "subject"},
            {},
            DataFormatError,
            "at least 5 distinct 'subject' values; found 2",
        ),
        (
            "within-session",
            {"n_splits": 10},
            {},
            DataFormatError,
            "at least 10 segments.*block 'S0/ses0' has 8",
        ),
        (
            "blocked-timeseries",
            {"n_splits": 9},
            {},
            DataFormatError,
            "at least 10 samples per recording; recording 'S0_ses0_run0' has 4",
        ),
    ],
)
def test_bad_protocols_table(name, params, data, error, match):
    data = {"n_subjects": 2, "n_per_run": 4, **data}
    ds = make_dataset(**data)
    with pytest.raises(error, match=match):
        list(get_protocol(name, **params).split(ds))


def test_split_rejects_non_datasets():
    with pytest.raises(TypeError, match="EpochsDataset; got ndarray"):
        list(get_protocol("leave-one-subject-out").split(np.zeros((4, 2))))


def test_unknown_group_column_is_named():
    ds = make_dataset()
    with pytest.raises(ValueError, match=r"Unknown metadata column.*'site'"):
        list(get_protocol("grouped-kfold", group_by="site").split(ds))
