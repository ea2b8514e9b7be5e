"""Failed fits caught and shown: one warning per problem, in the CLI, the report and results.

A run can "succeed" with a model that learned nothing: a network that predicts one class, whose
training loss never falls, or whose input is in volts. :func:`failed_fit_warnings` finds these in
a typed result (confusion matrix, learning curves); :func:`collect_warnings` gathers the warnings
the library logs during a run, once per message (the same warning from every fold counts once).
:func:`finish_warnings` puts both into ``result.warnings`` (``results.json["warnings"]``), marks
the saliency map of a collapsed model as not meaningful, and emits each as a
:class:`FailedFitWarning` for Python users who have no logging handler; :func:`flag_report` puts them at the top of the
report.

Examples
--------
>>> failed_fit_warnings({"confusion_matrix": [[23, 0], [22, 0]], "model": "eegnet"})
["'eegnet' predicted one class for every test sample (confusion matrix [[23, 0], [22, 0]]): it learned nothing; its score and saliency are not meaningful."]
"""

from __future__ import annotations

import html
import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "FailedFitWarning",
    "collect_warnings",
    "failed_fit_warnings",
    "finish_warnings",
    "flag_report",
    "message_key",
]


class FailedFitWarning(UserWarning):
    """A model was fitted but learned nothing (one class, flat loss, input scale).

    Examples
    --------
    Emitted by :func:`finish_warnings` in a Python session without a log handler; a
    ``UserWarning``, so the usual filters apply, e.g. to make a failed fit an error:

    >>> import warnings
    >>> issubclass(FailedFitWarning, UserWarning)
    True
    >>> message = failed_fit_warnings({"confusion_matrix": [[20, 0], [20, 0]]})[0]
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", FailedFitWarning)
    ...     try:
    ...         warnings.warn(message, FailedFitWarning)
    ...     except FailedFitWarning as err:
    ...         print(str(err).split(" (")[0])
    'the model' predicted one class for every test sample
    """


#: Messages of failed fits logged during the current run, in order, once each.
_COLLECTED: ContextVar[list[str] | None] = ContextVar("_COLLECTED", default=None)

#: Logged warnings that describe a failed or doubtful fit (others stay log lines only).
_FIT_MESSAGES = re.compile(r"signals in volts|predicted one class|loss did not", re.I)


def message_key(message: str) -> str:
    """A message with its numbers blanked: the same warning from every fold has one key.

    Examples
    --------
    >>> message_key("fold 3: training loss did not fall (0.693 -> 0.69)")
    'fold #: training loss did not fall (# -> #)'
    >>> message_key("fold 1: loss 1.2e-3") == message_key("fold 4: loss 0.5")
    True
    """
    return re.sub(r"[-+]?\d[\d.eE+-]*", "#", message)


