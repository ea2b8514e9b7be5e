"""Explicit download of a named dataset from a mirror URL (never called implicitly).

Each file goes to ``<file>.part`` first; an interrupted download resumes with an HTTP ``Range``
request; the finished ``.part`` is checked against its SHA-256 and only then renamed into place.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .._logging import logger
from ..exceptions import ConfigError, DatasetError, OutputExistsError
from .registry import FileRecord, dataset_path, get_dataset
from .verify import check_file, sha256_file

__all__ = ["fetch_dataset"]

_CHUNK = 1 << 16
#: URL schemes fetch_dataset accepts -> description.
SCHEMES: dict[str, str] = {"http": "plain HTTP", "https": "HTTP over TLS"}


def _file_url(base: str, relpath: str) -> str:
    return base.rstrip("/") + "/" + urllib.parse.quote(relpath)


def _download(url: str, part: Path, record: FileRecord, timeout: float) -> None:
    """Download ``url`` into ``part``, resuming from its current size when the server allows."""
    offset = part.stat().st_size if part.exists() else 0
    if offset > record.size:
        part.unlink()
        offset = 0
    if offset == record.size:
        return
    request = urllib.request.Request(url)
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # range not satisfiable: start over
            part.unlink()
            _download(url, part, record, timeout)
            return
        raise DatasetError(f"Download of {url} failed: HTTP {err.code} {err.reason}.") from err
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise DatasetError(f"Download of {url} failed: {reason}.") from err
    with response:
        resumed = offset and response.status == 206
        if offset and not resumed:
            logger.info("Server ignored the Range request for %s; downloading it again.", url)
        mode = "ab" if resumed else "wb"
        with open(part, mode) as fh:
            while chunk := response.read(_CHUNK):
                fh.write(chunk)


def fetch_dataset(
    name: str,
    url: str,
    data_root: str | Path | None = None,
    *,
    overwrite: bool = False,
    timeout: float = 60.0,
) -> Path:
    """Download every file of dataset ``name`` from ``url`` into the data root.

    File ``<folder>/<relpath>`` of the dataset is fetched from ``url + "/" + relpath``. Files
    already present with the right checksum are skipped; a ``<file>.part`` left by an
    interrupted run is resumed with an HTTP ``Range`` request.

    Parameters
    ----------
    name : str
        A registered dataset name (see :func:`neurodl.datasets.list_datasets`).
    url : str
        Base URL (``http://`` or ``https://``) of a mirror of the dataset folder.
    data_root : str or Path or None
        Root folder; default :func:`neurodl.get_data_root`.
    overwrite : bool, default=False
        Replace existing files whose checksum differs; without it they raise.
    timeout : float, default=60.0
        Socket timeout in seconds for each request.

    Returns
    -------
    Path
        The dataset folder.

    Raises
    ------
    OutputExistsError
        If a file exists with different content and ``overwrite`` is False (nothing is
        downloaded then).
    DatasetError
        If a download fails or a downloaded file does not match its SHA-256 (the bad
        ``.part`` is deleted).

    Examples
    --------
    No network here: files already in place with the right checksum are skipped (the mirror is
    never contacted), and a file with other content is not overwritten unless asked.

    >>> import hashlib, tempfile
    >>> from neurodl.datasets.registry import DatasetEntry, FileRecord, temporary_dataset
    >>> record = FileRecord("a.txt", hashlib.sha256(b"hello").hexdigest(), 5)
    >>> entry = DatasetEntry("fetch-demo", "demo", "A demo.", "eeg", "none", "CC0", files=(record,))
    >>> with temporary_dataset(entry), tempfile.TemporaryDirectory() as tmp:
    ...     (Path(tmp) / "demo").mkdir()
    ...     _ = (Path(tmp) / "demo" / "a.txt").write_bytes(b"hello")
    ...     print(fetch_dataset("fetch-demo", "https://mirror.invalid/demo", tmp).name)
    ...     _ = (Path(tmp) / "demo" / "a.txt").write_bytes(b"HELLO")
    ...     try:
    ...         fetch_dataset("fetch-demo", "https://mirror.invalid/demo", tmp)
    ...     except OutputExistsError as err:
    ...         print(str(err).replace(tmp, "<tmp>").split(" (")[0])
    ...     try:
    ...         fetch_dataset("fetch-demo", "ftp://mirror.invalid/demo", tmp)
    ...     except ConfigError as err:
    ...         print(err)
    demo
    <tmp>/demo/a.txt exists with different content
    Invalid value for 'url': the scheme must be one of http, https; got 'ftp://mirror.invalid/demo'.
    """
    entry = get_dataset(name)
    scheme = urllib.parse.urlsplit(str(url)).scheme.lower()
    if scheme not in SCHEMES:
        raise ConfigError(
            f"Invalid value for 'url': the scheme must be one of {', '.join(SCHEMES)}; got {url!r}."
        )
    folder = dataset_path(name, data_root, must_exist=False)
    todo = []
    for record in entry.files:
        check = check_file(folder, record, entry.name)
        if check.status == "ok":
            continue
        if check.status == "altered" and not overwrite:
            raise OutputExistsError(
                f"{folder / record.path} exists with different content ({check.reason}); "
                "pass overwrite=True (--overwrite) to replace it."
            )
        todo.append(record)
    logger.info("Fetching %d of %d files of %s into %s", len(todo), entry.n_files, name, folder)
    for record in todo:
        dest = folder / record.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        file_url = _file_url(str(url), record.path)
        logger.info("Downloading %s (%d bytes)", file_url, record.size)
        _download(file_url, part, record, timeout)
        digest = sha256_file(part)
        if digest != record.sha256:
            part.unlink()
            raise DatasetError(
                f"Checksum mismatch for {record.path} of dataset {name!r} downloaded from "
                f"{file_url}: sha256 {digest}, expected {record.sha256}. The partial file was "
                "deleted; check the URL and try again."
            )
        os.replace(part, dest)
    return folder
