"""Where independent units of work run: the ``execution`` settings and the current backend.

An :class:`ExecutionConfig` names a backend (``"local"``: this machine, serially or with a
joblib pool; ``"ray"``: a Ray cluster), how to reach it, the resources one unit needs, how often
a unit whose worker died is retried and where finished units are cached. It is given to a
fan-out function directly (``execution=``) or for a whole block of code with
:func:`use_execution`; a config's ``execution:`` section does the latter for a whole run.

Examples
--------
>>> cfg = ExecutionConfig.from_value({"backend": "local", "cache_dir": None})
>>> cfg.backend
'local'
>>> with use_execution({"backend": "local", "max_retries": 1}):
...     get_execution().max_retries
1
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..exceptions import ConfigError

__all__ = ["BACKENDS", "ExecutionConfig", "ExecutionSection", "get_execution", "use_execution"]

#: backend name -> what it runs on
BACKENDS = {
    "local": "this machine: in process (n_jobs=1) or a joblib pool (n_jobs != 1)",
    "ray": "a Ray cluster (address=None starts a private one on this machine)",
}
#: per-unit resource names Ray schedules by itself; any other key is a custom Ray resource
RAY_RESOURCE_KEYS = ("num_cpus", "num_gpus", "memory")


@dataclass(frozen=True)
class ExecutionConfig:
    """How independent units (folds, permutations, ...) are executed.

    Parameters
    ----------
    backend : {"local", "ray"}, default="local"
        ``"local"`` runs units in this process, or in a joblib pool when the caller's ``n_jobs``
        is not 1; ``"ray"`` submits each unit as a Ray task.
    address : str or None, default=None
        Ray cluster address (``"host:port"`` of the head's GCS, ``"auto"``, or
        ``"ray://host:port"``); None starts a private Ray instance on this machine.
    resources : dict of str to float, default={}
        Resources one unit needs (``num_cpus``, ``num_gpus``, ``memory`` in bytes, or custom
        Ray resources); Ray's default is one CPU per unit.
    max_retries : int, default=3
        Times Ray re-runs a unit whose worker process or node died (a Python exception raised
        by the unit itself is not retried: it is a bug, not a failure of the machine).
    cache_dir : str or None, default=None
        Folder of finished unit results keyed by a hash of the data, the settings and the
        code version; a run killed part way resumes from the units already there.
    connect_timeout : float, default=10.0
        Seconds to wait for a Ray address to answer before raising.

    Examples
    --------
    >>> cfg = ExecutionConfig(backend="ray", address="10.0.0.1:6379", resources={"num_cpus": 2})
    >>> cfg.to_dict()["resources"], cfg.max_retries
    ({'num_cpus': 2}, 3)
    >>> ExecutionConfig.from_value("local") == ExecutionConfig()  # a backend name is enough
    True
    >>> try:
    ...     ExecutionConfig(backend="local", address="10.0.0.1:6379")
    ... except ValueError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    Invalid value for 'execution.address': an address needs backend 'ray'; got backend 'local'
    with address '10.0.0.1:6379'.
    >>> try:
    ...     ExecutionConfig.from_value({"backend": "ray", "workers": 4})
    ... except ValueError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    Invalid key(s) ['workers'] in 'execution'. Allowed: backend, address, resources,
    max_retries, cache_dir, connect_timeout.
    """

    backend: Literal["local", "ray"] = "local"
    address: str | None = None
    resources: Mapping[str, float] = field(default_factory=dict)
    max_retries: int = 3
    cache_dir: str | None = None
    connect_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(
                f"Invalid value for 'execution.backend'. Allowed: "
                f"{', '.join(repr(k) for k in BACKENDS)}; got {self.backend!r}."
            )
        if self.address is not None and self.backend != "ray":
            raise ConfigError(
                f"Invalid value for 'execution.address': an address needs backend 'ray'; got "
                f"backend {self.backend!r} with address {self.address!r}."
            )
        if not isinstance(self.resources, Mapping) or not all(
            isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
            for k, v in self.resources.items()
        ):
            raise ConfigError(
                "Invalid value for 'execution.resources'. Allowed: a mapping of resource name to "
                f"a number >= 0 (e.g. {{'num_cpus': 1}}); got {self.resources!r}."
            )
        if (
            isinstance(self.max_retries, bool)
            or not isinstance(self.max_retries, int)
            or (self.max_retries < 0)
        ):
            raise ConfigError(
                f"Invalid value for 'execution.max_retries'. Allowed: an integer >= 0; got "
                f"{self.max_retries!r}."
            )
        if not isinstance(self.connect_timeout, int | float) or not self.connect_timeout > 0:
            raise ConfigError(
                f"Invalid value for 'execution.connect_timeout'. Allowed: seconds > 0; got "
                f"{self.connect_timeout!r}."
            )
        object.__setattr__(self, "resources", dict(self.resources))

    @classmethod
    def from_value(cls, value: ExecutionConfig | Mapping[str, Any] | str | None) -> ExecutionConfig:
        """Build from a config, a mapping of its fields, a backend name, or None (the default)."""
        if value is None:
            return cls()
        if isinstance(value, ExecutionConfig):
            return value
        if isinstance(value, str):
            return cls(backend=value)  # type: ignore[arg-type]
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - set(cls.__dataclass_fields__))
            if unknown:
                raise ConfigError(
                    f"Invalid key(s) {unknown} in 'execution'. Allowed: "
                    f"{', '.join(cls.__dataclass_fields__)}."
                )
            return cls(**value)
        raise ConfigError(
            "Invalid value for 'execution'. Allowed: an ExecutionConfig, a mapping or a backend "
            f"name; got {type(value).__name__}."
        )

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict."""
        return asdict(self)