class _Collector(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.into = into
        self.keys: set[str] = {message_key(m) for m in into}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        key = message_key(message)
        if _FIT_MESSAGES.search(message) and key not in self.keys:
            self.keys.add(key)
            self.into.append(message)


@contextmanager
def collect_warnings() -> Iterator[list[str]]:
    """Within this block, failed-fit warnings logged by neurodl are kept once each.

    Examples
    --------
    The same warning from three folds is kept once; unrelated warnings are not kept:

    >>> import logging
    >>> log = logging.getLogger("neurodl.demo")
    >>> with collect_warnings() as found:
    ...     for fold in range(3):
    ...         log.warning("fold %d: 'mlp' predicted one class for every sample", fold)
    ...     log.warning("channel Fz is flat")
    >>> found
    ["fold 0: 'mlp' predicted one class for every sample"]
    """
    found: list[str] = []
    token = _COLLECTED.set(found)
    handler = _Collector(found)
    log = logging.getLogger("neurodl")
    log.addHandler(handler)
    try:
        yield found
    finally:
        log.removeHandler(handler)
        _COLLECTED.reset(token)


def _one_class(result: dict[str, Any]) -> str | None:
    cm = result.get("confusion_matrix")
    if not cm:
        return None
    m = np.asarray([[0 if v is None else v for v in row] for row in cm], dtype=float)
    if m.ndim != 2 or m.shape[0] < 2 or (m.sum(axis=1) > 0).sum() < 2:
        return None
    if (m.sum(axis=0) > 0).sum() == 1:
        cm_text = [[int(v) for v in row] for row in m]
        return (
            f"{result.get('model') or 'the model'!r} predicted one class for every test sample "
            f"(confusion matrix {cm_text}): it learned nothing; its score and saliency are not "
            "meaningful."
        )
    return None


def _flat_loss(result: dict[str, Any]) -> str | None:
    curves = result.get("learning_curves") or []
    firsts, lasts = [], []
    for curve in curves:
        loss = [v for v in (curve.get("train_loss") or []) if v is not None and np.isfinite(v)]
        if len(loss) >= 3:
            firsts.append(loss[0])
            lasts.append(min(loss[-3:]))
    if not firsts:
        return None
    flat = [last >= 0.95 * first for first, last in zip(firsts, lasts)]
    if sum(flat) * 2 <= len(flat):
        return None
    return (
        f"The training loss of {result.get('model') or 'the network'!r} did not fall in "
        f"{sum(flat)} of {len(flat)} fits (median first epoch {np.median(firsts):.3g}, last "
        f"{np.median(lasts):.3g}): the network did not learn; try a larger learning rate, more "
        "epochs or standardised input."
    )


def failed_fit_warnings(result: dict[str, Any]) -> list[str]:
    """Warnings about a fit that learned nothing, read from a result dict.

    Parameters
    ----------
    result : dict
        A task result as written to ``results.json`` (``confusion_matrix`` with rows = true
        class, columns = predicted class; ``learning_curves`` with ``train_loss`` per fit).

    Returns
    -------
    list of str
        One sentence per problem: one predicted class, training loss that did not fall.

    Examples
    --------
    >>> flat = {"model": "shallow", "confusion_matrix": [[15, 5], [6, 14]],
    ...         "learning_curves": [{"train_loss": [0.69, 0.70, 0.69, 0.69]}] * 5}
    >>> print(failed_fit_warnings(flat)[0])  # doctest: +NORMALIZE_WHITESPACE
    The training loss of 'shallow' did not fall in 5 of 5 fits (median first epoch 0.69, last
    0.69): the network did not learn; try a larger learning rate, more epochs or standardised
    input.
    >>> learned = {"confusion_matrix": [[15, 5], [6, 14]],
    ...            "learning_curves": [{"train_loss": [0.69, 0.5, 0.4, 0.35]}]}
    >>> failed_fit_warnings(learned)
    []
    """
    return [w for w in (_one_class(result), _flat_loss(result)) if w]


def finish_warnings(result: Any) -> Any:
    """``result`` with its failed-fit and collected warnings in ``warnings`` (each once).

    A collapsed model's saliency map gets ``sanity_verdict = "fail"`` and a description saying
    why. When no logging handler shows neurodl's warnings (a plain Python session), each new
    warning is also emitted as a :class:`FailedFitWarning`.

    Examples
    --------
    >>> import warnings
    >>> from neurodl.workflows.results import TaskResult
    >>> class Result(TaskResult):
    ...     model: str
    ...     confusion_matrix: list[list[int]]
    >>> res = Result(task="decoding", model="eegnet", confusion_matrix=[[23, 0], [22, 0]])
    >>> with warnings.catch_warnings(record=True):  # warned too when no log handler is set
    ...     res = finish_warnings(res)
    >>> len(res.warnings), res.warnings[0][:45]
    (1, "'eegnet' predicted one class for every test s")
    >>> with warnings.catch_warnings(record=True):
    ...     len(finish_warnings(res).warnings)  # each once
    1
    """
    data = result.to_dict()
    found = failed_fit_warnings(data)
    messages = list(data.get("warnings") or [])
    keys = {message_key(m) for m in messages}
    for m in [*(_COLLECTED.get() or []), *found]:
        if message_key(m) not in keys:
            keys.add(message_key(m))
            messages.append(m)
    update: dict[str, Any] = {"warnings": messages}
    sal = getattr(result, "saliency", None)
    if sal is not None and _one_class(data):
        update["saliency"] = sal.model_copy(
            update={
                "sanity_verdict": "fail",
                "description": "Not meaningful: the model predicted one class. " + sal.description,
            }
        )
    if not _logged_somewhere():  # nobody reads neurodl's log: tell Python users directly
        for m in [m for m in messages if m not in (data.get("warnings") or [])]:
            warnings.warn(m, FailedFitWarning, stacklevel=2)
    return result.model_copy(update=update)


def _logged_somewhere() -> bool:
    """Whether a handler other than a NullHandler receives neurodl's warnings (the CLI's, an
    application's, pytest's capture): then the warnings are shown there, not warned twice."""
    log: logging.Logger | None = logging.getLogger("neurodl")
    while log is not None:
        if any(
            not isinstance(h, logging.NullHandler | _Collector) and h.level <= logging.WARNING
            for h in log.handlers
        ):
            return True
        if not log.propagate:
            return False
        log = log.parent
    return False


_FLAG_STYLE = (
    "border:2px solid #b00020;background:#fdecea;color:#5f0010;border-radius:6px;"
    "padding:12px 16px;margin:16px 40px 0;font-weight:600"
)


def flag_report(path: Path, messages: list[str]) -> None:
    """Put a red flag listing ``messages`` at the top of the report at ``path`` (if any).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     report = Path(tmp) / "report.html"
    ...     _ = report.write_text("<html><body><header>Run</header><p>score</p></body></html>")
    ...     flag_report(report, ["'eegnet' predicted one class <always>"])
    ...     flag_report(report, ["again"])  # flagged once only
    ...     text = report.read_text()
    >>> text.count('id="failed-fit-flag"'), text.index("failed-fit-flag") < text.index("score")
    (1, True)
    >>> "predicted one class &lt;always&gt;" in text  # messages are HTML-escaped
    True
    """
    if not messages or not path.is_file():
        return
    text = path.read_text()
    if 'id="failed-fit-flag"' in text:
        return
    items = "".join(f"<li>{html.escape(m)}</li>" for m in messages)
    flag = (
        f'<div id="failed-fit-flag" class="flag" role="alert" style="{_FLAG_STYLE}">'
        f"<p style='margin:0 0 6px'>Warning: this result may not mean what it seems.</p>"
        f"<ul style='margin:0;font-weight:400'>{items}</ul></div>"
    )
    marker = "</header>"
    at = text.find(marker)
    if at < 0:
        at = text.find("<body>")
        marker = "<body>"
    if at < 0:
        return
    at += len(marker)
    path.write_text(text[:at] + flag + text[at:])
