"""``neurodl init --data PATH [--out config.yaml]``: a commented starter config for a file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..exceptions import OutputExistsError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "init",
        help="write a commented starter config for your own recording, image or NWB file",
        description="Read the data file(s) as `neurodl info` does and write a commented config "
        "that decodes them (events with their counts, labels, protocol); an existing file is "
        "never overwritten.",
    )
    p.add_argument(
        "--data",
        nargs="+",
        required=True,
        type=Path,
        help="a recording (EDF, BDF, FIF, ...), NIfTI image or NWB file; several recordings of "
        "one format become runs (leave-one-run-out)",
    )
    p.add_argument("--task", default="decoding", help="task of the config (default: decoding)")
    p.add_argument(
        "--labels", type=Path, default=None, help="labels table of an fMRI image (label, run)"
    )
    p.add_argument(
        "--classes",
        default=None,
        help="comma-separated event labels / label values to decode (default: all but rest)",
    )
    p.add_argument(
        "--model",
        default=None,
        help="decoding model, e.g. shallow, eegnet, gru, mlp (networks) or lda (default: chosen "
        "from the data; see `neurodl models`)",
    )
    p.add_argument(
        "--n-permutations",
        type=int,
        default=100,
        help="label permutations of the permutation test (default: 100; 0: none)",
    )
    p.add_argument(
        "--max-epochs", type=int, default=None, help="training epochs of a network model"
    )
    p.add_argument("--out", type=Path, default=Path("config.yaml"), help="(default: config.yaml)")
    p.set_defaults(func=run_init)


def run_init(args: argparse.Namespace) -> int:
    """Write :func:`neurodl.workflows.starter.starter_config` to ``--out`` (never overwriting)."""
    from ..workflows.starter import starter_config

    if args.out.exists():
        raise OutputExistsError(f"{args.out} exists; neurodl init never overwrites a file.")
    classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
    text = starter_config(
        args.data,
        task=args.task,
        labels=args.labels,
        classes=classes,
        model=args.model,
        n_permutations=args.n_permutations,
        max_epochs=args.max_epochs,
    )
    try:
        with open(args.out, "x") as f:  # "x": fails if the file appeared meanwhile
            f.write(text)
    except FileExistsError:
        raise OutputExistsError(
            f"{args.out} exists; neurodl init never overwrites a file."
        ) from None
    print(f"wrote {args.out}; check it with: neurodl run {args.out} --check", file=sys.stdout)
    return 0
