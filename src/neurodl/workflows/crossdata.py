"""The samples a decoding run evaluates: one dataset, or two for ``cross-dataset``, adapted.

:func:`check_evaluation` validates, before any data are read (``neurodl run --check``), what
would otherwise fail at run time: the protocol name and parameters, the cross-dataset section
(test data, their preprocessing, the common rate), the adaptation steps and the
``unlabelled_test_data`` flag they need, and the networks' ``augment`` specs.
:func:`prepare_samples` loads the samples, applies the per-sample preprocessing (each dataset
its own), harmonises two datasets (common rate, one window length), applies the adaptation
and returns what the decoding task evaluates.

Cross-dataset config (``evaluation.protocol: cross-dataset``), ``protocol_params``:

- ``test_data``: a ``data`` section for the test dataset (any source);
- ``test_preprocessing``: its per-sample steps (default: the leading per-sample steps of
  ``preprocessing``); steps fitted in folds (``preprocessing`` after its per-sample lead) are
  fitted on the training dataset and applied to both;
- ``sfreq``: common rate in Hz, both datasets resampled to it after their own steps;
- ``test_shift``: ``{gain, sfreq}``: a simulated site shift applied to the test data as read
  (amplitude times ``gain``, resampled to ``sfreq``): a stand-in for a second hospital;
- ``train_name``, ``test_name``, ``n_splits``, ``group_by``, ``shuffle``, ``seed``: see
  :class:`~neurodl.evaluation.CrossDataset`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field, ValidationError

from .._logging import logger
from ..exceptions import ConfigError, DataFormatError
from .config import DataConfig, RunConfig, _Strict, format_errors

__all__ = ["CrossDatasetParams", "PreparedSamples", "check_evaluation", "prepare_samples"]

#: Tasks that read ``evaluation.protocol`` through :func:`neurodl.evaluation.get_protocol`.
_PROTOCOL_TASKS = frozenset({"decoding", "spike_trial_decoding"})
#: Tasks that support cross-dataset evaluation and adaptation.
_ADAPTING_TASKS = frozenset({"decoding"})


class TestShift(_Strict):
    """A simulated acquisition shift of the test data: gain and sampling rate."""

    gain: float = Field(1.0, gt=0)
    sfreq: float | None = Field(None, gt=0)


class CrossDatasetParams(_Strict):
    """``evaluation.protocol_params`` of the ``cross-dataset`` protocol (module docstring).

    Examples
    --------
    >>> params = CrossDatasetParams.model_validate(
    ...     {"test_data": {"source": "dataset", "dataset": "bnci2014_001"},
    ...      "sfreq": 128, "test_shift": {"gain": 2.0}, "test_name": "hospital_b"}
    ... )
    >>> params.test_data.dataset, params.sfreq, params.test_shift.gain, params.test_shift.sfreq
    ('bnci2014_001', 128.0, 2.0, None)
    >>> params.protocol_kwargs()  # what CrossDataset(...) is given
    {'train': 'train', 'test': 'hospital_b', 'n_splits': None, 'group_by': None, \
'shuffle': True, 'seed': 0}
    >>> cfg = RunConfig.model_validate(
    ...     {"data": {"source": "simulate", "simulator": "motor_imagery"},
    ...      "evaluation": {"protocol": "cross-dataset", "protocol_params": {"n_splits": 1}}}
    ... )
    >>> try:
    ...     check_evaluation(cfg, where="run.yaml")
    ... except ValueError as err:  # a ConfigError
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    Invalid config run.yaml: missing required key 'evaluation.protocol_params.test_data'.
    invalid value at 'evaluation.protocol_params.n_splits': Input should be greater than or
    equal to 2 (got 1).
    """

    test_data: DataConfig
    test_preprocessing: list[dict[str, dict[str, Any] | None]] | None = None
    sfreq: float | None = Field(None, gt=0)
    test_shift: TestShift | None = None
    train_name: str = "train"
    test_name: str = "test"
    n_splits: int | None = Field(None, ge=2)
    group_by: str | None = None
    shuffle: bool = True
    seed: int = 0

    def protocol_kwargs(self) -> dict[str, Any]:
        return {
            "train": self.train_name,
            "test": self.test_name,
            "n_splits": self.n_splits,
            "group_by": self.group_by,
            "shuffle": self.shuffle,
            "seed": self.seed,
        }


def _cross_params(cfg: RunConfig, where: str) -> CrossDatasetParams:
    try:
        return CrossDatasetParams.model_validate(cfg.evaluation.protocol_params)
    except ValidationError as err:
        raise ConfigError(
            format_errors(err, where, model=CrossDatasetParams, prefix="evaluation.protocol_params")
        ) from None


def _check_models(cfg: RunConfig, where: str) -> list[str]:
    """Validate the networks' ``augment`` specs; return the models asking for adaptive BN."""
    from ..estimators import PRETRAINED, is_neural
    from ..estimators.torch_engine import check_augment

    specs = [("model", cfg.model.name, cfg.model.params)]
    base = cfg.options.get("baseline") if isinstance(cfg.options, dict) else None
    if isinstance(base, dict) and isinstance(base.get("name"), str):
        specs.append(("options.baseline", base["name"], base.get("params") or {}))
    adaptive = []
    for path, name, params in specs:
        neural = is_neural(name)
        # a network fine-tuned from a pretrained encoder augments its batches too
        takes = {"augment"} if name in PRETRAINED else set()
        for key in ("augment", "adaptive_bn", "calibration"):
            if key in params and not (neural or key in takes):
                raise ConfigError(
                    f"Invalid config {where}: '{path}.params.{key}' is for networks; model "
                    f"{name!r} is not one."
                )
        if neural or "augment" in takes:
            check_augment(params.get("augment"), where=f"{path}.params.augment", check_sfreq=False)
        if params.get("adaptive_bn"):
            adaptive.append(name)
    return adaptive


