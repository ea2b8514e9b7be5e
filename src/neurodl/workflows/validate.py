"""Read and validate a whole run config against the registered tasks.

:func:`parse_config` validates the common sections (:mod:`neurodl.workflows.config`), the task
name, the task's ``options`` (its own strict model) and refuses sections the task does not read.

Examples
--------
>>> cfg = parse_config({"data": {"source": "simulate", "simulator": "motor_imagery"}})
>>> cfg.task, cfg.evaluation.protocol
('decoding', 'within-session')
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..exceptions import ConfigError
from . import tasks as _tasks  # noqa: F401  (registers every task)
from .config import ModelConfig, RunConfig, TaskOptions, format_errors
from .crossdata import check_evaluation
from .data import check_data
from .registry import TASKS, get_task, unused_sections_message

__all__ = ["check_model", "load_config", "parse_config", "read_yaml", "task_options"]


#: Tasks that read their ``data`` section with their own loaders (not
#: :func:`neurodl.workflows.data.load_data`); their ``data.params`` are checked when they run.
OWN_DATA_TASKS = frozenset({"biomarker", "perturbation_rsa", "rsa_fixed_models", "rsa_network"})


def task_options(cfg: RunConfig) -> TaskOptions:
    """The validated options object of ``cfg``'s task.

    Examples
    --------
    >>> cfg = parse_config({"task": "time_resolved",
    ...                     "data": {"source": "simulate", "simulator": "evoked"},
    ...                     "options": {"window": 0.1, "features": "amplitude"}})
    >>> opts = task_options(cfg)
    >>> type(opts).__name__, opts.window, opts.step, opts.n_folds  # the rest are defaults
    ('TimeResolvedOptions', 0.1, 0.1, 5)
    """
    return get_task(cfg.task).options.model_validate(cfg.options)


def parse_config(data: dict[str, Any], *, source: str = "") -> RunConfig:
    """Validate a config mapping; raise :class:`ConfigError` naming each offending key.

    Examples
    --------
    >>> cfg = parse_config({"task": "decoding", "model": {"name": "csp_lda"},
    ...                     "data": {"source": "simulate", "simulator": "motor_imagery"}})
    >>> cfg.model.name, cfg.evaluation.metric
    ('csp_lda', 'balanced_accuracy')
    >>> bad = {"task": "decoding", "options": {"baselin": {"name": "lda"}},
    ...        "data": {"source": "simulate", "simulator": "motor_imagery"}}
    >>> try:  # the task's own options are checked too
    ...     parse_config(bad, source="run.yaml")
    ... except ValueError as err:  # a ConfigError
    ...     print(str(err).split(" Allowed")[0])
    Invalid config run.yaml: unknown key 'options.baselin'. Did you mean 'baseline'?
    >>> try:
    ...     parse_config({"task": "decoding"}, source="run.yaml")
    ... except ValueError as err:
    ...     print(err)
    Invalid config run.yaml: missing required key 'data': task 'decoding' needs a 'data' section.
    """
    if not isinstance(data, dict):
        raise ConfigError(
            f"Invalid config {source}: expected a mapping at the top level; got {type(data).__name__}."
        )
    where = source or "(mapping)"
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_errors(err, where)) from None
    if cfg.task not in TASKS:
        close = difflib.get_close_matches(cfg.task, list(TASKS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"Invalid config {where}: invalid value at 'task': unknown task.{hint} Known tasks: "
            f"{', '.join(sorted(TASKS))} (got {cfg.task!r})."
        )
    spec = TASKS[cfg.task]
    if "data" in spec.reads and cfg.data is None:
        raise ConfigError(
            f"Invalid config {where}: missing required key 'data': task {cfg.task!r} needs a "
            "'data' section."
        )
    try:
        spec.options.model_validate(cfg.options)
    except ValidationError as err:
        raise ConfigError(format_errors(err, where, model=spec.options, prefix="options")) from None
    refusal = unused_sections_message(spec, data)
    if refusal:
        raise ConfigError(f"Invalid config {where}: {refusal}")
    check_evaluation(cfg, where=where)  # protocol, cross-dataset, adaptation, augment
    if cfg.data is not None and cfg.task not in OWN_DATA_TASKS:
        check_data(cfg.data)
    if cfg.task == "decoding":
        check_model(cfg.model, where="model")
        baseline = cfg.options.get("baseline")
        if isinstance(baseline, dict):
            check_model(
                ModelConfig.model_validate(baseline), where="options.baseline"
            )  # reader/simulator/sampler names and parameters
        search = cfg.options.get("search")
        if isinstance(search, dict):  # the searched parameters build the model
            from .tasks.decoding_search import searched_model

            check_model(searched_model(cfg.model, search), where="options.search.space (model)")
    if cfg.task == "spike_trial_decoding":  # the same factory: classical models and networks
        check_model(cfg.model, where="model")
    return cfg


#: Sampling rate (Hz) given to models that need one when checking a config before any data.
_STAND_IN_SFREQ = 10_000.0


def check_model(spec: ModelConfig, *, where: str) -> None:
    """Refuse an unknown model name or parameter before anything is fitted.

    Classical models check their parameters when built; a network's architecture parameters
    (``model_params``) are checked against its class's signature (after ``n_chans, n_times,
    n_outputs``), so a typo fails here and not after the data are read.

    Examples
    --------
    >>> check_model(ModelConfig(name="lda", params={"shrinkage": "auto"}), where="model")
    >>> try:
    ...     check_model(ModelConfig(name="lda", params={"shrinkag": "auto"}), where="model")
    ... except ValueError as err:  # a ConfigError
    ...     print(err)
    Invalid value at 'model': Unknown parameter(s) ['shrinkag'] for model 'lda'. \
