"""``neurodl run CONFIG.yaml --out DIR``: run an analysis described by a config file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run an analysis from a YAML config file",
        description="Run data -> preprocessing -> model -> evaluation -> report "
        "as described by CONFIG (YAML, validated strictly).",
    )
    p.add_argument("config", help="path to the YAML config file")
    p.add_argument("--out", default=None, help="output folder (default: neurodl_out/<config name>)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--check", action="store_true", help="only validate the config and exit")
    p.set_defaults(func=_run)


def summarize(results: dict, out: Path | None) -> str:
    """One-paragraph human summary of a results dict."""
    if "score_mean" not in results:  # not a decoding result: the task gives its own summary
        lines = [f"{results.get('task', '')} | {results.get('dataset', '')}"]
        lines += [str(results["summary"])] if results.get("summary") else []
        if out is not None:
            lines.append(f"report: {out / 'report.html'}")
        return "\n".join(lines)
    ci = results.get("score_ci") or [None, None]
    p = results.get("p_value")
    lines = [
        f"{results['dataset']} | {results['protocol']} | {results.get('model', '')}",
        f"{results['metric']} = {results['score_mean']:.3f} "
        + (f"[{ci[0]:.3f}, {ci[1]:.3f}] " if ci[0] is not None else "")
        + f"(chance {results['chance_level']:.3f}"
        + (f", permutation p = {p:.4f}{_p_owner(results)}" if p is not None else "")
        + f", {results['n_splits']} splits)",
    ]
    base = results.get("baseline")
    if isinstance(base, dict) and base.get("score_mean") is not None:
        lines.append(
            f"baseline {base.get('model')}: {results['metric']} = {base['score_mean']:.3f}"
        )
    if out is not None:
        lines.append(f"report: {out / 'report.html'}")
    return "\n".join(lines)


def _p_owner(results: dict) -> str:
    owner = results.get("p_value_model")
    return f" (on {owner})" if owner and owner != results.get("model") else ""


def _run(args: argparse.Namespace) -> int:
    from ..workflows.config import load_config
    from ..workflows.run import run_config

    cfg = load_config(args.config)
    if args.check:
        print(json.dumps(cfg.model_dump(), indent=2))
        return 0
    out = Path(args.out) if args.out else Path("neurodl_out") / cfg.name
    res = run_config(cfg, out, overwrite=args.overwrite, config_text=Path(args.config).read_text())
    print(summarize(res.results, res.out_dir), file=sys.stdout)
    return 0
