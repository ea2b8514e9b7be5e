"""``neurodl datasets {list,info,verify,fetch}`` run in-process."""

from __future__ import annotations

import hashlib
import http.server
import threading
from functools import partial

import pytest

import neurodl
from neurodl.cli.main import main
from neurodl.datasets import REGISTRY, DatasetEntry, FileRecord, temporary_dataset

CONTENT = {"a.txt": b"alpha\n" * 50, "deep/b.bin": bytes(range(200))}


@pytest.fixture
def tiny(tmp_path):
    """A registered fake dataset; its files are written under ``tmp_path / 'root'``."""
    root = tmp_path / "root"
    for rel, data in CONTENT.items():
        (root / "test/tiny" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "test/tiny" / rel).write_bytes(data)
    files = tuple(
        FileRecord(rel, hashlib.sha256(d).hexdigest(), len(d)) for rel, d in CONTENT.items()
    )
    e = DatasetEntry(name="tiny-cli-test", folder="test/tiny", description="A tiny CLI set.",
                     modality="eeg", citation="Doe J. Tiny data. J Tests 1:1 (2024).",
                     license="CC0.", sfreq=100.0, classes={"a": "class a", "b": "class b"},
                     files=files)  # fmt: skip
    with temporary_dataset(e):
        yield e, root


def _run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_shows_every_dataset_and_presence(tiny, capsys):
    _, root = tiny
    code, out, _ = _run(capsys, "datasets", "list", "--data-root", str(root))
    assert code == 0
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[:-1]}
    assert set(rows) == set(REGISTRY)
    assert rows["tiny-cli-test"] == "present"
    assert rows["bonn"] == "missing"
    assert "A tiny CLI set." in out
    assert out.splitlines()[-1] == f"data root: {root}"
    (root / "test/tiny/a.txt").unlink()
    _, out, _ = _run(capsys, "datasets", "list", "--data-root", str(root))
    row = next(line for line in out.splitlines() if line.startswith("tiny-cli-test "))
    assert row.split()[1:3] == ["partial", "1/2"]


def test_list_without_data_root(tiny, capsys):
    with neurodl.config_context(data_root=None):
        code, out, _ = _run(capsys, "datasets", "list")
    assert code == 0
    assert "no data root set" in out


def test_info_shows_all_facts(tiny, capsys):
    e, root = tiny
    code, out, _ = _run(capsys, "datasets", "info", "tiny-cli-test", "--data-root", str(root))
    assert code == 0
    assert "name: tiny-cli-test" in out
    assert f"folder: test/tiny ({root / 'test/tiny'}, present)" in out
    assert "sampling rate: 100 Hz" in out
    assert "classes (2):\n  a: class a\n  b: class b" in out
    assert "citation: Doe J. Tiny data. J Tests 1:1 (2024)." in out
    assert "licence: CC0." in out
    assert "files (2, 500 B):" in out
    for f in e.files:
        assert f"  {f.path}  {f.size} B  sha256 {f.sha256}" in out


def test_info_real_entry_and_unknown_name(capsys):
    code, out, _ = _run(capsys, "datasets", "info", "bonn")
    assert code == 0
    assert (
        "Andrzejak" in out
        and "173.61 Hz" in out
        and "loader: neurodl.datasets.bonn.read_bonn" in out
    )
    code, out, err = _run(capsys, "datasets", "info", "bonnn")
    assert code == 1
    assert err.startswith("neurodl: error: Unknown dataset 'bonnn'. Known datasets: ")


def test_verify_ok_then_problems(tiny, capsys):
    _, root = tiny
    code, out, _ = _run(capsys, "datasets", "verify", "tiny-cli-test", "--data-root", str(root))
    assert code == 0
    assert "tiny-cli-test: ok (2 files)" in out
    (root / "test/tiny/a.txt").write_bytes(b"changed")
    (root / "test/tiny/deep/b.bin").unlink()
    code, out, _ = _run(capsys, "datasets", "verify", "tiny-cli-test", "--data-root", str(root))
    assert code == 1
    assert "FAILED (0 ok, 1 missing, 1 altered of 2 files)" in out
    assert "  a.txt: altered: 7 bytes, expected 300" in out
    assert "  deep/b.bin: missing" in out


