"""Human MTL recognition memory (issue 7): decoding the old/new response from 35 units.

Runs the pre-registered analysis of ``examples/mtl_nwb_recognition.yaml`` (read as plain YAML:
the trial filter, labels, window and model) with library calls only -- the same computation as
the ``spike_trial_decoding`` task of ``neurodl run``: spike counts per unit in a trial-aligned
window (:func:`neurodl.analyses.dynamics.bin_trials`), square-rooted, cross-validated
(:func:`neurodl.evaluation.cross_validate`), CI (:func:`neurodl.analyses.decoding.score_ci`) and
label-permutation p-value (:func:`neurodl.evaluation.permutation_test`) -- then the same targets under variants that are *reported side by side, never selected*: nested
logistic regression (C by inner 5-fold CV), other windows (0.2-1.0 s and 0-1.5 s after onset, a
pre-stimulus control and a response-locked window before the button press), plus per-unit
Mann-Whitney tests (old vs new) and where the error trials fall in the session.

Run (from the repository root):

    OMP_NUM_THREADS=1 NEURODL_DATA=../shared/data python benchmarks/bench_mtl_recognition.py
    python benchmarks/bench_mtl_recognition.py --smoke   # first variant, 5 permutations

Prints Markdown tables for benchmarks/results/dynamics.md. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _trial_labels(table: Any, label: dict) -> tuple[np.ndarray, list[str]]:
    """Integer labels and class names of one label spec (``column``/``threshold``/``names``)."""
    values = table[label["column"]]
    if label.get("threshold") is not None:
        t = label["threshold"]
        y = (values.to_numpy(dtype=float) >= t).astype(int)
        return y, label.get("names") or [f"{label['column']} < {t:g}", f">= {t:g}"]
    classes, y = np.unique(values.astype(str).to_numpy(), return_inverse=True)
    names = label.get("names") or [str(c) for c in classes]
    assert len(names) == len(classes), (label, classes)
    return y.astype(int), names


def _label_rows(table: Any, base: np.ndarray, label: dict) -> np.ndarray:
    """Rows of ``table`` (within ``base``) with a usable value of ``label``."""
    rows = base & table[label["column"]].notna().to_numpy()
    if label.get("keep") is not None:
        rows &= table[label["column"]].isin(label["keep"]).to_numpy()
    assert rows.sum() >= 10, label
    return rows


def _window_counts(obj: Any, opts: dict) -> tuple[Any, np.ndarray, dict[str, np.ndarray]]:
    """(trials with the window start, sqrt spike counts per trial and unit, rows per target)."""
    from neurodl.analyses.dynamics import bin_trials

    table = obj.trials.reset_index(drop=True)
    keep = np.ones(len(table), bool)
    if opts.get("trials") is not None:
        keep &= table[opts["trials"]["column"]].isin(opts["trials"]["values"]).to_numpy()
    targets = {"label": opts["label"], **opts.get("extra_labels", {})}
    rows = {k: _label_rows(table, keep, lab) for k, lab in targets.items()}
    used = np.logical_or.reduce(list(rows.values()))
    anchor = table[opts.get("align", "start_time")].to_numpy(float).copy()
    if opts.get("align_shift") is not None:
        anchor += table[opts["align_shift"]].to_numpy(float)
    assert np.isfinite(anchor[used]).all()
    start = opts["t_start"] if opts.get("t_start") is not None else -opts.get("t_before", 0.0)
    width = opts["t_after"] - start
    bin_size = opts.get("bin_size") or width
    shifted = dataclasses.replace(obj, trials=table.assign(_window_start=anchor + start))
    counts = np.zeros((len(table), int(np.floor(width / bin_size + 1e-9)), obj.n_units))
    counts[used] = bin_trials(
        shifted, bin_size, align="_window_start", t_after=width, trials=np.flatnonzero(used)
    )
    X_all = counts.reshape(len(table), -1).astype(float)
    return shifted, np.sqrt(X_all) if opts.get("sqrt", True) else X_all, rows


def _estimator(model: dict, opts: dict, seed: int, metric: str) -> Any:
    """The model (any :func:`make_estimator` name), in an inner-CV grid search if asked."""
    from sklearn.metrics import get_scorer_names
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from neurodl.estimators import make_estimator

    est = make_estimator(model["name"], seed=seed, **model.get("params", {}))
    search = opts.get("inner_search")
    if not search:
        return est
    steps = getattr(est, "steps", None)
    param = search.get("param", "C")
    key = f"{steps[-1][0]}__{param}" if steps else param
    return GridSearchCV(
        est,
        {key: list(search["values"])},
        cv=StratifiedKFold(search.get("n_splits", 5), shuffle=True, random_state=seed),
        scoring=metric if metric in get_scorer_names() else None,
    )


def _decode_target(cfg: dict, obj: Any, X_all: np.ndarray, rows: np.ndarray, label: dict) -> dict:
    """CV score, CI, permutation p and timing of one trial label."""
    import pandas as pd

    from neurodl.analyses.decoding import score_ci
    from neurodl.data import EpochsDataset
    from neurodl.evaluation import chance_level, cross_validate, get_protocol, permutation_test

    opts, ev, seed = cfg["options"], cfg["evaluation"], cfg["seed"]
    sel = obj.trials[rows]
    y, names = _trial_labels(sel, label)
    X = X_all[rows]
    md = pd.DataFrame(
        {
            "subject": str(obj.subject or "0"),
            "session": str(obj.session or "0"),
            "run": "0",
            "recording": "0",
            "segment": [str(i) for i in range(len(sel))],
            "trial": np.arange(len(sel)),
            "onset": sel[opts.get("align", "start_time")].to_numpy(float),
        }
    )
    ds = EpochsDataset(X, y, md, None, None, names, {"source": label["column"]})
    metric = ev["metric"]
    estimator = _estimator(cfg["model"], opts, seed, metric)
    protocol = get_protocol(ev["protocol"], **ev.get("protocol_params", {}))
    cv = cross_validate(estimator, ds, protocol, metric, seed=seed)
    perm = None
    if ev["n_permutations"]:
        perm = permutation_test(
            estimator,
            ds,
            protocol,
            metric,
            n_permutations=ev["n_permutations"],
            seed=seed,
            within=None,
        )
    ci, _method = score_ci(cv, metric, n_boot=ev.get("n_boot", 1000), ci=ev.get("ci", 0.95))
    selected = None
    if opts.get("inner_search"):  # the value the inner CV picks on all trials (information)
        fitted = _estimator(cfg["model"], opts, seed, metric).fit(X, y)
        selected = float(next(iter(fitted.best_params_.values())))
    return {
        "n_trials": len(sel),
        "score_mean": float(cv.score),
        "score_ci": [float(ci[0]), float(ci[1])],
        "chance_level": float(chance_level(y, metric)),
        "p_value": None if perm is None else float(perm.p_value),
        "n_permutations": ev["n_permutations"],
        "inner_selected": selected,
        "fit_time_s": float(np.mean(cv.fit_times)),
        "latency_per_trial_s": float(np.sum(cv.score_times)) / max(int(np.sum(cv.n_test)), 1),
    }


def _run(cfg: dict) -> dict:
    """The main label and every extra label of one variant of the example config."""
    from neurodl.datasets import load_dataset

    t0 = time.perf_counter()
    data = cfg["data"]
    obj = load_dataset(data["dataset"], data_root=data.get("data_root"), **data.get("params", {}))
    shifted, X_all, rows = _window_counts(obj, cfg["options"])
    opts = cfg["options"]
    r = _decode_target(cfg, shifted, X_all, rows["label"], opts["label"])
    r["extra_targets"] = {
        k: _decode_target(cfg, shifted, X_all, rows[k], lab)
        for k, lab in opts.get("extra_labels", {}).items()
    }
    r["wall_s"] = time.perf_counter() - t0
    return r


def _rows(tag: str, r: dict) -> list[str]:
    out = []
    for target, e in {"response (main)": r, **r["extra_targets"]}.items():
        out.append(
            f"| {tag} | {target} | {e['n_trials']} | {e['score_mean']:.3f} "
            f"| [{e['score_ci'][0]:.3f}, {e['score_ci'][1]:.3f}] | {e['p_value']:.3f} "
            f"({e['n_permutations']}) | {e['inner_selected'] if e['inner_selected'] else ''} "
            f"| {e['fit_time_s']:.3f} | {e['latency_per_trial_s']:.1e} |"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nested-permutations", type=int, default=100)
    ap.add_argument("--permutations", type=int, default=200)
    ap.add_argument(
        "--smoke", action="store_true", help="the pre-registered variant only, 5 permutations"
    )
    args = ap.parse_args()
    base = yaml.safe_load((ROOT / "examples/mtl_nwb_recognition.yaml").read_text())
    assert base["task"] == "spike_trial_decoding" and base["data"]["source"] == "dataset"
    base.setdefault("model", {}).setdefault("params", {})
    if args.smoke:
        args.permutations = 5
    variants: dict[str, dict] = {"pre-registered: LDA, onset +0.2-1.7 s": {}}
    variants["LDA, onset +0.2-1.0 s"] = {"options.t_after": 1.0}
    variants["LDA, onset +0-1.5 s (old example window)"] = {
        "options.t_start": 0.0,
        "options.t_after": 1.5,
    }
    variants["LDA, pre-stimulus -0.5-0 s (control)"] = {
        "options.t_start": -0.5,
        "options.t_after": 0.001,
    }
    variants["LDA, 1 s before the button press (stop_time + RT)"] = {
        "options.align": "stop_time",
        "options.align_shift": "RT",
        "options.t_start": -1.0,
        "options.t_after": 0.001,
    }
    variants["nested logistic (C by inner 5-fold CV), onset +0.2-1.7 s; response only"] = {
        "model": {"name": "logistic_regression"},
        "options.inner_search": {"param": "C", "values": [0.001, 0.01, 0.1, 1.0, 10.0]},
        "options.extra_labels": {},
        "evaluation.n_permutations": args.nested_permutations,
    }
    lines = [
        "| variant | target | trials | balanced acc. | 95% CI | p (perms) | inner C (all trials)"
        " | fit time/fold (s) | latency/trial (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    if args.smoke:
        variants = dict(list(variants.items())[:1])
    for tag, over in variants.items():
        data = copy.deepcopy(base)
        data["evaluation"]["n_permutations"] = args.permutations
        if tag.startswith("nested"):
            print("\n".join(lines), flush=True)  # the cheap variants first
        for dotted, value in over.items():
            node = data
            *parents, last = dotted.split(".")
            for p in parents:
                node = node.setdefault(p, {})
            node[last] = value
        r = _run(data)
        lines += _rows(tag, r)
        print(f"{tag}: {r['wall_s']:.0f} s", flush=True)
    print("\n".join(lines))
    units_report()


def units_report() -> None:
    """Per-unit old/new tests in the pre-registered window, and where errors fall in time."""
    import os

    from scipy.stats import mannwhitneyu

    from neurodl.io.spikes import read_nwb

    path = Path(os.environ["NEURODL_DATA"]) / "spikes/pynapple_nwb/sub-4_ses-4_ecephys+image.nwb"
    s = read_nwb(path)
    r = s.info["intervals"]["recognition_table"]
    a = r["start_time"].to_numpy(float)
    X = np.stack(
        [np.searchsorted(t, a + 1.7) - np.searchsorted(t, a + 0.2) for t in s.times], axis=1
    )
    for name, y, m in (
        ("response old vs new", r["old_new"].to_numpy() == 2, r["old_new"].to_numpy() > 0),
        ("ground truth old vs new", r["stimuli_type"].to_numpy() == 1, np.ones(len(r), bool)),
        ("correct vs incorrect", r["accuracy"].to_numpy() == 2, np.ones(len(r), bool)),
    ):
        p = np.array(
            [
                mannwhitneyu(X[m & y, j], X[m & ~y, j]).pvalue if X[m, j].any() else 1.0
                for j in range(X.shape[1])
            ]
        )
        print(
            f"- {name}: {int((p < 0.05).sum())} of {len(p)} units at p < 0.05 "
            f"(expected by chance {0.05 * len(p):.2f}); smallest p {np.sort(p)[:3].round(4).tolist()}"
        )
    err = np.flatnonzero(r["accuracy"].to_numpy() != 2)
    print(f"- error trials (index in the 180 recognition trials): {err.tolist()}")


if __name__ == "__main__":
    main()
