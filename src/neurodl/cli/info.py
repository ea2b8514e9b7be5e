"""``neurodl info PATH``: read any supported file and print a human summary."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path
from typing import Any

from .._logging import logger
from ..exceptions import ConfigError, DataFormatError, NeurodlError

#: Errors a reader may let through on a corrupt file; shown as one line, never a traceback.
_READ_ERRORS = (ValueError, OSError, EOFError, KeyError, IndexError, TypeError, RuntimeError)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="summarise a recording, volume, spike or array file",
        description="Read a file (EDF, BDF, GDF, BrainVision, EEGLAB, FIF, epochs -epo.fif, NIfTI, "
        "MGH/MGZ, Analyze .hdr/.img, NWB, MAT, NPY, NPZ, CSV...) or a suite2p/BIDS folder and "
        "print its channels, rate, duration and labels; for an annotation-only EDF+ (a sleep "
        "hypnogram) the count and total duration of each label; for epochs the event counts, "
        "tmin and tmax.",
    )
    p.add_argument("path", type=Path, help="file or folder to read")
    p.add_argument(
        "--sfreq",
        type=float,
        default=None,
        help="sampling rate in Hz, for formats that do not store it (plain arrays, suite2p)",
    )
    p.set_defaults(func=run_info)


#: reader name -> name of its sampling-rate argument, when not ``sfreq``.
_RATE_ARGUMENT: dict[str, str] = {"read_suite2p": "fs"}


def _rate_kwargs(path: Path, sfreq: float) -> dict[str, Any]:
    """Return ``{name: sfreq}`` for the reader of ``path``; refuse readers without a rate argument."""
    from ..io import _resolve
    from ..io._summary import format_name

    reader = _resolve(path)
    name = _RATE_ARGUMENT.get(reader.__name__, "sfreq")
    if name not in inspect.signature(reader).parameters:
        raise ConfigError(
            f"--sfreq is not used for {format_name(path)} files: their sampling rate is stored in "
            f"the file (got --sfreq {sfreq:g})."
        )
    return {name: sfreq}


def run_info(args: argparse.Namespace) -> int:
    """Read ``args.path`` with :func:`neurodl.io.read` and print :func:`describe` of it."""
    from ..io import read
    from ..io._summary import describe
    from ..io.eeg import is_annotation_only, read_annotations

    kwargs: dict[str, Any] = {}
    if args.sfreq is not None and args.path.exists():
        kwargs = _rate_kwargs(args.path, args.sfreq)
    try:
        if is_annotation_only(args.path):  # a hypnogram: read() refuses it as a recording
            obj = read_annotations(args.path)
        else:
            obj = read(args.path, **kwargs)
    except NeurodlError:
        raise
    except _READ_ERRORS as err:
        logger.debug("Reading %s failed", args.path, exc_info=True)
        detail = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise DataFormatError(
            f"{args.path}: cannot be read ({type(err).__name__}{': ' + detail if detail else ''})."
        ) from err
    print(describe(obj, args.path))
    return 0
