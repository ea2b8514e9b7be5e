"""The decoding task's ``options.search``: nested hyper-parameter search of the main model.

``options.search`` names the model parameters to tune (``model.params.<name>``, nested keys
allowed: ``model.params.model_params.dropout``), how each is drawn, and the inner protocol
run inside every outer training fold (see :mod:`neurodl.evaluation.search`). With
``execution.backend: ray`` each outer fold's search runs on Ray Tune (the outer folds then
run one after the other in this process); otherwise locally (joblib over the inner folds with
``evaluation.n_jobs``).

Example::

    options:
      search:
        space:
          model.params.C: {loguniform: [0.001, 100]}
        n_trials: 8
        inner_protocol: auto        # grouped k-fold by the outer protocol's groups
        scheduler: asha             # stop bad trials after their first inner folds
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ...exceptions import ConfigError
from ..config import ModelConfig

__all__ = [
    "ModelFactory",
    "SearchOptions",
    "add_search_report",
    "outer_execution",
    "search_results",
    "searched_estimator",
    "searched_model",
]

PREFIX = "model.params."


class SearchOptions(BaseModel):
    """``options.search``: the space, the number of trials, the inner protocol, early stopping.

    Examples
    --------
    Eight draws of the logistic regression's ``C`` on a log scale, successive halving and an
    inner protocol grouped like the outer one (the defaults):

    >>> opts = SearchOptions.model_validate(
    ...     {"space": {"model.params.C": {"loguniform": [0.001, 100]}}, "n_trials": 8}
    ... )
    >>> opts.param_space(), opts.inner_protocol, opts.scheduler
    ({'C': {'loguniform': [0.001, 100]}}, 'auto', 'asha')

    Draws on a grid-only space (each point is tried once) are refused, naming the key:

    >>> from neurodl.workflows import parse_config
    >>> search = {"space": {"model.params.C": {"grid": [0.1, 1.0]}}, "n_trials": 4}
    >>> try:
    ...     parse_config({"task": "decoding", "model": {"name": "logbandpower_lr"},
    ...                   "data": {"source": "simulate", "simulator": "motor_imagery"},
    ...                   "options": {"search": search}})
    ... except ConfigError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    Invalid config (mapping): invalid value at 'options.search': Value error, n_trials is 4
    but every dimension of the space is a grid (each point is tried once): leave n_trials out,
    or draw values with 'choice'.
    """

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    space: dict[str, Any]
    """``model.params.<name>: {distribution: argument}``; distributions ``grid``, ``choice``,
    ``uniform``, ``loguniform``, ``randint`` (see :mod:`neurodl.evaluation.search_space`)."""
    n_trials: int | None = Field(None, ge=1, le=10_000)
    """Draws per grid point (default: 1 for a grid-only space, else 10)."""
    inner_protocol: str = "auto"
    """Inner protocol inside each outer training fold; ``auto``: grouped k-fold (3 folds) by the
    outer protocol's groups (subject, session, run, ...)."""
    inner_protocol_params: dict[str, Any] = Field(default_factory=dict)
    """Parameters of a named inner protocol (e.g. ``{group_by: run, n_splits: 3}``)."""
    metric: str | None = None
    """Inner metric (default: ``evaluation.metric``)."""
    scheduler: Literal["asha", "none"] = "asha"
    """``asha``: successive halving over the inner folds (bad trials stop early); ``none``."""
    reduction_factor: float = Field(2.0, ge=2.0)
    """Successive halving keeps 1 / reduction_factor of the trials at each rung."""
    grace_period: int = Field(1, ge=1)
    """Inner folds every trial runs before it can be stopped."""

    @field_validator("space")
    @classmethod
    def _space(cls, value: dict[str, Any]) -> dict[str, Any]:
        from ...evaluation.search_space import SearchSpace

        for key in value:
            if not isinstance(key, str) or not key.startswith(PREFIX) or key == PREFIX:
                raise ValueError(
                    f"search space keys name model parameters as 'model.params.<name>' "
                    f"(e.g. model.params.C); got {key!r}"
                )
        try:
            SearchSpace.from_mapping(value, where="options.search.space")
        except ConfigError as err:
            raise ValueError(str(err).rstrip(".")) from None
        return value

    @model_validator(mode="after")
    def _inner(self) -> SearchOptions:
        from ...evaluation.protocols import PROTOCOLS, get_protocol
        from ...evaluation.search_space import SearchSpace

        if SearchSpace.from_mapping(self.space).is_grid and self.n_trials not in (None, 1):
            raise ValueError(
                f"n_trials is {self.n_trials} but every dimension of the space is a grid (each "
                f"point is tried once): leave n_trials out, or draw values with 'choice'"
            )
        name = self.inner_protocol
        if name == "auto":
            if self.inner_protocol_params:
                raise ValueError(
                    "inner_protocol_params need a named inner_protocol (not 'auto'); got "
                    f"{self.inner_protocol_params!r}"
                )
            return self
        if name not in PROTOCOLS or name == "cross-dataset":
            allowed = ["auto", *(k for k in PROTOCOLS if k != "cross-dataset")]
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"unknown inner_protocol {name!r}.{hint} Allowed: {', '.join(allowed)}"
            )
        try:
            get_protocol(name, **self.inner_protocol_params)
        except (TypeError, ConfigError) as err:
            raise ValueError(f"inner_protocol_params of {name!r}: {err}") from None
        return self

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str | None) -> str | None:
        from ...evaluation.metrics import get_metric

        if value is not None:
            try:
                get_metric(value)
            except ConfigError as err:  # unknown name: the allowed ones
                raise ValueError(str(err).rstrip(".").replace(f"; got {value!r}", "")) from None
        return value

    def param_space(self) -> dict[str, Any]:
        """The space keyed by the dotted path under ``model.params`` (``C``, ``a.b``)."""
        return {k[len(PREFIX) :]: v for k, v in self.space.items()}


