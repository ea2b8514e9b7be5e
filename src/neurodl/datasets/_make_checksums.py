"""Regenerate :mod:`._checksums` from a data folder's ``SHA256SUMS`` (maintainers only).

Usage: ``python -m neurodl.datasets._make_checksums DATA_ROOT [OUTPUT]``. File sizes are read
from the files themselves, so DATA_ROOT must hold the data.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

_HEADER = '''"""SHA-256 checksums and sizes of every file of the named datasets (generated; do not edit).

Generated from ``SHA256SUMS`` of the reference data folder. One table per dataset folder
(relative to the data root); one line per file: ``<sha256> <size in bytes> <path relative to
the dataset folder>``, sorted by path.
"""

from __future__ import annotations

__all__ = ["TABLES"]

#: dataset folder (relative to the data root) -> lines ``sha256 size relpath``
TABLES: dict[str, str] = {
'''


def render_checksums(data_root: str | Path) -> str:
    """Return the source of ``_checksums.py`` for the files listed in ``DATA_ROOT/SHA256SUMS``.

    Dataset folders are the first two path components (``eeg/bonn``).
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
    out = [_HEADER]
    for folder in sorted(tables):
        rows = sorted(tables[folder], key=lambda s: s.split(" ", 2)[2])
        out.append(f'    "{folder}": """\\\n' + "\n".join(rows) + '\n""",\n')
    out.append("}\n")
    return "".join(out)


if __name__ == "__main__":  # pragma: no cover
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).with_name("_checksums.py")
    target.write_text(render_checksums(sys.argv[1]))
