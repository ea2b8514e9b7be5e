"""The ``behavior_decoding`` task: binned activity -> continuous behaviour, several decoders.

Binned activity (counts or dF/F, bins as samples) is decoded into continuous behaviour by each
configured decoder (ridge, Wiener, Kalman, GRU, LSTM: :func:`neurodl.analyses.dynamics.make_decoder`)
on a given train/test split, or under contiguous-block CV
(:class:`~neurodl.analyses.dynamics.ContiguousBlockCV`); each gets R^2, correlation, fit time,
training time per epoch and inference latency per bin. The top-level score is the main
decoder's (``options.main``, default the last one listed: configs list baselines first).
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from ..._logging import logger
from ...exceptions import ConfigError, DataFormatError
from .._progress import progress_steps
from ..config import RunConfig, TaskOptions, _Strict
from ..data import load_data
from ..registry import RunContext, register_task
from ..results import TaskResult
from ._dynamics_common import (
    array_hash,
    model_lines,
    model_stats,
    new_report,
    save_report,
    torch_threads,
    versions,
)

__all__ = [
    "BehaviorDecodingOptions",
    "BehaviorDecodingResult",
    "BehaviorSpec",
    "TestSplitSpec",
    "run_behavior_decoding",
]

_NEURAL_DECODERS = ("gru", "lstm", "rnn")


class BehaviorSpec(_Strict):
    """Where the behaviour is: a variable of a file beside the data (or the data file).

    Examples
    --------
    ``options.behavior`` of a config: the position on a 200 cm circular track, stored as
    ``pos`` in ``behavior.npz`` beside the data file, decoded as (cos, sin):

    >>> spec = BehaviorSpec.model_validate(
    ...     {"file": "behavior.npz", "key": "pos", "transform": "circular", "period": 200.0}
    ... )
    >>> spec.transform, spec.period
    ('circular', 200.0)
    >>> BehaviorSpec(key="pos").file is None  # the behaviour is in the data file itself
    True

    A misspelt key is refused with the allowed ones:

    >>> from neurodl.exceptions import ConfigError
    >>> from neurodl.workflows import parse_config
    >>> data = {"source": "simulate", "simulator": "latent_population"}
    >>> try:
    ...     parse_config({"task": "behavior_decoding", "data": data,
    ...                   "options": {"behavior": {"key": "pos", "transfrom": "circular"}}})
    ... except ConfigError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    Invalid config (mapping): unknown key 'options.behavior.transfrom'. Did you mean
    'transform'? Allowed here: file, key, transform, period.
    """

    file: str | None = None
    """File holding the behaviour, relative to the data's folder; None: the data file itself."""
    key: str
    """Variable (array key) of the behaviour in that file: (n_bins,) or (n_bins, n_dims), one row
    per neural bin."""
    transform: Literal["none", "circular"] = "none"
    """'none', or 'circular': a position on a loop (first column) becomes (cos, sin) of 2 pi value /
    period."""
    period: float | None = None
    """Loop length for transform 'circular' (same units as the behaviour); required there."""


class TestSplitSpec(_Strict):
    """A separate test split stored in the same file(s) under other variable names.

    Examples
    --------
    Training bins ``train`` and held-out bins ``test`` of 8 units in one file, with their 2-D
    behaviour ``pos`` and ``pos_test`` (a linear read-out): a ridge decoder fitted on the
    training bins is scored once on the test bins.

    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from neurodl.workflows import parse_config, run_config
    >>> rng = np.random.default_rng(0)
    >>> w = rng.standard_normal((8, 2))
    >>> X_train, X_test = rng.standard_normal((200, 8)), rng.standard_normal((50, 8))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = Path(d) / "session.npz"
    ...     np.savez(path, train=X_train, test=X_test, pos=X_train @ w, pos_test=X_test @ w)
    ...     cfg = parse_config({
    ...         "task": "behavior_decoding",
    ...         "data": {"source": "file", "path": str(path),
    ...                  "params": {"key": "train", "axis_order": "epochs_features"}},
    ...         "options": {
    ...             "behavior": {"key": "pos"},
    ...             "test": {"neural_key": "test", "behavior_key": "pos_test"},
    ...             "decoders": {"ridge": {"alpha": 1.0}},
    ...         },
    ...     })
    ...     res = run_config(cfg).result
    >>> cfg.options["test"]
    {'neural_key': 'test', 'behavior_key': 'pos_test'}
    >>> res.evaluation, res.n_train_bins, res.n_test_bins, res.n_behavior_dims
    ('train/test split', 200, 50, 2)
    >>> res.score_mean > 0.99
    True
    """

    neural_key: str
    """Variable of the test-split neural bins in the data file."""
    behavior_key: str
    """Variable of the test-split behaviour in the behaviour file."""


