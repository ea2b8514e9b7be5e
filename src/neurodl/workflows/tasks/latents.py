"""The ``latents`` task: latent dynamics of spiking populations (NLB-style evaluation).

An LFADS-style sequential VAE (or a sequential autoencoder; built with
:func:`neurodl.estimators.make_estimator`) is fitted on training trials with held-out neurons
and a held-out forward window; on the test trials it gets co-bps, fp-bps, velocity R^2, PSTH R^2
and latent recovery (:mod:`neurodl.analyses.dynamics` metrics), beside the true rates, latent
baselines (smoothing, PCA, FA, GPFA-like) and forecasters by horizon. The top-level score is the
model's co-bps.
"""

from __future__ import annotations

import math
import time
from typing import Any, Literal

import numpy as np
from pydantic import Field

from ...exceptions import ConfigError, DataFormatError
from ..config import TaskOptions, _Strict
from ..data import load_data
from ..registry import RunContext, register_task
from ..results import TaskResult
from ._dynamics_common import (
    TIMING_KEYS,
    array_hash,
    epoch_time,
    fit_forecasters,
    fmt,
    model_lines,
    model_stats,
    torch_threads,
    versions,
)

__all__ = ["ForecastSpec", "LatentsOptions", "LatentsResult", "check_latents", "run_latents"]

_SCORES = ("co_bps", "fp_bps", "vel_r2", "psth_r2", "latent_r2")


class ForecastSpec(_Strict):
    """Forecasters by horizon fitted on the same training trials (scored on the test trials).

    Examples
    --------
    The ``options.forecast`` section of a ``latents`` config (null there: no forecasters):

    >>> spec = ForecastSpec.model_validate({"horizons": [1, 3], "rnn": {"max_epochs": 20}})
    >>> spec.horizons, spec.models, spec.rnn
    ([1, 3], ['persistence', 'linear_ar', 'rnn'], {'max_epochs': 20})
    >>> from pydantic import ValidationError
    >>> try:
    ...     ForecastSpec.model_validate({"models": ["gru"]})
    ... except ValidationError as err:
    ...     print(err.errors()[0]["msg"])
    Input should be 'persistence', 'linear_ar' or 'rnn'
    """

    horizons: list[int] = Field(default_factory=lambda: [1, 2, 5, 10])
    """Forecast horizons in bins ahead (those >= n_bins - 5 are dropped)."""
    models: list[Literal["persistence", "linear_ar", "rnn"]] = Field(
        default_factory=lambda: ["persistence", "linear_ar", "rnn"]
    )
    """Forecasters fitted: 'persistence', 'linear_ar' and/or 'rnn'
    (neurodl.analyses.dynamics.make_forecaster)."""
    rnn: dict[str, Any] = Field(default_factory=dict)
    """Parameters of the 'rnn' forecaster (e.g. max_epochs)."""


