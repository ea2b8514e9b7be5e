"""Bonn: soft vote of the two fixed network recipes (StftNet and our Deep4), pre-registered.

Neither recipe is changed: StftNet exactly as in ``examples/bonn_<task>_net.yaml`` and Deep4 as
its row in ``bench_eeg_decoding.py`` (30 epochs, AdamW lr 1e-3, batch 64, no early stopping).
On each fold of the examples' protocol (1024-sample windows within segments, 5 folds grouped by
segment; every split checked by the leakage guard) both are fitted on the training windows and
their class probabilities averaged with equal weights. Reports each network and the vote per
fold (balanced accuracy) and the percentile bootstrap CI over the fold scores. On the 5-class
task it also reads ictal vs non-ictal off the five-set models (P(E) > 0.5: "subclass training"
for the E vs ABCD question; the two tasks share the same 500 segments and the same folds).
``--save-probas`` keeps every test window's class probabilities (with fold and segment) for an
error analysis.

The data, protocol and StftNet recipe are read from the example config (plain YAML) and built
with library calls only (:func:`neurodl.datasets.load_dataset`,
:func:`neurodl.evaluation.get_protocol`, :func:`neurodl.analyses.decoding.make_decoder`).

    OMP_NUM_THREADS=1 NEURODL_DATA=../shared/data \
        python benchmarks/bench_bonn_ensemble.py --task 5class --n-jobs 2 --out bonn_vote.json \
        --save-probas bonn_vote_5class.npz
    python benchmarks/bench_bonn_ensemble.py --smoke   # fold 0, 1 epoch per network
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import yaml
from joblib import Parallel, delayed
from sklearn.metrics import balanced_accuracy_score

from neurodl.analyses.decoding import make_decoder
from neurodl.datasets import load_dataset
from neurodl.evaluation import check_no_leakage, get_protocol
from neurodl.evaluation.stats import bootstrap_ci

ROOT = Path(__file__).resolve().parents[1]
DEEP4 = {
    "max_epochs": 30,
    "batch_size": 64,
    "lr": 1e-3,
    "early_stopping": False,
    "validation_fraction": None,
    "num_threads": 1,
}


def _fold(cfg, ds, train, test, k):
    t0 = time.perf_counter()
    out = {"fold": k}
    probas = {}
    for name, params in (
        ("stftnet", cfg["model"].get("params", {})),
        ("deep4", DEEP4),
    ):
        est = make_decoder(name, params, seed=cfg["seed"], sfreq=ds.sfreq, data_info=ds.info)
        est.fit(ds.X[train], ds.y[train])
        p = est.predict_proba(ds.X[test])
        classes = list(est.classes_)
        probas[name] = (p, classes)
        out[name] = float(balanced_accuracy_score(ds.y[test], np.asarray(classes)[p.argmax(1)]))
    (pa, ca), (pb, cb) = probas["stftnet"], probas["deep4"]
    assert ca == cb
    vote = 0.5 * (pa + pb)
    out["vote"] = float(balanced_accuracy_score(ds.y[test], np.asarray(ca)[vote.argmax(1)]))
    probas["vote"] = (vote, ca)
    if len(ca) > 2:
        # Ictal vs non-ictal read off the five-set model: P(E) against the sum of the
        # four non-ictal sets (the same 500 segments and the same folds as the E vs ABCD task).
        sets = ds.metadata["set"].to_numpy()
        e_label = ds.y[sets == "E"][0]
        is_e = sets[test] == "E"
        for name, (p, classes) in probas.items():
            pred_e = p[:, classes.index(e_label)] > 0.5
            out[f"{name}_e_vs_rest"] = float(balanced_accuracy_score(is_e, pred_e))
    out["seconds"] = time.perf_counter() - t0
    out["test"] = test
    out["probas"] = {name: p for name, (p, _c) in probas.items()}
    out["classes"] = ca
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", choices=["5class", "e_vs_abcd"], default="5class")
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--folds", type=int, nargs="*", default=None)
    ap.add_argument("--out", default="bonn_vote.json")
    ap.add_argument(
        "--save-probas", default=None, help="npz file for the per-window test probabilities"
    )
    ap.add_argument(
        "--smoke", action="store_true", help="fold 0 only, 1 epoch per network (a quick check)"
    )
    args = ap.parse_args()
    cfg = yaml.safe_load((ROOT / "examples" / f"bonn_{args.task}_net.yaml").read_text())
    assert cfg["model"]["name"] == "stftnet" and cfg["data"]["dataset"] == "bonn"
    if args.smoke:
        args.folds = [0]
        cfg["model"]["params"] = {**cfg["model"]["params"], "max_epochs": 1, "n_members": 1}
        DEEP4["max_epochs"] = 1
    ds = load_dataset("bonn", data_root=cfg["data"].get("data_root"), **cfg["data"]["params"])
    ev = cfg["evaluation"]
    protocol = get_protocol(ev["protocol"], **ev.get("protocol_params", {}))
    splits = protocol.splits(ds)
    for train, test, _block in splits:
        check_no_leakage(ds, train, test)
    todo = [(k, s) for k, s in enumerate(splits) if args.folds is None or k in args.folds]
    rows = Parallel(n_jobs=args.n_jobs)(
        delayed(_fold)(cfg, ds, tr, te, k) for k, (tr, te, _b) in todo
    )
    if args.save_probas:
        test = np.concatenate([r["test"] for r in rows])
        np.savez(
            args.save_probas,
            test=test,
            fold=np.concatenate([np.full(len(r["test"]), r["fold"]) for r in rows]),
            y=np.asarray(ds.y)[test].astype(str),
            segment=ds.metadata["segment"].to_numpy()[test].astype(str),
            classes=np.asarray(rows[0]["classes"]).astype(str),
            **{m: np.concatenate([r["probas"][m] for r in rows]) for m in rows[0]["probas"]},
        )
    for r in rows:
        del r["test"], r["probas"], r["classes"]
    summary = {"task": args.task, "folds": rows}
    names = [k for k in rows[0] if k not in ("fold", "seconds")]
    for name in names:
        scores = np.array([r[name] for r in rows])
        ci = bootstrap_ci(scores, n_boot=1000, seed=0) if len(scores) > 1 else None
        lo, hi = (ci.low, ci.high) if ci is not None else (None, None)
        summary[name] = {"mean": float(scores.mean()), "ci": [lo, hi]}
        print(name, np.round(scores, 3), round(float(scores.mean()), 3), lo, hi)
    Path(args.out).write_text(json.dumps(summary, indent=2, default=float))


if __name__ == "__main__":
    main()
