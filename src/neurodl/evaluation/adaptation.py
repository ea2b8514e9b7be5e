"""Unsupervised adaptation of a dataset before evaluation, refused unless allowed, and recorded.

Each step computes statistics on the unlabelled samples of every group (``by``: a subject, a
recording, a dataset, any metadata column) and transforms that group's samples with them
(:mod:`neurodl.preprocessing.adaptation`). Labels are never used. A test subject adapted on its
own windows has lent its unlabelled data to the evaluation, so every step needs
``unlabelled_test_data=True`` (the config's ``evaluation.unlabelled_test_data``), and the
record returned by :func:`adapt_dataset` says which data were used.

==========================  =======================================================
step (``name``)             what
==========================  =======================================================
``euclidean_alignment``     :func:`~neurodl.preprocessing.adaptation.align_signals`
                            ``method="euclidean"`` (He & Wu 2019)
``riemannian_recentring``   :func:`~neurodl.preprocessing.adaptation.align_signals`
                            ``method="riemann"``: every group's OAS covariances
                            re-centred at the identity (Zanini et al. 2018)
``standardize``             :func:`~neurodl.preprocessing.adaptation.standardize_groups`
``amplitude``               :func:`~neurodl.preprocessing.adaptation.scale_groups`:
                            one gain per group (harmonisation between datasets)
==========================  =======================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..data import EpochsDataset
from ..exceptions import ConfigError, DataFormatError

__all__ = ["ADAPTATIONS", "adapt_dataset", "check_adaptation"]


def _align(method: str) -> Callable[..., Any]:
    def run(
        X: np.ndarray, groups: np.ndarray, min_windows: int = 3, estimator: str = "oas"
    ) -> tuple[np.ndarray, dict]:
        from ..preprocessing.adaptation import align_signals

        kw = {"estimator": estimator} if method == "riemann" else {}
        return align_signals(X, groups, method=method, min_windows=min_windows, **kw), {}

    return run


def _standardize(X: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, dict]:
    from ..preprocessing.adaptation import standardize_groups

    return standardize_groups(X, groups), {}


def _amplitude(X: np.ndarray, groups: np.ndarray, target: float = 1.0) -> tuple[np.ndarray, dict]:
    from ..preprocessing.adaptation import scale_groups

    Xs, gains = scale_groups(X, groups, target=target)
    return Xs, {"gains": {str(k): v for k, v in gains.items()}}


#: Adaptation step name -> (function ``(X, groups, **params) -> (X, details)``, allowed params,
#: needs 3-D signals).
ADAPTATIONS: dict[str, tuple[Callable[..., Any], tuple[str, ...], bool]] = {
    "euclidean_alignment": (_align("euclidean"), ("min_windows",), True),
    "riemannian_recentring": (_align("riemann"), ("min_windows", "estimator"), True),
    "standardize": (_standardize, (), False),
    "amplitude": (_amplitude, ("target",), True),
}


def check_adaptation(specs: Any, *, where: str = "adaptation") -> list[dict[str, Any]]:
    """Validate adaptation steps ``[{"name": ..., "by": "subject", **params}, ...]``.

    Returns the steps as dicts with ``by`` filled (default ``"subject"``).

    Raises
    ------
    ConfigError
        Unknown step or parameter.

    Examples
    --------
    >>> check_adaptation([{"name": "euclidean_alignment"}])
    [{'name': 'euclidean_alignment', 'by': 'subject'}]
    """
    if specs is None:
        return []
    if not isinstance(specs, list | tuple):
        raise ConfigError(
            f"Invalid value for {where!r}. Allowed: a list of {{name, by, params...}} dicts; "
            f"got {specs!r}."
        )
    out = []
    for i, spec in enumerate(specs):
        if not isinstance(spec, dict) or spec.get("name") not in ADAPTATIONS:
            got = spec.get("name") if isinstance(spec, dict) else spec
            raise ConfigError(
                f"Invalid value for '{where}[{i}].name'. Allowed: "
                f"{', '.join(map(repr, ADAPTATIONS))}; got {got!r}."
            )
        _, allowed, _ = ADAPTATIONS[spec["name"]]
        by = spec.get("by", "subject")
        if not isinstance(by, str) or not by:
            raise ConfigError(
                f"Invalid value for '{where}[{i}].by'. Allowed: a metadata column such as "
                f"'subject', 'recording' or 'dataset'; got {by!r}."
            )
        params = {k: v for k, v in spec.items() if k not in ("name", "by")}
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise ConfigError(
                f"Invalid parameter(s) {unknown} for adaptation {spec['name']!r} at "
                f"'{where}[{i}]'. Allowed: {', '.join(map(repr, allowed)) or 'none'}."
            )
        mw = params.get("min_windows")
        if mw is not None and (isinstance(mw, bool) or not isinstance(mw, int) or mw < 1):
            raise ConfigError(
                f"Invalid value for '{where}[{i}].min_windows'. Allowed: an int >= 1; got {mw!r}."
            )
        out.append({"name": spec["name"], "by": by, **params})
    return out


def _nested(ds: EpochsDataset, by: str, protocol: Any) -> bool:
    """Whether every ``by`` group lies on one side of every split of ``protocol`` (its
    statistics then mix no test-fold samples into training samples)."""
    if protocol is None:
        return False
    md = ds.metadata
    for col in getattr(protocol, "groups", ()):
        if col == by:
            return True
        if col not in md.columns:  # type: ignore[union-attr]
            return False
        if (md.groupby(by)[col].nunique() > 1).any():  # type: ignore[union-attr]
            return False
    return bool(getattr(protocol, "groups", ()))


def adapt_dataset(
    ds: EpochsDataset,
    specs: Any,
    *,
    unlabelled_test_data: bool = False,
    protocol: Any = None,
) -> tuple[EpochsDataset, dict[str, Any] | None]:
    """Apply unsupervised adaptation steps to ``ds``, group by group.

    Parameters
    ----------
    ds : EpochsDataset
        ``X`` of shape (n_samples, n_chans, n_times) (2-D allowed for ``standardize``), with
        the ``by`` columns in its metadata.
    specs : list of dict
        Steps, see :func:`check_adaptation`.
    unlabelled_test_data : bool, default=False
        Whether the evaluation may use the test groups' unlabelled data. Every step does, so
        any step with ``False`` is refused.
    protocol : Protocol or None
        The evaluation protocol: tells whether each group falls on one side of every split.

    Returns
    -------
    ds_adapted : EpochsDataset
        A new dataset (labels and metadata unchanged).
    record : dict or None
        ``None`` without steps; else ``unlabelled_test_data`` (True), ``test_data_used`` (what
        of the test side entered the statistics) and one entry per step (name, by, params,
        n_groups, nested_in_folds, details).

    Raises
    ------
    ConfigError
        Steps given with ``unlabelled_test_data=False``, or an unknown step.
    DataFormatError
        A ``by`` column is missing, or a group has too few windows for a covariance mean.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from neurodl.data import EpochsDataset
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1], 12)
    >>> md = pd.DataFrame({"subject": np.repeat(["1", "2", "3"], 8)})
    >>> X = rng.standard_normal((24, 2, 50)) * np.repeat([1.0, 5.0, 0.2], 8)[:, None, None]
    >>> ds = EpochsDataset(X, y=y, metadata=md)
    >>> out, record = adapt_dataset(ds, [{"name": "standardize"}], unlabelled_test_data=True)
    >>> out.X.shape, [round(float(out.X[md.subject == s].std()), 3) for s in "123"]
    ((24, 2, 50), [1.0, 1.0, 1.0])
    """
    steps = check_adaptation(specs)
    if not steps:
        return ds, None
    if unlabelled_test_data is not True:
        raise ConfigError(
            f"Invalid value for 'unlabelled_test_data'. Allowed: true when adaptation is asked "
            f"for (step {steps[0]['name']!r} computes statistics on each test "
            f"{steps[0]['by']}'s unlabelled samples); got {unlabelled_test_data!r}. Set "
            "evaluation.unlabelled_test_data: true to allow it, or remove the adaptation."
        )
    X = np.asarray(ds.X, dtype=np.float64)
    md = ds.metadata
    record_steps = []
    for i, step in enumerate(steps):
        func, _, needs_3d = ADAPTATIONS[step["name"]]
        by = step["by"]
        if md is None or by not in md.columns:
            raise DataFormatError(
                f"Invalid value for 'adaptation[{i}].by': column {by!r} is not in the metadata "
                f"(columns: {[] if md is None else list(md.columns)})."
            )
        if needs_3d and X.ndim != 3:
            raise DataFormatError(
                f"Adaptation {step['name']!r} needs signals of shape (n_samples, n_chans, "
                f"n_times); got shape {X.shape}. Put it before feature steps."
            )
        groups = md[by].astype(str).to_numpy()
        params = {k: v for k, v in step.items() if k not in ("name", "by")}
        X, details = func(X, groups, **params)
        record_steps.append(
            {
                "name": step["name"],
                "by": by,
                "params": params,
                "n_groups": len(np.unique(groups)),
                "nested_in_folds": _nested(ds, by, protocol),
                "details": details,
            }
        )
    nested = all(s["nested_in_folds"] for s in record_steps)
    used = (
        "each test group's own unlabelled samples (labels unused); nothing of a test group "
        "enters the statistics of training samples"
        if nested
        else "unlabelled samples of the test folds enter the statistics of groups that also "
        "hold training samples (transductive; labels unused)"
    )
    record = {"unlabelled_test_data": True, "test_data_used": used, "steps": record_steps}
    out = EpochsDataset(
        X.astype(np.asarray(ds.X).dtype, copy=False),
        ds.y,
        md,
        ds.sfreq,
        ds.ch_names,
        ds.classes,
        {**ds.info, "adaptation": record},
    )
    return out, record
