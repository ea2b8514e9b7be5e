"""Checksum verification of named datasets under the data root."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .._logging import logger
from .registry import DatasetEntry, FileRecord, get_dataset, list_datasets, resolve_root

__all__ = ["FileCheck", "VerifyReport", "sha256_file", "verify_dataset"]

_CHUNK = 1 << 20

#: status -> what it means (used in the report).
STATUSES: dict[str, str] = {
    "ok": "present, size and SHA-256 match",
    "missing": "not found",
    "altered": "present but its size or SHA-256 differs",
}


def sha256_file(path: str | Path) -> str:
    """Return the SHA-256 of a file as 64 lower-case hex digits (read in 1 MiB chunks).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = path.write_text("hello")
    >>> sha256_file(path)[:16]
    '2cf24dba5fb0a30e'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileCheck:
    """The verdict on one file.

    Parameters
    ----------
    dataset : str
        Dataset name.
    path : str
        Path relative to the dataset folder.
    status : {"ok", "missing", "altered"}
    expected_size : int
    size : int or None
        Size on disk (``None`` when missing).
    expected_sha256 : str
    sha256 : str or None
        SHA-256 on disk (``None`` when missing, or when the size already differs).

    Examples
    --------
    >>> from neurodl.datasets.registry import DatasetEntry, FileRecord, temporary_dataset
    >>> import hashlib, pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "demo").mkdir()
    >>> _ = (root / "demo" / "a.txt").write_text("hello")
    >>> record = FileRecord("a.txt", hashlib.sha256(b"hello").hexdigest(), 5)
    >>> entry = DatasetEntry("demo-doc", "demo", "A demo.", "eeg", "none", "CC0", files=(record,))
    >>> with temporary_dataset(entry):
    ...     check = verify_dataset("demo-doc", root).checks[0]
    >>> check.status, check.size, check.sha256 == check.expected_sha256
    ('ok', 5, True)
    """

    dataset: str
    path: str
    status: str
    expected_size: int
    size: int | None
    expected_sha256: str
    sha256: str | None

    @property
    def reason(self) -> str:
        """A few words on why the file is not ok (empty when it is)."""
        if self.status == "missing":
            return "missing"
        if self.status == "altered":
            if self.size != self.expected_size:
                return f"altered: {self.size} bytes, expected {self.expected_size}"
            return f"altered: sha256 {self.sha256}, expected {self.expected_sha256}"
        return ""