class LatentsOptions(TaskOptions):
    """Options of the ``latents`` task.

    Examples
    --------
    What is not given keeps its default (20% of the neurons and the last 10 bins held out):

    >>> opts = LatentsOptions.model_validate({"baselines": ["smoothing", "fa"], "forecast": None})
    >>> opts.model, opts.heldout_fraction, opts.forward_bins, opts.baselines, opts.forecast
    ('lfads', 0.2, 10, ['smoothing', 'fa'], None)

    A misspelt key in a config is refused with the closest allowed one:

    >>> from neurodl.workflows import parse_config
    >>> parse_config({"task": "latents", "options": {"modle": "lfads"},
    ...               "data": {"source": "simulate", "simulator": "latent_population"}})
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: Invalid config (mapping): unknown key 'options.modle'. Did you mean 'model'? ...
    """

    model: Literal["lfads", "autoencoder"] = "lfads"
    """'lfads' (sequential VAE) or 'autoencoder' (the same network, not variational)."""
    model_params: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments of the lfads estimator (architecture and training, e.g. max_epochs)."""
    heldout_fraction: float = Field(0.2, ge=0.0, lt=1.0)
    """Fraction of the neurons held out (random): the model sees only the held-in ones and predicts
    these (co-bps); 0: no co-bps."""
    forward_bins: int = Field(10, ge=0)
    """Last bins of every trial held out and forecast (fp-bps); 0: none."""
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    """Fraction of the trials held out (random) for testing."""
    smoothing_sigma: float = Field(2.0, ge=0.0)
    """Gaussian kernel SD in bins of the 'smoothing' baseline."""
    baselines: list[Literal["smoothing", "pca", "fa", "gpfa"]] = Field(
        default_factory=lambda: ["smoothing", "gpfa"]
    )
    """Latent baselines beside the model: 'smoothing', 'pca', 'fa', 'gpfa' (GPFA-like); held-out
    neurons from them via a Poisson GLM."""
    n_baseline_components: int = Field(3, ge=1)
    """Latent dimensions of the pca/fa/gpfa baselines (at most the held-in neurons)."""
    forecast: ForecastSpec | None = Field(default_factory=ForecastSpec)
    """Forecasters by horizon fitted on the same training trials; null: none."""
    torch_threads: int | None = Field(None, ge=1)
    """Torch intra-op threads while fitting (restored after); None: unchanged."""


class LatentsResult(TaskResult):
    """Result of the ``latents`` task (``results.json``).

    ``metric`` is ``co_bps`` and ``score_mean`` the model's (None without held-out neurons,
    ``co_bps_note`` then saying why and which option enables it);
    ``models`` holds the model's and each baseline's co-bps and timing. The model's NLB metrics
    are also top-level (``co_bps``, ``fp_bps``, ``vel_r2``, ``psth_r2``, ``latent_r2``), with
    those of the true rates beside them.

    Examples
    --------
    The fields this task adds to every result's (:func:`run_latents` fills them):

    >>> from neurodl.workflows.results import TaskResult
    >>> [k for k in LatentsResult.model_fields if k not in TaskResult.model_fields][:6]
    ['model', 'n_trials', 'n_train_trials', 'n_test_trials', 'n_heldin', 'n_heldout']
    >>> sorted(LatentsResult.json_schema()["required"])[:4]
    ['baselines', 'bin_size', 'forecast', 'forecast_timing']
    """

    task: Literal["latents"] = "latents"
    model: str
    n_trials: int
    n_train_trials: int
    n_test_trials: int
    n_heldin: int
    n_heldout: int
    n_bins: int
    forward_bins: int
    bin_size: float
    co_bps: float | None = None
    fp_bps: float | None = None
    vel_r2: float | None = None
    psth_r2: float | None = None
    latent_r2: float | None = None
    co_bps_true_rates: float | None = None
    co_bps_fraction_of_true: float | None = None
    fp_bps_true_rates: float | None = None
    co_bps_note: str | None = None
    """Why co-bps is not available (no held-out neuron), naming the option; None: it is."""
    model_scores: dict[str, Any]
    true_rate_scores: dict[str, Any]
    baselines: dict[str, dict[str, Any]]
    forecast: dict[str, list[dict[str, Any]]]
    forecast_timing: dict[str, dict[str, Any]]
    history: dict[str, Any]

    def summary_lines(self) -> list[str]:
        """Dataset and model, the one-line summary, then the model's and baselines' co-bps."""
        lines = [f"{self.dataset} | {self.protocol} | latents ({self.model})"]
        if self.summary:
            lines.append(self.summary)
        return lines + model_lines(self, per="bin")


def _co_bps_note(heldout_fraction: float, n_neurons: int) -> str | None:
    """Why co-bps is not available with this held-out fraction, in words; None: it is.

    co-bps is scored on held-out neurons: ``round(heldout_fraction * n_neurons)`` of them.

    Examples
    --------
    >>> _co_bps_note(0.2, 20) is None  # 4 held-out neurons
    True
    >>> print(_co_bps_note(0.0, 20))
    co-bps needs held-out neurons: options.heldout_fraction is 0; set it > 0 (e.g. 0.2)
    >>> print(_co_bps_note(0.04, 10))
    co-bps needs held-out neurons: options.heldout_fraction 0.04 rounds to 0 of 10 neurons; set it to at least 0.1
    """
    if round(heldout_fraction * n_neurons) > 0:
        return None
    head = "co-bps needs held-out neurons: options.heldout_fraction"
    if heldout_fraction == 0:
        return f"{head} is 0; set it > 0 (e.g. 0.2)"
    return (
        f"{head} {heldout_fraction:g} rounds to 0 of {n_neurons} neurons; "
        f"set it to at least {1 / n_neurons:.2g}"
    )


def _check_split(opts: LatentsOptions, n_neurons: int, n_bins: int) -> None:
    """Refuse held-out neurons or forward bins that leave the model nothing to see.

    ``round(heldout_fraction * n_neurons)`` neurons are held out: at least one must stay held
    in. Raises :class:`~neurodl.exceptions.ConfigError` with one line naming the option, the
    number of neurons and the largest fraction allowed.

    Examples
    --------
    >>> opts = LatentsOptions.model_validate({"heldout_fraction": 0.9, "forward_bins": 2})
    >>> _check_split(opts, 10, 12)  # 9 of 10 held out, 1 held in: fine
    >>> try:
    ...     _check_split(opts.model_copy(update={"heldout_fraction": 0.95}), 10, 12)
    ... except ValueError as err:  # a ConfigError
    ...     print(err)
    options.heldout_fraction 0.95 holds out all 10 neurons (round(0.95 x 10) = 10), leaving \
