"""``neurodl run CONFIG.yaml --out DIR``: run an analysis described by a config file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run an analysis from a YAML config file",
        description="Run data -> preprocessing -> model -> evaluation -> report "
        "as described by CONFIG (YAML, validated strictly).",
    )
    p.add_argument("config", help="path to the YAML config file")
    p.add_argument("--out", default=None, help="output folder (default: neurodl_out/<config name>)")
    add_output_flags(p)
    p.add_argument(
        "--check",
        action="store_true",
        help="validate the config (names, parameters, data, labels, folds) and exit; "
        "nothing is fitted",
    )
    p.add_argument(
        "--print-config",
        action="store_true",
        help="print the validated config with every default filled in, as JSON, and exit",
    )
    p.set_defaults(func=_run)


def add_output_flags(p: argparse.ArgumentParser) -> None:
    """Add ``--overwrite`` and ``--pseudonymise-subjects`` (read by ``run_config`` and ``main``)."""
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing output folder (only one a neurodl run wrote)",
    )
    p.add_argument(
        "--pseudonymise-subjects",
        action="store_true",
        help="replace subject codes by pseudonyms in results, report and logs (P1, P2...; "
        "keyed pseudonyms with $NEURODL_PSEUDONYM_KEY)",
    )


def summarize(result: Any, out: Path | None) -> str:
    """One-paragraph human summary of a typed task result (and where its report is)."""
    lines = [f"WARNING: {w}" for w in getattr(result, "warnings", None) or []]
    lines += list(result.summary_lines())
    if out is not None:
        lines.append(f"report: {out / 'report.html'}")
    return "\n".join(lines)


def _config_text(path: str) -> str:
    """The config file as shown in the report, without absolute machine paths."""
    from ..privacy import redact_paths

    return redact_paths(Path(path).read_text())


def _run(args: argparse.Namespace) -> int:
    from ..workflows import load_config, run_config

    cfg = load_config(args.config)
    if args.print_config:
        print(json.dumps(cfg.model_dump(), indent=2))
        return 0
    if args.check:
        from ..workflows.precheck import check_samples
        from ..workflows.run import _privacy_settings

        with _privacy_settings(cfg):
            lines = check_samples(cfg)
        for line in lines:
            print(line)
        print(f"config OK: {args.config} (task {cfg.task})")
        return 0
    out = Path(args.out) if args.out else Path("neurodl_out") / cfg.name
    res = run_config(cfg, out, overwrite=args.overwrite, config_text=_config_text(args.config))
    print(summarize(res.result, res.out_dir), file=sys.stdout)
    return 0