def test_verify_unknown_name_and_no_root(capsys):
    code, _, err = _run(capsys, "datasets", "verify", "nope", "--data-root", ".")
    assert code == 1 and "Unknown dataset 'nope'" in err
    with neurodl.config_context(data_root=None):
        code, _, err = _run(capsys, "datasets", "verify", "bonn")
    assert code == 1 and err.startswith("neurodl: error: No data root set.")


def test_datasets_without_action_prints_usage(capsys):
    code, out, _ = _run(capsys, "datasets")
    assert code == 2
    assert "list" in out and "verify" in out and "fetch" in out


@pytest.fixture
def http_root(tmp_path):
    """A plain static HTTP server on 127.0.0.1 serving ``tmp_path / 'srv'``."""
    srv = tmp_path / "srv"
    srv.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(srv)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", srv
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_fetch_downloads_into_data_root(tiny, http_root, tmp_path, capsys):
    url, srv = http_root
    _, served = tiny
    for rel in CONTENT:  # mirror the dataset folder on the server
        (srv / "mirror" / rel).parent.mkdir(parents=True, exist_ok=True)
        (srv / "mirror" / rel).write_bytes((served / "test/tiny" / rel).read_bytes())
    dest = tmp_path / "fresh"
    code, out, _ = _run(capsys, "datasets", "fetch", "tiny-cli-test", "--url", f"{url}/mirror",
                        "--data-root", str(dest))  # fmt: skip
    assert code == 0
    assert "all files present and verified" in out
    for rel, data in CONTENT.items():
        assert (dest / "test/tiny" / rel).read_bytes() == data
    # A local file that differs is kept unless --overwrite.
    (dest / "test/tiny/a.txt").write_bytes(b"mine")
    code, _, err = _run(capsys, "datasets", "fetch", "tiny-cli-test", "--url", f"{url}/mirror",
                        "--data-root", str(dest))  # fmt: skip
    assert code == 1 and "exists with different content" in err and "--overwrite" in err
    code, _, _ = _run(capsys, "datasets", "fetch", "tiny-cli-test", "--url", f"{url}/mirror",
                      "--data-root", str(dest), "--overwrite")  # fmt: skip
    assert code == 0
    assert (dest / "test/tiny/a.txt").read_bytes() == CONTENT["a.txt"]


def test_fetch_bad_mirror_fails_cleanly(tiny, http_root, tmp_path, capsys):
    url, srv = http_root
    (srv / "bad").mkdir()
    (srv / "bad/a.txt").write_bytes(b"not the real content")
    code, _, err = _run(capsys, "datasets", "fetch", "tiny-cli-test", "--url", f"{url}/bad",
                        "--data-root", str(tmp_path / "d"))  # fmt: skip
    assert code == 1
    assert err.startswith("neurodl: error: ")
    assert "Checksum mismatch for a.txt" in err  # a.txt is the first file of the entry
    assert "Traceback" not in err
    assert not list((tmp_path / "d").rglob("*.part"))


def test_fetch_requires_url(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["datasets", "fetch", "bonn"])
    assert exc.value.code == 2
    assert "--url" in capsys.readouterr().err


@pytest.mark.realdata
def test_verify_all_shared_data(shared_data, capsys):
    root = shared_data("SHA256SUMS").parent
    code, out, _ = _run(capsys, "datasets", "verify", "--data-root", str(root))
    assert code == 0, out
    assert out.splitlines()[-1].startswith("all ok: ")
    assert "missing" not in out.replace("0 missing", "")


@pytest.mark.realdata
def test_verify_from_environment(shared_data, monkeypatch, capsys):
    monkeypatch.setenv("NEURODL_DATA", str(shared_data("SHA256SUMS").parent))
    code, out, _ = _run(capsys, "datasets", "verify", "chewie-reaching", "ca1-calcium")
    assert code == 0
    assert "chewie-reaching: ok (3 files)" in out and "ca1-calcium: ok (8 files)" in out
    code, out, _ = _run(capsys, "datasets", "list")
    assert "bonn" in out and "missing" not in out