class ExecutionSection(BaseModel):
    """The ``execution:`` section of a run config (strict; same fields as :class:`ExecutionConfig`).

    Examples
    --------
    >>> ExecutionSection.model_validate({"backend": "ray", "address": "10.0.0.1:6379"}).backend
    'ray'
    """

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    backend: Literal["local", "ray"] = "local"
    """``local``: this machine (joblib); ``ray``: a Ray cluster (``pip install neurodl[ray]``)."""
    address: str | None = None
    """Ray cluster address (``host:port``); None starts or joins a local Ray instance."""
    resources: dict[str, float] = Field(default_factory=dict)
    """Ray resources of each unit, e.g. ``{num_cpus: 2}``."""
    max_retries: int = Field(3, ge=0)
    """Times a unit whose worker died is retried."""
    cache_dir: str | None = None
    """Folder of finished units' results (keyed by data, config and code version): a killed
    run resumes from them."""
    connect_timeout: float = Field(10.0, gt=0)
    """Seconds to wait for a Ray address to answer before a clear error."""

    @model_validator(mode="after")
    def _consistent(self) -> ExecutionSection:
        ExecutionConfig(**self.model_dump())  # the cross-field checks, one message each
        return self

    def to_config(self, base: Path | None = None) -> ExecutionConfig:
        """The :class:`ExecutionConfig`; a relative ``cache_dir`` resolves under ``base``."""
        values = self.model_dump()
        if values["cache_dir"] is not None and base is not None:
            values["cache_dir"] = str(Path(base) / values["cache_dir"])
        return ExecutionConfig(**values)


_DEFAULT = ExecutionConfig()
_current: contextvars.ContextVar[ExecutionConfig | None] = contextvars.ContextVar(
    "neurodl_execution", default=None
)


def get_execution() -> ExecutionConfig:
    """The execution settings in force here (set by :func:`use_execution`; default local).

    Examples
    --------
    >>> get_execution().backend  # nothing set: this machine
    'local'
    >>> with use_execution({"backend": "ray", "address": "head:6379"}):
    ...     get_execution().address
    'head:6379'
    >>> get_execution() == ExecutionConfig()  # restored on exit
    True
    """
    current = _current.get()
    return _DEFAULT if current is None else current


@contextlib.contextmanager
def use_execution(
    value: ExecutionConfig | Mapping[str, Any] | str | None,
) -> Iterator[ExecutionConfig]:
    """Run the enclosed block with ``value`` as the execution settings (restored on exit).

    Examples
    --------
    >>> from neurodl.execution import run_units
    >>> def square(shared, unit):
    ...     return unit * unit
    >>> with use_execution({"backend": "local", "max_retries": 0}) as cfg:
    ...     cfg.max_retries, run_units(square, [1, 2, 3])  # run_units reads these settings
    (0, [1, 4, 9])
    >>> get_execution().max_retries  # the default again
    3
    """
    cfg = ExecutionConfig.from_value(value)
    token = _current.set(cfg)
    try:
        yield cfg
    finally:
        _current.reset(token)
