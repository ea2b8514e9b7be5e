"""Provenance record of an evaluation: what ran, on which data, with which software."""

from __future__ import annotations

import datetime as _dt
import platform
from importlib import metadata
from typing import Any

from ._json import to_jsonable
from .protocols import Protocol

__all__ = ["PROVENANCE_PACKAGES", "library_versions", "provenance"]

#: Distributions whose versions are recorded (None when not installed).
PROVENANCE_PACKAGES = ("numpy", "scipy", "scikit-learn", "torch", "mne", "pandas", "neurodl")


def library_versions() -> dict[str, str | None]:
    """Return the versions of Python and :data:`PROVENANCE_PACKAGES`.

    Versions are read from the installed distributions' metadata, so heavy packages such as
    torch are not imported; a package that is not installed maps to None.

    Examples
    --------
    >>> versions = library_versions()
    >>> "python" in versions, "numpy" in versions
    (True, True)
    """
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PROVENANCE_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    if out.get("neurodl") is None:
        from .. import __version__

        out["neurodl"] = __version__
    return out


def provenance(
    *,
    protocol: str | Protocol | dict[str, Any] | None = None,
    seed: int | None = None,
    data_hash: str | None = None,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a JSON-safe provenance record for a result.

    Parameters
    ----------
    protocol : str or Protocol or dict or None
        The evaluation protocol (a Protocol is stored with its parameters).
    seed : int or None
        The seed used.
    data_hash : str or None
        Identity of the data, e.g. :meth:`neurodl.data.EpochsDataset.data_hash`.
    config : dict or None
        Any further settings (stored after conversion to JSON types).

    Returns
    -------
    record : dict
        Keys ``protocol``, ``seed``, ``data_hash``, ``config``, ``versions`` (python, numpy,
        scipy, scikit-learn, torch, mne, pandas, neurodl), ``platform`` (system, release,
        machine, python implementation; no paths, user or host names: results leave the
        machine) and ``timestamp`` (UTC, ISO 8601).

    Examples
    --------
    >>> rec = provenance(protocol="leave-one-subject-out", seed=0)
    >>> sorted(rec)[:4], rec["versions"]["python"] == platform.python_version()
    (['config', 'data_hash', 'platform', 'protocol'], True)
    """
    proto: Any = protocol.to_dict() if isinstance(protocol, Protocol) else protocol
    return {
        "protocol": to_jsonable(proto),
        "seed": None if seed is None else int(seed),
        "data_hash": data_hash,
        "config": to_jsonable(config or {}),
        "versions": library_versions(),
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "python_implementation": platform.python_implementation(),
        },
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
