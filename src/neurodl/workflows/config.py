"""Run configuration schema: strictly validated pydantic models of a config's sections.

Unknown keys are rejected with the dotted path to the key and the closest allowed key as a hint
(mne-bids-pipeline style). Config files are data: nothing in them is executed. Reading and
validating a whole config against the registered tasks is :func:`neurodl.workflows.parse_config`
(:mod:`neurodl.workflows.validate`).

Examples
--------
>>> cfg = RunConfig.model_validate({"data": {"source": "simulate", "simulator": "motor_imagery"}})
>>> cfg.evaluation.protocol
'within-session'
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from ..execution import ExecutionSection

__all__ = [
    "DataConfig",
    "EvaluationConfig",
    "ModelConfig",
    "PrivacyConfig",
    "ReportConfig",
    "RunConfig",
    "TaskOptions",
    "format_errors",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, use_attribute_docstrings=True)


class TaskOptions(_Strict):
    """Base of a task's ``options`` model (strict: unknown keys are rejected).

    Examples
    --------
    A task subclasses it with its own settings; a typo in a config is refused:

    >>> from pydantic import ValidationError
    >>> class SlidingOptions(TaskOptions):
    ...     window_s: float = 1.0
    ...     n_windows: int = 5
    >>> SlidingOptions.model_validate({"window_s": 0.5})
    SlidingOptions(window_s=0.5, n_windows=5)
    >>> try:
    ...     SlidingOptions.model_validate({"n_window": 3})
    ... except ValidationError as err:
    ...     print(format_errors(err, "config", model=SlidingOptions, prefix="options"))
    Invalid config config: unknown key 'options.n_window'. Did you mean 'n_windows'? \
