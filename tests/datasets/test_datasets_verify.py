"""verify_dataset: per-file ok / missing / altered, against hashlib as the oracle."""

from __future__ import annotations

import hashlib

import pytest

from neurodl.datasets import (
    REGISTRY,
    DatasetEntry,
    FileRecord,
    get_dataset,
    sha256_file,
    temporary_dataset,
    verify_dataset,
)
from neurodl.exceptions import DatasetError

CONTENT = {"a.bin": b"\x00\x01" * 3000, "sub/b.txt": b"abc\n" * 10, "sub/c.txt": b"c"}


@pytest.fixture
def tiny(tmp_path):
    """A registered fake dataset with its files written under ``tmp_path``."""
    folder = tmp_path / "test/tiny"
    for rel, data in CONTENT.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    files = tuple(
        FileRecord(rel, hashlib.sha256(d).hexdigest(), len(d)) for rel, d in CONTENT.items()
    )
    e = DatasetEntry(name="tiny-verify-test", folder="test/tiny", description="d",
                     modality="eeg", citation="c", license="l", files=files)  # fmt: skip
    with temporary_dataset(e):
        yield e, tmp_path


def test_sha256_file_matches_hashlib(tmp_path, rng):
    data = rng.bytes(3 * (1 << 20) + 17)  # spans several read chunks
    (tmp_path / "x").write_bytes(data)
    assert sha256_file(tmp_path / "x") == hashlib.sha256(data).hexdigest()


def test_verify_all_ok(tiny):
    e, root = tiny
    report = verify_dataset(e.name, data_root=root)
    assert report.ok
    assert report.counts() == {"ok": 3, "missing": 0, "altered": 0}
    assert [c.sha256 for c in report.checks] == [f.sha256 for f in e.files]
    assert str(report).splitlines()[0] == "tiny-verify-test: ok (3 files)"
    assert "all ok" in report.summary()


def test_verify_missing_and_altered(tiny):
    e, root = tiny
    folder = root / e.folder
    (folder / "sub/c.txt").unlink()
    (folder / "a.bin").write_bytes(b"\x00\x02" + CONTENT["a.bin"][2:])  # same size
    (folder / "sub/b.txt").write_bytes(CONTENT["sub/b.txt"] + b"x")  # other size
    report = verify_dataset([e.name], data_root=root)
    assert not report.ok
    status = {c.path: c.status for c in report.checks}
    assert status == {"a.bin": "altered", "sub/b.txt": "altered", "sub/c.txt": "missing"}
    assert [c.path for c in report.missing] == ["sub/c.txt"]
    assert {c.path for c in report.altered} == {"a.bin", "sub/b.txt"}
    by_path = {c.path: c for c in report.checks}
    assert by_path["a.bin"].sha256 == hashlib.sha256(b"\x00\x02" + CONTENT["a.bin"][2:]).hexdigest()
    assert by_path["sub/b.txt"].size == len(CONTENT["sub/b.txt"]) + 1
    text = report.summary()
    assert "tiny-verify-test: FAILED (0 ok, 1 missing, 2 altered of 3 files)" in text
    assert "sub/c.txt: missing" in text
    assert f"sub/b.txt: altered: 41 bytes, expected {len(CONTENT['sub/b.txt'])}" in text
    assert "a.bin: altered: sha256" in text
    assert "PROBLEMS FOUND" in text


def test_verify_whole_folder_missing(tiny, tmp_path):
    e, _ = tiny
    report = verify_dataset(e.name, data_root=tmp_path / "elsewhere")
    assert report.counts(e.name)["missing"] == 3
    assert "tiny-verify-test: MISSING (all 3 files absent)" in report.summary()


def test_verify_summary_truncates_long_lists(tiny):
    e, root = tiny
    for rel in CONTENT:
        (root / e.folder / rel).unlink()
    (root / e.folder / "a.bin").write_bytes(b"")
    text = verify_dataset(e.name, data_root=root).summary(max_files=1)
    assert "... and 2 more" in text


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: verify_dataset("no-such-set", data_root="."), DatasetError, "Known datasets"),
        (lambda: verify_dataset("bonn", data_root=".").by_status("gone"), ValueError,
         "Allowed: ok, missing, altered; got 'gone'"),
    ],
)  # fmt: skip
def test_verify_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.realdata
def test_checksum_tables_match_shared_sha256sums(shared_data):
    """Every line of the reference SHA256SUMS belongs to exactly one registry entry."""
    sums = shared_data("SHA256SUMS").read_text().split("\n")
    expected = {}
    for line in filter(None, sums):
        sha, path = line.split(maxsplit=1)
        expected[path.removeprefix("./")] = sha
    table = {}
    for e in REGISTRY.values():
        for f in e.files:
            key = f"{e.folder}/{f.path}"
            assert key not in table, f"{key} is in two entries"
            table[key] = f.sha256
    assert table == expected


@pytest.mark.realdata
def test_verify_all_shared_data_ok(shared_data):
    """The full check of every entry (about 100 MB; well under a few seconds)."""
    root = shared_data("SHA256SUMS").parent
    report = verify_dataset(data_root=root)
    assert report.ok, report.summary()
    assert report.datasets == sorted(REGISTRY)
    assert len(report.checks) == sum(get_dataset(n).n_files for n in REGISTRY)


@pytest.mark.realdata
def test_checksum_lists_regenerate_identically(shared_data, tmp_path):
    from neurodl.datasets._make_checksums import render_checksums, write_checksums
    from neurodl.datasets.registry import checksum_resource

    root = shared_data("SHA256SUMS").parent
    rendered = render_checksums(root)
    assert sorted(rendered) == sorted(e.folder for e in REGISTRY.values())
    for folder, text in rendered.items():
        assert checksum_resource(folder).read_text(encoding="utf-8") == text, folder
    written = write_checksums(root, tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(
        f"{folder}.txt" for folder in rendered
    )