def _merged(params: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``params`` with each dotted ``a.b.c`` override set in the nested dicts."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in params.items()}
    for path, value in overrides.items():
        *parents, last = path.split(".")
        node = out
        for p in parents:
            child = node.get(p)
            node[p] = dict(child) if isinstance(child, dict) else {}
            node = node[p]
        node[last] = value
    return out


@dataclass(frozen=True)
class ModelFactory:
    """Builds the decoder with some parameters replaced: ``factory(overrides) -> estimator``.

    A picklable stand-in for a closure (only these fields travel to Ray or joblib workers).

    Examples
    --------
    Each trial of a search builds a fresh decoder with its parameters set:

    >>> factory = ModelFactory("logbandpower_lr", {"C": 1.0}, sfreq=64.0)
    >>> factory({})[-1].C, factory({"C": 0.01})[-1].C
    (1.0, 0.01)
    >>> factory.params  # the factory itself is unchanged
    {'C': 1.0}
    """

    name: str
    params: dict[str, Any]
    preprocessing: Any = None
    seed: int = 0
    sfreq: float | None = None
    data_info: dict[str, Any] | None = field(default=None, repr=False)

    def __call__(self, overrides: dict[str, Any]) -> Any:
        """A fresh decoder with ``overrides`` (dotted paths under ``params``) applied."""
        from ...analyses.decoding import make_decoder

        return make_decoder(
            self.name,
            _merged(self.params, overrides),
            preprocessing=self.preprocessing,
            seed=self.seed,
            sfreq=self.sfreq,
            data_info=self.data_info,
        )


def searched_model(model: ModelConfig, search: dict[str, Any]) -> ModelConfig:
    """The model with the first trial's parameters (``--check`` builds it: typo -> closest name).

    Examples
    --------
    A searched parameter nested in the model's parameters is set beside the fixed ones:

    >>> from neurodl.workflows.config import ModelConfig
    >>> model = ModelConfig(name="eegnet", params={"model_params": {"F1": 8}})
    >>> space = {"model.params.model_params.drop_prob": {"grid": [0.25, 0.5]}}
    >>> searched_model(model, {"space": space}).params
    {'model_params': {'F1': 8, 'drop_prob': 0.25}}
    """
    from ...evaluation.search_space import sample_configs

    opts = SearchOptions.model_validate(search)
    first = sample_configs(opts.param_space(), opts.n_trials, 0)[0]
    return ModelConfig(name=model.name, params=_merged(model.params, first))


def _search_backend() -> Any:
    from ...execution import get_execution

    return get_execution()


@contextlib.contextmanager
def outer_execution(search: SearchOptions | None) -> Iterator[Any]:
    """Run the block with the outer folds in this process when the search runs on Ray Tune.

    Yields the execution settings the search uses (None without a search).

    Examples
    --------
    >>> with outer_execution(None) as execution:
    ...     print(execution)
    None
    >>> search = SearchOptions(space={"model.params.C": {"grid": [0.1, 1.0]}})
    >>> with outer_execution(search) as execution:  # not on Ray: the current settings
    ...     print(execution.backend)
    local
    """
    from ...execution import ExecutionConfig, use_execution

    if search is None:
        yield None
        return
    cfg = _search_backend()
    if cfg.backend != "ray":
        yield cfg
        return
    local = ExecutionConfig(backend="local", cache_dir=cfg.cache_dir)
    with use_execution(local):
        yield cfg


def searched_estimator(
    search: SearchOptions,
    factory: ModelFactory,
    dataset: Any,
    protocol: Any,
    *,
    metric: str,
    seed: int,
    n_jobs: int | None,
    execution: Any,
) -> Any:
    """The main model wrapped in a :class:`~neurodl.evaluation.search.SearchCV`.

    Examples
    --------
    On simulated motor imagery from 3 subjects, decoded across subjects, the inner folds are
    grouped by subject like the outer ones (the search on a fold is run by
    :func:`~neurodl.evaluation.cross_validate`, see :func:`search_results`):

    >>> from neurodl.data.simulate import simulate_motor_imagery
    >>> ds = simulate_motor_imagery(n_subjects=3, n_sessions=1, n_trials=30, n_channels=8,
    ...                             sfreq=64.0, seed=0)
    >>> search = SearchOptions(space={"model.params.C": {"grid": [0.01, 1.0]}})
    >>> factory = ModelFactory("logbandpower_lr", {}, sfreq=ds.sfreq)
    >>> kw = dict(metric="balanced_accuracy", seed=0, n_jobs=None, execution=None)
    >>> est = searched_estimator(search, factory, ds, "leave-one-subject-out", **kw)
    >>> type(est).__name__, est.inner_protocol, est.group_by
    ('SearchCV', 'auto', ('subject',))

    An outer protocol without groups needs a named inner protocol:

    >>> try:
    ...     searched_estimator(search, factory, ds, "blocked-timeseries", **kw)
    ... except ConfigError as err:
    ...     print(str(err)[:72])
    options.search.inner_protocol 'auto' groups the inner folds like the out
    """
    from ...evaluation.protocols import get_protocol
    from ...evaluation.search import SearchCV

    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    groups = tuple(getattr(proto, "groups", ()))
    if search.inner_protocol == "auto" and not groups:
        raise ConfigError(
            f"options.search.inner_protocol 'auto' groups the inner folds like the outer "
            f"protocol, but {getattr(proto, 'name', proto)!r} declares no groups; set "
            f"options.search.inner_protocol (e.g. 'blocked-timeseries')."
        )
    return SearchCV(
        factory,
        search.param_space(),
        metadata=dataset.metadata,
        info=dict(dataset.info or {}),
        inner_protocol=search.inner_protocol,
        group_by=groups,
        protocol_params=search.inner_protocol_params,
        metric=search.metric or metric,
        n_trials=search.n_trials,
        scheduler=search.scheduler,
        reduction_factor=search.reduction_factor,
        grace_period=search.grace_period,
        seed=seed,
        n_jobs=n_jobs,
        execution=execution,
    )


def search_results(cv: Any, search: SearchOptions) -> dict[str, Any] | None:
    """``results.json['search']``: the settings and, per outer fold, its trials and winner.

    Examples
    --------
    Simulated motor imagery (a mu/beta power drop): log power in 1-4 Hz cannot decode it, in
    8-30 Hz it can; a nested search over the two bands keeps 8-30 Hz in every outer fold:

    >>> from neurodl.data.simulate import simulate_motor_imagery
    >>> from neurodl.evaluation import cross_validate
    >>> ds = simulate_motor_imagery(n_subjects=3, n_sessions=1, n_trials=30, n_channels=8,
    ...                             sfreq=64.0, trial_duration=1.0, effect_size=0.9, seed=0)
    >>> search = SearchOptions(
    ...     space={"model.params.bands": {"grid": [[[1.0, 4.0]], [[8.0, 30.0]]]}}, scheduler="none"
    ... )
    >>> est = searched_estimator(
    ...     search, ModelFactory("logbandpower_lr", {}, sfreq=ds.sfreq), ds,
    ...     "leave-one-subject-out", metric="balanced_accuracy", seed=0, n_jobs=None,
    ...     execution=None,
    ... )
    >>> cv = cross_validate(est, ds, "leave-one-subject-out", metric="balanced_accuracy")
    >>> out = search_results(cv, search)
    >>> out["scheduler"], out["metric"], out["backend"], len(out["folds"])
    ('none', 'balanced_accuracy', 'local', 3)
    >>> fold = out["folds"][0]
    >>> fold["block"], fold["best_params"], fold["n_trials"], fold["n_inner_splits"]
    ('01', {'model.params.bands': [[8.0, 30.0]]}, 2, 2)
    >>> [round(t["score"], 2) for t in fold["trials"]]  # inner scores: 1-4 Hz, 8-30 Hz
    [0.58, 0.7]
    """
    infos = cv.fold_info or []
    folds = []
    for k, (info, block) in enumerate(zip(infos, cv.blocks, strict=False)):
        if not info or "search" not in info:
            continue
        s = info["search"]
        folds.append(
            {
                "fold": k,
                "block": block,
                "best_params": {PREFIX + n: v for n, v in s["best_params"].items()},
                "inner_score": s["best_score"],
                "outer_score": None if not np.isfinite(cv.scores[k]) else float(cv.scores[k]),
                "n_trials": len(s["trials"]),
                "n_stopped": sum(bool(t["stopped"]) for t in s["trials"]),
                "n_inner_splits": s["n_inner_splits"],
                "inner_protocol": s["inner_protocol"],
                "trials": [
                    {
                        "params": {PREFIX + n: v for n, v in t["params"].items()},
                        "score": t["score"],
                        "n_folds": t["n_folds"],
                        "stopped": t["stopped"],
                    }
                    for t in s["trials"]
                ],
            }
        )
    if not folds:
        return None
    first = infos[folds[0]["fold"]]["search"]
    return {
        "space": search.space,
        "scheduler": search.scheduler,
        "metric": first["metric"],
        "backend": first["backend"],
        "folds": folds,
    }


def _plot_trials(search: dict[str, Any]) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for f in search["folds"]:
        done = [t["score"] for t in f["trials"] if not t["stopped"] and t["score"] is not None]
        cut = [t["score"] for t in f["trials"] if t["stopped"] and t["score"] is not None]
        x = f["fold"] + 1
        ax.scatter([x] * len(done), done, s=18, color="C0", alpha=0.7)
        ax.scatter([x] * len(cut), cut, s=18, facecolors="none", edgecolors="C7")
        if f["inner_score"] is not None:
            ax.scatter([x], [f["inner_score"]], marker="*", s=120, color="C3", zorder=3)
    ax.set_xlabel("outer fold")
    ax.set_ylabel(f"inner {search['metric']}")
    ax.set_xticks([f["fold"] + 1 for f in search["folds"]])
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


def _fmt(params: dict[str, Any]) -> str:
    return ", ".join(
        f"{k[len(PREFIX) :]}={v:.4g}" if isinstance(v, float) else f"{k[len(PREFIX) :]}={v}"
        for k, v in params.items()
    )


def add_search_report(rep: Any, search: dict[str, Any] | None) -> None:
    """The report's ``Hyper-parameter search`` section: a figure and a per-fold table.

    Examples
    --------
    ``search`` as :func:`search_results` returns it (here one outer fold with two trials, one
    stopped early by successive halving):

    >>> from neurodl.report import Report
    >>> trials = [
    ...     {"params": {"model.params.C": 0.01}, "score": 0.55, "n_folds": 1, "stopped": True},
    ...     {"params": {"model.params.C": 1.0}, "score": 0.8, "n_folds": 3, "stopped": False},
    ... ]
    >>> search = {"space": {"model.params.C": {"grid": [0.01, 1.0]}}, "scheduler": "asha",
    ...           "metric": "balanced_accuracy", "backend": "local", "folds": [{
    ...               "fold": 0, "block": "01", "best_params": {"model.params.C": 1.0},
    ...               "inner_score": 0.8, "outer_score": 0.75, "n_trials": 2, "n_stopped": 1,
    ...               "n_inner_splits": 3, "trials": trials,
    ...               "inner_protocol": {"name": "grouped-kfold", "groups": ["subject"]}}]}
    >>> rep = Report("search")
    >>> add_search_report(rep, search)
    >>> html = rep.to_html()
    >>> "Best configuration per outer fold" in html, "1 of 2 trials stopped early" in html
    (True, True)
    >>> add_search_report(rep, None)  # no search: nothing added
    """
    if not search:
        return
    import pandas as pd

    folds = search["folds"]
    n = sum(f["n_trials"] for f in folds)
    stopped = sum(f["n_stopped"] for f in folds)
    proto = folds[0]["inner_protocol"]
    rep.add_section(
        "Hyper-parameter search",
        text=(
            f"Nested search inside each outer training fold: {folds[0]['n_trials']} trials per "
            f"fold, scored by {folds[0]['n_inner_splits']}-fold inner cross-validation "
            f"({proto['name']}, grouped by {', '.join(proto['groups']) or 'nothing'}) on the "
            f"outer training samples only; the outer test fold never enters the search. "
            f"Scheduler {search['scheduler']}: {stopped} of {n} trials stopped early. Backend: "
            f"{search['backend']}. The best configuration of each fold was refitted on its whole "
            f"training set and scored on the outer test fold."
        ),
    )
    rep.add_figure(
        _plot_trials(search),
        title="Inner scores of the trials per outer fold",
        caption="Dots: trials run on every inner fold; hollow: stopped early (mean of the "
        "inner folds run); star: the configuration kept.",
        section="Hyper-parameter search",
    )
    rep.add_table(
        pd.DataFrame(
            {
                "outer fold": [f["fold"] + 1 for f in folds],
                "tests": [f["block"] for f in folds],
                "best parameters": [_fmt(f["best_params"]) for f in folds],
                f"inner {search['metric']}": [f["inner_score"] for f in folds],
                f"outer {search['metric']}": [f["outer_score"] for f in folds],
                "trials": [f["n_trials"] for f in folds],
                "stopped early": [f["n_stopped"] for f in folds],
            }
        ),
        title="Best configuration per outer fold",
        section="Hyper-parameter search",
    )
