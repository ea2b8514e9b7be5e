"""Regenerate the checksum lists ``checksums/<folder>.txt`` from a data folder (maintainers only).

Usage: ``python -m neurodl.datasets._make_checksums DATA_ROOT [OUTPUT_DIR]``. Reads
``DATA_ROOT/SHA256SUMS`` (``sha256sum`` format) and writes one list per dataset folder (the first
two path components, e.g. ``eeg/bonn`` -> ``OUTPUT_DIR/eeg/bonn.txt``; default OUTPUT_DIR: the
package's ``checksums/`` folder). File sizes are read from the files themselves, so DATA_ROOT
must hold the data.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

#: First line of every generated list.
HEADER = (
    "# sha256 size path (relative to the dataset folder); generated from SHA256SUMS by "
    "neurodl.datasets._make_checksums, do not edit\n"
)


def render_checksums(data_root: str | Path) -> dict[str, str]:
    """Return the checksum lists for the files listed in ``DATA_ROOT/SHA256SUMS``.

    Parameters
    ----------
    data_root : str or Path
        Folder holding ``SHA256SUMS`` and the files it lists.

    Returns
    -------
    dict of str to str
        Dataset folder (``"eeg/bonn"``) -> text of its list: :data:`HEADER`, then one
        ``<sha256> <size in bytes> <path relative to the dataset folder>`` line per file, sorted
        by path.
    """
    root = Path(data_root)
    tables: dict[str, list[str]] = defaultdict(list)
    for line in (root / "SHA256SUMS").read_text().splitlines():
        if not line.strip():
            continue
        sha, path = line.split(maxsplit=1)
        path = path.removeprefix("./")
        parts = path.split("/")
        folder, rel = "/".join(parts[:2]), "/".join(parts[2:])
        tables[folder].append(f"{sha} {(root / path).stat().st_size} {rel}")
    return {
        folder: HEADER + "\n".join(sorted(rows, key=lambda s: s.split(" ", 2)[2])) + "\n"
        for folder, rows in sorted(tables.items())
    }


def write_checksums(data_root: str | Path, output: str | Path | None = None) -> list[Path]:
    """Write :func:`render_checksums` of ``data_root`` under ``output``; return the paths."""
    out = Path(output) if output is not None else Path(__file__).with_name("checksums")
    written = []
    for folder, text in render_checksums(data_root).items():
        path = out / f"{folder}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover
    for written_path in write_checksums(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None):
        print(written_path)
