"""Check a config's parameter mapping against the signature of the function it is passed to.

The ``data`` section hands ``params`` to a simulator, a dataset loader or a file reader, and
``to_samples`` to a sampler. :func:`check_params` validates such a mapping before anything runs:
unknown names (with the allowed names and the closest one), missing required parameters, and
values that do not fit the parameter's type hint (checked with pydantic in lax mode, so ``1``
fits ``float`` and a YAML list fits a tuple). :func:`describe_params` lists a callable's
parameters with type, default and the meaning from its numpydoc docstring
(``neurodl config schema``).

Examples
--------
>>> def reader(path, *, tr: float | None = None, run: str | None = None):
...     '''Read.'''
>>> check_params(reader, {"tr": 2.0}, where="data.params", skip=1)
>>> check_params(reader, {"TR": 2.0}, where="data.params", skip=1)
Traceback (most recent call last):
...
neurodl.exceptions.ConfigError: Invalid parameter 'TR' at 'data.params' for reader(). Did you mean 'tr'? Allowed: 'tr', 'run'.
"""

from __future__ import annotations

import difflib
import inspect
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..exceptions import ConfigError

__all__ = ["ParamDoc", "check_params", "describe_params"]


@dataclass(frozen=True)
class ParamDoc:
    """One parameter of a callable: name, type (as written), default and meaning.

    Examples
    --------
    One row of ``neurodl config schema``, made by :func:`describe_params`:

    >>> from neurodl.data.simulate import simulate_motor_imagery
    >>> row = describe_params(simulate_motor_imagery)[0]
    >>> row.name, row.type, row.default, row.required
    ('n_subjects', 'int', '4', False)
    >>> row.meaning
    'Simulated subjects, each with its own rhythms, sources and effect strength.'
    """

    name: str
    type: str
    default: str
    required: bool
    meaning: str


