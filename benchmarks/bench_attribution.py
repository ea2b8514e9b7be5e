"""Attribution truth benchmark: methods scored on simulated EEG with known sources and suppressors.

Goal (issue 15, "Attribution truth"): on the simulation, at least one method puts >= 80% of its
|map| on the true source channels and < 5% on the suppressors (after the pattern transformation
for linear models); every method whose map survives model randomisation (rank correlation
> 0.5) is flagged as failing.

Parts:
1. The study (:func:`neurodl.analyses.interpret.attribution_study`): a network and shrinkage
   LDA fitted on 3 folds, every method's map on held-out samples, scored against the truth,
   cascading model randomisation and label randomisation, stability across folds and seeds.
2. The Haufe pattern versus the LDA filter as the number of trials grows (estimation noise).
3. Captum against the former own implementation of integrated gradients (midpoint rule, one
   autograd call per step): time and largest difference, on a ShallowConvNet.
4. braindecode's tools side by side, only when the peer interpreter exists
   (``~/.cache/neurodl-peers/bin/python``); otherwise reported as not run.

Usage:
    python benchmarks/bench_attribution.py [--smoke] [--network mlp] [--trials 3000]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np


def _flatten(X: np.ndarray) -> np.ndarray:
    return np.asarray(X).reshape(len(X), -1)


def _lda():
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    return make_pipeline(
        FunctionTransformer(_flatten), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
    )


def _net(name: str, epochs: int, seed: int = 0, params: dict | None = None):
    from neurodl.estimators import NeuralClassifier

    return NeuralClassifier(
        name,
        params or {},
        max_epochs=epochs,
        batch_size=64,
        lr=0.003,
        validation_fraction=0.0,
        random_state=seed,
        num_threads=1,
        device="cpu",
    )


def _sim(n_trials: int, seed: int = 0):
    from neurodl.data.attribution_sim import simulate_attribution_eeg

    return simulate_attribution_eeg(
        n_trials=n_trials, n_channels=10, sfreq=32.0, effect_size=3.0, distractor=1.5, seed=seed
    )


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def study_table(args: argparse.Namespace) -> list[str]:
    from neurodl.analyses.interpret import attribution_study

    ds = _sim(args.trials, args.seed)
    t0 = time.perf_counter()
    st = attribution_study(
        ds,
        _net(args.network, args.epochs, args.seed),
        _lda(),
        n_splits=3,
        n_explain=200,
        n_check_samples=100,
        n_seeds=2,
        seed=args.seed,
    )
    wall = time.perf_counter() - t0
    fs = st.fold_scores
    lines = [
        f"Data: `simulate_attribution_eeg(n_trials={args.trials}, n_channels=10, sfreq=32, "
        f"effect_size=3, distractor=1.5, seed={args.seed})`; sources "
        f"{[ds.ch_names[i] for i in st.truth['source_channels']]}, suppressors "
        f"{[ds.ch_names[i] for i in st.truth['suppressor_channels']]}, window "
        f"{st.truth['window']} s. Network `{args.network}` ({args.epochs} epochs) held-out "
        f"balanced accuracy {np.mean(fs['network']):.3f}; LDA {np.mean(fs['linear']):.3f}. "
        f"Study wall time {wall:.0f} s.",
        "",
        "| method | model | mass on sources | mass on suppressors | mass in window (flat) | "
        "rank acc. channels | rank acc. elements | model rand. rho (all layers) | "
        "label rand. rho | stability folds | stability seeds | verdict | goal |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in st.methods:
        s = m.scores
        full = next((c for c in m.checks if c.check == "model randomisation" and c.final), None)
        lab = next((c for c in m.checks if c.check == "label randomisation"), None)
        goal = (s["mass_sources"] or 0) >= 0.8 and (s["mass_suppressors"] or 0) < 0.05
        lines.append(
            f"| {m.method} | {m.model} | {_pct(s['mass_sources'])} | "
            f"{_pct(s['mass_suppressors'])} | {_pct(s['mass_window'])} "
            f"({_pct(s['window_share'])}) | {_num(s['rank_channels'])} | "
            f"{_num(s['rank_elements'])} | {_num(full.rank_correlation if full else None)} | "
            f"{_num(lab.rank_correlation if lab else None)} | {_num(m.stability_folds)} | "
            f"{_num(m.stability_seeds)} | {'**FAIL**' if m.verdict == 'fail' else m.verdict} | "
            f"{'met' if goal else '-'} |"
        )
    cascade = {
        m.method: [(c.step, c.rank_correlation) for c in m.checks if c.check.startswith("model")]
        for m in st.methods
        if m.model == "network"
    }
    lines += ["", "Cascading model randomisation (rho per step, top layer first):", ""]
    for k, rows in cascade.items():
        lines.append(f"- {k}: " + ", ".join(f"{step} {_num(r)}" for step, r in rows))
    return lines


def pattern_vs_trials(args: argparse.Namespace) -> list[str]:
    from sklearn.model_selection import StratifiedKFold

    from neurodl.analyses.interpret import linear_patterns, score_map

    lines = [
        "| trials | LDA accuracy | filter: sources | filter: suppressors | pattern: sources | "
        "pattern: suppressors |",
        "|---|---|---|---|---|---|",
    ]
    for n in args.trial_grid:
        ds = _sim(n, args.seed)
        X, y = ds.X, ds.y
        pats, filts, acc = [], [], []
        for tr, te in StratifiedKFold(3, shuffle=True, random_state=args.seed).split(X, y):
            lda = _lda().fit(X[tr], y[tr])
            acc.append(lda.score(X[te], y[te]))
            maps = linear_patterns(lda, X[te])
            pats.append(maps.patterns[0])
            filts.append(maps.filters[0])
        truth = ds.info["ground_truth"]
        f = score_map(np.mean(filts, 0), truth)
        p = score_map(np.mean(pats, 0), truth)
        lines.append(
            f"| {n} | {np.mean(acc):.3f} | {_pct(f['mass_sources'])} | "
            f"{_pct(f['mass_suppressors'])} | {_pct(p['mass_sources'])} | "
            f"{_pct(p['mass_suppressors'])} |"
        )
    return lines


def _own_integrated_gradients(est, X3, targets, n_steps: int) -> np.ndarray:
    """The former neurodl implementation: midpoint rule, one autograd call per step."""
    from neurodl.analyses.interpret._network import _gradients

    total = np.zeros(X3.shape)
    for k in range(n_steps):
        g, _ = _gradients(est, ((k + 0.5) / n_steps * X3).astype(np.float32), targets, "logit", 64)
        total += g
    return X3 * total / n_steps


def captum_vs_own(args: argparse.Namespace) -> list[str]:
    from captum.attr import IntegratedGradients

    from neurodl.analyses.interpret import integrated_gradients
    from neurodl.analyses.interpret._captum import _explained_module
    from neurodl.analyses.interpret._network import _grad_context

    ds = _sim(args.captum_samples * 2, args.seed)
    X, y = ds.X, ds.y
    params = {"filter_time_length": 5, "pool_time_length": 8, "pool_time_stride": 4}
    net = _net("shallow", 3, args.seed, params).fit(X, y)
    X3 = X[: args.captum_samples].astype(np.float32)
    targets = y[: args.captum_samples]
    lines = [
        f"ShallowConvNet (10 channels x 32 samples), {len(X3)} samples, logit of the true "
        "class, zero baseline; best of 3 runs. Completeness error: mean |sum(attr) - (f(x) - "
        "f(0))| / mean |f(x) - f(0)|.",
        "",
        "| n_steps | own midpoint (s) | captum midpoint (s) | captum Gauss-Legendre (s) | "
        "max abs diff own vs captum midpoint | max abs diff vs Gauss-Legendre (rel. to max) | "
        "completeness error own | completeness error Gauss-Legendre |",
        "|---|---|---|---|---|---|---|---|",
    ]
    from neurodl.analyses.interpret._captum import forward_values

    f_gap = forward_values(net, X3, targets, "logit", 64) - forward_values(
        net, np.zeros_like(X3), targets, "logit", 64
    )
    module = _explained_module(net.model_, "logit")
    for n_steps in args.steps:
        t_own, t_mid, t_gl = [], [], []
        for _ in range(3):
            t0 = time.perf_counter()
            own = _own_integrated_gradients(net, X3, targets, n_steps)
            t_own.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            with _grad_context(net) as torch:
                xb = torch.as_tensor(X3).requires_grad_(True)
                mid = (
                    IntegratedGradients(module)
                    .attribute(
                        xb,
                        baselines=torch.zeros_like(xb),
                        target=torch.as_tensor(targets),
                        n_steps=n_steps,
                        method="riemann_middle",
                        internal_batch_size=64,
                    )
                    .detach()
                    .numpy()
                )
            t_mid.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            gl = integrated_gradients(net, X3, target="true", y=targets, n_steps=n_steps)
            t_gl.append(time.perf_counter() - t0)
        scale = float(np.abs(gl).max())

        def completeness(attr: np.ndarray) -> float:
            gap = np.abs(attr.sum(axis=(1, 2)) - f_gap).mean()
            return float(gap / np.abs(f_gap).mean())

        lines.append(
            f"| {n_steps} | {min(t_own):.3f} | {min(t_mid):.3f} | {min(t_gl):.3f} | "
            f"{float(np.abs(own - mid).max()):.2e} | "
            f"{float(np.abs(own - gl).max()) / scale:.2e} | {completeness(own):.2e} | "
            f"{completeness(gl):.2e} |"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, seconds")
    ap.add_argument("--network", default="mlp")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--trials", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="write the markdown here (default: print)")
    args = ap.parse_args()
    args.trial_grid = [600, 1200, 3000, 6000]
    args.steps = [16, 32, 64]
    args.captum_samples = 256
    if args.smoke:
        args.trials, args.epochs = 200, 3
        args.trial_grid, args.steps, args.captum_samples = [200], [8], 32
    t0 = time.perf_counter()
    out = [
        f"- Command: `python benchmarks/bench_attribution.py"
        f"{' --smoke' if args.smoke else ''} --network {args.network}`",
        f"- Machine: {len(os.sched_getaffinity(0))}-core CPU, no GPU ({platform.processor() or platform.machine()}); "
        f"load average at start {os.getloadavg()[0]:.1f}",
        f"- Date: {time.strftime('%Y-%m-%d')}",
        "",
        "### 1. Methods against the truth, with sanity checks",
        "",
        *study_table(args),
        "",
        "### 2. Haufe pattern vs LDA filter as trials grow (3 folds, held-out patterns averaged)",
        "",
        *pattern_vs_trials(args),
        "",
        "### 3. Captum vs the former own integrated gradients",
        "",
        *captum_vs_own(args),
        "",
        "### 4. braindecode side by side",
        "",
        "Not run: the peer interpreter (`~/.cache/neurodl-peers/bin/python`) does not exist "
        "on this machine."
        if not Path("~/.cache/neurodl-peers/bin/python").expanduser().exists()
        else "Peer interpreter present but no side-by-side script is wired yet.",
        "",
        f"Total wall time {time.perf_counter() - t0:.0f} s.",
    ]
    text = "\n".join(out)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