def check_evaluation(cfg: RunConfig, *, where: str = "(mapping)") -> None:
    """Refuse, before reading data, an evaluation section that would fail at run time.

    Raises
    ------
    ConfigError
        Unknown protocol or protocol parameter; a bad cross-dataset section; adaptation or
        adaptive batch norm without ``evaluation.unlabelled_test_data: true``; adaptation,
        cross-dataset or the flag with a task that does not support them; bad ``augment``.

    Examples
    --------
    >>> data = {"source": "simulate", "simulator": "motor_imagery"}
    >>> aligned = {"protocol": "leave-one-subject-out",
    ...            "adaptation": [{"name": "euclidean_alignment", "by": "subject"}]}
    >>> cfg = RunConfig.model_validate({"data": data, "evaluation": aligned})
    >>> try:  # alignment uses the test subject's (unlabelled) samples: it must be allowed
    ...     check_evaluation(cfg, where="run.yaml")
    ... except ValueError as err:  # a ConfigError
    ...     print(str(err).split(";")[0])
    Invalid config run.yaml: evaluation.adaptation (euclidean_alignment) use(s) the test \
data's unlabelled samples
    >>> allowed = {**aligned, "unlabelled_test_data": True}
    >>> check_evaluation(RunConfig.model_validate({"data": data, "evaluation": allowed}))
    """
    from ..evaluation import PROTOCOLS, check_adaptation, get_protocol
    from ..preprocessing import PER_SAMPLE_STEPS, PREPROCESSING_STEPS

    ev = cfg.evaluation
    if cfg.task not in _ADAPTING_TASKS:
        used = [
            k
            for k, bad in (
                ("evaluation.adaptation", bool(ev.adaptation)),
                ("evaluation.unlabelled_test_data", ev.unlabelled_test_data),
                ("evaluation.protocol: cross-dataset", ev.protocol == "cross-dataset"),
            )
            if bad
        ]
        if used:
            raise ConfigError(
                f"Invalid config {where}: {', '.join(used)} is supported by the task(s) "
                f"{', '.join(sorted(_ADAPTING_TASKS))} only; task is {cfg.task!r}."
            )
    if cfg.task not in _PROTOCOL_TASKS:
        return
    if ev.protocol not in PROTOCOLS:
        raise ConfigError(
            f"Invalid config {where}: invalid value at 'evaluation.protocol'. Allowed: "
            f"{', '.join(map(repr, PROTOCOLS))}; got {ev.protocol!r}."
        )
    if ev.protocol == "cross-dataset":
        params = _cross_params(cfg, where)
        get_protocol(ev.protocol, **params.protocol_kwargs())
        for i, step in enumerate(params.test_preprocessing or []):
            (name,) = step if len(step) == 1 else (None,)
            if name not in PREPROCESSING_STEPS or name not in PER_SAMPLE_STEPS:
                raise ConfigError(
                    f"Invalid config {where}: invalid value at "
                    f"'evaluation.protocol_params.test_preprocessing[{i}]'. Allowed: one "
                    f"per-sample step ({', '.join(sorted(PER_SAMPLE_STEPS))}); got {step!r}."
                )
    else:
        try:
            proto = get_protocol(ev.protocol, **ev.protocol_params)
        except ConfigError as err:
            raise ConfigError(f"Invalid config {where}: {err}") from None
        if cfg.model.params.get("batch_by_group") is True and not proto.groups:
            raise ConfigError(
                f"Invalid config {where}: 'model.params.batch_by_group' draws each batch from "
                f"one group of the protocol, and protocol {ev.protocol!r} keeps no groups "
                "apart; use a grouped protocol (e.g. leave-one-subject-out) or drop it."
            )
    check_adaptation(ev.adaptation, where="evaluation.adaptation")
    adaptive = _check_models(cfg, where) if cfg.task in _ADAPTING_TASKS else []
    users = [f"evaluation.adaptation ({a['name']})" for a in ev.adaptation] + [
        f"adaptive_bn of {m!r}" for m in adaptive
    ]
    if users and not ev.unlabelled_test_data:
        raise ConfigError(
            f"Invalid config {where}: {', '.join(users)} use(s) the test data's unlabelled "
            "samples; set 'evaluation.unlabelled_test_data: true' to allow it (it is recorded "
            "in the results)."
        )