Allowed here: window_s, n_windows.
    """


class DataConfig(_Strict):
    """Where the samples come from.

    ``source: simulate`` uses a built-in simulator (``simulator`` + ``params``);
    ``source: dataset`` a named dataset under the data root (``dataset`` + ``params``);
    ``source: file`` any file neurodl reads (``path`` + ``params`` for the reader);
    ``source: files`` several recordings (``files``: a list of paths and/or glob patterns, read
    with the same reader and ``params``), each labelled with the subject/session/run of its
    BIDS entities (``sub-01_ses-02_run-03``) or of ``pattern`` (``"{subject}R{run}"`` on the
    file name without extension); ``to_samples`` then cuts each recording and stacks the samples.

    Examples
    --------
    >>> from pydantic import ValidationError
    >>> data = DataConfig.model_validate(
    ...     {"source": "files", "files": ["raw/S*R04.edf"], "pattern": "{subject}R{run}",
    ...      "to_samples": {"epochs": {"tmin": 0.0, "tmax": 2.0}}}
    ... )
    >>> data.files, data.params
    (['raw/S*R04.edf'], {})
    >>> try:  # each source needs its own key
    ...     DataConfig.model_validate({"source": "file"})
    ... except ValidationError as err:
    ...     print(err.errors()[0]["msg"])
    Value error, data.source is 'file', so data.path is required
    """

    source: Literal["simulate", "dataset", "file", "files"] = "simulate"
    """Where the samples come from: a built-in simulator, a named dataset under the data root,
    one file or folder neurodl reads, or several recordings (``files``)."""
    simulator: str | None = None
    """Simulator for ``source: simulate`` (``neurodl config schema`` lists each one's
    ``data.params``), e.g. ``motor_imagery``, ``evoked``, ``fmri``."""
    dataset: str | None = None
    """Named dataset for ``source: dataset`` (``neurodl datasets`` lists them), read from
    ``data_root``."""
    path: str | None = None
    """File or folder for ``source: file`` (EDF/BDF/FIF/BrainVision/EEGLAB/GDF/NIfTI/NWB/...,
    a BIDS root or a suite2p folder); relative paths resolve from the working folder."""
    files: list[str] | None = None
    """Recordings for ``source: files``: paths or glob patterns, relative to the working folder."""
    pattern: str | None = None
    """How the file names (without extension) give ``{subject}``, ``{session}`` and ``{run}``,
    e.g. ``"{subject}R{run}"`` for ``S001R04.edf``; default: BIDS entities in the name."""
    data_root: str | None = None
    """Folder holding the named datasets (default: ``$NEURODL_DATA``)."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Parameters of the simulator, dataset loader or file reader (validated against its
    signature; ``neurodl config schema`` lists them)."""
    to_samples: dict[str, dict[str, Any]] | None = None
    """Optional conversion of what the reader returns into labelled samples: one key naming a
    sampler (``fmri_volumes``, ``windows``, ``epochs``) with its parameters."""

    reject: dict[str, Any] | None = None
    """Optional amplitude-based rejection of samples (``peak_to_peak`` and/or ``flat``
    thresholds, see :func:`neurodl.preprocessing.reject_by_amplitude`); what is dropped is
    reported in the results."""

    @field_validator("to_samples")
    @classmethod
    def _one_sampler(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(value) != 1:
            raise ValueError(f"to_samples takes exactly one sampler name; got {sorted(value)}")
        return value

    @model_validator(mode="after")
    def _source_fields(self) -> DataConfig:
        need = {"simulate": "simulator", "dataset": "dataset", "file": "path", "files": "files"}[
            self.source
        ]
        if getattr(self, need) is None:
            raise ValueError(f"data.source is {self.source!r}, so data.{need} is required")
        return self


class ModelConfig(_Strict):
    """The estimator: a registered name and its parameters.

    Examples
    --------
    >>> from pydantic import ValidationError
    >>> ModelConfig.model_validate({"name": "csp_lda", "params": {"n_components": 4}})
    ModelConfig(name='csp_lda', params={'n_components': 4})
    >>> ModelConfig().name  # the default model
    'logistic_regression'
    >>> try:
    ...     ModelConfig.model_validate({"nme": "lda"})
    ... except ValidationError as err:
    ...     print(format_errors(err, "run.yaml", model=ModelConfig, prefix="model"))
    Invalid config run.yaml: unknown key 'model.nme'. Did you mean 'name'? Allowed here: name, params.
    """

    name: str = "logistic_regression"
    """A registered model (``neurodl models`` lists them): classical pipelines (e.g. ``lda``,
    ``csp_lda``, ``tangent_space_lr``) or networks (e.g. ``shallow``, ``eegnet``, ``mlp``)."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Parameters of that model (checked against its signature, with the closest name for a
    typo); networks share the training vocabulary ``max_epochs``, ``batch_size``, ``lr``,
    ``weight_decay``, ``validation_fraction``, ``random_state``."""


class EvaluationConfig(_Strict):
    """Protocol, metric and statistics; adaptation and the unlabelled test data it may use.

    ``protocol: cross-dataset`` trains on ``data`` and tests on ``protocol_params.test_data``
    (see :mod:`neurodl.workflows.crossdata`). ``adaptation`` lists unsupervised steps
    (:func:`neurodl.evaluation.adapt_dataset`: ``euclidean_alignment``,
    ``riemannian_recentring``, ``standardize``, ``amplitude``, each ``by`` a metadata column);
    they and networks with ``adaptive_bn`` use the test data's unlabelled samples, which is
    refused unless ``unlabelled_test_data: true``, and recorded in the results.

    Examples
    --------
    >>> from pydantic import ValidationError
    >>> ev = EvaluationConfig.model_validate({"protocol": "leave-one-subject-out"})
    >>> ev.metric, ev.n_permutations, ev.n_boot, ev.ci, ev.unlabelled_test_data
    ('balanced_accuracy', 200, 1000, 0.95, False)
    >>> try:
    ...     EvaluationConfig.model_validate({"n_jobs": 0, "ci": 95})
    ... except ValidationError as err:
    ...     print(format_errors(err, "config", model=EvaluationConfig, prefix="evaluation"))
    Invalid config config: invalid value at 'evaluation.ci': Input should be less than 1 \