class BehaviorDecodingOptions(TaskOptions):
    """Options of the ``behavior_decoding`` task.

    Examples
    --------
    Left out, the decoders are a ridge, a Wiener filter and a Kalman filter (the last, the
    Kalman filter, is the main one), under 5 contiguous blocks:

    >>> opts = BehaviorDecodingOptions.model_validate({})
    >>> opts.decoders, opts.n_splits, opts.main
    ({'ridge': {}, 'wiener': {'n_lags': 10}, 'kalman': {}}, 5, None)
    >>> BehaviorDecodingOptions.model_validate({"decoders": {"gru": {"hidden_size": 32}}}).decoders
    {'gru': {'hidden_size': 32}}

    A config with no decoder is refused:

    >>> from neurodl.exceptions import ConfigError
    >>> from neurodl.workflows import parse_config
    >>> data = {"source": "simulate", "simulator": "latent_population"}
    >>> try:
    ...     parse_config({"task": "behavior_decoding", "data": data, "options": {"decoders": {}}})
    ... except ConfigError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    Invalid config (mapping): invalid value at 'options.decoders': Dictionary should have at
    least 1 item after validation, not 0.
    """

    behavior: BehaviorSpec | None = None
    test: TestSplitSpec | None = None
    decoders: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {"ridge": {}, "wiener": {"n_lags": 10}, "kalman": {}},
        min_length=1,
    )
    """Decoder name -> its parameters (neurodl.analyses.dynamics.make_decoder: ridge, wiener,
    kalman, gru, lstm, ...); each is evaluated; list baselines first."""
    main: str | None = None
    """The decoder whose score is the top-level score (default: the last one in ``decoders``)."""
    n_splits: int = Field(5, ge=2, le=50)
    """Contiguous blocks of the cross-validation (used when there is no 'test' split)."""
    gap: int | None = Field(None, ge=0)
    """Bins dropped from training on each side of a test block (against leakage through lagged
    features); None: the decoder's n_lags (default 10)."""
    torch_threads: int | None = Field(None, ge=1)
    """Torch intra-op threads for the neural decoders (restored after); None: unchanged."""


class BehaviorDecodingResult(TaskResult):
    """Result of the ``behavior_decoding`` task (``results.json``).

    ``metric`` is ``r2`` (mean over behaviour dimensions, on the pooled test predictions);
    ``score_mean`` is the main decoder's, ``models`` holds every decoder's own score and timing
    and ``decoders`` every decoder's full entry (R^2 and correlation per dimension, fold R^2,
    fit time, time per epoch, latency per bin, parameters).

    Examples
    --------
    The task's own fields, beside those of every :class:`~neurodl.workflows.results.TaskResult`:

    >>> from neurodl.workflows import TASKS
    >>> from neurodl.workflows.results import TaskResult
    >>> TASKS["behavior_decoding"].result is BehaviorDecodingResult
    True
    >>> [f for f in BehaviorDecodingResult.model_fields if f not in TaskResult.model_fields]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['evaluation', 'main_decoder', 'n_train_bins', 'n_test_bins', 'n_features',
     'n_behavior_dims', 'decoders', 'best_decoder', 'best_r2']
    """

    task: Literal["behavior_decoding"] = "behavior_decoding"
    evaluation: str = Field(description="'train/test split' or the contiguous-block CV.")
    main_decoder: str = Field(description="Key of the main decoder in 'decoders'.")
    n_train_bins: int
    n_test_bins: int | None = None
    n_features: int
    n_behavior_dims: int
    decoders: dict[str, dict[str, Any]]
    best_decoder: str = Field(description="The decoder with the highest R^2 (on the test data).")
    best_r2: float | None

    def summary_lines(self) -> list[str]:
        """Dataset and evaluation, then one line per decoder (R^2, fit time, latency per bin)."""
        return [
            f"{self.dataset} | {self.evaluation} | behavior_decoding",
            *model_lines(self, per="bin"),
        ]


