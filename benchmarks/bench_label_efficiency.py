"""Label efficiency on EEGMAT: self-supervised pretraining and generative augmentation.

EEGMAT rest vs mental arithmetic, leave-one-subject-out (LOSO), balanced accuracy. Labelled
windows: the last 60 s of each recording, 4 s windows (15 per recording, 30 per subject),
band-pass 4-30 Hz, microvolts, resampled to 64 Hz (256 samples).
To fit the run time (about 20 min on a loaded 2-core CPU), only the first ``--folds`` LOSO
folds (held-out subjects in sorted order) are run; every model sees the same folds.

Part 1, self-supervised pretraining. Per fold, a ShallowConvNet encoder is pretrained by
relative positioning (Banville et al. 2021; ``--objective``) on the unlabelled windows
(4 s, no overlap, whole recordings: rest about 182 s + task 60 s) of the training subjects
only: the held-out subject never enters (checked below from the ids the encoder records).
Then, with 1, 5, 10, 25, 50 and 100% of the training labels (stratified, nested, seeded per
fold):

- ``ssl_finetune``: the pretrained network with a new head, fine-tuned (same recipe as below);
- ``ssl_probe``: the frozen encoder's features -> standardise -> logistic regression (C=0.1);
- ``scratch``: the same network from random weights, same fine-tuning recipe;
- ``ts_lr``: OAS covariances + tangent space + LR (the classical baseline).

Part 2, generative augmentation (``--gen-folds`` folds, 5/10/25% of the labels): a
conditional VAE and a conditional WGAN-GP fitted on the labelled training windows of the
fold only; sample quality of ``n_train`` generated windows against the fold's real training
windows (spectral distance, sliced Wasserstein, C2ST AUC, each beside the real-vs-real value
of two halves of the real windows); then the network and tangent space + LR trained on real
+ generated windows (one generated per real) vs real only, same folds and labels.

Every recipe below was written down before the benchmark ran; nothing is tuned on test
folds. Paired comparisons: :func:`neurodl.evaluation.compare_models` (corrected resampled
t-test over folds, training-fold size as n_train).

    OMP_NUM_THREADS=1 NEURODL_DATA=../shared/data python benchmarks/bench_label_efficiency.py \
        --out benchmarks/results/label_efficiency.json
    OMP_NUM_THREADS=1 NEURODL_DATA=../shared/data python benchmarks/bench_label_efficiency.py \
        --recentre --part ssl --folds 12 --out label_efficiency_recentred.json
    python benchmarks/bench_label_efficiency.py --smoke   # 3 subjects, 2 folds, tiny training

``--subject-batches`` (declared in session 8 before it ran, with ``--objective contrastive
--recentre --part ssl --folds 12``; every recipe unchanged): the pretraining batches are drawn
one subject at a time (``SSLPretrainer(batch_by_group=True)`` with the pool's subjects), so the
contrastive negatives of a window are other windows of the same subject (subject-aware
contrastive learning, Cheng et al. 2020): the encoder must separate what varies within a
subject (rest and arithmetic among it) instead of who the subject is. With about 60 pool
windows per subject and batches of 64, one batch is one subject's whole pool.

    OMP_NUM_THREADS=1 NEURODL_DATA=../shared/data python benchmarks/bench_label_efficiency.py \
        --objective contrastive --recentre --subject-batches --part ssl --folds 12 \
        --out label_efficiency_subject_contrastive.json

``--recentre`` (declared in session 7 before it ran; every recipe unchanged): each subject's
signals are whitened by that subject's Riemannian mean of OAS covariances of its 30 labelled
windows (labels unused; :func:`neurodl.preprocessing.adaptation.reference_covariance`), the
labelled windows and the subject's pool windows by the same matrix, so every subject's mean
covariance is the identity, as the adaptation benchmark's ``riemannian_recentring`` (0.883 with
tangent space + LR). The held-out subject's unlabelled windows are used for its own reference
(``unlabelled_test_data``: True, recorded); its pool windows still never enter pretraining.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.base import clone

from neurodl.datasets import load_dataset
from neurodl.estimators import make_estimator
from neurodl.estimators.generative import GenerativeAugmenter
from neurodl.estimators.pretraining import FineTunedClassifier, SSLPretrainer
from neurodl.evaluation import compare_models
from neurodl.evaluation.label_efficiency import UnlabelledPool, label_efficiency
from neurodl.evaluation.sample_quality import sample_quality
from neurodl.preprocessing import BandpassFilter, Resample

SFREQ = 64.0
FRACTIONS = [0.01, 0.05, 0.10, 0.25, 0.50, 1.0]
GEN_FRACTIONS = [0.05, 0.10, 0.25]
#: ShallowConvNet at 64 Hz: kernel 0.2 s, pooling 0.6 s / stride 0.125 s
SHALLOW = {"filter_time_length": 13, "pool_time_length": 38, "pool_time_stride": 8}
#: fine-tuning / from-scratch recipe (the same for both)
FINETUNE = {
    "n_steps": 100,
    "batch_size": 32,
    "lr": 1e-3,
    "weight_decay": 1e-2,
    "augment": [
        {"name": "gaussian_noise", "p": 0.5, "std": 0.1},
        {"name": "time_shift", "p": 0.5, "max_shift": 12},
    ],
    "num_threads": 1,
}
PRETRAIN = {
    "tau_pos": 8.0,
    "tau_neg": 24.0,
    "examples_per_window": 2.0,
    "max_epochs": 10,
    "batch_size": 64,
    "lr": 1e-3,
    "num_threads": 1,
}
GENERATOR = {"width": 32, "n_latent": 32, "batch_size": 32, "num_threads": 1}
GEN_EPOCHS = {"cvae": 100, "wgan_gp": 40}


def _prep(ds) -> np.ndarray:
    X = BandpassFilter(l_freq=4.0, h_freq=30.0, sfreq=ds.sfreq).fit_transform(ds.X * 1e6)
    return Resample(new_sfreq=SFREQ, sfreq=ds.sfreq).fit_transform(X).astype(np.float32)


def _recentre(X: np.ndarray, groups: np.ndarray, pool) -> None:
    """Whiten each subject's labelled and pool windows by its labelled windows' Riemannian mean."""
    from scipy.linalg import fractional_matrix_power

    from neurodl.preprocessing.adaptation import reference_covariance

    for g in np.unique(groups):
        R = reference_covariance(X[groups == g].astype(float), method="riemann")
        W = np.real(fractional_matrix_power(R, -0.5)).astype(np.float32)
        X[groups == g] = np.einsum("cd,ndt->nct", W, X[groups == g])
        at = pool.groups == g
        pool.X[at] = np.einsum("cd,ndt->nct", W, pool.X[at])


def load(smoke: bool, recentre: bool = False):
    lab = load_dataset("eegmat", last=60.0, window=4.0)
    pool = load_dataset("eegmat", window=4.0)  # whole recordings, no overlap; labels unused
    subjects = sorted(lab.metadata["subject"].unique())
    if smoke:
        subjects = subjects[:3]
        lab = lab.subset(lab.metadata["subject"].isin(subjects).to_numpy())
        pool = pool.subset(pool.metadata["subject"].isin(subjects).to_numpy())
    X, y, groups = _prep(lab), np.asarray(lab.y), lab.metadata["subject"].to_numpy()
    unl = UnlabelledPool(
        X=_prep(pool),
        groups=pool.metadata["subject"].to_numpy(),
        recordings=pool.metadata["recording"].to_numpy(),
        onsets=pool.metadata["onset"].to_numpy(dtype=float),
        ch_names=list(lab.ch_names),
    )
    if recentre:
        _recentre(X, groups, unl)
    return X, y, groups, unl, subjects


def _net(enc, mode="finetune", steps=None):
    params = dict(FINETUNE, **({"n_steps": steps} if steps else {}))
    if mode == "linear_probe":
        return FineTunedClassifier(enc, mode="linear_probe", C=0.1, num_threads=1)
    return FineTunedClassifier(enc, model="shallow", model_params=SHALLOW, sfreq=SFREQ, **params)


def ssl_part(
    X, y, groups, pool, splits, smoke: bool, objective: str, subject_batches: bool = False
) -> dict:
    steps = 5 if smoke else None
    pre = SSLPretrainer(
        "shallow",
        model_params=SHALLOW,
        objective=objective,
        sfreq=SFREQ,
        batch_by_group=subject_batches,
        **PRETRAIN,
    )
    if smoke:
        pre.set_params(max_epochs=1, examples_per_window=0.5)
    models = {
        "ssl_finetune": lambda enc: _net(enc, steps=steps),
        "ssl_probe": lambda enc: _net(enc, "linear_probe"),
        "scratch": lambda enc: _net(None, steps=steps),
        "ts_lr": lambda enc: make_estimator("tangent_space_lr"),
    }
    t0 = time.perf_counter()

    def show(row):
        print(
            f"fold {row['fold']} {row['fraction']:.2f} {row['model']}: {row['score']:.3f} "
            f"({row['n_labels']} labels, {row['fit_s']:.1f} s)",
            flush=True,
        )

    res = label_efficiency(
        X,
        y,
        groups,
        splits=splits,
        fractions=[0.1, 1.0] if smoke else FRACTIONS,
        models=models,
        pretrainer=pre,
        pool=pool,
        progress=show,
    )
    for k, ids in enumerate(res.pretrain_ids):  # the held-out subject never entered
        if set(pool.groups[ids]) & set(res.test_groups[k]):
            raise RuntimeError(f"fold {k}: a test subject's windows entered pretraining")
    out = res.to_dict()
    out["time_s"] = round(time.perf_counter() - t0, 1)
    out["objective"] = objective
    summ = res.summary()
    f10 = 0.1
    out["goal"] = {}
    for name in ("ssl_finetune", "ssl_probe"):
        cmp = compare_models(
            res.cv_result(name, f10), res.cv_result("scratch", f10), names=(name, "scratch")
        )
        full = summ[name][1.0]
        out["goal"][name] = {
            "score_10pct": summ[name][f10],
            "score_100pct": full,
            "retention_10pct": summ[name][f10] / full if full > 0 else float("nan"),
            "vs_scratch_10pct": {**cmp.to_dict(), "verdict": cmp.verdict()},
        }
        print(cmp.verdict(), flush=True)
    return out


def gen_part(X, y, groups, splits, smoke: bool) -> dict:
    from neurodl.evaluation.label_efficiency import label_subset
    from neurodl.evaluation.metrics import get_metric

    score = get_metric("balanced_accuracy")
    rows, quality = [], []
    steps = 5 if smoke else None
    t0 = time.perf_counter()
    for k, (tr, te) in enumerate(splits):
        for frac in [0.25] if smoke else GEN_FRACTIONS:
            sub = tr[label_subset(y[tr], frac, k)]  # the same draw as part 1 (seed + fold)
            bases = {
                "scratch": _net(None, steps=steps),
                "ts_lr": make_estimator("tangent_space_lr"),
            }
            for base, est in bases.items():
                t1 = time.perf_counter()
                s = score(y[te], clone(est).fit(X[sub], y[sub]).predict(X[te]))
                rows.append({"fold": k, "fraction": frac, "model": base, "score": float(s)})
                print(f"gen fold {k} {frac:.2f} {base}: {s:.3f} ({time.perf_counter() - t1:.0f} s)")
            for kind in ("cvae", "wgan_gp"):
                t1 = time.perf_counter()
                epochs = 2 if smoke else GEN_EPOCHS[kind]
                aug = GenerativeAugmenter(kind, max_epochs=epochs, random_state=k, **GENERATOR)
                try:
                    aug.fit(X[sub], y[sub])
                except ValueError as err:  # too few windows of a class: recorded, not hidden
                    rows.append({"fold": k, "fraction": frac, "model": kind, "error": str(err)})
                    continue
                fit_s = time.perf_counter() - t1
                counts = np.bincount(y[tr])
                Xg, _ = aug.sample({c: int(n) for c, n in enumerate(counts)})
                q = sample_quality(X[tr], Xg, sfreq=SFREQ, fmax=32.0, seed=k)
                quality.append(
                    {"fold": k, "fraction": frac, "kind": kind, "fit_s": round(fit_s, 1), **q}
                )
                print(
                    f"gen fold {k} {frac:.2f} {kind}: fit {fit_s:.0f} s, "
                    + ", ".join(f"{n}={v:.3f}" for n, v in q.items()),
                    flush=True,
                )
                # what GenerativeAugmentedClassifier(est, aug, ratio=1.0).fit(X[sub], y[sub])
                # does, without fitting the same generator a second time
                n_sub = np.bincount(y[sub])
                Xa, ya = aug.sample({c: int(n) for c, n in enumerate(n_sub)})
                X_all, y_all = np.concatenate([X[sub], Xa]), np.concatenate([y[sub], ya])
                for base, est in bases.items():
                    s = score(y[te], clone(est).fit(X_all, y_all).predict(X[te]))
                    rows.append(
                        {"fold": k, "fraction": frac, "model": f"{base}+{kind}", "score": float(s)}
                    )
                    print(f"gen fold {k} {frac:.2f} {base}+{kind}: {s:.3f}", flush=True)
    # paired over folds, per fraction: augmented vs the same classifier without
    comparisons = []
    for frac in sorted({r["fraction"] for r in rows}):
        for base in ("scratch", "ts_lr"):
            for kind in ("cvae", "wgan_gp"):

                def scores(name, frac=frac):
                    return {
                        r["fold"]: r["score"]
                        for r in rows
                        if r["model"] == name and r["fraction"] == frac and "score" in r
                    }

                a, b = scores(f"{base}+{kind}"), scores(base)
                folds = sorted(set(a) & set(b))
                if not folds:
                    continue
                d = np.array([a[f] - b[f] for f in folds])
                comparisons.append(
                    {
                        "fraction": frac,
                        "model": f"{base}+{kind}",
                        "baseline": base,
                        "mean_gain": float(d.mean()),
                        "gains": d.tolist(),
                        "n_folds": len(folds),
                    }
                )
    return {
        "rows": rows,
        "quality": quality,
        "gains": comparisons,
        "time_s": round(time.perf_counter() - t0, 1),
    }


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def render_markdown(res: dict) -> str:
    """Tables of a results dict (what ``--out`` writes)."""
    out = []
    if "ssl" in res:
        ssl = res["ssl"]
        fr = ssl["fractions"]
        rows = []
        for m in ssl["models"]:
            rows.append([m] + [f"{ssl['summary'][m][str(f)]:.3f}" for f in fr])
        n_lab = {f: sorted({r["n_labels"] for r in ssl["rows"] if r["fraction"] == f}) for f in fr}
        out.append(
            f"Part 1 ({ssl['objective']} pretraining, {len(res['held_out_subjects'])} LOSO "
            f"folds, {ssl['time_s']:.0f} s). Mean balanced accuracy over folds:\n"
        )
        head = ["model"] + [f"{100 * f:g}% ({'/'.join(map(str, n_lab[f]))})" for f in fr]
        out.append(_table(head, rows))
        per_fold = []
        for m in ssl["models"]:
            for f in fr:
                sc = [
                    r["score"]
                    for r in sorted(ssl["rows"], key=lambda r: r["fold"])
                    if r["model"] == m and r["fraction"] == f
                ]
                per_fold.append([m, f"{100 * f:g}%", " ".join(f"{s:.2f}" for s in sc)])
        out.append("\nPer fold (held-out subjects " + ", ".join(res["held_out_subjects"]) + "):\n")
        out.append(_table(["model", "labels", "fold scores"], per_fold))
        out.append("\nGoal (10% of the labels):\n")
        g_rows = []
        for m, g in ssl["goal"].items():
            g_rows.append(
                [
                    m,
                    f"{g['score_10pct']:.3f}",
                    f"{g['score_100pct']:.3f}",
                    f"{g['retention_10pct']:.2f}",
                    g["vs_scratch_10pct"]["verdict"],
                ]
            )
        out.append(_table(["model", "10%", "100%", "retention", "vs scratch at 10%"], g_rows))
        out.append(
            "\nPretraining windows per fold (training subjects only): "
            + ", ".join(map(str, ssl["n_pretrain_windows"]))
        )
    if "generative" in res:
        gen = res["generative"]
        out.append(f"\nPart 2 (generative augmentation, {gen['time_s']:.0f} s). Sample quality:\n")
        q_rows = []
        for q in gen["quality"]:
            q_rows.append(
                [
                    str(q["fold"]),
                    f"{100 * q['fraction']:g}%",
                    q["kind"],
                    f"{q['fit_s']:.0f}",
                    f"{q['spectral_distance_db']:.2f} ({q['real_vs_real_spectral_distance_db']:.2f})",
                    f"{q['sliced_wasserstein']:.3f} ({q['real_vs_real_sliced_wasserstein']:.3f})",
                    f"{q['c2st_auc']:.3f} ({q['real_vs_real_c2st_auc']:.3f})",
                ]
            )
        out.append(
            _table(
                [
                    "fold",
                    "labels",
                    "generator",
                    "fit s",
                    "spectral dist. dB (real vs real)",
                    "sliced W1 (real vs real)",
                    "C2ST AUC (real vs real)",
                ],
                q_rows,
            )
        )
        errors = [r for r in gen["rows"] if "error" in r]
        out.append("\nGain of adding generated windows (one per real one), per fold:\n")
        g_rows = [
            [
                f"{100 * g['fraction']:g}%",
                g["model"],
                f"{g['mean_gain']:+.3f}",
                " ".join(f"{d:+.2f}" for d in g["gains"]),
            ]
            for g in gen["gains"]
        ]
        out.append(_table(["labels", "model", "mean gain", "per fold"], g_rows))
        base = [
            [f"{100 * r['fraction']:g}%", str(r["fold"]), r["model"], f"{r['score']:.3f}"]
            for r in gen["rows"]
            if "score" in r
        ]
        out.append("\nScores:\n")
        out.append(_table(["labels", "fold", "model", "balanced accuracy"], base))
        if errors:
            out.append("\nRefused: " + "; ".join(e["error"] for e in errors))
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--folds", type=int, default=6, help="LOSO folds of part 1 (first subjects)")
    ap.add_argument("--gen-folds", type=int, default=2, help="LOSO folds of part 2")
    ap.add_argument(
        "--objective",
        default="relative_positioning",
        choices=["relative_positioning", "temporal_shuffling", "contrastive"],
    )
    ap.add_argument(
        "--recentre",
        action="store_true",
        help="re-centre each subject on its labelled windows' Riemannian mean (labels unused)",
    )
    ap.add_argument(
        "--subject-batches",
        action="store_true",
        help="pretraining batches of one subject each (subject-aware negatives)",
    )
    ap.add_argument("--part", choices=["ssl", "gen", "both"], default="both")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--render", type=Path, default=None, help="print the tables of a --out file")
    args = ap.parse_args()
    if args.render:
        print(render_markdown(json.loads(args.render.read_text())))
        return
    t0 = time.perf_counter()
    X, y, groups, pool, subjects = load(args.smoke, args.recentre)
    print(f"labelled {X.shape}, pool {pool.X.shape}, subjects {len(subjects)}", flush=True)
    n_folds = 2 if args.smoke else args.folds
    splits = [
        (np.flatnonzero(groups != s), np.flatnonzero(groups == s)) for s in subjects[:n_folds]
    ]
    res: dict = {
        "smoke": args.smoke,
        "recentred": args.recentre,
        "unlabelled_test_data": args.recentre,
        "held_out_subjects": subjects[:n_folds],
        "labelled_shape": list(X.shape),
        "pool_shape": list(pool.X.shape),
        "recipes": {
            "shallow": SHALLOW,
            "finetune": FINETUNE,
            "pretrain": PRETRAIN,
            "generator": GENERATOR,
            "gen_epochs": GEN_EPOCHS,
        },
    }
    if args.part in ("ssl", "both"):
        res["ssl"] = ssl_part(
            X, y, groups, pool, splits, args.smoke, args.objective, args.subject_batches
        )
        res["ssl"]["subject_batches"] = args.subject_batches
    if args.part in ("gen", "both"):
        n_gen = 1 if args.smoke else args.gen_folds
        res["generative"] = gen_part(X, y, groups, splits[:n_gen], args.smoke)
    res["total_time_s"] = round(time.perf_counter() - t0, 1)
    print(f"total {res['total_time_s']:.0f} s")
    if args.out:
        args.out.write_text(json.dumps(res, indent=1, default=str))


if __name__ == "__main__":
    main()
