"""The named-dataset registry: entries, lookup, paths and lazy loading."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import neurodl
from neurodl.data import Annotations, EpochsDataset, Recording, SpikeTrains, VolumeSeries
from neurodl.datasets import (
    REGISTRY,
    DatasetEntry,
    FileRecord,
    dataset_path,
    get_dataset,
    list_datasets,
    load_dataset,
    register_dataset,
    temporary_dataset,
)
from neurodl.datasets.abide import AbideTimeSeries
from neurodl.datasets.kriegeskorte92 import Kriegeskorte92
from neurodl.datasets.registry import checksum_resource, files_from_table, read_checksums
from neurodl.exceptions import DatasetError

REQUIRED = [
    "bonn", "eegmmidb-s001", "haxby2001-slice", "kriegeskorte92", "mc-maze-trials",
    "chewie-reaching", "hatsopoulos-centerout", "ca1-calcium", "mne-testing-subset",
    "suite2p-plane0", "pynapple-nwb", "eegmat", "abide-cc200",
]  # fmt: skip
#: keyword arguments the user must give for some datasets (facts missing from the files).
REAL_KWARGS = {"suite2p-plane0": {"fs": 30.0}}
#: facts from the data README checked on what load_dataset returns.
EXPECTED = {
    "bonn": lambda o: o.X.shape == (500, 1, 4097) and o.classes == ["A", "B", "C", "D", "E"],
    "eegmmidb-s001": lambda o: o.X.shape[1] == 64 and o.sfreq == 160.0,
    "haxby2001-slice": lambda o: o.n_volumes == 1452 and o.tr == 2.5,
    "mc-maze-trials": lambda o: o.n_times == 3236 and o.sfreq == 1000.0,
    "chewie-reaching": lambda o: o.X.shape == (1818, 71) and set(o.y.ravel()) <= set(range(8)),
    "hatsopoulos-centerout": lambda o: (
        o.X.shape == (158, 143) and set(o.y.ravel().astype(int)) == set(range(1, 9))
    ),
    "ca1-calcium": lambda o: o.X.shape == (420, 79),
    "suite2p-plane0": lambda o: o.n_times == 2000 and o.sfreq == 30.0,
    "pynapple-nwb": lambda o: o.n_units == 35 and o.n_spikes == 214278,
    "neurodsp-lfp": lambda o: o.data.shape == (1, 10000) and o.sfreq == 1000.0,
    "kriegeskorte92": lambda o: o.hit.dissimilarities.shape == (8, 4186) and o.models.n_rdms == 8,
    "eegmat": lambda o: len(o) == 24 and {r.sfreq for r in o} == {500.0},
    "abide-cc200": lambda o: o.n_subjects == 386 and o.n_regions == 200,
}
CONTAINERS = (
    Recording, VolumeSeries, SpikeTrains, EpochsDataset, Annotations, AbideTimeSeries,
    Kriegeskorte92,
)  # fmt: skip


def _entry(**kwargs) -> DatasetEntry:
    base = dict(
        name="tiny-registry-test", folder="test/tiny", description="d", modality="eeg",
        citation="c", license="l", files=(FileRecord("x.txt", "0" * 64, 1),),
    )  # fmt: skip
    base.update(kwargs)
    return DatasetEntry(**base)


def test_required_datasets_are_registered():
    names = list_datasets()
    assert names == sorted(names)
    assert set(REQUIRED) <= set(names)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_entry_is_complete(name):
    e = get_dataset(name)
    assert e.name == name
    for attr in ("description", "modality", "citation", "license", "folder"):
        assert getattr(e, attr).strip(), f"{name}: empty {attr}"
    assert "\n" not in e.description
    assert e.n_files == len(e.files) > 0
    assert e.total_size == sum(f.size for f in e.files) > 0
    assert len({f.path for f in e.files}) == e.n_files
    for f in e.files:
        assert re.fullmatch(r"[0-9a-f]{64}", f.sha256), f
        assert not f.path.startswith("/") and ".." not in f.path.split("/")
    if e.loader is not None:
        assert callable(e.loader)
        assert re.fullmatch(r"neurodl\.(io|datasets)\.[a-z0-9_.]+\.read_[a-z0-9_]+", e.loader_name)
    if e.sfreq is not None:
        assert e.sfreq > 0
    assert e.files == read_checksums(e.folder)
    assert e.files == tuple(sorted(e.files, key=lambda f: f.path))


def test_facts_match_the_data_owners():
    assert get_dataset("bonn").sfreq == pytest.approx(173.61)
    assert sorted(get_dataset("bonn").classes) == ["A", "B", "C", "D", "E"]
    assert get_dataset("eegmmidb-s001").sfreq == 160.0
    assert get_dataset("haxby2001-slice").sfreq == pytest.approx(1 / 2.5)
    assert len(get_dataset("haxby2001-slice").classes) == 9
    assert get_dataset("mc-maze-trials").sfreq == 1000.0
    assert len(get_dataset("hatsopoulos-centerout").classes) == 8
    assert get_dataset("bonn").n_files == 500
    assert get_dataset("eegmmidb-s001").n_files == 28
    assert get_dataset("eegmat").sfreq == 500.0 and get_dataset("eegmat").n_files == 25
    assert get_dataset("abide-cc200").n_files == 387  # 386 series + phenotypes.csv
    assert sorted(get_dataset("eegmat").classes) == ["rest", "task"]
    assert sorted(get_dataset("abide-cc200").classes) == ["autism", "control"]


def test_checksums_are_package_data():
    """One checksum list per dataset folder, shipped with the package and read lazily once."""
    for e in REGISTRY.values():
        res = checksum_resource(e.folder)
        assert res.is_file(), e.folder
        assert files_from_table(res.read_text(encoding="utf-8")) == e.files
    assert read_checksums("eeg/bonn") is read_checksums("eeg/bonn")  # cached
    with pytest.raises(DatasetError, match=r"No checksum table for folder '\.\./x'"):
        read_checksums("../x")


def test_unknown_name_lists_known_ones():
    with pytest.raises(DatasetError, match=r"Unknown dataset 'bonnn'\. Known datasets: .*bonn"):
        get_dataset("bonnn")
    with pytest.raises(FileNotFoundError):  # DatasetError is also the built-in
        get_dataset("nope")


def test_duplicate_registration_raises_and_temporary_entry_is_removed():
    e = _entry()
    with temporary_dataset(e):
        assert get_dataset("tiny-registry-test") is e
        with pytest.raises(DatasetError, match="already registered"):
            register_dataset(_entry())
    assert "tiny-registry-test" not in list_datasets()
    with pytest.raises(DatasetError, match="already registered"):
        register_dataset(_entry(name="bonn"))
    assert get_dataset("bonn").folder == "eeg/bonn"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"name": "Bad Name"}, DatasetError, "Invalid dataset name 'Bad Name'"),
        ({"name": ""}, DatasetError, "Invalid dataset name"),
        ({"loader": "eeg:read_bonn"}, DatasetError, "Invalid loader 'eeg:read_bonn'.*a function"),
        ({"files": (), "folder": "nowhere/x"}, DatasetError, "No checksum table.*'nowhere/x'"),
    ],
)
def test_entry_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        _entry(**kwargs)


def test_register_rejects_non_entries():
    with pytest.raises(TypeError, match="DatasetEntry; got dict"):
        register_dataset({"name": "x"})


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ("abc 12 x.txt", "expected '<sha256> <size> <path>'"),
        ("0" * 64 + " twelve x.txt", "line 1"),
        ("0" * 64 + " 12", "got"),
        ("# a comment\n" + "0" * 64 + " 12", "line 2"),
    ],
)
def test_files_from_table_bad_lines(table, match):
    with pytest.raises(DatasetError, match=match):
        files_from_table(table)


def test_files_from_table_parses():
    sha = "a" * 64
    out = files_from_table(f"\n{sha} 12 dir/with space.txt\n")
    assert out == (FileRecord("dir/with space.txt", sha, 12),)


def test_dataset_path_resolution(tmp_path, monkeypatch):
    (tmp_path / "eeg/bonn").mkdir(parents=True)
    assert dataset_path("bonn", data_root=tmp_path) == tmp_path / "eeg/bonn"
    assert dataset_path("bonn", data_root=str(tmp_path)) == tmp_path / "eeg/bonn"
    with neurodl.config_context(data_root=tmp_path):
        assert dataset_path("bonn") == tmp_path / "eeg/bonn"
    monkeypatch.setenv("NEURODL_DATA", str(tmp_path))
    with neurodl.config_context(data_root=None):  # thread override wins over the env
        with pytest.raises(DatasetError, match="No data root set"):
            dataset_path("bonn")
    assert dataset_path("bonn") == tmp_path / "eeg/bonn"  # from the environment
    with pytest.raises(DatasetError, match=r"'haxby2001-slice' is missing: .*does not exist"):
        dataset_path("haxby2001-slice", data_root=tmp_path)
    missing = dataset_path("haxby2001-slice", data_root=tmp_path, must_exist=False)
    assert missing == tmp_path / "fmri/haxby2001_pymvpa"


def test_load_dataset_calls_the_loader(tmp_path):
    calls = []

    def fake_reader(path, **kwargs):
        calls.append((Path(path), kwargs))
        return "loaded"

    (tmp_path / "test/tiny").mkdir(parents=True)
    (tmp_path / "test/tiny/main.dat").write_bytes(b"x")
    e = _entry(loader=fake_reader, loader_target="main.dat",
               loader_kwargs={"sfreq": 100.0, "keep": 1})  # fmt: skip
    with temporary_dataset(e):
        out = load_dataset(e.name, data_root=tmp_path, sfreq=250.0)
    assert out == "loaded"
    assert calls == [(tmp_path / "test/tiny/main.dat", {"sfreq": 250.0, "keep": 1})]
    assert e.loader_name.endswith("test_load_dataset_calls_the_loader.<locals>.fake_reader")
    folder_entry = _entry(loader=fake_reader)
    with temporary_dataset(folder_entry):
        load_dataset(folder_entry.name, data_root=tmp_path)
    assert calls[-1] == (tmp_path / "test/tiny", {})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"loader": None}, "no single reader"),
        ({"loader": print, "loader_target": "absent.dat"}, "incomplete: .*absent.dat"),
    ],
)
def test_load_dataset_errors(tmp_path, kwargs, match):
    (tmp_path / "test/tiny").mkdir(parents=True)
    e = _entry(**kwargs)
    with temporary_dataset(e), pytest.raises(DatasetError, match=match):
        load_dataset(e.name, data_root=tmp_path)


def _is_container(obj) -> bool:
    if isinstance(obj, CONTAINERS):
        return True
    if isinstance(obj, dict):
        return bool(obj) and all(_is_container(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return bool(obj) and all(_is_container(v) for v in obj)
    return isinstance(obj, np.ndarray)


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(n for n, e in REGISTRY.items() if e.loader))
def test_load_dataset_real(name, shared_data):
    entry = get_dataset(name)
    root = shared_data(entry.folder).parents[entry.folder.count("/")]
    out = load_dataset(name, data_root=root, **REAL_KWARGS.get(name, {}))
    assert _is_container(out), f"{name}: load_dataset returned {type(out).__name__}"
    assert EXPECTED[name](out), f"{name}: unexpected content {out!r}"
