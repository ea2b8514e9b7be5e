"""``neurodl datasets {list,info,verify,fetch}``: the named datasets under the data root."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from ..exceptions import DatasetError

if TYPE_CHECKING:
    from ..datasets import DatasetEntry


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "datasets",
        help="list, describe, verify or download the named datasets",
        description="The named datasets under the data root (NEURODL_DATA or --data-root).",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-root", type=Path, default=None, help="data folder (default: $NEURODL_DATA)"
    )

    q = actions.add_parser("list", parents=[common], help="names, descriptions, present or missing")
    q.set_defaults(func=run_list)

    q = actions.add_parser("info", parents=[common], help="all facts, citation and files of one")
    q.add_argument("name", help="dataset name (see `neurodl datasets list`)")
    q.set_defaults(func=run_info)

    q = actions.add_parser(
        "verify", parents=[common], help="check files against their SHA-256 (exit 1 on problems)"
    )
    q.add_argument("name", nargs="*", help="dataset name(s); default: all")
    q.set_defaults(func=run_verify)

    q = actions.add_parser("fetch", parents=[common], help="download a dataset from a mirror URL")
    q.add_argument("name", help="dataset name (see `neurodl datasets list`)")
    q.add_argument("--url", required=True, help="base URL of a mirror of the dataset folder")
    q.add_argument("--overwrite", action="store_true", help="replace existing files that differ")
    q.set_defaults(func=run_fetch)

    def _usage(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=_usage)


def _root(args: argparse.Namespace) -> Path | None:
    """Return --data-root, the configured root, or None when neither is set."""
    from .._config import get_data_root

    return args.data_root if args.data_root is not None else get_data_root(required=False)


def _presence(entry: DatasetEntry, root: Path | None) -> str:
    if root is None:
        return "?"
    folder = root / entry.folder
    n = sum((folder / f.path).is_file() for f in entry.files)
    if n == entry.n_files:
        return "present"
    return "missing" if n == 0 else f"partial {n}/{entry.n_files}"


def run_list(args: argparse.Namespace) -> int:
    """Print one line per dataset: name, present/missing, description."""
    from ..datasets import get_dataset, list_datasets

    root = _root(args)
    names = list_datasets()
    width = max(len(n) for n in names)
    rows = [(n, _presence(get_dataset(n), root)) for n in names]
    swidth = max(len(s) for _, s in rows)
    for name, status in rows:
        print(f"{name:<{width}}  {status:<{swidth}}  {get_dataset(name).description}")
    if root is None:
        print("(no data root set: use --data-root or NEURODL_DATA to see which are present)")
    else:
        print(f"data root: {root}")
    return 0


def _fmt_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def run_info(args: argparse.Namespace) -> int:
    """Print every fact of one dataset, its citation and its files."""
    from ..datasets import get_dataset

    e = get_dataset(args.name)
    root = _root(args)
    wrap = textwrap.TextWrapper(width=100, subsequent_indent="  ")
    lines = [
        f"name: {e.name}",
        f"description: {e.description}",
        f"modality: {e.modality}",
        f"folder: {e.folder}" + (f" ({root / e.folder}, {_presence(e, root)})" if root else ""),
        "sampling rate: "
        + ("unknown" if e.sfreq is None else f"{e.sfreq:g} Hz")
        + (f" ({e.sfreq_note})" if e.sfreq_note else ""),
    ]
    if e.classes:
        lines.append(f"classes ({len(e.classes)}):")
        lines.extend(f"  {k}: {v}" for k, v in e.classes.items())
    else:
        lines.append("classes: none")
    lines.append(
        "loader: "
        + (e.loader_name if e.loader else "none (read each file with neurodl.io.read)")
        + (f" on {e.loader_target}" if e.loader_target else "")
    )
    lines += [wrap.fill(f"citation: {e.citation}"), wrap.fill(f"licence: {e.license}")]
    if e.source:
        lines.append(f"source: {e.source}")
    lines.append(f"files ({e.n_files}, {_fmt_size(e.total_size)}):")
    lines.extend(f"  {f.path}  {f.size} B  sha256 {f.sha256}" for f in e.files)
    print("\n".join(lines))
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Check checksums; exit 0 when all files are ok, 1 with the report otherwise."""
    from ..datasets import verify_dataset

    report = verify_dataset(args.name or None, data_root=args.data_root)
    print(report.summary())
    return 0 if report.ok else 1


def run_fetch(args: argparse.Namespace) -> int:
    """Download one dataset from ``--url`` into the data root."""
    from ..datasets import fetch_dataset

    if args.data_root is None and _root(args) is None:
        raise DatasetError("No data root: pass --data-root DIR or set NEURODL_DATA.")
    folder = fetch_dataset(args.name, args.url, data_root=args.data_root, overwrite=args.overwrite)
    print(f"{args.name}: all files present and verified in {folder}")
    return 0
