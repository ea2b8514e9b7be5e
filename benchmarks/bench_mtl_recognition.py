"""Human MTL recognition memory (issue 7): decoding the old/new response from 35 units.

Runs the pre-registered analysis of ``examples/mtl_nwb_recognition.yaml`` (read as plain YAML:
the trial filter, labels, window and model) with library calls only -- the same computation as
the ``spike_trial_decoding`` task of ``neurodl run``, through the same library functions
(:mod:`neurodl.analyses.dynamics.trials`): spike counts per unit in a trial-aligned window
(:func:`~neurodl.analyses.dynamics.trial_window_counts`), square-rooted, cross-validated with a
CI and a label-permutation p-value (:func:`~neurodl.analyses.dynamics.decode_trial_label`) --
then the same targets under variants that are *reported side by side, never selected*: nested
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
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _run(cfg: dict) -> dict:
    """The main label and every extra label of one variant of the example config."""
    from neurodl.analyses.dynamics import (
        decode_trial_label,
        trial_dataset,
        trial_estimator,
        trial_labels,
        trial_rows,
        trial_window_counts,
    )
    from neurodl.datasets import load_dataset
    from neurodl.evaluation import get_protocol

    t0 = time.perf_counter()
    data, opts, ev, seed = cfg["data"], cfg["options"], cfg["evaluation"], cfg["seed"]
    obj = load_dataset(data["dataset"], data_root=data.get("data_root"), **data.get("params", {}))
    table = obj.trials.reset_index(drop=True)
    keep = None
    if opts.get("trials") is not None:
        f = opts["trials"]
        keep = trial_rows(table, f["column"], f["values"], dropna=False)
    targets = {"label": opts["label"], **opts.get("extra_labels", {})}
    rows = {
        k: trial_rows(table, lab["column"], lab.get("keep"), base=keep, min_trials=10)
        for k, lab in targets.items()
    }
    align = opts.get("align", "start_time")
    counts = trial_window_counts(
        obj,
        rows=np.logical_or.reduce(list(rows.values())),
        align=align,
        align_shift=opts.get("align_shift"),
        t_start=opts.get("t_start"),
        t_before=opts.get("t_before", 0.0),
        t_after=opts.get("t_after"),
        bin_size=opts.get("bin_size"),
        sqrt=opts.get("sqrt", True),
    )
    model = cfg["model"]
    protocol = get_protocol(ev["protocol"], **ev.get("protocol_params", {}))
    out = {}
    for k, lab in targets.items():
        sel = counts.trials[rows[k]]
        y, names = trial_labels(
            sel, lab["column"], threshold=lab.get("threshold"), names=lab.get("names")
        )
        ds = trial_dataset(
            counts.X[rows[k]],
            y,
            sel,
            classes=names,
            subject=obj.subject,
            session=obj.session,
            onset=align,
            source=lab["column"],
        )
        estimator = trial_estimator(
            model["name"],
            seed=seed,
            params=model.get("params"),
            inner_search=opts.get("inner_search") or None,
            metric=ev["metric"],
        )
        out[k] = decode_trial_label(
            estimator,
            ds,
            protocol,
            ev["metric"],
            seed=seed,
            n_permutations=ev["n_permutations"],
            n_boot=ev.get("n_boot", 1000),
            ci=ev.get("ci", 0.95),
        )[0]
    r = out.pop("label")
    r["extra_targets"] = out
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
