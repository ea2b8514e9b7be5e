"""Bonn E vs ABCD: which test windows do the networks get wrong, and what do they look like?

Reads the per-window probabilities saved by ``bench_bonn_ensemble.py --save-probas`` for the
two-class task (and, if given, the 5-class task, read as P(E) against the rest), prints per-fold
balanced accuracy for every model and the windows that any model misclassifies, then places each
misclassified ictal window among the training windows of its own fold: its 10 nearest neighbours
(Euclidean, standardised log band power in the baseline's 15 bands, scaler and neighbours fitted
on that fold's training windows only) and their sets.

    OMP_NUM_THREADS=1 NEURODL_DATA=../shared/data python benchmarks/analyse_bonn_errors.py \\
        bonn_vote_e_vs_abcd.npz --five-class bonn_vote_5class.npz

The windows, bands and folds come from ``examples/bonn_e_vs_abcd_net.yaml`` (plain YAML), built
with library calls only (:func:`neurodl.datasets.load_dataset`,
:func:`neurodl.evaluation.get_protocol`).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml
from scipy.signal import welch
from sklearn.metrics import balanced_accuracy_score
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

from neurodl.datasets import load_dataset
from neurodl.evaluation import get_protocol

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("stftnet", "deep4", "vote")


def _window_keys(segments: np.ndarray) -> list[tuple[str, int]]:
    """(segment, k-th window of that segment in the file) for every row."""
    seen: dict[str, int] = defaultdict(int)
    keys = []
    for s in segments:
        keys.append((str(s), seen[s]))
        seen[s] += 1
    return keys


def _p_ictal(z: np.lib.npyio.NpzFile) -> tuple[dict[str, np.ndarray], np.ndarray]:
    is_e = np.char.startswith(z["segment"], "E")
    e_label = z["y"][is_e][0]
    col = list(z["classes"]).index(e_label)
    return {m: z[m][:, col] for m in MODELS}, is_e


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("two_class", help="npz from bench_bonn_ensemble.py --task e_vs_abcd")
    ap.add_argument("--five-class", default=None, help="npz from --task 5class (optional)")
    args = ap.parse_args()
    a = np.load(args.two_class)
    p_e, is_e = _p_ictal(a)
    fold, seg = a["fold"], a["segment"]
    if args.five_class:
        b = np.load(args.five_class)
        pos = {k: i for i, k in enumerate(_window_keys(b["segment"]))}
        idx = np.array([pos[k] for k in _window_keys(seg)])
        p5, _ = _p_ictal(b)
        p_e.update({f"{m}_5set": p[idx] for m, p in p5.items()})
    folds = np.unique(fold)
    print("balanced accuracy per fold (ictal = P(E) > 0.5)")
    for m, p in p_e.items():
        per = [balanced_accuracy_score(is_e[fold == k], p[fold == k] > 0.5) for k in folds]
        print(f"  {m:14s}", " ".join(f"{v:.3f}" for v in per), f"mean {np.mean(per):.4f}")
    wrong = np.zeros(len(seg), bool)
    for p in p_e.values():
        wrong |= (p > 0.5) != is_e
    print("\nwindows misclassified by any model: fold, segment, window, P(E) per model")
    keys = _window_keys(seg)
    for i in np.flatnonzero(wrong):
        cells = " ".join(f"{m}={p[i]:.2f}" for m, p in p_e.items())
        print(f"  {fold[i]} {keys[i][0]} w{keys[i][1]} {cells}")

    cfg = yaml.safe_load((ROOT / "examples" / "bonn_e_vs_abcd_net.yaml").read_text())
    assert cfg["data"]["dataset"] == "bonn"
    ds = load_dataset("bonn", data_root=cfg["data"].get("data_root"), **cfg["data"]["params"])
    sets = ds.metadata["set"].to_numpy()
    f, pxx = welch(np.asarray(ds.X)[:, 0], fs=ds.sfreq, nperseg=256)
    bands = cfg["options"]["baseline"]["params"]["bands"]
    feats = np.log10(np.stack([pxx[:, (f >= lo) & (f < hi)].mean(1) for lo, hi in bands], 1))
    ev = cfg["evaluation"]
    splits = get_protocol(ev["protocol"], **ev.get("protocol_params", {})).splits(ds)
    ds_keys = {k: i for i, k in enumerate(_window_keys(ds.metadata["segment"].to_numpy()))}
    print("\nmissed ictal windows (vote P(E) < 0.5): sets of the 10 nearest training windows")
    for i in np.flatnonzero(is_e & (p_e["vote"] <= 0.5)):
        j = ds_keys[keys[i]]
        train = splits[int(fold[i])][0]
        scaler = StandardScaler().fit(feats[train])
        nn = NearestNeighbors(n_neighbors=10).fit(scaler.transform(feats[train]))
        _, nb = nn.kneighbors(scaler.transform(feats[j : j + 1]))
        line_length = np.abs(np.diff(np.asarray(ds.X)[j, 0])).mean()
        print(
            f"  {keys[i][0]} w{keys[i][1]}: {''.join(sets[train][nb[0]])}"
            f"  (line length {line_length:.1f}; median E {_median_ll(ds, sets, 'E'):.1f},"
            f" D {_median_ll(ds, sets, 'D'):.1f})"
        )


def _median_ll(ds, sets: np.ndarray, name: str) -> float:
    x = np.asarray(ds.X)[sets == name, 0]
    return float(np.median(np.abs(np.diff(x, axis=1)).mean(1)))


if __name__ == "__main__":
    main()