def _data_folder(cfg: RunConfig) -> tuple[Path, Path | None]:
    """(folder holding the data, the data file or None)."""
    data = cfg.data
    if data.source == "dataset":
        from ...datasets.registry import dataset_path, get_dataset

        folder = dataset_path(str(data.dataset), data.data_root)
        target = get_dataset(str(data.dataset)).loader_target
        return folder, (folder / target) if target else None
    if data.source == "file":
        p = Path(str(data.path))
        return p.parent, p
    return Path("."), None


def _read_var(path: Path, key: str) -> np.ndarray:
    from ...io.arrays import read_array

    return np.asarray(read_array(path, key=key, axis_order="epochs_features").X, dtype=float)


def _load(
    cfg: RunConfig, opts: BehaviorDecodingOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, str]:
    """(X_train, y_train, X_test, y_test, name); X is (n_bins, n_features)."""
    from ...analyses.dynamics import transform_behavior
    from ...data import EpochsDataset
    from ...data.simulate import LatentPopulation

    obj, name = load_data(cfg.data, seed=cfg.seed)
    if isinstance(obj, LatentPopulation):
        X = obj.counts.reshape(-1, obj.n_neurons).astype(float)
        y = obj.behavior.reshape(-1, obj.behavior.shape[-1])
        return X, y, None, None, name
    if not isinstance(obj, EpochsDataset) or np.asarray(obj.X).ndim != 2:
        raise DataFormatError(
            f"behavior_decoding needs binned activity as (n_bins, n_features) samples; {name} gave "
            f"{type(obj).__name__}. Read arrays with axis_order 'epochs_features' (bins as samples)."
        )
    if opts.behavior is None:
        raise ConfigError("behavior_decoding on real data needs 'options.behavior' (file and key).")
    folder, data_file = _data_folder(cfg)
    bfile = folder / opts.behavior.file if opts.behavior.file else data_file
    if bfile is None:
        raise ConfigError("'options.behavior.file' is required for this data source.")
    X = np.asarray(obj.X, dtype=float)
    spec = opts.behavior
    y = transform_behavior(_read_var(bfile, spec.key), spec.transform, period=spec.period)
    if len(y) != len(X):
        raise DataFormatError(f"{len(X)} neural bins but {len(y)} behaviour samples in {bfile}.")
    X_te = y_te = None
    if opts.test is not None:
        if data_file is None:
            raise ConfigError("'options.test' needs a data file (dataset or file source).")
        X_te = _read_var(data_file, opts.test.neural_key)
        y_te = transform_behavior(
            _read_var(bfile, opts.test.behavior_key), spec.transform, period=spec.period
        )
    return X, y, X_te, y_te, name


def _scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    from ...analyses.dynamics import r2_per_dim

    r2 = r2_per_dim(y_true, y_pred)
    corr = [float(np.corrcoef(y_true[:, j], y_pred[:, j])[0, 1]) for j in range(y_true.shape[1])]
    return {"r2_mean": float(np.nanmean(r2)), "r2": r2.tolist(), "corr": corr}


def _timing(est: Any, n_bins: int, predict_time: float, fit_time: float) -> dict[str, Any]:
    hist = getattr(est, "history_", None)
    per_epoch = (
        float(np.mean([h["time_per_epoch_s"] for h in hist])) if isinstance(hist, list) else None
    )
    return {
        "fit_time_s": fit_time,
        "time_per_epoch_s": per_epoch,
        "latency_per_bin_s": predict_time / max(n_bins, 1),
    }


