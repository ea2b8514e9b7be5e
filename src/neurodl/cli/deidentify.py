"""``neurodl deidentify IN OUT``: write a de-identified copy of a recording or a BIDS folder."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "deidentify",
        help="write a de-identified copy of EDF/BDF/FIF/BrainVision/EEGLAB/NWB recordings or a "
        "BIDS folder",
        description="Copy IN (an EDF/BDF/FIF/BrainVision/EEGLAB/NWB file or a folder, BIDS-aware) "
        "to the new "
        "folder OUT with header identities blanked, dates shifted by a secret per-subject "
        "offset, annotation texts coded and identifying sidecar fields removed; EDF/BDF signals "
        "are copied byte for byte. "
        "FIF raw files are anonymised with MNE; BrainVision headers and markers are cleaned; "
        "EEGLAB .set fields are emptied (.fdt copied byte for byte); NWB subject and session "
        "fields are removed. IN is never written. A folder holding any other format (NIfTI, "
        "GDF...) is refused whole.",
    )
    p.add_argument(
        "input", type=Path, help="EDF/BDF/FIF/.vhdr/.set/.nwb file or folder to de-identify"
    )
    p.add_argument("out", type=Path, help="output folder (new, outside IN)")
    p.add_argument(
        "--recode-subjects",
        action="store_true",
        help="replace sub- codes in names and contents (sub-P01...; sub-S<hex> with a key)",
    )
    p.add_argument(
        "--mapping",
        type=Path,
        default=None,
        help="write the old -> new subject codes to this TSV (outside IN and OUT; implies "
        "--recode-subjects); without it no mapping is kept anywhere",
    )
    p.add_argument(
        "--key-file",
        type=Path,
        default=None,
        help="file holding the secret for date offsets and codes (default: $NEURODL_PSEUDONYM_KEY; "
        "neither: a random secret, so offsets differ between runs)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing OUT (only a folder that neurodl wrote)",
    )
    p.set_defaults(func=run_deidentify)


def run_deidentify(args: argparse.Namespace) -> int:
    """Claim OUT, de-identify IN into it, publish it and print the one-line summary."""
    from ..privacy.deidentify import check_paths, deidentify_into
    from ..workflows.outdir import claim_output

    key: bytes | str | None = os.environ.get("NEURODL_PSEUDONYM_KEY") or None
    if args.key_file is not None:
        key = args.key_file.read_bytes().strip()
    check_paths(args.input, args.out, args.mapping)
    with claim_output(args.out, overwrite=args.overwrite) as claim:
        report = deidentify_into(
            args.input,
            claim.tmp_dir,
            mapping_file=args.mapping,
            key=key,
            recode_subjects=True if args.recode_subjects else None,
            _checked=True,
        )
        out = claim.publish()
    print(f"{report.summary()}; written to {out}")
    return 0
