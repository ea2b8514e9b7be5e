"""Biomarker benchmarks (issue 15): ABIDE leave-one-site-out and null calibration.

ABIDE (CC200, ../shared/data/fmri/abide_pcp_cc200): leave-one-site-out balanced accuracy of
* four linear candidates on their own: correlation or tangent connectome (Ledoit-Wolf, Fisher z
  for correlation), with or without ComBat, standardise + L2 logistic regression (C=0.01);
* the best linear chosen by nested CV (3-fold site x diagnosis stratified k-fold on the training
  sites only; never on the test site);
* a BrainNetCNN on the correlation matrices, on the same folds;
with the paired comparison (corrected resampled t-test), a within-site permutation test of the
fixed correlation pipeline, site decodability before/after ComBat, edge effect sizes with FDR and
the stability of the linear weights across folds. Goal 0.70, floor 0.650.

Null calibration: simulated cohorts with no group effect (>= 200 runs), permutation p-values of
the subject-level balanced accuracy; false-positive rate at alpha 0.05 must lie in [0.03, 0.07].
Second set: strong site effects confounded with the label, no group effect, leave-one-site-out
with within-site permutations.

Run:  python benchmarks/bench_biomarkers.py [--smoke] [--part abide|null|all]
Results: benchmarks/results/biomarkers.md
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from neurodl.analyses.biomarkers import (
    ComBat,
    ConnectomeFeatures,
    InnerCVSelect,
    SubjectPipeline,
    effect_sizes,
    load_abide_cohort,
    simulate_cohort,
    site_decodability,
    subject_cross_validate,
    subject_permutation_test,
    weight_stability,
)
from neurodl.estimators import make_estimator
from neurodl.evaluation import compare_models

DATA = Path(os.environ.get("NEURODL_DATA", "../shared/data"))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def linear(kind: str, combat: bool) -> SubjectPipeline:
    steps = [("connectome", ConnectomeFeatures(kind, reference="log_euclidean"))]
    if combat:
        steps.append(("combat", ComBat()))
    steps += [
        ("scale", StandardScaler()),
        ("lr", LogisticRegression(C=0.01, solver="liblinear", dual=True, max_iter=1000)),
    ]
    return SubjectPipeline(steps)


def network(epochs: int, seed: int) -> SubjectPipeline:
    net = make_estimator(
        "brainnetcnn",
        seed=seed,
        n_e2e=2,
        n_e2n=16,
        n_n2g=32,
        dropout=0.5,
        max_epochs=epochs,
        batch_size=32,
        lr=1e-3,
        weight_decay=1e-2,
        class_weight="balanced",
        validation_fraction=None,
        early_stopping=False,
        num_threads=1,
        device="cpu",
    )
    return SubjectPipeline(
        [("connectome", ConnectomeFeatures("correlation", vectorize=False)), ("net", net)]
    )


def _load(smoke: bool, out: dict):
    t0 = time.time()
    cohort = load_abide_cohort(
        DATA / "fmri/abide_pcp_cc200",
        sites=["KKI", "MAX_MUN", "TRINITY", "STANFORD"] if smoke else None,
        max_subjects_per_site=12 if smoke else None,
    )
    log(f"ABIDE cohort {cohort.summary()} in {time.time() - t0:.0f} s")
    out["cohort"] = cohort.summary()
    return cohort


#: Nested-CV candidates (tangent+combat left out for the CPU budget: see the results file).
CANDIDATES = ("correlation", "correlation+combat", "tangent")


def bench_abide_models(smoke: bool, out: dict) -> None:
    cohort = _load(smoke, out)
    cands = {name: linear(name.split("+")[0], name.endswith("+combat")) for name in CANDIDATES}
    t = time.time()
    nested = InnerCVSelect(cands, inner="site-stratified", n_splits=3, seed=0)
    res_nested = subject_cross_validate(nested, cohort, "leave-one-site-out")
    log(
        f"nested best linear: LOSO BA {res_nested.cv.score:.3f} +/- "
        f"{np.std(res_nested.cv.scores):.3f}, chosen {res_nested.selected} "
        f"({time.time() - t:.0f} s)"
    )
    t = time.time()
    res_net = subject_cross_validate(network(3 if smoke else 15, 0), cohort, "leave-one-site-out")
    log(
        f"BrainNetCNN: LOSO BA {res_net.cv.score:.3f} +/- {np.std(res_net.cv.scores):.3f} "
        f"({time.time() - t:.0f} s)"
    )
    cmp = compare_models(res_net.cv, res_nested.cv, names=("brainnetcnn", "nested linear"))
    log(cmp.verdict())
    out["loso"] = {
        name: {
            "balanced_accuracy": r.cv.score,
            "sd": float(np.std(r.cv.scores)),
            "fold_scores": r.cv.scores.tolist(),
            "blocks": r.cv.blocks,
            "auc_pooled": float(np.nan if r.y_score is None else _auc(r.cv.y_true, r.y_score)),
        }
        for name, r in {"nested": res_nested, "brainnetcnn": res_net}.items()
    }
    out["nested_selected"] = res_nested.selected
    out["comparison"] = cmp.to_dict()
    out["comparison_verdict"] = cmp.verdict()


def bench_abide_stats(smoke: bool, out: dict) -> None:
    cohort = _load(smoke, out)
    results = {}
    for name in ("correlation", "correlation+combat"):
        t = time.time()
        res = subject_cross_validate(
            linear("correlation", name.endswith("combat")), cohort, "leave-one-site-out"
        )
        results[name] = res
        log(
            f"{name}: LOSO BA {res.cv.score:.3f} +/- {np.std(res.cv.scores):.3f}, pooled AUC "
            f"{_auc(res.cv.y_true, res.y_score):.3f} ({time.time() - t:.0f} s)"
        )
        out.setdefault("loso", {})[name] = {
            "balanced_accuracy": res.cv.score,
            "sd": float(np.std(res.cv.scores)),
            "fold_scores": res.cv.scores.tolist(),
            "blocks": res.cv.blocks,
        }
    # permutation test of the fixed correlation pipeline (within site). Correlation features
    # depend on each subject alone, so they are computed once; scaling + LR refit per fold.
    feats = ConnectomeFeatures("correlation").fit(cohort.X).transform(cohort.X)
    vec = cohort.subset(np.arange(cohort.n_subjects))
    vec.X = feats
    t = time.time()
    n_perm = 9 if smoke else 19
    perm = subject_permutation_test(
        SubjectPipeline(linear("correlation", False).steps[1:]),
        vec,
        "leave-one-site-out",
        n_permutations=n_perm,
        within_site=True,
        observed=results["correlation"].cv.pooled_score,
    )
    log(
        f"permutation (correlation, within site, {n_perm}): p = {perm.p_value:.3f}, "
        f"null mean {perm.null_distribution.mean():.3f} ({time.time() - t:.0f} s)"
    )
    out["permutation"] = {
        "p_value": perm.p_value,
        "n_permutations": n_perm,
        "null_mean": float(perm.null_distribution.mean()),
        "null_95": float(np.quantile(perm.null_distribution, 0.95)),
    }

    t = time.time()
    before = site_decodability(feats, cohort.sites)
    after = site_decodability(feats, cohort.sites, harmonizer=ComBat())
    log(
        f"site decodability BA before {before['balanced_accuracy']:.3f}, after ComBat "
        f"{after['balanced_accuracy']:.3f}, chance {before['chance']:.3f} "
        f"({time.time() - t:.0f} s)"
    )
    out["site_decodability"] = {"before": before, "after": after}
    harmonised = ComBat().fit_transform(feats, sites=cohort.sites, covariates=cohort.y[:, None])
    es = effect_sizes(harmonised, cohort.y)
    top = np.argsort(-np.abs(es["hedges_g"]))[:5]
    out["effect_sizes"] = {
        "n_edges": len(es["p"]),
        "n_significant_fdr05": int(es["significant"].sum()),
        "max_abs_g": float(np.abs(es["hedges_g"]).max()),
        "top": [
            {"edge": int(i), "g": float(es["hedges_g"][i]), "q": float(es["q"][i])} for i in top
        ],
    }
    log(
        f"effect sizes: {out['effect_sizes']['n_significant_fdr05']} of {len(es['p'])} edges at "
        f"FDR 0.05, max |g| {out['effect_sizes']['max_abs_g']:.2f}"
    )
    w = np.array([x for x in results["correlation"].weights if x is not None])
    stab = weight_stability(w, top_k=200)
    out["stability"] = {k: v for k, v in stab.items() if k != "selection_frequency"}
    log(
        f"weight stability across LOSO folds: rank r {stab['mean_rank_correlation']:.3f}, "
        f"top-200 Jaccard {stab['mean_jaccard_top_k']:.3f}"
    )


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score))


class _NearestCentroid(BaseEstimator, ClassifierMixin):
    """Nearest class mean on standardised features, in plain NumPy (fast for 80k fits)."""

    def fit(self, X, y):
        mu, sd = X.mean(0), X.std(0) + 1e-12
        self.mu_, self.sd_ = mu, sd
        self.classes_ = np.unique(y)
        self.centroids_ = np.array([((X[y == c] - mu) / sd).mean(0) for c in self.classes_])
        return self

    def predict(self, X):
        Z = (X - self.mu_) / self.sd_
        d = ((Z[:, None, :] - self.centroids_[None]) ** 2).sum(-1)
        return self.classes_[d.argmin(1)]

    def decision_function(self, X):
        Z = (X - self.mu_) / self.sd_
        d = ((Z[:, None, :] - self.centroids_[None]) ** 2).sum(-1)
        return d[:, 0] - d[:, 1]


def bench_null(smoke: bool, out: dict) -> None:
    n_runs, n_perm = (20, 19) if smoke else (200, 99)
    pipe = _NearestCentroid()
    for label, kwargs, protocol, params in (
        (
            "no site effect, site-stratified 4-fold",
            {"site_shift": 0.0},
            "site-stratified-kfold",
            {"n_splits": 4},
        ),
        (
            "site effects confounded with label, LOSO",
            {"site_shift": 2.0, "site_scale": 0.3, "site_label_imbalance": 0.6},
            "leave-one-site-out",
            {},
        ),
    ):
        t = time.time()
        p = np.empty(n_runs)
        for r in range(n_runs):
            cohort = simulate_cohort(48, 10, n_sites=4, group_effect=0.0, seed=1000 + r, **kwargs)
            p[r] = subject_permutation_test(
                pipe, cohort, protocol, n_permutations=n_perm, within_site=True, seed=r, **params
            ).p_value
        fpr = float(np.mean(p <= 0.05))
        ks = __import__("scipy.stats", fromlist=["kstest"]).kstest(p, "uniform").pvalue
        log(
            f"null [{label}]: {n_runs} runs x {n_perm} permutations, FPR(0.05) {fpr:.3f}, "
            f"mean p {p.mean():.3f}, KS uniform p {ks:.3f} ({time.time() - t:.0f} s)"
        )
        out.setdefault("null", {})[label] = {
            "n_runs": n_runs,
            "n_permutations": n_perm,
            "fpr_05": fpr,
            "mean_p": float(p.mean()),
            "ks_uniform_p": float(ks),
            "within_goal": bool(0.03 <= fpr <= 0.07),
        }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny fast run (code paths only)")
    ap.add_argument("--part", choices=["models", "stats", "null", "all"], default="all")
    ap.add_argument("--json", default=None, help="write the numbers to this JSON file")
    args = ap.parse_args(argv)
    out: dict = {"smoke": args.smoke}
    if args.part in ("models", "all"):
        bench_abide_models(args.smoke, out)
    if args.part in ("stats", "all"):
        bench_abide_stats(args.smoke, out)
    if args.part in ("null", "all"):
        bench_null(args.smoke, out)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