@dataclass
class PreparedSamples:
    """What the decoding task evaluates.

    Attributes
    ----------
    raw : EpochsDataset
        The samples as read (cross-dataset: the two harmonised datasets before the fold steps).
    name : str
        Dataset name (cross-dataset: ``"<train> -> <test>"``).
    samples : EpochsDataset
        After per-sample preprocessing and adaptation: what the folds split.
    lead, fold_steps
        The fitted per-sample pipeline (``None`` for cross-dataset) and the steps fitted per fold.
    protocol : Protocol
    adaptation : dict
        ``unlabelled_test_data`` (the flag), ``steps`` (what was applied, by which groups),
        ``test_data_used`` and ``adaptive_bn`` (networks that re-estimate batch-norm
        statistics on the test inputs).
    refit_index : ndarray
        Samples a refit on "all data" (saliency) may use: the training dataset's only.

    Examples
    --------
    >>> data = {"source": "simulate", "simulator": "motor_imagery",
    ...         "params": {"n_subjects": 2, "n_sessions": 1, "n_trials": 20, "n_channels": 4}}
    >>> cfg = RunConfig.model_validate(
    ...     {"data": data, "preprocessing": [{"bandpass": {"l_freq": 8, "h_freq": 30}}],
    ...      "evaluation": {"protocol": "leave-one-subject-out", "unlabelled_test_data": True,
    ...                     "adaptation": [{"name": "euclidean_alignment"}]}}
    ... )
    >>> prep = prepare_samples(cfg)
    >>> prep.name, prep.samples.X.shape, type(prep.protocol).__name__
    ('simulated:motor_imagery', (40, 4, 256), 'LeaveOneSubjectOut')
    >>> [name for name, _ in prep.lead.steps], prep.fold_steps  # bandpass: once, per sample
    (['bandpass'], None)
    >>> step = prep.adaptation["steps"][0]
    >>> step["name"], step["by"], step["n_groups"], step["nested_in_folds"]
    ('euclidean_alignment', 'subject', 2, True)
    """

    raw: Any
    name: str
    samples: Any
    lead: Any
    fold_steps: Any
    protocol: Any
    adaptation: dict[str, Any]
    refit_index: np.ndarray


def _resample(ds: Any, sfreq: float) -> Any:
    from ..data import EpochsDataset
    from ..preprocessing import Resample

    if ds.sfreq is None:
        raise DataFormatError(
            "Resampling to the common 'sfreq' needs time series with a sampling rate."
        )
    if np.isclose(ds.sfreq, sfreq):
        return ds
    X = Resample(new_sfreq=sfreq, sfreq=ds.sfreq).fit_transform(np.asarray(ds.X, dtype=float))
    return EpochsDataset(X, ds.y, ds.metadata, sfreq, ds.ch_names, ds.classes, dict(ds.info))


def _shift(ds: Any, shift: TestShift) -> Any:
    from ..data import EpochsDataset

    X = np.asarray(ds.X, dtype=float) * shift.gain
    out = EpochsDataset(X, ds.y, ds.metadata, ds.sfreq, ds.ch_names, ds.classes, dict(ds.info))
    return _resample(out, shift.sfreq) if shift.sfreq else out


def _same_length(a: Any, b: Any) -> tuple[Any, Any]:
    """Crop both to the shorter window when two resamplings left them 1-2 samples apart."""
    from ..data import EpochsDataset

    na, nb = np.shape(a.X)[-1], np.shape(b.X)[-1]
    if na == nb or np.ndim(a.X) != 3 or abs(na - nb) > 2:
        return a, b
    n = min(na, nb)

    def crop(d: Any) -> Any:
        X = np.asarray(d.X)[..., :n]
        return EpochsDataset(X, d.y, d.metadata, d.sfreq, d.ch_names, d.classes, d.info)

    return crop(a), crop(b)


