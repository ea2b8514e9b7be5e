"""``neurodl demo --out DIR``: the main job on built-in simulated data (no download)."""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from .run import add_output_flags

DEMO_CONFIG = "demo.yaml"


def demo_config_text() -> str:
    """The shipped default config of the main job."""
    return resources.files("neurodl.cli").joinpath("configs", DEMO_CONFIG).read_text()


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="the main job: decode simulated EEG end to end, write a report",
        description="Simulate a multi-subject motor-imagery EEG study, decode it "
        "with a leakage-safe protocol and a classical baseline, run a permutation "
        "test and write report.html + results.json. No data or internet needed.",
    )
    p.add_argument("--out", default="neurodl_out", help="output folder (default: neurodl_out)")
    add_output_flags(p)
    p.add_argument(
        "--n-permutations",
        type=int,
        default=None,
        help="override (cap) every model's permutation count",
    )
    p.add_argument("--print-config", action="store_true", help="print the demo config and exit")
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    import yaml

    from ..workflows import parse_config, run_config
    from .run import summarize

    text = demo_config_text()
    if args.print_config:
        print(text)
        return 0
    data = yaml.safe_load(text)
    if args.n_permutations is not None:  # caps every model's permutation count
        data.setdefault("evaluation", {})["n_permutations"] = args.n_permutations
        opts = data.setdefault("options", {})
        if opts.get("network_permutations") is not None:
            opts["network_permutations"] = min(opts["network_permutations"], args.n_permutations)
    cfg = parse_config(data, source="(built-in demo config)")
    res = run_config(cfg, Path(args.out), overwrite=args.overwrite, config_text=text)
    print(summarize(res.result, res.out_dir), file=sys.stdout)
    return 0
