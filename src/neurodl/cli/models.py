"""``neurodl models``: list every registered model with its size for a stated input shape."""

from __future__ import annotations

import argparse
from typing import Any

from ..exceptions import NeurodlError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list the registered networks with parameter counts and minimum input length",
        description="List every registered model with its number of trainable parameters and "
        "minimum n_times for inputs of shape (batch, n_chans, n_times).",
    )
    p.add_argument("--n-chans", type=int, default=22, help="input channels (default: 22)")
    p.add_argument("--n-times", type=int, default=1125, help="input samples (default: 1125)")
    p.add_argument("--n-outputs", type=int, default=4, help="outputs/classes (default: 4)")
    p.add_argument("--sfreq", type=float, default=250.0, help="sampling rate, Hz (default: 250)")
    p.set_defaults(func=run_models)


def model_table(
    n_chans: int, n_times: int, n_outputs: int, sfreq: float | None
) -> list[dict[str, Any]]:
    """One row per registered model: name, class, n_params (None if too short), min_n_times, note."""
    from ..models import build_model, count_parameters, get_model_class, list_models

    rows = []
    for name in list_models():
        cls = get_model_class(name)
        min_fn = getattr(cls, "min_n_times", None)
        minimum = int(min_fn(sfreq=sfreq)) if min_fn is not None else 1
        row: dict[str, Any] = {"name": name, "class": cls.__name__, "min_n_times": minimum}
        if getattr(cls, "square_input", False) and n_chans != n_times:
            row.update(n_params=None, note="square input only")  # e.g. connectivity matrices
            rows.append(row)
            continue
        try:
            net = build_model(
                name, n_chans=n_chans, n_times=n_times, n_outputs=n_outputs, sfreq=sfreq
            )
            row.update(n_params=count_parameters(net), note="")
        except NeurodlError as err:
            row.update(n_params=None, note=str(err).split(";")[0])
        rows.append(row)
    return rows


def run_models(args: argparse.Namespace) -> int:
    """Print the table of :func:`model_table` for the shape given on the command line."""
    from ..models._layers import check_positive_int

    for flag, value in (
        ("--n-chans", args.n_chans),
        ("--n-times", args.n_times),
        ("--n-outputs", args.n_outputs),
    ):
        check_positive_int(flag, value)
    rows = model_table(args.n_chans, args.n_times, args.n_outputs, args.sfreq)
    print(
        f"Models for inputs (batch, {args.n_chans}, {args.n_times}), {args.n_outputs} outputs, "
        f"sfreq {args.sfreq:g} Hz:"
    )
    width = max(len(r["name"]) for r in rows)
    print(f"{'name':<{width}}  {'class':<16}  {'parameters':>10}  {'min n_times':>11}")
    for r in rows:
        if r["n_params"] is not None:
            params = f"{r['n_params']:,}"
        else:
            params = "square only" if r["note"] == "square input only" else "too short"
        print(f"{r['name']:<{width}}  {r['class']:<16}  {params:>10}  {r['min_n_times']:>11}")
    return 0
