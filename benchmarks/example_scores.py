"""Do the example configs give the same numbers before and after a change?

Two sub-commands:

``run SRC OUT``
    Run every ``SRC/examples/*.yaml`` (``SRC``: a checkout of neurodl; put its ``src`` first on
    ``PYTHONPATH``) through ``python -m neurodl run``, shrunk to a fast copy (at most 2 epochs, 1 ensemble member, no permutations
    or at most ``--permutations``, at most 50 bootstrap resamples, no report) and write each
    ``results.json`` to ``OUT/<example>.json``. Each example runs in its own process.
``compare OLD NEW``
    Compare every number both result folders hold (timings, versions, provenance, histories and
    the recorded seed parameter excluded), and list the keys only the old layout has.

Usage (from the repository root; the old tree made with ``git worktree add ../old REV``)::

    NEURODL_DATA=../shared/data PYTHONPATH=../old/src python benchmarks/example_scores.py run ../old runs/scores_old
    NEURODL_DATA=../shared/data PYTHONPATH=src python benchmarks/example_scores.py run . runs/scores_new
    python benchmarks/example_scores.py compare runs/scores_old runs/scores_new
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: Keys that are not results (wall-clock, environment) or that were renamed on purpose.
SKIP = re.compile(
    r"(time|duration|_wall_s|timestamp|versions|provenance|^config|neurodl_version|history|"
    r"per_epoch|latency|params\.random_state|params\.seed|summary)",
    re.I,
)


def shrink(node: Any, n_permutations: int = 0) -> Any:
    """Fast copy of a config: few epochs, one member, few permutations and resamples."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("max_epochs", "epochs", "n_epochs") and isinstance(value, int):
                node[key] = min(value, 2)
            elif key == "n_members" and isinstance(value, int):
                node[key] = 1
            elif key == "n_permutations" and isinstance(value, int):
                node[key] = min(value, n_permutations)
            elif key == "n_boot" and isinstance(value, int):
                node[key] = min(value, 50)
            else:
                shrink(value, n_permutations)
    elif isinstance(node, list):
        for value in node:
            shrink(value, n_permutations)
    return node


def run_one(path: Path, out: Path, n_permutations: int) -> None:
    """Run one shrunk example through ``neurodl run`` (whichever neurodl is importable).

    The shrunk config is written beside the example (hidden name, removed afterwards) so that
    paths inside it resolve as they do for the example; the command's ``results.json`` is kept.
    """
    import shutil
    import tempfile

    import yaml

    data = shrink(yaml.safe_load(path.read_text()), n_permutations)
    data.setdefault("report", {})["enabled"] = False
    shrunk = path.with_name(f".shrunk-{path.name}")
    work = Path(tempfile.mkdtemp(prefix="example-scores-"))
    try:
        shrunk.write_text(yaml.safe_dump(data))
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "neurodl", "-q", "run", str(shrunk), "--out", str(work / "o")],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise SystemExit(proc.stderr.strip() or f"neurodl run failed ({proc.returncode})")
        results = json.loads((work / "o" / "results.json").read_text())
        results["_wall_s"] = time.perf_counter() - t0
        out.write_text(json.dumps(results, indent=1, default=str))
    finally:
        shrunk.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)


def run_all(src: Path, out: Path, n_permutations: int, timeout: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted((src / "examples").glob("*.yaml")):
        target = out / f"{path.stem}.json"
        if target.exists():
            continue
        t0 = time.time()
        proc = subprocess.run(
            [sys.executable, __file__, "_one", str(path), str(target), str(n_permutations)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        status = "ok" if proc.returncode == 0 else proc.stderr.strip().splitlines()[-1:]
        print(f"{path.stem}: {status} ({time.time() - t0:.0f} s)", flush=True)


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            out.update(_flat(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = d
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        try:
            return (math.isnan(a) and math.isnan(b)) or a == b
        except TypeError:
            return False
    return a == b


def _old_to_new(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Map the pre-typed layout's renamed keys onto the typed layout."""
    if isinstance(old.get("baseline"), dict):  # decoding: baseline dict -> models[name]
        base = old.pop("baseline")
        name = new.get("baseline") or base.get("model")
        entry = old.setdefault("models", {}).setdefault(name, {})
        entry.update({k: v for k, v in base.items() if k != "model"})
    if old.get("task") == "rsa_fixed_models":  # per-model RSA statistics -> ModelStats names
        for name, m in old.get("models", {}).items():
            if "score" in m:
                m["score_mean"] = m.pop("score")
                m["score_ci"] = m.pop("ci")
                m["block_scores"] = dict(
                    zip(new["models"][name]["block_scores"], m.pop("subject_scores"))
                )
                old.setdefault("n_degenerate", {})[name] = m.pop("n_degenerate")
    return old


def compare(old_dir: Path, new_dir: Path) -> int:
    total = differ = 0
    for f in sorted(old_dir.glob("*.json")):
        g = new_dir / f.name
        if not g.exists():
            print(f"{f.stem}: missing in {new_dir}")
            differ += 1
            continue
        new = json.loads(g.read_text())
        old = _old_to_new(json.loads(f.read_text()), new)
        fo, fn = _flat(old), _flat(new)
        keys = [k for k in fo if k in fn and not SKIP.search(k)]
        diffs = [k for k in keys if not _same(fo[k], fn[k])]
        gone = sorted({re.sub(r"\[\d+\]", "[]", k) for k in fo if k not in fn and not SKIP.search(k)})
        total += len(keys)
        differ += len(diffs)
        print(
            f"{f.stem} ({new.get('task')}): {len(keys)} values compared, {len(diffs)} differ"
            + (f"; only in the old layout: {', '.join(gone)}" if gone else "")
        )
        for k in diffs[:10]:
            print(f"    {k}: {fo[k]!r} -> {fn[k]!r}")
    print(f"total: {total} values compared, {differ} differ")
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("src", type=Path)
    r.add_argument("out", type=Path)
    r.add_argument("--permutations", type=int, default=0)
    r.add_argument("--timeout", type=int, default=900)
    c = sub.add_parser("compare")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    one = sub.add_parser("_one")
    one.add_argument("path", type=Path)
    one.add_argument("out", type=Path)
    one.add_argument("n_permutations", type=int)
    args = parser.parse_args()
    if args.cmd == "run":
        run_all(args.src, args.out, args.permutations, args.timeout)
        return 0
    if args.cmd == "compare":
        return compare(args.old, args.new)
    run_one(args.path, args.out, args.n_permutations)
    return 0


if __name__ == "__main__":
    sys.exit(main())