def _cross_samples(cfg: RunConfig) -> tuple[Any, str, Any, Any, Any]:
    from ..evaluation import CrossDataset, combine_datasets
    from ..preprocessing import n_leading_per_sample, preprocess_before_split
    from .data import load_samples

    params = _cross_params(cfg, "(config)")
    train, train_file = load_samples(cfg.data, seed=cfg.seed)  # type: ignore[arg-type]
    test, test_file = load_samples(params.test_data, seed=cfg.seed)
    if params.test_shift is not None:
        test = _shift(test, params.test_shift)
    train_eval, _, fold_steps = preprocess_before_split(train, cfg.preprocessing)
    test_steps = params.test_preprocessing
    if test_steps is None:
        test_steps = cfg.preprocessing[: n_leading_per_sample(cfg.preprocessing)]
    test_eval, _, _ = preprocess_before_split(test, test_steps)
    if params.sfreq is not None:
        train_eval, test_eval = (
            _resample(train_eval, params.sfreq),
            _resample(test_eval, params.sfreq),
        )
    train_eval, test_eval = _same_length(train_eval, test_eval)
    both = combine_datasets(
        train_eval, test_eval, train_name=params.train_name, test_name=params.test_name
    )
    both.info["cross_dataset"].update(
        {
            "train_data": train_file,
            "test_data": test_file,
            "sfreq": both.sfreq,
            "test_shift": None if params.test_shift is None else params.test_shift.model_dump(),
            "test_preprocessing": test_steps,
        }
    )
    protocol = CrossDataset(**params.protocol_kwargs())
    name = f"{train_file} -> {test_file}"
    logger.info("Cross-dataset: %s (%s)", name, both.info["cross_dataset"])
    return both, name, both, fold_steps, protocol


def prepare_samples(cfg: RunConfig) -> PreparedSamples:
    """Load, preprocess (per sample), harmonise and adapt the samples of a decoding run.

    Examples
    --------
    Train on one simulated site, test on another recorded at 100 Hz with twice the gain;
    both are brought to a common 100 Hz:

    >>> site = {"source": "simulate", "simulator": "motor_imagery",
    ...         "params": {"n_subjects": 2, "n_sessions": 1, "n_trials": 20, "n_channels": 4}}
    >>> other = {**site, "params": {**site["params"], "seed": 7}}
    >>> cfg = RunConfig.model_validate(
    ...     {"data": site,
    ...      "evaluation": {"protocol": "cross-dataset", "protocol_params": {
    ...          "test_data": other, "train_name": "siteA", "test_name": "siteB",
    ...          "test_shift": {"gain": 2.0, "sfreq": 100}, "sfreq": 100}}}
    ... )
    >>> prep = prepare_samples(cfg)
    >>> prep.name
    'simulated:motor_imagery -> simulated:motor_imagery'
    >>> prep.samples.X.shape, prep.samples.sfreq  # 40 + 40 samples of 2 s at 100 Hz
    ((80, 4, 200), 100.0)
    >>> sorted(set(prep.samples.groups("dataset"))), len(prep.refit_index)  # refit: siteA only
    (['siteA', 'siteB'], 40)
    """
    from ..evaluation import adapt_dataset, get_protocol
    from ..preprocessing import preprocess_before_split
    from .data import load_samples

    ev = cfg.evaluation
    check_evaluation(cfg)
    if ev.protocol == "cross-dataset":
        raw, name, samples, fold_steps, protocol = _cross_samples(cfg)
        lead = None
        side = samples.groups("dataset")
        refit_index = np.flatnonzero(side == protocol.train)
    else:
        raw, name = load_samples(cfg.data, seed=cfg.seed)  # type: ignore[arg-type]
        samples, lead, fold_steps = preprocess_before_split(raw, cfg.preprocessing)
        protocol = get_protocol(ev.protocol, **ev.protocol_params)
        refit_index = np.arange(samples.n_samples)
    samples, record = adapt_dataset(
        samples, ev.adaptation, unlabelled_test_data=ev.unlabelled_test_data, protocol=protocol
    )
    adaptive = _check_models(cfg, "(config)")
    adaptation = {
        "unlabelled_test_data": bool(ev.unlabelled_test_data),
        "steps": [] if record is None else record["steps"],
        "adaptive_bn": adaptive,
        "test_data_used": "none"
        if record is None and not adaptive
        else "; ".join(
            ([record["test_data_used"]] if record else [])
            + (
                [
                    "adaptive batch norm: each test fold's unlabelled inputs re-estimate the "
                    f"batch-norm statistics of {', '.join(map(repr, adaptive))}"
                ]
                if adaptive
                else []
            )
        ),
    }
    return PreparedSamples(raw, name, samples, lead, fold_steps, protocol, adaptation, refit_index)