none for the model to see; set it to at most 0.9 (9 of 10 held out, 1 held in)
    """
    n_out = round(opts.heldout_fraction * n_neurons)
    if n_neurons - n_out < 1:
        # (n - 1) / n, floored to 3 decimals so that it really leaves a neuron held in.
        top = math.floor(round((n_neurons - 1) / n_neurons * 1000, 6)) / 1000
        raise ConfigError(
            f"options.heldout_fraction {opts.heldout_fraction:g} holds out all {n_neurons} "
            f"neurons (round({opts.heldout_fraction:g} x {n_neurons}) = {n_out}), leaving none "
            f"for the model to see; set it to at most {top:g} "
            f"({round(top * n_neurons)} of {n_neurons} held out, "
            f"{n_neurons - round(top * n_neurons)} held in)"
        )
    if n_bins - opts.forward_bins < 2:
        raise ConfigError(f"'forward_bins' ({opts.forward_bins}) leaves < 2 observed bins.")


def _load_population(cfg: Any) -> tuple[Any, str]:
    """The config's data as a ``LatentPopulation`` (and its name); anything else is refused."""
    from ...data.simulate import LatentPopulation

    pop, name = load_data(cfg.data, seed=cfg.seed)
    if not isinstance(pop, LatentPopulation):
        raise DataFormatError(
            f"The latents task needs trials with known structure (simulator 'latent_population'); "
            f"{name} gave {type(pop).__name__}."
        )
    return pop, name


def check_latents(cfg: Any) -> list[str]:
    """Load a ``latents`` config's data and check the held-out split; return summary lines.

    What ``neurodl run CONFIG --check`` does for this task (nothing is fitted): the data must be
    a latent population, ``options.heldout_fraction`` must leave at least one neuron held in
    and ``options.forward_bins`` at least two observed bins.

    Raises
    ------
    ConfigError or DataFormatError
        A split that leaves the model nothing to see; data without trial structure.

    Examples
    --------
    >>> from neurodl.workflows import parse_config
    >>> data = {"source": "simulate", "simulator": "latent_population",
    ...         "params": {"n_neurons": 10, "n_trials": 12, "n_bins": 12}}
    >>> cfg = parse_config({"task": "latents", "data": data, "options": {"forward_bins": 2}})
    >>> for line in check_latents(cfg):
    ...     print(line)
    data: simulated:latent_population: 12 trials x 12 bins x 10 neurons
    held out: 2 of 10 neurons, last 2 of 12 bins
    >>> bad = parse_config({"task": "latents", "data": data,
    ...                     "options": {"heldout_fraction": 0.95}})
    >>> try:
    ...     check_latents(bad)
    ... except ValueError as err:  # a ConfigError
    ...     print(str(err).split(";")[1])
     set it to at most 0.9 (9 of 10 held out, 1 held in)
    """
    opts = cfg.task_options()
    pop, name = _load_population(cfg)
    n_trials, n_bins, n_neurons = pop.counts.shape
    _check_split(opts, n_neurons, n_bins)
    n_out = round(opts.heldout_fraction * n_neurons)
    return [
        f"data: {name}: {n_trials} trials x {n_bins} bins x {n_neurons} neurons",
        f"held out: {n_out} of {n_neurons} neurons, last {opts.forward_bins} of {n_bins} bins",
    ]


def _ridge_behavior(
    rates: np.ndarray, behavior: np.ndarray, tr: np.ndarray, te: np.ndarray
) -> np.ndarray:
    from sklearn.linear_model import RidgeCV

    f = np.log(rates + 1e-3)
    m = RidgeCV(alphas=np.logspace(-3, 3, 7)).fit(
        f[tr].reshape(-1, f.shape[-1]), behavior[tr].reshape(-1, behavior.shape[-1])
    )
    return m.predict(f[te].reshape(-1, f.shape[-1])).reshape(behavior[te].shape)


