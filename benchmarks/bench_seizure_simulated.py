"""Seizure detection benchmark on simulated continuous EEG, leave-one-subject-out.

Goal (issue 4): event sensitivity >= 0.95 at <= 1 false alarm per 24 h (SzCORE scoring).

Usage:
    python benchmarks/bench_seizure_simulated.py [--subjects 8] [--hours 4] \
        [--estimator logistic_regression] [--out benchmarks/results/seizure_simulated.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np


def main() -> None:
    from neurodl.analyses.seizure import SeizureDetector, evaluate_loso
    from neurodl.data.simulate import simulate_continuous_seizures

    ap = argparse.ArgumentParser()
    ap.add_argument("--subjects", type=int, default=8)
    ap.add_argument("--hours", type=float, default=4.0)
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--seizures-per-hour", type=float, default=1.0)
    ap.add_argument("--artifact-rate", type=float, default=1.0)
    ap.add_argument("--estimator", default="logistic_regression")
    ap.add_argument("--objective", default="sensitivity")
    ap.add_argument("--fa-budget", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    t0 = time.perf_counter()
    recs = simulate_continuous_seizures(
        n_subjects=args.subjects,
        duration_hours=args.hours,
        n_channels=args.channels,
        seizures_per_hour=args.seizures_per_hour,
        artifact_rate=args.artifact_rate,
        seed=args.seed,
    )
    t_sim = time.perf_counter() - t0
    n_sz = sum(len(r.annotations) for r in recs)
    n_art = sum(len(r.info["artifacts"]) for r in recs)
    det = SeizureDetector(
        estimator=args.estimator,
        objective=args.objective,
        fa_budget=args.fa_budget,
        seed=args.seed,
    )
    t1 = time.perf_counter()
    ev = evaluate_loso(recs, det)
    t_eval = time.perf_counter() - t1
    s = ev.summary
    print(
        f"{args.subjects} subjects x {args.hours} h, {n_sz} seizures, {n_art} artefacts; "
        f"simulate {t_sim:.0f} s, LOSO {t_eval:.0f} s"
    )
    keys = ("sensitivity", "precision", "f1", "fa_per_24h", "latency_s", "auroc", "auroc_pooled")
    print(" | ".join(f"{k} {s[k]:.3f}" for k in keys))
    print(
        f"detected {s['n_detected']}/{s['n_reference_events']}, false alarms "
        f"{s['n_false_alarms']} in {s['hours']:.0f} h"
    )
    cols = [
        "subject",
        "n_reference",
        "tp",
        "fp",
        "sensitivity",
        "fa_per_24h",
        "latency_s",
        "auroc",
        "pp_smooth",
        "pp_threshold",
        "pp_min_duration",
        "pp_merge_gap",
    ]
    table = ev.per_subject[cols]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in table.itertuples(index=False):
        cells = [f"{v:.3g}" if isinstance(v, float) else str(v) for v in row]
        print("| " + " | ".join(cells) + " |")
    goal = s["sensitivity"] >= 0.95 and s["fa_per_24h"] <= 1.0
    print("goal (sens >= 0.95 at <= 1 FA/24h):", "MET" if goal else "MISSED")
    if args.out:
        Path(args.out).write_text(
            json.dumps(
                {
                    "args": vars(args),
                    "summary": {
                        k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                        for k, v in s.items()
                    },
                    "per_subject": ev.per_subject.to_dict(orient="records"),
                    "n_seizures": n_sz,
                    "n_artifacts": n_art,
                    "seconds": {"simulate": t_sim, "loso": t_eval},
                    "machine": platform.platform(),
                },
                indent=2,
                default=float,
            )
        )


if __name__ == "__main__":
    main()
