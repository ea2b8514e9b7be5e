"""Keep machine paths out of what leaves the machine (results, reports, logs).

:func:`redact_paths` rewrites every absolute path found in a string (or in the strings of a
nested dict/list) to a path relative to the working folder when it lies below it, else to
``.../<file name>``: the file stays recognisable, the machine's folder layout (user names, mount
points, project folders) does not leave.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

__all__ = ["redact_paths"]

#: An absolute POSIX path (``/a/b``, at least two components) or a Windows drive path. Not
#: preceded by a word character, ``.``, ``:`` or ``/`` (so ``../x``, ``a/b`` and URLs stay).
_ABSOLUTE = re.compile(
    r"(?<![\w.:/~-])(?:/(?:[^\s\"'`<>|:;,()\[\]{}/]+/)+[^\s\"'`<>|:;,()\[\]{}/]*"
    r"|[A-Za-z]:\\(?:[^\s\"'`<>|:;,()\[\]{}\\]+\\)*[^\s\"'`<>|:;,()\[\]{}\\]*)"
)


def _redact_one(match: re.Match[str], cwd: str) -> str:
    text = match.group(0)
    if cwd and (text == cwd or text.startswith(cwd + os.sep)):
        return os.path.relpath(text, cwd)
    name = re.split(r"[\\/]", text.rstrip("/\\"))[-1]
    return f".../{name}" if name else "..."


def redact_paths(obj: Any, *, cwd: str | os.PathLike[str] | None = None) -> Any:
    """Return ``obj`` with every absolute path in its strings redacted.

    Parameters
    ----------
    obj : str, dict, list, tuple or any
        Strings are rewritten; dicts (keys and values), lists and tuples are walked; anything
        else is returned as is.
    cwd : path, optional
        Paths below this folder become relative to it (default: the working folder).

    Returns
    -------
    The same structure with absolute paths replaced by relative ones or ``.../<name>``.

    Examples
    --------
    >>> redact_paths("read /home/jane/study/sub-01.edf", cwd="/tmp")
    'read .../sub-01.edf'
    >>> redact_paths({"path": "/tmp/x/data.npy"}, cwd="/tmp")
    {'path': 'x/data.npy'}
    """
    base = str(Path(cwd) if cwd is not None else Path.cwd())
    if isinstance(obj, str):
        return _ABSOLUTE.sub(lambda m: _redact_one(m, base), obj)
    if isinstance(obj, dict):
        return {redact_paths(k, cwd=base): redact_paths(v, cwd=base) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact_paths(v, cwd=base) for v in obj]
    if isinstance(obj, tuple):
        return tuple(redact_paths(v, cwd=base) for v in obj)
    return obj