@dataclass
class VerifyReport:
    """Per-file results of :func:`verify_dataset`.

    Parameters
    ----------
    root : Path
        The data root that was checked.
    checks : list of FileCheck
    datasets : list of str
        The dataset names checked, in order.

    Examples
    --------
    >>> from neurodl.datasets.registry import DatasetEntry, FileRecord, temporary_dataset
    >>> import hashlib, pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "demo").mkdir()
    >>> _ = (root / "demo" / "a.txt").write_text("hello")
    >>> record = FileRecord("a.txt", hashlib.sha256(b"hello").hexdigest(), 5)
    >>> entry = DatasetEntry("demo-doc", "demo", "A demo.", "eeg", "none", "CC0", files=(record,))
    >>> with temporary_dataset(entry):
    ...     report = verify_dataset("demo-doc", root)
    >>> report.ok, report.datasets, len(report.checks)
    (True, ['demo-doc'], 1)
    """

    root: Path
    checks: list[FileCheck] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every file is present and matches its checksum."""
        return all(c.status == "ok" for c in self.checks)

    def by_status(self, status: str) -> list[FileCheck]:
        """Return the checks with ``status`` (``"ok"``, ``"missing"`` or ``"altered"``)."""
        if status not in STATUSES:
            raise ValueError(
                f"Invalid value for 'status'. Allowed: {', '.join(STATUSES)}; got {status!r}."
            )
        return [c for c in self.checks if c.status == status]

    @property
    def missing(self) -> list[FileCheck]:
        return self.by_status("missing")

    @property
    def altered(self) -> list[FileCheck]:
        return self.by_status("altered")

    def counts(self, dataset: str | None = None) -> dict[str, int]:
        """Return ``{status: count}`` over all files or those of one dataset."""
        sel = [c for c in self.checks if dataset is None or c.dataset == dataset]
        return {s: sum(c.status == s for c in sel) for s in STATUSES}

    def summary(self, max_files: int = 20) -> str:
        """Return a text report: one line per dataset, then the files that are not ok.

        Parameters
        ----------
        max_files : int, default=20
            Most problem files listed per dataset.
        """
        lines = []
        for name in self.datasets:
            cnt = self.counts(name)
            n = sum(cnt.values())
            if cnt["ok"] == n:
                lines.append(f"{name}: ok ({n} files)")
                continue
            if cnt["missing"] == n:
                lines.append(f"{name}: MISSING (all {n} files absent)")
                continue
            lines.append(
                f"{name}: FAILED ({cnt['ok']} ok, {cnt['missing']} missing, "
                f"{cnt['altered']} altered of {n} files)"
            )
            bad = [c for c in self.checks if c.dataset == name and c.status != "ok"]
            lines.extend(f"  {c.path}: {c.reason}" for c in bad[:max_files])
            if len(bad) > max_files:
                lines.append(f"  ... and {len(bad) - max_files} more")
        total = self.counts()
        verdict = "all ok" if self.ok else "PROBLEMS FOUND"
        lines.append(
            f"{verdict}: {total['ok']} ok, {total['missing']} missing, {total['altered']} altered "
            f"({len(self.checks)} files in {len(self.datasets)} datasets under {self.root})"
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def check_file(folder: Path, record: FileRecord, dataset: str = "") -> FileCheck:
    """Check one file of a dataset folder against its record (size first, then SHA-256)."""
    path = folder / record.path
    if not path.is_file():
        return FileCheck(dataset, record.path, "missing", record.size, None, record.sha256, None)
    size = path.stat().st_size
    if size != record.size:
        return FileCheck(dataset, record.path, "altered", record.size, size, record.sha256, None)
    digest = sha256_file(path)
    status = "ok" if digest == record.sha256 else "altered"
    return FileCheck(dataset, record.path, status, record.size, size, record.sha256, digest)


def _verify_entry(entry: DatasetEntry, root: Path) -> list[FileCheck]:
    folder = root / entry.folder
    logger.info("Verifying %s (%d files) in %s", entry.name, entry.n_files, folder)
    return [check_file(folder, rec, entry.name) for rec in entry.files]


def verify_dataset(
    name: str | Sequence[str] | None = None, data_root: str | Path | None = None
) -> VerifyReport:
    """Check the files of one, several or all datasets against their SHA-256 checksums.

    Parameters
    ----------
    name : str, sequence of str or None
        Dataset name(s); ``None`` checks every registered dataset.
    data_root : str or Path or None
        Root folder; default :func:`neurodl.get_data_root`.

    Returns
    -------
    VerifyReport
        One :class:`FileCheck` per file (``ok``, ``missing`` or ``altered``); ``report.ok`` is
        True when all match and ``str(report)`` is a readable summary.

    Examples
    --------
    >>> from neurodl.datasets.registry import DatasetEntry, FileRecord, temporary_dataset
    >>> import hashlib, pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "demo").mkdir()
    >>> _ = (root / "demo" / "a.txt").write_text("hello")
    >>> record = FileRecord("a.txt", hashlib.sha256(b"hello").hexdigest(), 5)
    >>> entry = DatasetEntry("demo-doc", "demo", "A demo.", "eeg", "none", "CC0", files=(record,))
    >>> _ = (root / "demo" / "a.txt").write_text("HELLO")  # altered on disk
    >>> with temporary_dataset(entry):
    ...     report = verify_dataset("demo-doc", root)
    >>> report.ok, report.checks[0].status
    (False, 'altered')
    """
    names = list_datasets() if name is None else [name] if isinstance(name, str) else list(name)
    entries = [get_dataset(n) for n in names]
    root = resolve_root(data_root)
    report = VerifyReport(root=root, datasets=[e.name for e in entries])
    for entry in entries:
        report.checks.extend(_verify_entry(entry, root))
    return report