def _evaluate(
    build: Any,
    X: np.ndarray,
    y: np.ndarray,
    X_te: np.ndarray | None,
    y_te: np.ndarray | None,
    cv: Any,
    desc: str = "cross-validation",
) -> tuple[dict[str, Any], np.ndarray]:
    """One decoder on the train/test split (``X_te`` given) or under ``cv``: (entry, prediction)."""
    if X_te is not None:
        t0 = time.perf_counter()
        est = build().fit(X, y)
        fit_time = time.perf_counter() - t0
        t1 = time.perf_counter()
        pred = np.asarray(est.predict(X_te)).reshape(len(X_te), -1)
        pt = time.perf_counter() - t1
        return {**_scores(y_te, pred), **_timing(est, len(X_te), pt, fit_time)}, pred
    pred = np.full(y.shape, np.nan)
    fold_r2, fits, pts, est = [], [], [], None
    for tr, te in progress_steps(desc, cv.split(X), unit="fold"):
        t0 = time.perf_counter()
        est = build().fit(X[tr], y[tr])
        fits.append(time.perf_counter() - t0)
        t1 = time.perf_counter()
        pred[te] = np.asarray(est.predict(X[te])).reshape(len(te), -1)
        pts.append(time.perf_counter() - t1)
        fold_r2.append(_scores(y[te], pred[te])["r2_mean"])
    entry = {
        **_scores(y, pred),
        **_timing(est, len(X), float(np.sum(pts)), float(np.mean(fits))),
        "fold_r2": fold_r2,
        "fold_r2_mean": float(np.mean(fold_r2)),
    }
    return entry, pred