def _accepted(func: Callable[..., Any], skip: int) -> tuple[list[inspect.Parameter], bool]:
    """Parameters that can be given by name (after the first ``skip``), and whether ``**kw``."""
    params = list(inspect.signature(func).parameters.values())[skip:]
    named = [p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return named, any(p.kind is p.VAR_KEYWORD for p in params)


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    """Resolved type hints of ``func`` by parameter; those that cannot be resolved are left out."""
    try:
        return typing.get_type_hints(func)
    except Exception:  # hints naming TYPE_CHECKING-only imports: check per name
        pass
    out: dict[str, Any] = {}
    namespace = dict(getattr(func, "__globals__", {}))
    for name, ann in getattr(func, "__annotations__", {}).items():

        def shim() -> None: ...

        shim.__annotations__ = {"value": ann}
        try:
            out[name] = typing.get_type_hints(shim, globalns=namespace)["value"]
        except Exception:  # an unresolvable hint is simply not type-checked
            continue
    return out


def _type_error(hint: Any, value: Any) -> str | None:
    """The pydantic message when ``value`` does not fit ``hint`` (None when it fits)."""
    from pydantic import ConfigDict, TypeAdapter, ValidationError

    try:
        adapter = TypeAdapter(hint, config=ConfigDict(arbitrary_types_allowed=True))
    except Exception:  # a hint pydantic cannot build a validator for: skip
        return None
    try:
        adapter.validate_python(value)
    except ValidationError as err:
        first = err.errors()[0]
        return str(first["msg"])
    except Exception:  # validators of exotic types: not a config error
        return None
    return None


def _label(func: Callable[..., Any], what: str | None) -> str:
    return what or f"{getattr(func, '__name__', 'callable')}()"


def check_params(
    func: Callable[..., Any],
    params: dict[str, Any],
    *,
    where: str,
    skip: int = 0,
    provided: Iterable[str] = (),
    what: str | None = None,
) -> None:
    """Raise :class:`ConfigError` unless ``func(*first_skip_args, **params)`` would bind.

    Parameters
    ----------
    func : callable
        The function the mapping is passed to.
    params : dict
        The config's mapping of parameter names to values.
    where : str
        Dotted config path of the mapping, used in messages (``"data.params"``).
    skip : int, default=0
        Leading parameters the caller fills (e.g. the path of a reader).
    provided : iterable of str
        Parameters the caller passes itself (e.g. ``seed`` of a simulator): not required in
        ``params``.
    what : str or None
        How to name ``func`` in messages (default ``name()``).

    Examples
    --------
    The ``data.params`` of a config, checked against the simulator they are passed to (the
    run passes ``seed`` itself):

    >>> from neurodl.data.simulate import simulate_motor_imagery
    >>> check_params(simulate_motor_imagery, {"n_subjects": 2, "sfreq": 250},
    ...              where="data.params", provided={"seed"})
    >>> for bad in ({"n_subject": 2}, {"n_trials": "forty"}):
    ...     try:
    ...         check_params(simulate_motor_imagery, bad, where="data.params")
    ...     except ValueError as err:  # a ConfigError
    ...         print(str(err).split(" Allowed")[0])
    Invalid parameter 'n_subject' at 'data.params' for simulate_motor_imagery(). \
Did you mean 'n_subjects'?
    Invalid value for 'n_trials' at 'data.params' (simulate_motor_imagery()): Input should be \
a valid integer, unable to parse string as an integer; expected int; got 'forty'.
    """
    named, var_kw = _accepted(func, skip)
    allowed = [p.name for p in named]
    label = _label(func, what)
    if not isinstance(params, dict):
        raise ConfigError(
            f"Invalid value at {where!r}: a mapping of parameter names for {label} was "
            f"expected; got {params!r}."
        )
    if not var_kw:
        for key in params:
            if key not in allowed:
                lower = {a.lower(): a for a in allowed}  # 'TR' -> 'tr': case first
                close = [lower[str(key).lower()]] if str(key).lower() in lower else []
                close = close or difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ConfigError(
                    f"Invalid parameter {key!r} at {where!r} for {label}.{hint} Allowed: "
                    f"{', '.join(map(repr, allowed)) or 'none'}."
                )
    given = set(params) | set(provided)
    missing = [
        p.name for p in named if p.default is inspect.Parameter.empty and p.name not in given
    ]
    if missing:
        raise ConfigError(
            f"Missing required parameter(s) {', '.join(map(repr, missing))} at {where!r} for "
            f"{label}. Allowed: {', '.join(map(repr, allowed))}."
        )
    hints = _hints(func)
    for key, value in params.items():
        if key not in hints:
            continue
        problem = _type_error(hints[key], value)
        if problem is not None:
            raise ConfigError(
                f"Invalid value for {key!r} at {where!r} ({label}): {problem}; expected "
                f"{_type_text(named, key)}; got {value!r}."
            )


def _type_text(named: list[inspect.Parameter], key: str) -> str:
    for p in named:
        if p.name == key and p.annotation is not inspect.Parameter.empty:
            ann = p.annotation
            return ann if isinstance(ann, str) else getattr(ann, "__name__", str(ann))
    return "?"


def _owner_class(func: Callable[..., Any]) -> type | None:
    """The class whose ``__init__`` ``func`` is (None for other callables)."""
    if getattr(func, "__name__", "") != "__init__":
        return None
    import sys

    owner: Any = sys.modules.get(getattr(func, "__module__", ""))
    for part in getattr(func, "__qualname__", "").split(".")[:-1]:
        owner = getattr(owner, part, None)
    return owner if isinstance(owner, type) else None


def _numpydoc_meanings(func: Callable[..., Any]) -> dict[str, tuple[str, str]]:
    """``name -> (type line, description)`` from ``func``'s numpydoc Parameters section.

    For a class's ``__init__`` the class docstring's Parameters come first (the numpydoc
    convention documents a constructor there); ``__init__``'s own docstring adds to them.
    """
    try:
        from numpydoc.docscrape import FunctionDoc
    except ImportError:  # the docs extra is not installed: no meanings, names and types only
        return {}
    owner = _owner_class(func)
    docs = [inspect.getdoc(owner) or ""] if owner is not None else []
    own = func.__doc__ if owner is not None else inspect.getdoc(func)
    docs.append(inspect.cleandoc(own or ""))
    out: dict[str, tuple[str, str]] = {}
    for doc in docs:
        if not doc:
            continue
        try:
            parsed = FunctionDoc(func, doc=doc)
        except Exception:  # a malformed docstring gives no meanings, not an error
            continue
        for p in parsed["Parameters"]:
            text = " ".join(" ".join(p.desc).split())
            for name in p.name.split(","):
                if text or name.strip() not in out:
                    out[name.strip()] = (p.type, text)
    return out


def describe_params(func: Callable[..., Any], *, skip: int = 0) -> list[ParamDoc]:
    """Each parameter of ``func`` (after ``skip``) with type, default and numpydoc meaning.

    Examples
    --------
    >>> def bandpass(rec, l_freq: float, h_freq: float = 40.0):
    ...     '''Filter.
    ...
    ...     Parameters
    ...     ----------
    ...     rec : Recording
    ...     l_freq : float
    ...         Lower edge (Hz).
    ...     h_freq : float
    ...         Upper edge (Hz).
    ...     '''
    >>> for row in describe_params(bandpass, skip=1):  # skip the recording the caller passes
    ...     print(row.name, row.type, row.default, row.required, row.meaning, sep=" | ")
    l_freq | float | (required) | True | Lower edge (Hz).
    h_freq | float | 40.0 | False | Upper edge (Hz).
    """
    named, _ = _accepted(func, skip)
    docs = _numpydoc_meanings(func)
    rows = []
    for p in named:
        type_line, meaning = docs.get(p.name, ("", ""))
        ann = p.annotation
        if ann is inspect.Parameter.empty:
            typ = type_line or "any"
        else:
            typ = ann if isinstance(ann, str) else getattr(ann, "__name__", str(ann))
        required = p.default is inspect.Parameter.empty
        rows.append(
            ParamDoc(
                name=p.name,
                type=str(typ),
                default="(required)" if required else repr(p.default),
                required=required,
                meaning=meaning,
            )
        )
    return rows
