"""The ``forecasting`` task: population activity k bins ahead, scored by horizon.

Persistence and a linear autoregression are the baselines beside the GRU forecaster
(:func:`neurodl.analyses.dynamics.make_forecaster`); each is scored on held-out trials (or the
last contiguous segments of a binned recording) with bits/spike and R^2 per horizon
(:func:`~neurodl.analyses.dynamics.forecast_scores`: against the counts, and the true rates for
simulations), with its fit time, time per epoch and inference latency per bin. The top-level
score is the main forecaster's bits/spike at the first horizon (``options.main``, default the
GRU ``rnn`` when listed, else the last forecaster listed).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from ...exceptions import ConfigError, DataFormatError
from ..config import RunConfig, TaskOptions
from ..data import load_data
from ..registry import RunContext, register_task
from ..results import TaskResult
from ._dynamics_common import (
    array_hash,
    fit_forecasters,
    model_lines,
    model_stats,
    new_report,
    save_report,
    torch_threads,
    versions,
)

__all__ = ["ForecastingOptions", "ForecastingResult", "run_forecasting"]

ForecasterName = Literal["persistence", "linear_ar", "rnn"]


class ForecastingOptions(TaskOptions):
    """Options of the ``forecasting`` task.

    Examples
    --------
    The ``options`` section of a config, validated: what is not given keeps its default, and
    an unknown forecaster is refused.

    >>> opts = ForecastingOptions.model_validate(
    ...     {"horizons": [1, 3], "forecasters": {"persistence": {"window": 5}, "linear_ar": {}}}
    ... )
    >>> opts.horizons, list(opts.forecasters), opts.test_fraction, opts.t_min
    ([1, 3], ['persistence', 'linear_ar'], 0.2, 5)
    >>> from pydantic import ValidationError
    >>> try:
    ...     ForecastingOptions.model_validate({"forecasters": {"lstm": {}}})
    ... except ValidationError as err:
    ...     print(err.errors()[0]["msg"])
    Input should be 'persistence', 'linear_ar' or 'rnn'
    """

    horizons: list[int] = Field(default_factory=lambda: [1, 2, 5, 10], min_length=1)
    """Forecast horizons in bins ahead; each is scored (bits/spike and R^2), the first gives the
    top-level score."""
    forecasters: dict[ForecasterName, dict[str, Any]] = Field(
        default_factory=lambda: {"persistence": {}, "linear_ar": {}, "rnn": {"max_epochs": 50}},
        min_length=1,
    )
    """Forecaster name -> its parameters (neurodl.analyses.dynamics.make_forecaster: 'persistence',
    'linear_ar', 'rnn'); each is fitted and scored."""
    main: ForecasterName | None = None
    """The forecaster whose score is the top-level score (default: ``rnn`` when listed, else
    the last one in ``forecasters``)."""
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    """Trials (simulations: drawn at random) or contiguous segments (binned recordings: the last
    ones) held out for testing."""
    segment_bins: int = Field(50, ge=4)
    """Binned recordings are cut into contiguous segments of this many bins (the 'trials')."""
    t_min: int = Field(5, ge=0)
    """Forecasts made before this bin of a trial are not scored (warm-up)."""
    torch_threads: int | None = Field(None, ge=1)
    """Torch intra-op threads of the neural forecasters (restored after); None: unchanged."""


class ForecastingResult(TaskResult):
    """Result of the ``forecasting`` task (``results.json``).

    ``metric`` is ``bits_per_spike`` at the first horizon; ``score_mean`` is the main
    forecaster's, ``models`` holds every forecaster's own score and timing and ``forecasters``
    every forecaster's scores by horizon (``horizon``, ``bits_per_spike``, ``r2_counts``,
    ``r2_true_rates`` for simulations), parameters and timing.

    Examples
    --------
    The fields this task adds to every result's (:func:`run_forecasting` fills them):

    >>> from neurodl.workflows.results import TaskResult
    >>> [k for k in ForecastingResult.model_fields if k not in TaskResult.model_fields]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['evaluation', 'main_forecaster', 'n_train_trials', 'n_test_trials', 'n_bins', 'n_units',
     'horizons', 'forecasters', 'best_at_first_horizon']
    >>> ForecastingResult.model_fields["task"].default
    'forecasting'
    """

    task: Literal["forecasting"] = "forecasting"
    evaluation: str = Field(description="The train/test split, in words.")
    main_forecaster: str = Field(description="Key of the main forecaster in 'forecasters'.")
    n_train_trials: int
    n_test_trials: int
    n_bins: int
    n_units: int
    horizons: list[int]
    forecasters: dict[str, dict[str, Any]]
    best_at_first_horizon: str = Field(description="Highest bits/spike at the first horizon.")

    def summary_lines(self) -> list[str]:
        """Dataset and split, then each forecaster's bits/spike at the first horizon."""
        return [
            f"{self.dataset} | {self.evaluation} | forecasting (horizon {self.horizons[0]})",
            *model_lines(self, per="bin"),
        ]


