"""``neurodl config schema [--task T]``: every config key with type, default and meaning."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "config",
        help="describe the config file: every key with type, default and meaning",
        description="Describe the YAML config of `neurodl run`.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    q = actions.add_parser(
        "schema",
        help="every key with type, default and meaning (also reader, sampler, step parameters)",
        description="Print every config key with its type, default and meaning: the common "
        "sections, each task's options, and the parameters of simulators, file readers, dataset "
        "loaders, samplers and preprocessing steps (from their signatures and docstrings).",
    )
    q.add_argument("--task", default=None, help="only this task's sections and options")
    q.set_defaults(func=run_schema)

    def _usage(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=_usage)


def run_schema(args: argparse.Namespace) -> int:
    """Print :func:`neurodl.workflows.schema.schema_text`."""
    from ..workflows.schema import schema_text

    print(schema_text(args.task), end="")
    return 0