Allowed: ['shrinkage'].
    >>> net = ModelConfig(name="eegnet", params={"max_epochs": 2, "dropout": 0.5})
    >>> try:  # a network's architecture parameter, before any data are read
    ...     check_model(net, where="model")
    ... except ValueError as err:
    ...     print(str(err).split(" Allowed")[0])
    Invalid parameter 'dropout' at 'model.params' for network 'eegnet'. Did you mean 'drop_prob'?
    """
    from ..analyses.decoding import make_decoder
    from ..models import get_model_class
    from .params import check_params

    try:  # the data's rate is not known yet: a high stand-in (no band is above its Nyquist)
        est = make_decoder(spec.name, spec.params, sfreq=_STAND_IN_SFREQ)
    except ConfigError as err:
        raise ConfigError(f"Invalid value at {where!r}: {err}") from None
    except TypeError as err:
        raise ConfigError(f"Invalid parameters at '{where}.params': {err}.") from None
    model, model_params = getattr(est, "model", None), getattr(est, "model_params", None)
    if isinstance(model, str) and isinstance(model_params, dict):
        cls = get_model_class(model)
        provided = {"sfreq", *(getattr(cls, "data_params", None) or ())}
        _check_network_keys(est, cls, model_params, provided, where=where, model=model)
        check_params(
            cls,
            model_params,
            where=f"{where}.params",
            skip=3,
            provided=provided,
            what=f"network {model!r}",
        )


def _check_network_keys(
    est: Any, cls: Any, model_params: dict, provided: set, *, where: str, model: str
) -> None:
    """An unknown key of a network's ``params``: the closest training or architecture name."""
    from .params import _accepted

    named, var_kw = _accepted(cls, 3)
    arch = [p.name for p in named if p.name not in provided]
    if var_kw:
        return
    training = sorted(
        set(est.get_params(deep=False)) - {"model", "model_params", "callbacks", *provided}
    )
    for key in model_params:
        if key in arch or key in provided:
            continue
        close = difflib.get_close_matches(str(key), arch + training, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"Invalid parameter {key!r} at '{where}.params' for network {model!r}.{hint} "
            f"Allowed: training {', '.join(map(repr, training))}; architecture "
            f"{', '.join(map(repr, arch)) or 'none'}."
        )


def _unique_key_loader() -> type:
    """A YAML SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise ConfigError(
                        f"duplicate key {key!r} at line {line} (first given at line "
                        f"{seen[key]}): give each key once."
                    )
                seen[key] = line
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


def read_yaml(text: str, *, source: str = "(text)") -> Any:
    """Parse YAML config text; duplicate keys and syntax errors raise :class:`ConfigError`.

    Examples
    --------
    >>> read_yaml("task: decoding\\nmodel:\\n  name: lda\\n")
    {'task': 'decoding', 'model': {'name': 'lda'}}
    >>> try:  # PyYAML alone would silently keep the last value
    ...     read_yaml("seed: 1\\nname: a\\nseed: 2\\n", source="run.yaml")
    ... except ValueError as err:  # a ConfigError
    ...     print(err)
    Config file run.yaml: duplicate key 'seed' at line 3 (first given at line 1): give each key once.
    """
    import yaml

    try:
        return yaml.load(text, Loader=_unique_key_loader())  # a SafeLoader subclass
    except ConfigError as err:
        raise ConfigError(f"Config file {source}: {err}") from None
    except yaml.YAMLError as err:
        raise ConfigError(
            f"Config file {source} is not valid YAML: {err}".replace("\n", " ")
        ) from None


def load_config(path: str | Path) -> RunConfig:
    """Read a YAML (or JSON) config file and validate it strictly.

    Examples
    --------
    >>> import tempfile
    >>> text = "task: decoding\\ndata:\\n  source: simulate\\n  simulator: motor_imagery\\n"
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "run.yaml"
    ...     _ = path.write_text(text + "model:\\n  name: csp_lda\\n")
    ...     cfg = load_config(path)
    ...     print(cfg.model.name, cfg.config_dir == path.parent.resolve())
    ...     _ = path.write_text(text + "modle:\\n  name: csp_lda\\n")
    ...     try:
    ...         load_config(path)
    ...     except ValueError as err:  # a ConfigError
    ...         print(str(err).replace(tmp, "TMP").split(" Allowed")[0])
    csp_lda True
    Invalid config 'TMP/run.yaml': unknown key 'modle'. Did you mean 'model'?
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file {str(path)!r} does not exist.")
    data = read_yaml(path.read_text(), source=repr(str(path)))
    if data is None:
        raise ConfigError(f"Config file {str(path)!r} is empty.")
    cfg = parse_config(data, source=repr(str(path)))
    cfg._config_dir = path.resolve().parent
    return cfg