(got 95). invalid value at 'evaluation.n_jobs': Value error, n_jobs is 1 (serial), a number of \
workers > 1, or -1 (all cores); 0 has no meaning (got 0).
    """

    protocol: str = "within-session"
    """How samples are split into training and test folds, every split checked for leakage:
    ``within-session``, ``cross-session``, ``leave-one-subject-out``, ``leave-one-run-out``,
    ``grouped-kfold``, ``blocked-timeseries``, ``leave-one-site-out``,
    ``site-stratified-kfold``, ``cross-dataset``."""
    protocol_params: dict[str, Any] = Field(default_factory=dict)
    """Parameters of the protocol (e.g. ``n_splits``, ``group_by``; for ``cross-dataset`` the
    ``test_data`` section)."""
    unlabelled_test_data: bool = False
    """Allow adaptation steps (and adaptive batch norm) to use the test folds' unlabelled
    samples; recorded in the results. Test labels are never used."""
    adaptation: list[dict[str, Any]] = Field(default_factory=list)
    """Unsupervised alignment steps, each ``{name: step, by: column}`` plus the step's
    parameters (``euclidean_alignment``, ``riemannian_recentring``, ``standardize``,
    ``amplitude``; ``by`` defaults to ``subject``)."""
    metric: str = "balanced_accuracy"
    """Score of every fold: ``balanced_accuracy``, ``accuracy``, ``roc_auc``, ``kappa`` for
    classes; ``r2``, ``pearson_r`` for continuous targets."""
    n_permutations: int = Field(200, ge=0, le=100_000)
    """Label permutations of each model's own permutation test (0: none); labels move only
    within the protocol's exchangeability blocks."""
    n_boot: int = Field(1000, ge=0, le=1_000_000)
    """Bootstrap resamples of each score's confidence interval (0: a t-interval over folds)."""
    ci: float = Field(0.95, gt=0.0, lt=1.0)
    """Level of every confidence interval."""
    n_jobs: int = 1
    """Parallel workers for folds and permutations: 1 serial, k > 1 workers, -1 all cores."""

    @field_validator("n_jobs")
    @classmethod
    def _n_jobs(cls, value: int) -> int:
        if value == 0 or value < -1:
            raise ValueError(
                "n_jobs is 1 (serial), a number of workers > 1, or -1 (all cores); 0 has no meaning"
            )
        return value


class ReportConfig(_Strict):
    """Report options.

    Examples
    --------
    >>> ReportConfig()
    ReportConfig(title=None, enabled=True)
    >>> ReportConfig.model_validate({"title": "Motor imagery, 9 subjects", "enabled": False})
    ReportConfig(title='Motor imagery, 9 subjects', enabled=False)
    """

    title: str | None = None
    """Title of ``report.html`` (default: from the task and dataset)."""
    enabled: bool = True
    """Write ``report.html`` (``results.json`` is always written)."""


class PrivacyConfig(_Strict):
    """What a run may reveal about the people recorded.

    ``pseudonymise_subjects: true`` replaces every subject code by a pseudonym (``P1``,
    ``P2`` ...; keyed, stable pseudonyms with ``$NEURODL_PSEUDONYM_KEY``) in the samples before
    the task sees them and in everything the run writes (``results.json``, the report, log
    lines); the same as ``neurodl run --pseudonymise-subjects`` or
    ``$NEURODL_PSEUDONYMISE_SUBJECTS=1``, but recorded with the config.

    Examples
    --------
    >>> from pydantic import ValidationError
    >>> PrivacyConfig.model_validate({"pseudonymise_subjects": "yes"})  # YAML-style booleans
    PrivacyConfig(pseudonymise_subjects=True)
    >>> try:
    ...     PrivacyConfig.model_validate({"pseudonymise_subjects": "maybe"})
    ... except ValidationError as err:
    ...     print(err.errors()[0]["msg"])
    Input should be a valid boolean, unable to interpret input
    """

    pseudonymise_subjects: bool = False
    """Replace subject codes by pseudonyms in the data and in every output of the run."""


