"""``neurodl run CONFIG --check``: read the data and refuse what would fail or mislead later.

:func:`check_samples` loads the labelled samples of a decoding-like task (no model is fitted)
and checks what only the data can tell: labels present and of at least two values, labels a
classification metric can score (not continuous floats), the protocol's metadata columns
present, and every training fold holding at least two classes. It returns a short summary of
the data and the folds for the CLI. For ``latents`` it loads the population and checks the
held-out neurons and forward bins against it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from ..exceptions import ConfigError, DataFormatError
from .config import RunConfig

__all__ = ["SAMPLE_TASKS", "check_samples"]

#: Tasks whose data are labelled samples cut by ``data`` (checked by :func:`check_samples`).
SAMPLE_TASKS = frozenset({"decoding", "time_resolved"})


def _class_counts(ds: Any) -> dict[str, int]:
    y = np.asarray(ds.y)
    counts = Counter(y.tolist())
    names = ds.classes
    out = {}
    for value, n in sorted(counts.items(), key=lambda kv: str(kv[0])):
        key = value
        if names is not None and isinstance(value, int) and 0 <= value < len(names):
            key = names[value]
        out[str(key)] = int(n)
    return out


def _check_labels(ds: Any, metric: str, name: str) -> None:
    from ..evaluation import get_metric

    y = np.asarray(ds.y)
    if get_metric(metric).task != "classification" or y.ndim != 1:
        return
    if y.dtype.kind == "f":
        finite = y[np.isfinite(y)]
        if len(finite) < len(y) or np.any(np.mod(finite, 1) != 0):
            example = next((v for v in y.tolist() if not float(v).is_integer()), y[0])
            raise DataFormatError(
                f"The labels of {name} are continuous numbers (e.g. {example!r}), but metric "
                f"{metric!r} scores classes. Use integer or text class labels, or a regression "
                "metric (evaluation.metric: r2 or pearson)."
            )


def check_samples(cfg: RunConfig) -> list[str]:
    """Load ``cfg``'s samples and check labels and folds; return summary lines.

    Returns
    -------
    list of str
        What was found (samples, classes, shape, folds); for ``latents``, the population and
        its held-out split (:func:`neurodl.workflows.tasks.latents.check_latents`); empty for
        other tasks that do not decode labelled samples (their data are read at run time).

    Raises
    ------
    DataFormatError or ConfigError
        No or single-valued labels, continuous labels under a classification metric, a
        protocol column the metadata lack, a training fold with one class; for ``latents``, an
        ``options.heldout_fraction`` leaving no held-in neuron.

    Examples
    --------
    >>> from neurodl.workflows import parse_config
    >>> data = {"source": "simulate", "simulator": "motor_imagery",
    ...         "params": {"n_subjects": 2, "n_sessions": 2, "n_trials": 20, "n_channels": 4}}
    >>> cfg = parse_config({"data": data, "evaluation": {"protocol": "cross-session"}})
    >>> for line in check_samples(cfg):
    ...     print(line)
    data: simulated:motor_imagery: 80 samples of shape 4 x 256
    labels: 2 values (left_hand: 40, right_hand: 40)
    protocol cross-session: 4 folds
    >>> one_session = {**data, "params": {**data["params"], "n_sessions": 1}}
    >>> cfg = parse_config({"data": one_session, "evaluation": {"protocol": "cross-session"}})
    >>> try:  # caught before any model is fitted
    ...     check_samples(cfg)
    ... except ValueError as err:  # a ConfigError
    ...     print(str(err).split(": ", 1)[1])
    cross-session needs at least 2 sessions within one subject; found sessions per subject: \
{'01': 1, '02': 1}.
    """
    from ..evaluation import get_protocol
    from .data import load_samples

    if cfg.task == "latents" and cfg.data is not None:
        from .tasks.latents import check_latents

        return check_latents(cfg)  # held-out neurons and forward bins against the data
    if cfg.task not in SAMPLE_TASKS or cfg.data is None:
        return []
    ev = cfg.evaluation
    ds, name = load_samples(cfg.data, seed=cfg.seed)
    _check_labels(ds, ev.metric, name)
    counts = _class_counts(ds)
    shape = " x ".join(str(n) for n in ds.X.shape[1:])
    lines = [f"data: {name}: {ds.n_samples} samples of shape {shape}"]
    if len(counts) <= 20:
        lines.append(
            f"labels: {len(counts)} values ({', '.join(f'{k}: {v}' for k, v in counts.items())})"
        )
    if ev.protocol == "cross-dataset":
        return lines
    protocol = get_protocol(ev.protocol, **ev.protocol_params)
    try:
        splits = protocol.splits(ds)
    except (ValueError, KeyError) as err:
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(
            f"Invalid value at 'evaluation.protocol_params' for protocol {ev.protocol!r} on "
            f"{name}: {msg}"
        ) from None
    from ..evaluation import get_metric

    if get_metric(ev.metric).task == "classification":
        y = np.asarray(ds.y)
        for k, (train, _, block) in enumerate(splits):
            present = np.unique(y[train])
            if len(present) < 2:
                raise DataFormatError(
                    f"Training fold {k + 1} ({block}) of protocol {ev.protocol!r} holds one class "
                    f"only ({present.tolist()}): a classifier cannot be fitted. Choose a protocol "
                    "whose folds mix the classes (e.g. within-session or grouped-kfold)."
                )
    lines.append(f"protocol {ev.protocol}: {len(splits)} folds")
    return lines