@register_task(
    "behavior_decoding",
    options=BehaviorDecodingOptions,
    result=BehaviorDecodingResult,
    reads=("data", "options"),
    description="binned activity -> continuous behaviour with several decoders (R^2, timing)",
)
def run_behavior_decoding(ctx: RunContext) -> BehaviorDecodingResult:
    """Run the ``behavior_decoding`` task; write ``report.html`` into ``ctx.out_dir`` (if given).

    Examples
    --------
    A simulated population of 30 neurons driven by a latent behaviour (20 trials of 30 bins),
    decoded by a ridge and a Kalman filter (the main one, listed last) under 3 contiguous blocks;
    both beat R^2 = 0 (predicting the mean):

    >>> from neurodl.workflows import TASKS, parse_config, run_config
    >>> TASKS["behavior_decoding"].run is run_behavior_decoding
    True
    >>> cfg = parse_config({
    ...     "task": "behavior_decoding",
    ...     "data": {"source": "simulate", "simulator": "latent_population",
    ...              "params": {"n_neurons": 30, "n_trials": 20, "n_bins": 30, "mean_rate": 40.0}},
    ...     "options": {"decoders": {"ridge": {"alpha": 1.0}, "kalman": {}}, "n_splits": 3},
    ... })
    >>> res = run_config(cfg).result
    >>> res.evaluation, res.n_train_bins, res.n_features, res.main_decoder
    ('contiguous-block CV (3 blocks)', 600, 30, 'kalman')
    >>> res.score_mean == res.decoders["kalman"]["r2_mean"] and res.score_mean > 0.3
    True
    >>> res.decoders["ridge"]["r2_mean"] > 0.3, len(res.decoders["ridge"]["fold_r2"])
    (True, 3)
    """
    from ...analyses.dynamics import ContiguousBlockCV, make_decoder

    cfg, opts = ctx.cfg, ctx.options
    main = opts.main if opts.main is not None else list(opts.decoders)[-1]
    if main not in opts.decoders:
        raise ConfigError(
            f"Invalid value for 'options.main'. Allowed: a key of 'options.decoders' "
            f"({', '.join(map(repr, opts.decoders))}); got {main!r}."
        )
    X, y, X_te, y_te, name = _load(cfg, opts)
    per: dict[str, Any] = {}
    preds: dict[str, np.ndarray] = {}
    with torch_threads(opts.torch_threads):
        for dec_name, params in opts.decoders.items():
            build = functools.partial(make_decoder, dec_name, **{"seed": cfg.seed, **params})
            est = build()  # validate early
            gap = opts.gap if opts.gap is not None else int(params.get("n_lags", 10))
            cv = None if X_te is not None else ContiguousBlockCV(opts.n_splits, gap=gap)
            desc = f"{dec_name} cross-validation"
            entry, preds[dec_name] = _evaluate(build, X, y, X_te, y_te, cv, desc)
            seeded = {"random_state": est.random_state} if hasattr(est, "random_state") else {}
            entry["params"] = {**seeded, **params}
            per[dec_name] = entry
            logger.info("behavior_decoding %s: R^2 %.3f", dec_name, entry["r2_mean"])
    best = max(per, key=lambda k: per[k]["r2_mean"])
    evaluation = (
        "train/test split" if X_te is not None else f"contiguous-block CV ({opts.n_splits} blocks)"
    )
    models = {
        k: model_stats(
            k,
            role="main" if k == main else "baseline",
            kind="neural" if k in _NEURAL_DECODERS else "classical",
            score=v["r2_mean"],
            fold_scores=v.get("fold_r2", ()),
            fit_time=v["fit_time_s"],
            latency=v["latency_per_bin_s"],
        )
        for k, v in sorted(per.items(), key=lambda kv: kv[0] != main)
    }
    result = BehaviorDecodingResult.create(
        task="behavior_decoding",
        name=cfg.name,
        dataset=name,
        protocol="train/test split" if X_te is not None else "contiguous-block CV",
        metric="r2",
        score_mean=per[main]["r2_mean"],
        n_splits=1 if X_te is not None else opts.n_splits,
        seed=cfg.seed,
        versions=versions(),
        data_hash=array_hash(X, y, X_te, y_te),
        models=models,
        evaluation=evaluation,
        main_decoder=main,
        n_train_bins=len(X),
        n_test_bins=None if X_te is None else len(X_te),
        n_features=int(X.shape[1]),
        n_behavior_dims=int(y.shape[1]),
        decoders=per,
        best_decoder=best,
        best_r2=per[best]["r2_mean"],
        summary="mean R^2: "
        + ", ".join(
            f"{k} {v['r2_mean']:.3f} ({v['latency_per_bin_s']:.1e} s/bin)" for k, v in per.items()
        ),
    )
    if ctx.write_report:
        _write_report(ctx, result, y if X_te is None else y_te, preds[main])
    return result


def _write_report(
    ctx: RunContext, result: BehaviorDecodingResult, y_ref: np.ndarray, pred: np.ndarray
) -> None:
    import pandas as pd

    from ...report.figures.dynamics import plot_behavior

    per, main = result.decoders, result.main_decoder
    rep = new_report(ctx, str(result.dataset), "behaviour decoding")
    rep.add_summary(
        {
            f"R^2 ({main})": result.score_mean,
            f"best R^2 ({result.best_decoder})": result.best_r2,
            "evaluation": result.evaluation,
            "bins": result.n_train_bins
            if result.n_test_bins is None
            else f"{result.n_train_bins} train / {result.n_test_bins} test",
        }
    )
    table = pd.DataFrame(
        [
            {
                "decoder": k + (" (main)" if k == main else ""),
                "R^2 mean": v["r2_mean"],
                "corr mean": float(np.mean([c for c in v["corr"] if c is not None]))
                if any(c is not None for c in v["corr"])
                else None,
                "fit time (s)": v["fit_time_s"],
                "time/epoch (s)": v["time_per_epoch_s"],
                "latency/bin (s)": v["latency_per_bin_s"],
            }
            for k, v in per.items()
        ]
    )
    rep.add_table(table, title="Decoders", section="Results")
    rep.add_figure(
        plot_behavior(y_ref, pred, f"{main}: predicted vs true behaviour"),
        title="Predicted vs true behaviour",
        section="Results",
    )
    save_report(rep, ctx, result)