@register_task(
    "latents",
    options=LatentsOptions,
    result=LatentsResult,
    reads=("data", "options"),
    description="latent dynamics (LFADS-style VAE) with held-out neurons: co-bps, fp-bps, R^2",
)
def run_latents(ctx: RunContext) -> LatentsResult:
    """Run the ``latents`` task on simulated (or trial-structured) spiking populations.

    Examples
    --------
    Runs through :func:`neurodl.workflows.run_config` (the registry finds it by ``task``). A
    small simulated population (30 trials of 20 bins, 20 neurons) and a tiny LFADS trained for
    3 epochs: 4 neurons and 6 trials are held out, and the co-bps of the true rates is the
    ceiling the model is measured against:

    >>> from neurodl.workflows import parse_config, run_config
    >>> cfg = parse_config({
    ...     "task": "latents", "seed": 0,
    ...     "data": {"source": "simulate", "simulator": "latent_population",
    ...              "params": {"n_neurons": 20, "n_trials": 30, "n_bins": 20, "mean_rate": 30.0}},
    ...     "options": {"model_params": {"max_epochs": 3, "enc_size": 8, "gen_size": 8,
    ...                                  "g0_size": 4, "n_factors": 3},
    ...                 "forward_bins": 4, "baselines": ["smoothing"], "forecast": None,
    ...                 "torch_threads": 1},
    ... })
    >>> res = run_config(cfg).result  # out_dir None: computed, nothing written
    >>> res.n_heldin, res.n_heldout, res.n_train_trials, res.n_test_trials
    (16, 4, 24, 6)
    >>> list(res.models), res.score_mean == res.co_bps
    (['lfads', 'smoothing'], True)
    >>> res.co_bps_true_rates > 0 > res.co_bps  # 3 epochs: far from the true rates
    True
    """
    from ...analyses import dynamics as dyn
    from ...estimators import make_estimator

    cfg, opts = ctx.cfg, ctx.options
    pop, name = _load_population(cfg)
    c = pop.counts.astype(float)
    true = pop.rates * pop.bin_size
    n_trials, n_bins, n_neurons = c.shape
    _check_split(opts, n_neurons, n_bins)  # before anything is fitted
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(n_trials)
    n_test = max(1, round(opts.test_fraction * n_trials))
    te, tr = np.sort(order[:n_test]), np.sort(order[n_test:])
    neurons = rng.permutation(n_neurons)
    n_held = n_neurons - round(opts.heldout_fraction * n_neurons)
    held_in, held_out = np.sort(neurons[:n_held]), np.sort(neurons[n_held:])
    c = c[:, :, np.concatenate([held_in, held_out])]
    true = true[:, :, np.concatenate([held_in, held_out])]
    T = n_bins - opts.forward_bins
    has_ho = n_neurons - n_held > 0
    note = _co_bps_note(opts.heldout_fraction, n_neurons)
    has_fp = opts.forward_bins > 0

    def scores(rates: np.ndarray, factors: np.ndarray | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "co_bps": dyn.co_bps(rates[te][:, :T, n_held:], c[te][:, :T, n_held:])
            if has_ho
            else None,
            "fp_bps": dyn.fp_bps(rates[te][:, T:], c[te][:, T:]) if has_fp else None,
            "vel_r2": dyn.velocity_r2(rates[:, :T], pop.behavior[:, :T], seed=cfg.seed),
            "psth_r2": dyn.psth_r2(rates[:, :T], true[:, :T], pop.conditions),
        }
        if factors is not None:
            out["latent_r2"] = dyn.latent_r2(factors[:, :T], pop.latents[:, :T], train=tr)
        return out

    truth = scores(true, pop.latents)
    params = {"seed": cfg.seed, **opts.model_params}
    if opts.model == "autoencoder":
        params["variational"] = False
    with torch_threads(opts.torch_threads):
        t0 = time.perf_counter()
        model = make_estimator("lfads", **params).fit(c[tr][:, :T, :n_held], c[tr])
        fit_time = time.perf_counter() - t0
        out = model.predict(c[:, :T, :n_held])
        model_scores = {
            **scores(out["rates"], out["factors"]),
            "fit_time_s": fit_time,
            "time_per_epoch_s": model.history_["time_per_epoch_s"],
            "n_epochs": model.history_["n_epochs"],
            "latency_per_bin_s": out["latency_per_bin_s"],
            "n_nan_skipped": model.history_["n_nan_skipped"],
        }
        base = _baselines(opts, dyn, c, pop, tr, te, n_held, T, has_ho, cfg.seed)
        fc_rows: dict[str, list[dict[str, float]]] = {}
        fc_timing: dict[str, dict[str, Any]] = {}
        if opts.forecast is not None:
            H = [h for h in opts.forecast.horizons if h < n_bins - 5]
            spec = {m: (opts.forecast.rnn if m == "rnn" else {}) for m in opts.forecast.models}
            per_fc, _ = fit_forecasters(spec, H, c[tr], c[te], true[te], 5, cfg.seed)
            fc_rows = {k: v["by_horizon"] for k, v in per_fc.items()}
            fc_timing = {k: {t: v[t] for t in TIMING_KEYS} for k, v in per_fc.items()}
    ratio = (
        model_scores["co_bps"] / truth["co_bps"]
        if has_ho and truth["co_bps"] and truth["co_bps"] > 0
        else None
    )
    models = {
        opts.model: model_stats(
            opts.model,
            role="main",
            kind="neural",
            score=model_scores["co_bps"],
            fit_time=fit_time,
            latency=model_scores["latency_per_bin_s"],
        ),
        **{
            k: model_stats(
                k,
                role="baseline",
                kind="classical",
                score=v.get("co_bps"),
                fit_time=v["fit_time_s"],
                latency=v["latency_per_bin_s"],
            )
            for k, v in base.items()
        },
    }
    result = LatentsResult.create(
        task="latents",
        name=cfg.name,
        dataset=name,
        protocol=f"held-out trials ({len(te)} of {n_trials}) and neurons "
        f"({n_neurons - n_held} of {n_neurons}), last {opts.forward_bins} bins forward",
        metric="co_bps",
        score_mean=model_scores["co_bps"],
        n_splits=1,
        seed=cfg.seed,
        versions=versions(),
        data_hash=array_hash(pop.counts, pop.behavior),
        models=models,
        model=opts.model,
        n_trials=n_trials,
        n_train_trials=len(tr),
        n_test_trials=len(te),
        n_heldin=n_held,
        n_heldout=n_neurons - n_held,
        n_bins=n_bins,
        forward_bins=opts.forward_bins,
        bin_size=pop.bin_size,
        **{k: model_scores.get(k) for k in _SCORES},
        co_bps_true_rates=truth["co_bps"],
        co_bps_fraction_of_true=ratio,
        fp_bps_true_rates=truth["fp_bps"],
        co_bps_note=note,
        model_scores=model_scores,
        true_rate_scores=truth,
        baselines=base,
        forecast=fc_rows,
        forecast_timing=fc_timing,
        summary=(
            f"{opts.model}: co-bps {fmt(model_scores['co_bps'])} (true rates "
            f"{fmt(truth['co_bps'])}), fp-bps {fmt(model_scores['fp_bps'])}, velocity R^2 "
            f"{fmt(model_scores['vel_r2'])}, latent R^2 {fmt(model_scores['latent_r2'])}; "
            f"{fmt(epoch_time(model_scores))} s/epoch" + (f" ({note})" if note else "")
        ),
        history=model.history_,
    )
    if ctx.write_report:
        from .latents_report import write_latents_report

        write_latents_report(
            ctx,
            result,
            counts=c,
            pop=pop,
            out=out,
            te=te,
            T=T,
            b_pred=_ridge_behavior(out["rates"][:, :T], pop.behavior[:, :T], tr, te),
        )
    return result