class RunConfig(_Strict):
    """A whole run: data -> preprocessing -> model -> evaluation -> report.

    ``task`` selects the task (see :data:`neurodl.workflows.registry.TASKS`); ``options`` holds
    the task's own settings, validated strictly by the task's options model when the config is
    parsed (:func:`neurodl.workflows.parse_config`).

    Examples
    --------
    Every section has defaults; ``task_options`` validates the task's own ``options``:

    >>> from pydantic import ValidationError
    >>> cfg = RunConfig.model_validate(
    ...     {"data": {"source": "simulate", "simulator": "motor_imagery"},
    ...      "model": {"name": "csp_lda"}, "evaluation": {"protocol": "cross-session"}}
    ... )
    >>> cfg.task, cfg.seed, cfg.model.name, cfg.evaluation.n_permutations, cfg.report.enabled
    ('decoding', 0, 'csp_lda', 200, True)
    >>> type(cfg.task_options()).__name__, cfg.task_options().held_out_permutations
    ('DecodingOptions', 1000)
    >>> try:  # every error at once, each with its dotted key
    ...     RunConfig.model_validate({"modle": {"name": "lda"}, "seed": -1})
    ... except ValidationError as err:
    ...     print(format_errors(err, "run.yaml"))  # doctest: +NORMALIZE_WHITESPACE
    Invalid config run.yaml: invalid value at 'seed': Input should be greater than or equal
    to 0 (got -1). unknown key 'modle'. Did you mean 'model'? Allowed here: task, name, seed,
    data, preprocessing, model, evaluation, report, privacy, execution, options.
    """

    task: str = "decoding"
    name: str = "run"
    """A name for the run, recorded in ``results.json`` and the report."""
    seed: int = Field(0, ge=0)
    """Seed of every random choice of the run (splits, permutations, network weights)."""
    data: DataConfig | None = None
    """Required by the tasks that read data (checked by :func:`neurodl.workflows.parse_config`);
    tasks that generate their own trials (e.g. ``task_model``) take none."""
    preprocessing: list[dict[str, dict[str, Any]]] = Field(default_factory=list)
    """Steps in order, each ``{name: {parameters}}`` (``bandpass``, ``notch``, ``resample``,
    ``standardize``, ``log_bandpower`` ...); per-sample steps run once before splitting, steps
    that learn from data are fitted inside each training fold."""
    model: ModelConfig = Field(default_factory=ModelConfig)
    """The main model: a registered name and its parameters."""
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    """Protocol, metric and statistics."""
    report: ReportConfig = Field(default_factory=ReportConfig)
    """The HTML report."""
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    """``pseudonymise_subjects``: subject codes replaced by pseudonyms in all outputs."""
    execution: ExecutionSection = Field(default_factory=ExecutionSection)
    """Where independent units (folds, permutations) run: ``backend: local | ray``, ``address``,
    ``resources``, ``max_retries``, ``cache_dir`` (see :class:`neurodl.execution.ExecutionConfig`)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """The task's own settings (``neurodl config schema --task T`` lists them)."""
    # folder of the config file when read by load_config (relative option paths resolve there)
    _config_dir: Path | None = PrivateAttr(default=None)

    @property
    def config_dir(self) -> Path | None:
        """The folder of the config file this run was read from (``None`` if built in code)."""
        return self._config_dir

    def task_options(self) -> TaskOptions:
        """The validated options object of this run's task (see :mod:`.registry`)."""
        from .registry import get_task

        return get_task(self.task).options.model_validate(self.options)

    @field_validator("preprocessing")
    @classmethod
    def _one_key_per_step(cls, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, step in enumerate(steps):
            if len(step) != 1:
                raise ValueError(
                    f"each preprocessing step is a mapping with exactly one key (the step name); "
                    f"step {i} has keys {sorted(step)}"
                )
        return steps


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Walk the pydantic model along ``loc`` (minus its last item) and list allowed keys."""
    current: Any = model
    for part in loc[:-1]:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        current = field.annotation
        # an optional section (``DataConfig | None``): walk into its model
        models = [a for a in get_args(current) if isinstance(a, type) and issubclass(a, BaseModel)]
        if len(models) == 1:
            current = models[0]
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _config_models(
    model: type[BaseModel], found: dict[str, type[BaseModel]]
) -> dict[str, type[BaseModel]]:
    """``model`` and every model of its fields (sections, nested ones), by class name."""
    found[model.__name__] = model
    for field in model.model_fields.values():
        for a in (field.annotation, *get_args(field.annotation)):
            if isinstance(a, type) and issubclass(a, BaseModel) and a.__name__ not in found:
                _config_models(a, found)
    return found


#: pydantic's tags of union members in an error's location (``options.saliency.bool``)
_PRIMITIVE_TAGS = frozenset({"bool", "int", "float", "str", "bytes", "none", "dict", "list"})


def _is_union_tag(part: Any) -> bool:
    """True for a location part naming a union member: ``bool``, ``literal['auto']``, ..."""
    if not isinstance(part, str) or part.startswith("function-"):
        return False
    return part in _PRIMITIVE_TAGS or ("[" in part and part.endswith("]"))


def _is_type_tag(part: Any) -> bool:
    """A location part that is not a key: a validator's or a union member's tag."""
    return isinstance(part, str) and (part.startswith("function-") or _is_union_tag(part))


def format_errors(
    err: ValidationError, source: str, *, model: type[BaseModel] | None = None, prefix: str = ""
) -> str:
    """One message for every error of a config's ``ValidationError``.

    Each error gets its dotted key path (after ``prefix``), unknown keys get the closest allowed
    key of ``model`` (default: the section of :class:`RunConfig` that raised ``err``, e.g.
    :class:`EvaluationConfig` validated on its own, else :class:`RunConfig`), missing keys and
    bad values are named with what was given; ``source`` names the config (a file or "config").

    Examples
    --------
    >>> from pydantic import ValidationError
    >>> try:
    ...     RunConfig.model_validate({"evaluation": {"protocl": "cross-session"}})
    ... except ValidationError as err:
    ...     msg = format_errors(err, "run.yaml")
    >>> print(msg.split(" Allowed")[0])
    Invalid config run.yaml: unknown key 'evaluation.protocl'. Did you mean 'protocol'?
    >>> try:  # a section validated on its own: name its model and where it sits
    ...     DataConfig.model_validate({"source": "dataset"})
    ... except ValidationError as err:
    ...     print(format_errors(err, "run.yaml", model=DataConfig, prefix="data"))
    Invalid config run.yaml: invalid value at 'data': Value error, data.source is 'dataset', \
so data.dataset is required.
    >>> try:  # a section on its own, its model not given: its keys, not RunConfig's
    ...     ReportConfig.model_validate({"titel": "x"})
    ... except ValidationError as err:
    ...     print(format_errors(err, "run.yaml", prefix="report"))
    Invalid config run.yaml: unknown key 'report.titel'. Did you mean 'title'? Allowed here: \
title, enabled.
    """
    if model is None:  # err.title: the name of the model that raised it
        model = _config_models(RunConfig, {}).get(err.title, RunConfig)
    lines: list[str] = []
    union: dict[str, tuple[int, list[str]]] = {}  # path -> (line index, member messages)
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not _is_type_tag(p))
        path = ".".join([prefix, *map(str, loc)] if prefix else map(str, loc)) or "(top level)"
        if any(_is_union_tag(p) for p in e["loc"]):
            # one error per member of a union (e.g. ``bool | 'auto'``): one line for the key
            msg = e["msg"]
            got = e.get("input")
            shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
            if path in union:
                at, msgs = union[path]
                msgs.append(msg.removeprefix("Input should be "))
                lines[at] = f"invalid value at {path!r}: {' or '.join(msgs)}{shown}."
                continue
            union[path] = (len(lines), [msg])
            lines.append(f"invalid value at {path!r}: {msg}{shown}.")
            continue
        if e["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc)
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            listed = f" Allowed here: {', '.join(allowed)}." if allowed else ""
            lines.append(f"unknown key {path!r}.{hint}{listed}")
        elif e["type"] == "missing":
            lines.append(f"missing required key {path!r}.")
        elif e["type"] == "value_error" and "Invalid config options:" in e["msg"]:
            lines.append(e["msg"].split("Invalid config options: ", 1)[1])
        else:
            got = e.get("input")
            shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
            lines.append(f"invalid value at {path!r}: {e['msg']}{shown}.")
    return f"Invalid config {source}: " + " ".join(lines)
