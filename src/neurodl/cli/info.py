"""`neurodl info` (placeholder registration; implemented in its issue)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="(not yet available)")
    p.set_defaults(func=lambda args: 1)