def _data(
    cfg: RunConfig, opts: ForecastingOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, str, str]:
    """(train counts, test counts, test true rates or None) as trials; dataset and split names."""
    from ...data import EpochsDataset
    from ...data.simulate import LatentPopulation

    obj, name = load_data(cfg.data, seed=cfg.seed)
    if isinstance(obj, LatentPopulation):
        c = obj.counts.astype(float)
        n_test = max(1, round(opts.test_fraction * len(c)))
        order = np.random.default_rng(cfg.seed).permutation(len(c))
        te, tr = np.sort(order[:n_test]), np.sort(order[n_test:])
        true = obj.rates * obj.bin_size
        return c[tr], c[te], true[te], name, f"{len(tr)} train / {len(te)} test trials (random)"
    if not isinstance(obj, EpochsDataset) or np.asarray(obj.X).ndim != 2:
        raise DataFormatError(
            f"forecasting needs trials (simulator 'latent_population') or binned counts as "
            f"(n_bins, n_units) samples; {name} gave {type(obj).__name__}."
        )
    X = np.asarray(obj.X, dtype=float)
    n_seg = len(X) // opts.segment_bins
    n_test = max(1, round(opts.test_fraction * n_seg))
    if n_seg - n_test < 1:
        raise ConfigError(
            f"Invalid value for 'options.segment_bins'. Allowed: at most {len(X) // 2} for "
            f"{len(X)} bins (>= 1 training and 1 test segment); got {opts.segment_bins}."
        )
    c = X[: n_seg * opts.segment_bins].reshape(n_seg, opts.segment_bins, -1)
    split = (
        f"{n_seg - n_test} train / {n_test} test contiguous segments of {opts.segment_bins} bins "
        "(test = the last ones)"
    )
    return c[: n_seg - n_test], c[n_seg - n_test :], None, name, split


def _main(opts: ForecastingOptions) -> str:
    if opts.main is None:
        return "rnn" if "rnn" in opts.forecasters else list(opts.forecasters)[-1]
    if opts.main not in opts.forecasters:
        raise ConfigError(
            f"Invalid value for 'options.main'. Allowed: a key of 'options.forecasters' "
            f"({', '.join(map(repr, opts.forecasters))}); got {opts.main!r}."
        )
    return opts.main


