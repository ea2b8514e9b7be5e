"""Re-identification risk on EEGMAT: subject identification across rest and arithmetic.

Issue 18, item 3. One profile per recording (channel correlations, log-Euclidean covariance,
log band power), identification accuracy = fraction of recordings whose most correlated profile
in the other condition is the same subject's (Finn et al. 2015), both directions, permutation
null; before and after per-recording mitigations (standardise, re-centre the covariance to the
identity). Library calls only (:func:`neurodl.analyses.fingerprint.fingerprint_study`); the
same numbers come from ``neurodl run examples/eegmat_fingerprint.yaml``.

Parts: the example's settings (last 60 s of each file, 1-40 Hz), the whole recordings, and the
simulation with and without planted fingerprints as a check of the method.

Usage:
    OMP_NUM_THREADS=1 NEURODL_DATA=../shared/data python benchmarks/bench_fingerprint.py \
        [--n-permutations 1000] [--out fingerprint.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

FEATURES = ("correlation", "covariance", "bandpower")


def _table(study) -> list[str]:
    lines = [
        "| profile | mitigation | rest->task | task->rest | p | Idiff |",
        "|---|---|---|---|---|---|",
    ]
    for r in study.rows:
        lines.append(
            f"| {r['feature']} | {r['mitigation']} | {r['accuracy_ab']:.3f} | "
            f"{r['accuracy_ba']:.3f} | {r['p_value']:.3g} | {r['idiff']:.1f} |"
        )
    return lines


def main() -> None:
    """Run the parts and print markdown tables (and write JSON with ``--out``)."""
    from neurodl.analyses.fingerprint import fingerprint_study, simulate_fingerprint_sessions
    from neurodl.datasets.eegmat import read_eegmat

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-permutations", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    root = (
        Path(os.environ.get("NEURODL_DATA", "../shared/data")) / "eeg" / "eegmat_mental_arithmetic"
    )
    print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    out = {}
    for part, last in (("last 60 s", 60.0), ("whole recordings", None)):
        t0 = time.perf_counter()
        recs = read_eegmat(root, last=last)
        study = fingerprint_study(
            recs,
            split_by="condition",
            sessions=("rest", "task"),
            features=FEATURES,
            l_freq=1.0,
            h_freq=40.0,
            n_permutations=args.n_permutations,
            seed=0,
        )
        print(
            f"\n## EEGMAT, {part}: {len(study.subjects)} subjects, chance {1 / len(study.subjects):.3f}"
            f" ({time.perf_counter() - t0:.1f} s)\n"
        )
        print("\n".join(_table(study)))
        out[part] = [{k: v for k, v in r.items() if k != "similarity"} for r in study.rows]
    for spatial in (1.0, 0.0):
        recs = simulate_fingerprint_sessions(n_subjects=12, spatial=spatial, duration=60.0, seed=0)
        study = fingerprint_study(recs, features=FEATURES, n_permutations=args.n_permutations)
        print(f"\n## simulated, spatial fingerprint {spatial:g} (12 subjects, 2 sessions)\n")
        print("\n".join(_table(study)).replace("rest->task", "1->2").replace("task->rest", "2->1"))
        out[f"simulated spatial={spatial:g}"] = [
            {k: v for k, v in r.items() if k != "similarity"} for r in study.rows
        ]
    if args.out:
        args.out.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
