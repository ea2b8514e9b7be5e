"""The ``neurodl`` command: a thin argparse layer over library functions.

Each subcommand lives in its own module exposing ``add_parser(subparsers)`` which registers
the parser and sets ``func`` (a callable ``(args) -> int``) as default.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .. import __version__
from ..exceptions import NeurodlError
from . import datasets, demo, info, models, run

#: Subcommand modules, in the order shown by ``neurodl --help``.
SUBCOMMANDS = (demo, run, info, datasets, models)


class _RedactingFormatter(logging.Formatter):
    """Log lines without absolute machine paths (see :func:`neurodl.privacy.redact_paths`)."""

    def format(self, record: logging.LogRecord) -> str:
        from ..privacy import active_pseudonyms, redact_paths, replace_codes

        return replace_codes(redact_paths(super().format(record)), active_pseudonyms())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurodl",
        description="Deep learning on neural data: decode, model and compare brain signals, "
        "with leakage-safe evaluation and a self-contained HTML report.",
    )
    parser.add_argument("--version", action="version", version=f"neurodl {__version__}")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars, warnings only"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details (INFO level)")
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
    log = logging.getLogger("neurodl")
    log.addHandler(handler)
    log.setLevel(logging.INFO if args.verbose else logging.WARNING)
    from .._config import config_context

    show_progress = not args.quiet and sys.stderr.isatty()
    settings: dict[str, object] = {"progress": show_progress}
    if getattr(args, "pseudonymise_subjects", False):
        settings["pseudonymise_subjects"] = True
    try:
        with config_context(**settings):
            return int(args.func(args))
    except (NeurodlError, FileNotFoundError, PermissionError, IsADirectoryError) as err:
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"neurodl: error: {msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("neurodl: interrupted", file=sys.stderr)
        return 130
    finally:
        log.removeHandler(handler)


def run_main() -> None:  # pragma: no cover - console entry point
    sys.exit(main())