@register_task(
    "forecasting",
    options=ForecastingOptions,
    result=ForecastingResult,
    reads=("data", "options"),
    description="population activity k bins ahead (persistence, AR, GRU): bits/spike by horizon",
)
def run_forecasting(ctx: RunContext) -> ForecastingResult:
    """Run the ``forecasting`` task; write ``report.html`` into ``ctx.out_dir`` (if given).

    Examples
    --------
    Runs through :func:`neurodl.workflows.run_config` (the task registry finds it by the
    config's ``task``). A small simulated population (30 trials of 20 bins, 20 neurons) and
    the two classical forecasters; without ``rnn`` the main forecaster is the last listed:

    >>> from neurodl.workflows import parse_config, run_config
    >>> from neurodl.workflows.registry import get_task
    >>> get_task("forecasting").run is run_forecasting
    True
    >>> cfg = parse_config({
    ...     "task": "forecasting", "seed": 0,
    ...     "data": {"source": "simulate", "simulator": "latent_population",
    ...              "params": {"n_neurons": 20, "n_trials": 30, "n_bins": 20}},
    ...     "options": {"horizons": [1, 3], "forecasters": {"persistence": {}, "linear_ar": {}}},
    ... })
    >>> res = run_config(cfg).result  # out_dir None: computed, nothing written
    >>> res.main_forecaster, res.n_train_trials, res.n_test_trials, res.horizons
    ('linear_ar', 24, 6, [1, 3])
    >>> [row["horizon"] for row in res.forecasters["persistence"]["by_horizon"]]
    [1, 3]
    >>> res.score_mean == res.forecasters["linear_ar"]["by_horizon"][0]["bits_per_spike"]
    True
    """
    cfg, opts = ctx.cfg, ctx.options
    main = _main(opts)
    c_tr, c_te, true_te, name, split = _data(cfg, opts)
    H = sorted(set(opts.horizons))
    if min(H) < 1 or max(H) >= c_tr.shape[1] - opts.t_min:
        raise ConfigError(
            f"Invalid value for 'options.horizons'. Allowed: integers in "
            f"1..{c_tr.shape[1] - opts.t_min - 1} ({c_tr.shape[1]} bins per trial, t_min "
            f"{opts.t_min}); got {opts.horizons}."
        )
    with torch_threads(opts.torch_threads):
        per, preds = fit_forecasters(
            dict(opts.forecasters), H, c_tr, c_te, true_te, opts.t_min, cfg.seed
        )
    rows = {k: v["by_horizon"] for k, v in per.items()}
    best = max(per, key=lambda k: rows[k][0]["bits_per_spike"])
    models = {
        k: model_stats(
            k,
            role="main" if k == main else "baseline",
            kind="neural" if k == "rnn" else "classical",
            score=v["by_horizon"][0]["bits_per_spike"],
            fit_time=v["fit_time_s"],
            latency=v["latency_per_bin_s"],
        )
        for k, v in sorted(per.items(), key=lambda kv: kv[0] != main)
    }
    result = ForecastingResult.create(
        task="forecasting",
        name=cfg.name,
        dataset=name,
        protocol="held-out trials" if true_te is not None else "held-out last segments",
        metric="bits_per_spike",
        score_mean=rows[main][0]["bits_per_spike"],
        n_splits=1,
        seed=cfg.seed,
        versions=versions(),
        data_hash=array_hash(c_tr, c_te),
        models=models,
        evaluation=split,
        main_forecaster=main,
        n_train_trials=int(c_tr.shape[0]),
        n_test_trials=int(c_te.shape[0]),
        n_bins=int(c_tr.shape[1]),
        n_units=int(c_tr.shape[2]),
        horizons=H,
        forecasters=per,
        best_at_first_horizon=best,
        summary=f"bits/spike at horizon {H[0]}: "
        + ", ".join(f"{k} {v[0]['bits_per_spike']:.3f}" for k, v in rows.items()),
    )
    if ctx.write_report:
        _write_report(ctx, result, per, preds[main], c_te, true_te, opts.t_min)
    return result


def _write_report(
    ctx: RunContext,
    result: ForecastingResult,
    per: dict[str, dict[str, Any]],
    pred: np.ndarray,
    c_te: np.ndarray,
    true_te: np.ndarray | None,
    t_min: int,
) -> None:
    import pandas as pd

    from ...report.figures.dynamics import plot_behavior, plot_forecast_scores

    main, h0 = result.main_forecaster, result.horizons[0]
    rows = {k: v["by_horizon"] for k, v in per.items()}
    rep = new_report(ctx, str(result.dataset), "forecasting")
    rep.add_summary(
        {
            f"bits/spike h={h0} ({main})": result.score_mean,
            f"best at h={h0}": result.best_at_first_horizon,
            "evaluation": result.evaluation,
        }
    )
    table = pd.DataFrame(
        [
            {
                "forecaster": k,
                **r,
                "fit time (s)": per[k]["fit_time_s"],
                "time/epoch (s)": per[k]["time_per_epoch_s"],
                "latency/bin (s)": per[k]["latency_per_bin_s"],
            }
            for k, rr in rows.items()
            for r in rr
        ]
    )
    rep.add_table(table, title="Scores by horizon (test)", section="Results")
    rep.add_figure(
        plot_forecast_scores(rows), title="Scores by forecast horizon", section="Results"
    )
    # Predicted vs true: the main forecaster's first-horizon prediction for the 3 most active
    # units of the first test trial (true rates when simulated, else counts).
    units = np.argsort(c_te.mean(axis=(0, 1)))[::-1][:3]
    ref = (true_te if true_te is not None else c_te)[0, t_min + h0 :, units].T
    shown = pred[0, t_min : c_te.shape[1] - h0, 0, units].T
    rep.add_figure(
        plot_behavior(
            ref,
            shown,
            f"{main}, horizon {h0}: predicted vs "
            + ("true rates" if true_te is not None else "observed counts")
            + " (3 most active units, test trial 0)",
        ),
        title="Predicted vs true activity",
        section="Results",
    )
    save_report(rep, ctx, result)
