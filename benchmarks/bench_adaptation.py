"""Adaptation across subjects (EEGMAT) and across a simulated site shift (Bonn), networks included.

Part 1, EEGMAT rest vs mental arithmetic, leave-one-subject-out (12 subjects, last 60 s of each
recording, 4 s windows, band-pass 4-30 Hz, balanced accuracy). On the same folds:

- ``ts_lr``: OAS covariances + tangent space + LR (the reference pipeline, 500 Hz);
- ``ts_lr + recentring``: the same after each subject's signals were re-centred on that
  subject's own Riemannian mean (unsupervised; :func:`neurodl.evaluation.adapt_dataset`,
  ``riemannian_recentring`` by subject);
- ``shallow``: ShallowFBCSPNet on the same windows at 125 Hz, no adaptation;
- ``shallow + recentring + AdaBN``: the same network on re-centred input, batch-norm
  statistics re-estimated on each test subject's unlabelled windows.

The network's recipe is fixed in :data:`NET` (written down before the benchmark ran; one
exploratory LOSO run, shallow on re-centred input for 40 epochs without early stopping, gave
0.853 and is reported in the results file). The number of epochs is chosen on training
subjects only: early stopping on an inner validation split of whole training subjects
(``fit(groups=subject)`` through :func:`neurodl.evaluation.cross_validate`). Paired
comparisons: :func:`neurodl.evaluation.compare_models` (corrected resampled t-test over folds).

Part 2, Bonn E vs C+D, robustness to a site shift: the cross-dataset protocol with grouped
folds (:class:`neurodl.evaluation.CrossDataset`, 5 folds by segment): train on Bonn windows
(1024 samples) of 4/5 of the segments, test on the held-out segments as recorded and as a
"second hospital" (amplitude x 0.5, resampled to 200 Hz, then back to the common rate 173.61
Hz). StftNet (1 member) trained once per fold and seed; tested on: unshifted; shifted with
no adaptation; shifted after amplitude harmonisation (each dataset divided by its own median
channel SD, :func:`neurodl.preprocessing.adaptation.scale_groups`); shifted with adaptive batch
norm on the test fold. Networks see inputs divided by the training dataset's median SD.
5 seeds.

    OMP_NUM_THREADS=1 NEURODL_DATA=../shared/data python benchmarks/bench_adaptation.py \
        --out benchmarks/results/adaptation.json
    python benchmarks/bench_adaptation.py --smoke   # 3 subjects, 2 folds, 2 epochs
    # the network recipe chosen per fold on training subjects among CANDIDATES:
    python benchmarks/bench_adaptation.py --part eegmat --select --n-jobs 2
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from bench_eegmat_tangent_net import compare_pairs, load_inputs, score_models
from sklearn.base import BaseEstimator, ClassifierMixin

from neurodl.data import EpochsDataset
from neurodl.datasets import load_dataset
from neurodl.estimators import NeuralClassifier, make_estimator
from neurodl.evaluation import (
    CrossDataset,
    combine_datasets,
)
from neurodl.preprocessing import Resample
from neurodl.preprocessing.adaptation import scale_groups

#: The network recipe of part 1, fixed before the benchmark ran.
NET = {
    "model": "shallow",
    "max_epochs": 60,
    "batch_size": 32,
    "lr": 1e-3,
    "weight_decay": 1e-2,
    "validation_fraction": 0.2,  # whole training subjects (fit gets groups)
    "early_stopping": True,
    "patience": 10,
    "augment": [
        {"name": "gaussian_noise", "p": 0.5, "std": 0.1},
        {"name": "time_shift", "p": 0.5, "max_shift": 25},
    ],
    "num_threads": 1,
}
NET_SFREQ = 125.0
#: Bonn network (part 2): the StftNet of examples/bonn_e_vs_abcd_net.yaml, one member.
BONN_NET = {
    "model": "stftnet",
    "model_params": {"n_fft": 256, "n_members": 1},
    "max_epochs": 20,
    "batch_size": 64,
    "lr": 1e-3,
    "class_weight": "balanced",
    "early_stopping": False,
    "validation_fraction": None,
    "num_threads": 1,
}
COMMON_SFREQ = 173.61
#: Candidate changes to :data:`NET` for the recipe chosen on training subjects only
#: (:class:`InnerSelect`), declared after the first run of this benchmark.
CANDIDATES = {
    "recipe": {},
    "small": {"model_params": {"n_filters_time": 10, "n_filters_spat": 10}},
    "cropped": {"cropped": True, "crop_len": 250, "crop_stride": 125},
}


class InnerSelect(BaseEstimator, ClassifierMixin):
    """Pick one of ``candidates`` on an inner split of whole training subjects, refit it.

    ``fit(X, y, groups)``: a :class:`~sklearn.model_selection.GroupShuffleSplit` holds out
    ``val_fraction`` of the training subjects; every candidate is fitted on the rest and scored
    (balanced accuracy) on them; the best is refitted on all training subjects. The test
    subject never enters the choice.
    """

    def __init__(self, candidates=None, val_fraction=0.25, random_state=0):
        self.candidates = candidates
        self.val_fraction = val_fraction
        self.random_state = random_state

    def fit(self, X, y, groups=None):
        from sklearn.base import clone
        from sklearn.metrics import balanced_accuracy_score
        from sklearn.model_selection import GroupShuffleSplit

        split = GroupShuffleSplit(1, test_size=self.val_fraction, random_state=self.random_state)
        tr, va = next(split.split(X, y, groups))
        self.inner_scores_ = {}
        for name, est in self.candidates.items():
            fitted = clone(est).fit(X[tr], y[tr], groups=groups[tr])
            self.inner_scores_[name] = balanced_accuracy_score(y[va], fitted.predict(X[va]))
        self.chosen_ = max(self.inner_scores_, key=self.inner_scores_.get)
        self.best_ = clone(self.candidates[self.chosen_]).fit(X, y, groups=groups)
        self.classes_ = self.best_.classes_
        print(f"  inner choice {self.chosen_}: {self.inner_scores_}", flush=True)
        return self

    def predict_proba(self, X):
        return self.best_.predict_proba(X)

    def predict(self, X):
        return self.best_.predict(X)


def _ds(X: np.ndarray, like: EpochsDataset, sfreq: float) -> EpochsDataset:
    return EpochsDataset(X, like.y, like.metadata, sfreq, like.ch_names, like.classes, like.info)


def eegmat(smoke: bool, select: bool = False, n_jobs: int = 1) -> dict:
    raw, net_raw, rec, net_rec, record, proto = load_inputs(smoke)
    net_params = {k: v for k, v in NET.items() if k != "model"}
    if smoke:
        net_params.update(max_epochs=2, patience=1)
    runs = {
        "ts_lr": (make_estimator("tangent_space_lr"), raw),
        "ts_lr + recentring": (make_estimator("tangent_space_lr"), rec),
        "shallow": (
            NeuralClassifier(NET["model"], sfreq=NET_SFREQ, random_state=0, **net_params),
            net_raw,
        ),
        "shallow + recentring + AdaBN": (
            NeuralClassifier(
                NET["model"], sfreq=NET_SFREQ, random_state=0, adaptive_bn=True, **net_params
            ),
            net_rec,
        ),
    }
    if select:
        cands = {
            name: NeuralClassifier(
                NET["model"],
                sfreq=NET_SFREQ,
                random_state=0,
                adaptive_bn=True,
                **{**net_params, **change},
            )
            for name, change in CANDIDATES.items()
        }
        runs = {
            "ts_lr + recentring": runs["ts_lr + recentring"],
            "shallow (chosen on training subjects) + recentring + AdaBN": (
                InnerSelect(cands),
                net_rec,
            ),
        }
    out = {"models": {}, "adaptation": record}
    cvs = score_models(runs, proto, n_jobs, out["models"])
    pairs = [
        ("shallow + recentring + AdaBN", "ts_lr + recentring"),
        ("shallow + recentring + AdaBN", "shallow"),
        ("ts_lr + recentring", "ts_lr"),
    ]
    if select:
        pairs = [
            ("shallow (chosen on training subjects) + recentring + AdaBN", "ts_lr + recentring")
        ]
    out["comparisons"] = compare_pairs(cvs, pairs)
    return out


def _shifted(ds: EpochsDataset) -> EpochsDataset:
    """Amplitude x 0.5, resampled to 200 Hz, then back to the common rate (a second site)."""
    X = Resample(new_sfreq=200.0, sfreq=ds.sfreq).fit_transform(np.asarray(ds.X, float) * 0.5)
    X = Resample(new_sfreq=COMMON_SFREQ, sfreq=200.0).fit_transform(X)
    n = min(X.shape[-1], ds.X.shape[-1])
    return _ds(X[..., :n], ds, COMMON_SFREQ)


def bonn(smoke: bool, seeds: list[int]) -> dict:
    ds = load_dataset("bonn", sets=["E", "CD"], window=1024)
    ds = _ds(np.asarray(ds.X, float), ds, ds.sfreq)
    if smoke:
        seg = sorted(ds.metadata["segment"].unique())
        rng = np.random.default_rng(0)
        keep = ds.metadata["segment"].isin(rng.choice(seg, 60, replace=False)).to_numpy()
        ds = ds.subset(keep)
    shifted = _shifted(ds)
    both = combine_datasets(ds, shifted, train_name="bonn", test_name="site2")
    unshift = combine_datasets(ds, ds, train_name="bonn", test_name="bonn_again")
    n_splits = 2 if smoke else 5
    proto = CrossDataset("bonn", "site2", n_splits=n_splits, group_by="segment")
    folds = proto.splits(both)
    n_train = len(ds.X)
    s_train = float(np.median(np.asarray(ds.X).std(axis=(0, 2))))
    side = both.metadata["dataset"].to_numpy()
    _, gains = scale_groups(np.asarray(both.X), side)  # each dataset's own gain (unlabelled)
    _, gains_u = scale_groups(np.asarray(unshift.X), unshift.metadata["dataset"].to_numpy())
    params = {k: v for k, v in BONN_NET.items() if k != "model"}
    if smoke:
        params["max_epochs"] = 2
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    rows = []
    for seed in seeds:
        for k, (tr, te, _) in enumerate(folds):
            t0 = time.perf_counter()
            clf = NeuralClassifier(
                BONN_NET["model"], sfreq=COMMON_SFREQ, random_state=seed, **params
            )
            clf.fit(np.asarray(both.X[tr]) / s_train, both.y[tr])
            y = both.y[te]
            te_u = te - n_train  # the same windows, unshifted
            Xs, Xu = np.asarray(both.X[te]), np.asarray(ds.X[te_u])
            inputs = {
                "unshifted": Xu / s_train,
                "unshifted, harmonised": Xu * gains_u["bonn_again"],
                "shifted": Xs / s_train,
                "shifted, harmonised": Xs * gains["site2"],
            }
            row = {"seed": seed, "fold": k}
            for name, Z in inputs.items():
                p = clf.predict_proba(Z)[:, 1]
                row[name] = float(balanced_accuracy_score(y, (p > 0.5).astype(int)))
                row[name + " AUC"] = float(roc_auc_score(y, p))
            clf.set_params(adaptive_bn=True)  # batch-norm statistics of the test fold
            row["shifted, AdaBN"] = float(balanced_accuracy_score(y, clf.predict(Xs / s_train)))
            row["time_s"] = round(time.perf_counter() - t0, 1)
            rows.append(row)
            print(
                f"Bonn seed {seed} fold {k}: "
                + ", ".join(f"{n}={row[n]:.3f}" for n in (*inputs, "shifted, AdaBN")),
                flush=True,
            )
    conds = [
        "unshifted",
        "unshifted, harmonised",
        "shifted",
        "shifted, harmonised",
        "shifted, AdaBN",
    ]
    per_seed = {
        c: [float(np.mean([r[c] for r in rows if r["seed"] == s])) for s in seeds] for c in conds
    }
    summary = {
        c: {
            "mean": float(np.mean(v)),
            "range_over_seeds": float(np.ptp(v)),
            "per_seed": v,
            "diff_vs_unshifted": float(np.mean(v) - np.mean(per_seed["unshifted"])),
        }
        for c, v in per_seed.items()
    }
    for c, s in summary.items():
        print(f"Bonn {c}: {s['mean']:.3f} (range over seeds {s['range_over_seeds']:.3f})")
    return {
        "gains": {"train_median_sd": s_train, **{k: float(v) for k, v in gains.items()}},
        "rows": rows,
        "summary": summary,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--part", choices=["eegmat", "bonn", "both"], default="both")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--select",
        action="store_true",
        help="EEGMAT: the network recipe chosen per fold among CANDIDATES on training subjects",
    )
    ap.add_argument("--n-jobs", type=int, default=1, help="EEGMAT folds in parallel")
    args = ap.parse_args()
    res: dict = {"smoke": args.smoke}
    if args.part in ("eegmat", "both"):
        res["eegmat"] = eegmat(args.smoke, args.select, args.n_jobs)
    if args.part in ("bonn", "both"):
        res["bonn"] = bonn(args.smoke, list(range(1 if args.smoke else args.seeds)))
    if args.out:
        args.out.write_text(json.dumps(res, indent=1, default=str))


if __name__ == "__main__":
    main()
