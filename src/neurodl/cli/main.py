"""The ``neurodl`` command: a thin argparse layer over library functions.

Each subcommand lives in its own module exposing ``add_parser(subparsers)`` which registers
the parser and sets ``func`` (a callable ``(args) -> int``) as default.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
import warnings
from collections.abc import Sequence

from .. import __version__
from ..exceptions import NeurodlError
from . import config, datasets, deidentify, demo, info, init, models, run

#: Subcommand modules, in the order shown by ``neurodl --help``.
SUBCOMMANDS = (demo, run, init, config, info, datasets, models, deidentify)


class _RedactingFormatter(logging.Formatter):
    """Log lines without absolute machine paths (see :func:`neurodl.privacy.redact_paths`)."""

    def format(self, record: logging.LogRecord) -> str:
        from ..privacy import active_pseudonyms, redact_paths, replace_codes

        return replace_codes(redact_paths(super().format(record)), active_pseudonyms())


#: Errors whose message is written for the user: shown as they are.
_CLEAR = (NeurodlError, FileNotFoundError, PermissionError, IsADirectoryError)


def error_line(err: BaseException) -> str:
    """One line for any error: the message of ours, type and message of anything else."""
    text = str(err).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(err, _CLEAR):
        return first or type(err).__name__
    where = ""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        where = f" in {tb.tb_frame.f_code.co_name}()"
    return (
        f"{type(err).__name__}{where}: {first or '(no message)'} "
        "(run with --debug for the traceback; `neurodl run CONFIG --check` validates a config)"
    )


class _OncePerMessage(logging.Filter):
    """Each warning once per command (the same warning from every fold is one); failed-fit
    warnings are left to the run's summary, which lists them once at the end."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        from ..workflows.fit_checks import _FIT_MESSAGES, message_key

        if record.levelno < logging.WARNING:
            return True
        message = record.getMessage()
        if _FIT_MESSAGES.search(message):
            return False
        key = message_key(message)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurodl",
        description="Deep learning on neural data: decode, model and compare brain signals, "
        "with leakage-safe evaluation and a self-contained HTML report.",
    )
    parser.add_argument("--version", action="version", version=f"neurodl {__version__}")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress (bars or lines), warnings only"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details (INFO level)")
    parser.add_argument(
        "--debug", action="store_true", help="on an error, show the full traceback (for reports)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 success, 1 failure, 2 usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter("%(levelname)s: %(message)s"))
    handler.addFilter(_OncePerMessage())
    log = logging.getLogger("neurodl")
    log.addHandler(handler)
    log.setLevel(logging.INFO if args.verbose else logging.WARNING)
    from .._config import config_context

    # progress: bars on a terminal, one INFO line per fold otherwise, nothing with -q
    show_progress = False if args.quiet else ("bar" if sys.stderr.isatty() else "log")
    progress_log = logging.getLogger("neurodl.progress")
    progress_log.setLevel(logging.INFO if show_progress == "log" else logging.NOTSET)
    settings: dict[str, object] = {"progress": show_progress}
    if getattr(args, "pseudonymise_subjects", False):
        settings["pseudonymise_subjects"] = True
    try:
        with config_context(**settings), warnings.catch_warnings():
            from ..workflows.fit_checks import FailedFitWarning

            warnings.simplefilter("ignore", FailedFitWarning)  # the summary lists them once
            return int(args.func(args))
    except KeyboardInterrupt:
        print("neurodl: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if args.debug:
            traceback.print_exc(file=sys.stderr)
        print(f"neurodl: error: {error_line(err)}", file=sys.stderr)
        return 1
    finally:
        log.removeHandler(handler)
        progress_log.setLevel(logging.NOTSET)


def run_main() -> None:  # pragma: no cover - console entry point
    sys.exit(main())
