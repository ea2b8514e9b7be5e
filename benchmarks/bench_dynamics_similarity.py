"""Dynamics comparison: do DSA, CCA and Procrustes separate conjugate from non-conjugate systems?

Simulated pairs (:func:`neurodl.analyses.dynamics_similarity.conjugate_pair`): 2-D linear
dynamics (damped rotation, line attractor, stable point; parameters jittered per pair) seen
through a random 10-unit embedding, 8 conditions (random starts) x 50 steps, process noise 0.02.
A conjugate pair shares the update matrix (each system its own embedding); a non-conjugate pair
draws two different kinds (the 6 ordered kind pairs in turn). Two settings:

* ``independent``: each system has its own starts and noise (only the dynamics are shared);
* ``shared``: both start from the same states with the same noise draws (a conjugate pair is
  then ``Y = X M`` sample by sample).

Per setting, the AUC of each method's score (distance negated) at telling conjugate from
non-conjugate pairs, with a percentile bootstrap CI over pairs. Then, on the first pairs of the
``independent`` setting, our DSA side by side with the reference package ``dsa-metric`` (import
``DSA``, default optimiser: 1500 Adam steps, lr 5e-3, angular score; torch seeded, one thread):
the scores, their differences, the AUC of each on the same pairs, and the wall-time ratio.

    OMP_NUM_THREADS=1 python benchmarks/bench_dynamics_similarity.py --out dsa_bench.json
    python benchmarks/bench_dynamics_similarity.py --smoke
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from sklearn.metrics import roc_auc_score

from neurodl.analyses.dynamics_similarity import (
    DYNAMICS,
    cca_similarity,
    conjugate_pair,
    dsa_distance,
    procrustes_distance,
)

DSA_PARAMS = {"n_delays": 2, "rank": 4}
SIM = {"n_units": 10, "n_conditions": 8, "n_times": 50, "noise": 0.02}
NON_CONJUGATE = [(a, b) for a in DYNAMICS for b in DYNAMICS if a != b]


def make_pairs(n_pairs: int, shared: bool) -> list[tuple[bool, str, str, np.ndarray, np.ndarray]]:
    """``n_pairs`` conjugate then ``n_pairs`` non-conjugate pairs (seeded by their index)."""
    out = []
    for i in range(n_pairs):
        kind = DYNAMICS[i % 3]
        out.append((True, kind, kind, *conjugate_pair(kind, seed=i, shared_starts=shared, **SIM)))
    for i in range(n_pairs):
        kx, ky = NON_CONJUGATE[i % len(NON_CONJUGATE)]
        seed = 10_000 + i
        out.append((False, kx, ky, *conjugate_pair(kx, ky, seed=seed, shared_starts=shared, **SIM)))
    return out


def auc_with_ci(labels: np.ndarray, scores: np.ndarray, n_boot: int = 1000) -> dict:
    """AUC and a percentile bootstrap CI over pairs (stratified by label)."""
    rng = np.random.default_rng(0)
    pos, neg = np.flatnonzero(labels), np.flatnonzero(~labels)
    boots = []
    for _ in range(n_boot):
        idx = np.concatenate([rng.choice(pos, pos.size), rng.choice(neg, neg.size)])
        boots.append(roc_auc_score(labels[idx], scores[idx]))
    return {
        "auc": float(roc_auc_score(labels, scores)),
        "ci": [float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))],
    }


def separation(n_pairs: int, shared: bool) -> dict:
    """Scores and AUCs of DSA, CCA and Procrustes on one setting."""
    pairs = make_pairs(n_pairs, shared)
    labels = np.array([p[0] for p in pairs])
    methods = {
        "dsa": lambda x, y: -dsa_distance(x, y, **DSA_PARAMS),
        "cca": lambda x, y: cca_similarity(x, y, n_components=4),
        "procrustes": lambda x, y: -procrustes_distance(x, y),
    }
    out = {}
    for name, func in methods.items():
        t0 = time.perf_counter()
        scores = np.array([func(x, y) for _, _, _, x, y in pairs])
        elapsed = time.perf_counter() - t0
        out[name] = {
            **auc_with_ci(labels, scores),
            "mean_conjugate": float(scores[labels].mean()),
            "mean_non_conjugate": float(scores[~labels].mean()),
            "time_s": elapsed,
        }
    return out


def side_by_side(n_pairs: int, iters: int) -> dict:
    """Our DSA and dsa-metric's on the same pairs: scores, agreement, AUCs, wall time."""
    import torch
    from DSA import DSA

    torch.set_num_threads(1)
    pairs = make_pairs(n_pairs, shared=False)
    labels = np.array([p[0] for p in pairs])
    rows = []
    for conj, kx, ky, x, y in pairs:
        t0 = time.perf_counter()
        ours = dsa_distance(x, y, **DSA_PARAMS)
        t_ours = time.perf_counter() - t0
        torch.manual_seed(0)
        t0 = time.perf_counter()
        ref = float(
            DSA(x, y, score_method="angular", iters=iters, lr=5e-3, **DSA_PARAMS).fit_score()
        )
        t_ref = time.perf_counter() - t0
        ours_w = dsa_distance(x, y, score_method="wasserstein", **DSA_PARAMS)
        ref_w = float(DSA(x, y, score_method="wasserstein", **DSA_PARAMS).fit_score())
        rows.append(
            {
                "conjugate": conj,
                "kinds": [kx, ky],
                "ours": ours,
                "reference": ref,
                "time_ours_s": t_ours,
                "time_reference_s": t_ref,
                "wasserstein_ours": ours_w,
                "wasserstein_reference": ref_w,
            }
        )
    ours = np.array([r["ours"] for r in rows])
    ref = np.array([r["reference"] for r in rows])
    diff = ours - ref
    w_rel = np.array(
        [
            abs(r["wasserstein_ours"] - r["wasserstein_reference"])
            / max(r["wasserstein_reference"], 1e-12)
            for r in rows
        ]
    )
    t_ours = sum(r["time_ours_s"] for r in rows)
    t_ref = sum(r["time_reference_s"] for r in rows)
    return {
        "n_pairs": len(rows),
        "reference_iters": iters,
        "angular_max_abs_diff": float(np.abs(diff).max()),
        "angular_median_abs_diff": float(np.median(np.abs(diff))),
        "fraction_within_0.01": float(np.mean(np.abs(diff) <= 0.01)),
        "fraction_ours_not_worse": float(np.mean(diff <= 1e-3)),
        "wasserstein_max_rel_diff": float(w_rel.max()),
        "auc_ours": float(roc_auc_score(labels, -ours)),
        "auc_reference": float(roc_auc_score(labels, -ref)),
        "time_ours_s": t_ours,
        "time_reference_s": t_ref,
        "speed_ratio": t_ref / t_ours,
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-pairs", type=int, default=50, help="pairs per class and setting")
    parser.add_argument("--n-reference", type=int, default=10, help="pairs per class vs dsa-metric")
    parser.add_argument("--reference-iters", type=int, default=1500)
    parser.add_argument(
        "--smoke", action="store_true", help="4 pairs, 2 reference pairs, 100 iters"
    )
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.smoke:
        args.n_pairs, args.n_reference, args.reference_iters = 4, 1, 100
    results = {"sim": SIM, "dsa_params": DSA_PARAMS, "n_pairs_per_class": args.n_pairs}
    for setting, shared in (("independent", False), ("shared", True)):
        results[setting] = separation(args.n_pairs, shared)
        for name, r in results[setting].items():
            print(
                f"{setting:11s} {name:10s} AUC {r['auc']:.3f} [{r['ci'][0]:.3f}, {r['ci'][1]:.3f}]"
                f"  conj {r['mean_conjugate']:+.3f} non {r['mean_non_conjugate']:+.3f}"
                f"  {r['time_s']:.1f} s"
            )
    if args.n_reference:
        sbs = side_by_side(args.n_reference, args.reference_iters)
        results["side_by_side"] = sbs
        print(
            f"vs dsa-metric on {sbs['n_pairs']} pairs: angular |diff| max {sbs['angular_max_abs_diff']:.4f}"
            f" median {sbs['angular_median_abs_diff']:.4f}, within 0.01: {sbs['fraction_within_0.01']:.2f},"
            f" ours not worse: {sbs['fraction_ours_not_worse']:.2f}; wasserstein rel diff max"
            f" {sbs['wasserstein_max_rel_diff']:.1e}; AUC ours {sbs['auc_ours']:.3f} reference"
            f" {sbs['auc_reference']:.3f}; time ours {sbs['time_ours_s']:.1f} s reference"
            f" {sbs['time_reference_s']:.1f} s (ratio {sbs['speed_ratio']:.1f}x)"
        )
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
