"""fetch_dataset against a local HTTP server on 127.0.0.1 that honours Range requests."""

from __future__ import annotations

import hashlib
import http.server
import re
import threading
from functools import partial
from pathlib import Path

import pytest

from neurodl.datasets import (
    DatasetEntry,
    FileRecord,
    fetch_dataset,
    temporary_dataset,
    verify_dataset,
)
from neurodl.exceptions import ConfigError, DatasetError, OutputExistsError

NAME = "tiny-fetch-test"
CONTENT = {
    "a.bin": bytes(range(256)) * 40,  # 10240 bytes
    "sub/b.txt": b"hello neurodl\n" * 100,
    "c+d.csv": b"x,y\n1,2\n",  # a character that must be URL-quoted
}


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with single-range ``Range: bytes=N-`` support; records what it was asked."""

    honour_range = True
    log: list[tuple[str, str | None]]

    def log_message(self, format, *args):  # silence the server
        pass

    def do_GET(self):
        self.log.append((self.path, self.headers.get("Range")))
        rng = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not (self.honour_range and rng and path.is_file()):
            return super().do_GET()
        m = re.fullmatch(r"bytes=(\d+)-", rng)
        data = path.read_bytes()
        start = int(m.group(1)) if m else 0
        if start >= len(data):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        body = data[start:]
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return None


@pytest.fixture
def server(tmp_path):
    """Serve ``tmp_path / 'srv'``; yields ``(base_url, folder, log, handler_class)``."""
    folder = tmp_path / "srv"
    folder.mkdir()
    handler = type("Handler", (RangeHandler,), {"log": [], "honour_range": True})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(handler, directory=str(folder))
    )
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/data", folder, handler.log, handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _write(folder: Path, content: dict[str, bytes]) -> None:
    for rel, data in content.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)


@pytest.fixture
def entry():
    files = tuple(
        FileRecord(rel, hashlib.sha256(data).hexdigest(), len(data))
        for rel, data in CONTENT.items()
    )
    e = DatasetEntry(
        name=NAME,
        folder="test/tiny",
        description="tiny test set",
        modality="eeg",
        citation="none",
        license="none",
        files=files,
    )
    with temporary_dataset(e):
        yield e


def test_fetch_downloads_and_verifies(server, entry, tmp_path):
    url, srv, log, _ = server
    _write(srv / "data", CONTENT)
    root = tmp_path / "root"
    folder = fetch_dataset(NAME, url, data_root=root)
    assert folder == root / "test/tiny"
    for rel, data in CONTENT.items():
        assert (folder / rel).read_bytes() == data
    assert not list(folder.rglob("*.part"))
    assert verify_dataset(NAME, data_root=root).ok
    assert sorted(p for p, _ in log) == sorted(
        ["/data/a.bin", "/data/sub/b.txt", "/data/c%2Bd.csv"]
    )
    # A second fetch finds everything in place and downloads nothing.
    log.clear()
    fetch_dataset(NAME, url + "/", data_root=root)
    assert log == []


def test_fetch_checksum_mismatch_deletes_part(server, entry, tmp_path):
    url, srv, _, _ = server
    bad = dict(CONTENT)
    bad["sub/b.txt"] = b"HELLO neurodl\n" + CONTENT["sub/b.txt"][14:]  # same size, other bytes
    _write(srv / "data", bad)
    root = tmp_path / "root"
    with pytest.raises(DatasetError, match=r"Checksum mismatch for sub/b\.txt"):
        fetch_dataset(NAME, url, data_root=root)
    folder = root / "test/tiny"
    assert not (folder / "sub/b.txt").exists()
    assert not (folder / "sub/b.txt.part").exists()


def test_fetch_resumes_partial_download(server, entry, tmp_path):
    url, srv, log, _ = server
    _write(srv / "data", CONTENT)
    folder = tmp_path / "root/test/tiny"
    folder.mkdir(parents=True)
    full = CONTENT["a.bin"]
    (folder / "a.bin.part").write_bytes(full[:3000])
    fetch_dataset(NAME, url, data_root=tmp_path / "root")
    assert ("/data/a.bin", "bytes=3000-") in log
    assert (folder / "a.bin").read_bytes() == full
    assert not (folder / "a.bin.part").exists()


def test_fetch_restarts_when_server_ignores_range(server, entry, tmp_path):
    url, srv, log, handler = server
    handler.honour_range = False
    _write(srv / "data", CONTENT)
    folder = tmp_path / "root/test/tiny"
    folder.mkdir(parents=True)
    (folder / "a.bin.part").write_bytes(CONTENT["a.bin"][:5000])
    fetch_dataset(NAME, url, data_root=tmp_path / "root")
    assert ("/data/a.bin", "bytes=5000-") in log  # asked, got a full 200 answer
    assert (folder / "a.bin").read_bytes() == CONTENT["a.bin"]


def test_fetch_corrupt_partial_fails_then_recovers(server, entry, tmp_path):
    url, srv, _, _ = server
    _write(srv / "data", CONTENT)
    folder = tmp_path / "root/test/tiny"
    folder.mkdir(parents=True)
    (folder / "a.bin.part").write_bytes(b"\xff" * 100)  # wrong prefix
    with pytest.raises(DatasetError, match=r"Checksum mismatch for a\.bin"):
        fetch_dataset(NAME, url, data_root=tmp_path / "root")
    assert not (folder / "a.bin.part").exists()
    fetch_dataset(NAME, url, data_root=tmp_path / "root")  # clean retry succeeds
    assert verify_dataset(NAME, data_root=tmp_path / "root").ok


def test_fetch_refuses_to_overwrite_different_file(server, entry, tmp_path):
    url, srv, log, _ = server
    _write(srv / "data", CONTENT)
    folder = tmp_path / "root/test/tiny"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub/b.txt").write_bytes(b"local edits")
    with pytest.raises(OutputExistsError, match="overwrite"):
        fetch_dataset(NAME, url, data_root=tmp_path / "root")
    assert log == []  # refused before downloading anything
    assert (folder / "sub/b.txt").read_bytes() == b"local edits"
    fetch_dataset(NAME, url, data_root=tmp_path / "root", overwrite=True)
    assert (folder / "sub/b.txt").read_bytes() == CONTENT["sub/b.txt"]


def test_fetch_http_error_is_dataset_error(server, entry, tmp_path):
    url, _, _, _ = server  # nothing served: every file is a 404
    with pytest.raises(DatasetError, match="HTTP 404"):
        fetch_dataset(NAME, url, data_root=tmp_path / "root")


def test_fetch_unreachable_server(entry, tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DatasetError, match="failed"):
        fetch_dataset(NAME, f"http://127.0.0.1:{port}/", data_root=tmp_path, timeout=5)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"name": NAME, "url": "ftp://example.org/x"}, ConfigError, "'url'.*got 'ftp"),
        ({"name": NAME, "url": "/local/folder"}, ConfigError, "scheme must be one of http"),
        ({"name": "no-such-set", "url": "http://x/"}, DatasetError, "Known datasets:.*bonn"),
    ],
)
def test_fetch_bad_input(entry, tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        fetch_dataset(data_root=tmp_path, **kwargs)
