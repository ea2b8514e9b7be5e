"""`neurodl run` (placeholder registration; implemented in its issue)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="(not yet available)")
    p.set_defaults(func=lambda args: 1)