def _baselines(
    opts: LatentsOptions,
    dyn: Any,
    c: np.ndarray,
    pop: Any,
    tr: np.ndarray,
    te: np.ndarray,
    n_held: int,
    T: int,
    has_ho: bool,
    seed: int,
) -> dict[str, dict[str, Any]]:
    """Latent baselines on the observed bins; held-out neurons via a Poisson GLM (train trials)."""
    n_trials = c.shape[0]
    base: dict[str, Any] = {}
    for b in opts.baselines:
        t0 = time.perf_counter()
        if b == "smoothing":
            feats = np.log(dyn.smooth_rates(c[:, :T, :n_held], opts.smoothing_sigma) + 1e-3)
            lat = None
        else:
            est = dyn.LATENT_BASELINES[b](min(opts.n_baseline_components, n_held))
            est.fit(c[tr][:, :T, :n_held])
            feats = lat = est.transform(c[:, :T, :n_held])
        # No training epochs; smoothing/transform time over all trials, per bin and trial.
        entry: dict[str, Any] = {
            "fit_time_s": time.perf_counter() - t0,
            "time_per_epoch_s": None,
            "latency_per_bin_s": (time.perf_counter() - t0) / (n_trials * T),
        }
        if has_ho:
            ho = dyn.heldout_readout(feats[tr], c[tr][:, :T, n_held:], feats[te])
            entry["co_bps"] = dyn.co_bps(ho, c[te][:, :T, n_held:])
        if lat is not None:
            entry["latent_r2"] = dyn.latent_r2(lat, pop.latents[:, :T], train=tr)
        entry["vel_r2"] = dyn.velocity_r2(
            np.exp(feats) if lat is None else np.exp(np.clip(lat, -10, 10)),
            pop.behavior[:, :T],
            seed=seed,
        )
        base[b] = entry
    return base
