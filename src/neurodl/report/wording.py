"""How reports name things: metrics in words, the floor of a permutation p-value, axis units.

Reports show ``balanced accuracy``, not the config key ``balanced_accuracy``; a permutation p equal
to ``1/(n+1)`` says that it is the smallest value ``n`` permutations can give; an amplitude axis
names its unit.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["amplitude_label", "column_label", "metric_label", "permutation_p_note"]

# Config keys whose words are not just the key with spaces.
_METRIC_WORDS = {
    "roc_auc": "ROC AUC",
    "roc_auc_ovr": "ROC AUC (one vs rest)",
    "auc": "AUC",
    "r2": "R²",
    "f1": "F1",
    "f1_macro": "F1 (macro)",
    "mse": "mean squared error",
    "mae": "mean absolute error",
    "rmse": "root mean squared error",
    "neg_mean_squared_error": "negative mean squared error",
    "pearson_r": "Pearson r",
    "pearsonr": "Pearson r",
    "spearman_r": "Spearman r",
    "spearmanr": "Spearman r",
    "mcc": "Matthews correlation",
    "kappa": "Cohen's kappa",
}


def metric_label(name: Any) -> str:
    """The metric ``name`` (a config key such as ``"balanced_accuracy"``) in words.

    Parameters
    ----------
    name : str
        Metric key as in the config or ``results.json``.

    Returns
    -------
    str
        e.g. ``"balanced accuracy"``, ``"ROC AUC"``, ``"R²"``; unknown keys with ``_`` as spaces.

    >>> metric_label("balanced_accuracy"), metric_label("roc_auc"), metric_label("r2")
    ('balanced accuracy', 'ROC AUC', 'R²')
    """
    key = str(name).strip()
    return _METRIC_WORDS.get(key.lower(), key.replace("_", " "))


# Suffixes of result keys that carry a unit or a rate.
_SUFFIXES = (("_per_24h", " per 24 h"), ("_s", " (s)"), ("_ms", " (ms)"), ("_hz", " (Hz)"))


def column_label(key: Any) -> str:
    """A results key used as a table column, in words: metric names, units, rates.

    Parameters
    ----------
    key : str
        A key of ``results.json`` (``"fa_per_24h"``, ``"latency_s"``, ``"roc_auc"``).

    Returns
    -------
    str

    Examples
    --------
    >>> [column_label(k) for k in ("fa_per_24h", "latency_s", "roc_auc", "n_events", "subject")]
    ['false alarms per 24 h', 'latency (s)', 'ROC AUC', 'n events', 'subject']
    """
    text = str(key).strip()
    if text.lower() in _METRIC_WORDS:
        return _METRIC_WORDS[text.lower()]
    for suffix, words in _SUFFIXES:
        if text.lower().endswith(suffix) and len(text) > len(suffix):
            stem = text[: -len(suffix)]
            stem = "false alarms" if stem.lower() == "fa" else column_label(stem)
            return stem + words
    return text.replace("_", " ")


def permutation_p_note(p_value: Any, n_permutations: Any) -> str:
    """A note when ``p_value`` is ``1/(n+1)``, the smallest ``n_permutations`` permutations give.

    Parameters
    ----------
    p_value : float or None
        The permutation p-value (``(1 + #{null >= observed}) / (n + 1)``).
    n_permutations : int or None
        Number of permutations run.

    Returns
    -------
    str
        ``"p = 1/(n+1): the smallest possible with n permutations; use more for a finer p"`` with
        ``n`` filled in, or ``""`` when ``p`` is above that floor (or either value is missing).

    >>> permutation_p_note(1 / 101, 100)
    'p = 1/(100+1): the smallest possible with 100 permutations; use more for a finer p'
    >>> permutation_p_note(0.3, 100)
    ''
    """
    if p_value is None or n_permutations is None:
        return ""
    try:
        p, n = float(p_value), int(n_permutations)
    except (TypeError, ValueError):
        return ""
    if n < 1 or not math.isfinite(p) or not math.isclose(p, 1.0 / (n + 1), rel_tol=1e-6):
        return ""
    return f"p = 1/({n}+1): the smallest possible with {n} permutations; use more for a finer p"


def amplitude_label(unit: Any) -> str:
    """The y-axis label of a signal's amplitude, with its unit when known.

    Parameters
    ----------
    unit : str or None
        The data's unit (``"V"``, ``"µV"``, ``"a.u."``, ``"z-score"``...); None when unknown.

    Returns
    -------
    str
        ``"amplitude (V)"``, or ``"amplitude (unit unknown)"``.

    >>> amplitude_label("V"), amplitude_label(None)
    ('amplitude (V)', 'amplitude (unit unknown)')
    """
    text = "" if unit is None else str(unit).strip()
    return f"amplitude ({text or 'unit unknown'})"
