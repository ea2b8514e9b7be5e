"""Representational dissimilarity matrices: distances, the ``RDMs`` container and file loading.

Conventions
-----------
- ``'euclidean'``, ``'cosine'``, ``'correlation'`` and ``'mahalanobis'`` follow
  :func:`scipy.spatial.distance.pdist` exactly (Euclidean and Mahalanobis are *not* squared).
- ``'crossnobis'`` follows rsatoolbox: the squared Mahalanobis distance divided by the number of
  features, cross-validated over runs (the inner product of pattern differences from two
  *different* runs), so it is unbiased and can be negative. With ``R`` runs it equals
  rsatoolbox's leave-one-run-out average (test run against the mean of the other runs).
- An RDM stack is stored as condensed vectors of shape ``(n_rdms, n_pairs)`` in
  :func:`scipy.spatial.distance.squareform` order (upper triangle, row by row).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.distance import pdist, squareform

from neurodl.exceptions import ConfigError, DataFormatError

__all__ = [
    "RDMs",
    "compute_rdm",
    "load_features",
    "load_rdms",
    "noise_precision",
    "patterns_from_trials",
]


def _n_conditions_from_pairs(n_pairs: int) -> int | None:
    n = round((1 + float(np.sqrt(1 + 8 * n_pairs))) / 2)
    return n if n * (n - 1) // 2 == n_pairs and n >= 2 else None


def _looks_square_rdm(arr: np.ndarray) -> bool:
    return (
        arr.ndim == 2
        and arr.shape[0] == arr.shape[1]
        and arr.shape[0] > 1
        and np.allclose(np.diag(arr), 0.0)
        and np.allclose(arr, arr.T, equal_nan=True)
    )


@dataclasses.dataclass
class RDMs:
    """A stack of RDMs over the same conditions, stored as condensed vectors.

    Parameters
    ----------
    dissimilarities : array-like of shape (n_rdms, n_pairs) or (n_pairs,)
        Condensed (upper-triangle, :func:`scipy.spatial.distance.squareform` order) vectors.
        A square ``(n, n)`` matrix is rejected: use :meth:`RDMs.from_matrices`.
    names : sequence of str, optional
        One name per RDM (default ``"rdm0"``, ``"rdm1"``, ...).
    descriptors : dict of str to sequence, optional
        Per-RDM descriptors (e.g. ``{"subject": [...], "session": [...]}``), each of length n_rdms.
    condition_descriptors : dict of str to sequence, optional
        Per-condition descriptors (e.g. ``{"category": [...]}``), each of length n_conditions.
    metric : str, optional
        The dissimilarity measure the RDMs hold (informational).

    Examples
    --------
    >>> import numpy as np
    >>> rdms = RDMs.from_matrices(np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]]))
    >>> rdms.n_rdms, rdms.n_conditions, rdms.dissimilarities.tolist()
    (1, 3, [[1.0, 2.0, 3.0]])
    """

    dissimilarities: np.ndarray
    names: list[str] = dataclasses.field(default_factory=list)
    descriptors: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    condition_descriptors: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    metric: str | None = None

    def __post_init__(self) -> None:
        arr = np.asarray(self.dissimilarities, dtype=float)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2:
            raise DataFormatError(
                f"'dissimilarities' must be a stack of condensed RDM vectors of shape "
                f"(n_rdms, n_pairs); got an array of shape {arr.shape}. For square matrices of "
                f"shape (n_rdms, n, n) use RDMs.from_matrices(...)."
            )
        if _looks_square_rdm(arr):
            raise DataFormatError(
                f"'dissimilarities' must be a stack of condensed RDM vectors of shape "
                f"(n_rdms, n_pairs); got a square symmetric matrix of shape {arr.shape} with a zero "
                f"diagonal, which would be misread as {arr.shape[0]} RDMs. Pass "
                f"RDMs.from_matrices(matrix) for one square RDM, or "
                f"scipy.spatial.distance.squareform(matrix)[None] for its condensed vector."
            )
        n_cond = _n_conditions_from_pairs(arr.shape[1])
        if n_cond is None:
            raise DataFormatError(
                f"'dissimilarities' has {arr.shape[1]} columns (shape {arr.shape}), which is not "
                f"n*(n-1)/2 for any number of conditions n >= 2; expected condensed vectors."
            )
        self.dissimilarities = arr
        n_rdms = arr.shape[0]
        names = list(self.names) if self.names else [f"rdm{i}" for i in range(n_rdms)]
        if len(names) != n_rdms:
            raise DataFormatError(
                f"'names' must have one entry per RDM ({n_rdms}); got {len(names)}."
            )
        self.names = [str(n) for n in names]
        self.descriptors = self._check_desc(self.descriptors, n_rdms, "descriptors", "RDMs")
        self.condition_descriptors = self._check_desc(
            self.condition_descriptors, n_cond, "condition_descriptors", "conditions"
        )

    @staticmethod
    def _check_desc(
        desc: Mapping[str, Any] | None, n: int, what: str, unit: str
    ) -> dict[str, np.ndarray]:
        out = {}
        for key, values in (desc or {}).items():
            values = np.asarray(values)
            if values.shape[:1] != (n,):
                raise DataFormatError(
                    f"{what}[{key!r}] must have one value per {unit[:-1]} ({n} {unit}); "
                    f"got shape {values.shape}."
                )
            out[str(key)] = values
        return out

    @classmethod
    def from_matrices(cls, matrices: Any, **kwargs: Any) -> RDMs:
        """Build from square matrices of shape (n, n) or (n_rdms, n, n) (symmetric, zero diagonal)."""
        mats = np.asarray(matrices, dtype=float)
        if mats.ndim == 2:
            mats = mats[None]
        if mats.ndim != 3 or mats.shape[1] != mats.shape[2]:
            raise DataFormatError(
                f"'matrices' must be square, of shape (n, n) or (n_rdms, n, n); got shape "
                f"{np.shape(matrices)}. For condensed vectors use RDMs(vectors)."
            )
        if not np.allclose(mats, mats.transpose(0, 2, 1), equal_nan=True):
            raise DataFormatError("'matrices' must be symmetric; got an asymmetric matrix.")
        iu = np.triu_indices(mats.shape[1], k=1)
        return cls(mats[:, iu[0], iu[1]], **kwargs)

    @property
    def n_rdms(self) -> int:
        """Number of RDMs in the stack."""
        return self.dissimilarities.shape[0]

    @property
    def n_conditions(self) -> int:
        """Number of conditions (rows of each square matrix)."""
        return int(_n_conditions_from_pairs(self.dissimilarities.shape[1]))

    def __len__(self) -> int:
        return self.n_rdms

    def get_matrices(self) -> np.ndarray:
        """Return the square matrices, of shape (n_rdms, n_conditions, n_conditions)."""
        return np.stack([squareform(v, checks=False) for v in self.dissimilarities])

    def subset(self, index: Any) -> RDMs:
        """Return the RDMs selected by ``index`` (int, slice, mask or list of ints)."""
        idx = np.arange(self.n_rdms)[index]
        idx = np.atleast_1d(idx)
        return RDMs(
            self.dissimilarities[idx],
            names=[self.names[i] for i in idx],
            descriptors={k: v[idx] for k, v in self.descriptors.items()},
            condition_descriptors=dict(self.condition_descriptors),
            metric=self.metric,
        )

    def subset_conditions(self, index: Any) -> RDMs:
        """Return the RDMs restricted to the selected conditions (no repeats)."""
        cidx = np.atleast_1d(np.arange(self.n_conditions)[index])
        mats = self.get_matrices()[:, cidx][:, :, cidx]
        return RDMs.from_matrices(
            mats,
            names=self.names,
            descriptors=self.descriptors,
            condition_descriptors={k: v[cidx] for k, v in self.condition_descriptors.items()},
            metric=self.metric,
        )

    def average_by(self, descriptor: str) -> RDMs:
        """Average the RDMs that share a value of ``descriptors[descriptor]`` (e.g. sessions).

        Returns one RDM per unique value, in order of first appearance, named by that value.
        """
        if descriptor not in self.descriptors:
            raise ConfigError(
                f"Invalid value for 'descriptor'. Allowed: {sorted(self.descriptors)}; got {descriptor!r}."
            )
        values = self.descriptors[descriptor]
        _, first = np.unique(values, return_index=True)
        uniq = values[np.sort(first)]
        vecs = np.stack([self.dissimilarities[values == u].mean(axis=0) for u in uniq])
        return RDMs(
            vecs,
            names=[str(u) for u in uniq],
            descriptors={descriptor: uniq},
            condition_descriptors=dict(self.condition_descriptors),
            metric=self.metric,
        )


# --------------------------------------------------------------------------- distances


def patterns_from_trials(
    X: np.ndarray, conditions: Sequence[Any], runs: Sequence[Any] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Average trials into condition patterns per run.

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_features)
    conditions : sequence of shape (n_trials,)
    runs : sequence of shape (n_trials,), optional
        Without it, all trials form one run.

    Returns
    -------
    patterns : ndarray of shape (n_runs, n_conditions, n_features)
    condition_values : ndarray of shape (n_conditions,)
    run_values : ndarray of shape (n_runs,)

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(16.0).reshape(8, 2)
    >>> P, conds, runs = patterns_from_trials(X, ["a", "b"] * 4, runs=[0] * 4 + [1] * 4)
    >>> P.shape, conds.tolist(), runs.tolist(), P[0, 0].tolist()
    ((2, 2, 2), ['a', 'b'], [0, 1], [2.0, 3.0])
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise DataFormatError(f"'X' must have shape (n_trials, n_features); got shape {X.shape}.")
    conditions = np.asarray(conditions)
    runs = np.zeros(len(X), int) if runs is None else np.asarray(runs)
    if conditions.shape != (len(X),) or runs.shape != (len(X),):
        raise DataFormatError(
            f"'conditions' and 'runs' must have shape ({len(X)},); got {conditions.shape} and {runs.shape}."
        )
    cvals, cidx = np.unique(conditions, return_inverse=True)
    rvals, ridx = np.unique(runs, return_inverse=True)
    sums = np.zeros((len(rvals), len(cvals), X.shape[1]))
    counts = np.zeros((len(rvals), len(cvals)))
    np.add.at(sums, (ridx, cidx), X)
    np.add.at(counts, (ridx, cidx), 1)
    if np.any(counts == 0):
        r, c = np.argwhere(counts == 0)[0]
        raise DataFormatError(
            f"every condition must occur in every run; condition {cvals[c]!r} is missing from run {rvals[r]!r}."
        )
    return sums / counts[..., None], cvals, rvals


def noise_precision(
    residuals: np.ndarray, *, method: str = "shrinkage", shrinkage: float | None = None
) -> np.ndarray:
    """Estimate the noise precision (inverse covariance) from residuals.

    Parameters
    ----------
    residuals : ndarray of shape (n_samples, n_features)
        Residuals (e.g. trial patterns minus their condition mean), or shape
        (n_runs, n_samples, n_features) which is flattened over the first two axes.
    method : {'shrinkage', 'diag'}, default='shrinkage'
        ``'shrinkage'``: covariance shrunk towards a scaled identity,
        ``(1 - a) S + a * mean(diag(S)) I``; ``a`` is the Ledoit-Wolf estimate
        (:func:`sklearn.covariance.ledoit_wolf_shrinkage`) unless ``shrinkage`` is given.
        ``'diag'``: the variances only, returned as a vector.
    shrinkage : float in [0, 1], optional
        Fixed shrinkage for ``method='shrinkage'``.

    Returns
    -------
    precision : ndarray of shape (n_features, n_features), or (n_features,) for ``'diag'``

    Examples
    --------
    >>> import numpy as np
    >>> P = noise_precision(np.random.default_rng(0).normal(size=(50, 6)))
    >>> P.shape, bool(np.allclose(P, P.T))
    ((6, 6), True)
    """
    res = np.asarray(residuals, dtype=float)
    if res.ndim == 3:
        res = res.reshape(-1, res.shape[-1])
    if res.ndim != 2 or res.shape[0] < 2:
        raise DataFormatError(
            f"'residuals' must have shape (n_samples >= 2, n_features); got shape {np.shape(residuals)}."
        )
    if method not in _PRECISION_METHODS:
        raise ConfigError(
            f"Invalid value for 'method'. Allowed: {sorted(_PRECISION_METHODS)}; got {method!r}."
        )
    if shrinkage is not None and not 0.0 <= float(shrinkage) <= 1.0:
        raise ConfigError(f"'shrinkage' must be in [0, 1]; got {shrinkage!r}.")
    return _PRECISION_METHODS[method](res - res.mean(axis=0), shrinkage)


def _prec_diag(res: np.ndarray, shrinkage: float | None) -> np.ndarray:
    var = res.var(axis=0)
    if np.any(var <= 0):
        raise DataFormatError(
            "'residuals' has features with zero variance; the diagonal precision is undefined."
        )
    return 1.0 / var


def _prec_shrinkage(res: np.ndarray, shrinkage: float | None) -> np.ndarray:
    from sklearn.covariance import ledoit_wolf_shrinkage

    a = ledoit_wolf_shrinkage(res, assume_centered=True) if shrinkage is None else float(shrinkage)
    cov = res.T @ res / res.shape[0]
    mu = np.trace(cov) / cov.shape[0]
    cov = (1 - a) * cov
    cov[np.diag_indices_from(cov)] += a * mu
    return np.linalg.inv(cov)


_PRECISION_METHODS: dict[str, Callable[[np.ndarray, float | None], np.ndarray]] = {
    "shrinkage": _prec_shrinkage,
    "diag": _prec_diag,
}


def _apply_precision(X: np.ndarray, precision: np.ndarray | None) -> np.ndarray:
    """Return ``X @ precision`` (``precision`` may be None, a vector or a matrix)."""
    if precision is None:
        return X
    if precision.ndim == 1:
        return X * precision
    return X @ precision


def _check_precision(precision: Any, n_features: int) -> np.ndarray | None:
    if precision is None:
        return None
    P = np.asarray(precision, dtype=float)
    if P.shape not in {(n_features,), (n_features, n_features)}:
        raise DataFormatError(
            f"'noise' must be a precision of shape ({n_features},) or ({n_features}, {n_features}); "
            f"got shape {P.shape}."
        )
    return P


def _kernel_distances(G: np.ndarray) -> np.ndarray:
    """Condensed squared distances from a Gram matrix G of shape (n, n)."""
    d = np.diag(G)
    D = d[:, None] + d[None, :] - G - G.T
    iu = np.triu_indices(G.shape[0], k=1)
    return D[iu]


def _dist_pdist(name: str) -> Callable[..., np.ndarray]:
    def func(P: np.ndarray, precision: np.ndarray | None) -> np.ndarray:
        return pdist(P.mean(axis=0), metric=name)

    return func


def _dist_mahalanobis(P: np.ndarray, precision: np.ndarray | None) -> np.ndarray:
    X = P.mean(axis=0)
    if precision is None:
        return pdist(X, metric="euclidean")
    G = X @ _apply_precision(X, precision).T
    return np.sqrt(np.maximum(_kernel_distances(G), 0.0))


def _dist_crossnobis(P: np.ndarray, precision: np.ndarray | None) -> np.ndarray:
    n_runs, _, n_feat = P.shape
    if n_runs < 2:
        raise DataFormatError(
            f"metric='crossnobis' needs patterns from at least 2 runs, shape (n_runs, n_conditions, "
            f"n_features); got shape {P.shape}."
        )
    PW = _apply_precision(P, precision)
    S = P.sum(axis=0)
    SW = PW.sum(axis=0)
    # sum over ordered pairs of different runs: (sum_i X_i) W (sum_j X_j)' - sum_i X_i W X_i'
    G = S @ SW.T - np.einsum("rcf,rdf->cd", P, PW, optimize=True)
    return _kernel_distances(G) / (n_runs * (n_runs - 1) * n_feat)


_METRICS: dict[str, Callable[[np.ndarray, np.ndarray | None], np.ndarray]] = {
    "correlation": _dist_pdist("correlation"),
    "euclidean": _dist_pdist("euclidean"),
    "cosine": _dist_pdist("cosine"),
    "mahalanobis": _dist_mahalanobis,
    "crossnobis": _dist_crossnobis,
}


def compute_rdm(
    X: Any,
    *,
    metric: str = "correlation",
    noise: Any = None,
    standardize: bool = False,
    names: Sequence[str] | None = None,
    condition_descriptors: Mapping[str, Any] | None = None,
) -> RDMs:
    """Compute one RDM from condition patterns.

    Parameters
    ----------
    X : ndarray of shape (n_conditions, n_features) or (n_runs, n_conditions, n_features)
        Condition patterns (see :func:`patterns_from_trials`). With several runs, non-cross-validated
        metrics use the mean over runs; ``'crossnobis'`` needs at least two runs.
    metric : {'correlation', 'euclidean', 'cosine', 'mahalanobis', 'crossnobis'}, default='correlation'
        See the module docstring for the exact conventions.
    noise : ndarray of shape (n_features,) or (n_features, n_features), optional
        Noise *precision* (see :func:`noise_precision`) for ``'mahalanobis'`` and ``'crossnobis'``;
        None means identity (crossnobis then is the cross-validated squared Euclidean / n_features).
    standardize : bool, default=False
        Z-score each feature across conditions (using the run-averaged patterns' mean and SD)
        before computing distances.
    names, condition_descriptors
        Passed to :class:`RDMs`.

    Returns
    -------
    rdms : RDMs
        One RDM with ``n_conditions * (n_conditions - 1) / 2`` dissimilarities.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(4, 10))  # 4 conditions x 10 voxels
    >>> rdm = compute_rdm(X, metric="euclidean")
    >>> rdm.n_conditions, rdm.dissimilarities.shape, rdm.get_matrices().shape
    (4, (1, 6), (1, 4, 4))
    """
    if metric not in _METRICS:
        raise ConfigError(
            f"Invalid value for 'metric'. Allowed: {sorted(_METRICS)}; got {metric!r}."
        )
    P = np.asarray(X, dtype=float)
    if P.ndim == 2:
        P = P[None]
    if P.ndim != 3 or P.shape[1] < 2 or P.shape[2] < 1:
        raise DataFormatError(
            f"'X' must have shape (n_conditions >= 2, n_features) or (n_runs, n_conditions, "
            f"n_features); got shape {np.shape(X)}."
        )
    if not np.all(np.isfinite(P)):
        raise DataFormatError("'X' contains NaN or infinite values.")
    if noise is not None and metric not in {"mahalanobis", "crossnobis"}:
        raise ConfigError(
            f"'noise' is only used with metric='mahalanobis' or 'crossnobis'; got metric={metric!r}."
        )
    precision = _check_precision(noise, P.shape[2])
    if standardize:
        mean_pat = P.mean(axis=0)
        sd = mean_pat.std(axis=0)
        sd[sd == 0] = 1.0
        P = (P - mean_pat.mean(axis=0)) / sd
    vec = _METRICS[metric](P, precision)
    return RDMs(
        vec[None],
        names=list(names) if names else [metric],
        condition_descriptors=dict(condition_descriptors or {}),
        metric=metric,
    )


# --------------------------------------------------------------------------- loading


def _read_array(path: Path, key: str | None) -> Any:
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        raise DataFormatError(
            f"Unsupported file type for {path}. Allowed: {sorted(_READERS)}; got {suffix!r}."
        )
    if not path.exists():
        raise FileNotFoundError(f"No such file: {path}")
    return _READERS[suffix](path, key)


def _pick(container: Mapping[str, Any], key: str | None, path: Path) -> Any:
    keys = [k for k in container if not k.startswith("__")]
    if key is None:
        if len(keys) != 1:
            raise DataFormatError(f"{path} holds several arrays {keys}; pass 'key' to choose one.")
        key = keys[0]
    if key not in keys:
        raise DataFormatError(
            f"Invalid value for 'key'. Allowed: {keys}; got {key!r} (file {path})."
        )
    return container[key]


def _read_npy(path: Path, key: str | None) -> Any:
    return np.load(path, allow_pickle=False)


def _read_npz(path: Path, key: str | None) -> Any:
    with np.load(path, allow_pickle=False) as z:
        return np.asarray(_pick(dict(z), key, path))


def _read_mat(path: Path, key: str | None) -> Any:
    from scipy.io import loadmat

    return _pick(loadmat(path), key, path)


def _read_csv(path: Path, key: str | None) -> Any:
    return np.loadtxt(path, delimiter=",", ndmin=2)


_READERS: dict[str, Callable[[Path, str | None], Any]] = {
    ".npy": _read_npy,
    ".npz": _read_npz,
    ".mat": _read_mat,
    ".csv": _read_csv,
}


def _mat_struct_to_rdms(arr: np.ndarray) -> RDMs:
    """RSA-toolbox (MATLAB) struct array with fields 'RDM' and 'name'."""
    flat = arr.ravel(order="F")
    mats, names = [], []
    for i, entry in enumerate(flat):
        rdm = np.asarray(entry["RDM"], dtype=float)
        mats.append(
            squareform(rdm, checks=False)
            if rdm.ndim == 2 and rdm.shape[0] == rdm.shape[1]
            else rdm.ravel()
        )
        name = entry["name"] if "name" in arr.dtype.names else None
        names.append(str(np.ravel(name)[0]) if name is not None and np.size(name) else f"rdm{i}")
    return RDMs(np.stack(mats), names=names)


def load_rdms(path: str | Path, *, key: str | None = None, **kwargs: Any) -> RDMs:
    """Load RDMs made by other tools from ``.npy``, ``.npz``, ``.mat`` or ``.csv``.

    A file's array is read by shape: ``(n, n)`` is one square RDM, ``(n_rdms, n, n)`` a stack of
    square RDMs, ``(n_pairs,)`` or ``(n_rdms, n_pairs)`` condensed vectors. MATLAB RSA-toolbox struct
    arrays with fields ``RDM`` (and ``name``) are read with their names.

    Parameters
    ----------
    path : str or Path
    key : str, optional
        Variable name inside ``.npz``/``.mat`` files holding several arrays.
    **kwargs
        Passed to :class:`RDMs` (``names``, ``descriptors``, ``condition_descriptors``).

    Returns
    -------
    rdms : RDMs

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "rdms.npz"
    >>> np.savez(path, rdms=np.ones((2, 4, 4)) - np.eye(4))
    >>> rdms = load_rdms(path, key="rdms")
    >>> rdms.n_rdms, rdms.n_conditions
    (2, 4)
    """
    path = Path(path)
    arr = _read_array(path, key)
    if isinstance(arr, np.ndarray) and arr.dtype.names and "RDM" in arr.dtype.names:
        rdms = _mat_struct_to_rdms(arr)
        if kwargs:
            rdms = RDMs(rdms.dissimilarities, **{"names": rdms.names, **kwargs})
        return rdms
    arr = np.asarray(arr, dtype=float)
    if arr.ndim == 3 or _looks_square_rdm(arr):
        return RDMs.from_matrices(arr, **kwargs)
    if arr.ndim == 2 and arr.shape[0] == arr.shape[1]:
        raise DataFormatError(
            f"{path} holds a square array of shape {arr.shape} that is not a symmetric RDM with a zero diagonal."
        )
    return RDMs(arr, **kwargs)


def load_features(path: str | Path, *, key: str | None = None) -> np.ndarray:
    """Load precomputed features (activations or voxel patterns) from npy/npz/mat/csv.

    Returns
    -------
    X : ndarray of shape (n_conditions, n_features) or (n_runs, n_conditions, n_features)

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "acts.npy"
    >>> np.save(path, np.zeros((5, 3)))
    >>> load_features(path).shape
    (5, 3)
    """
    path = Path(path)
    arr = np.asarray(_read_array(path, key), dtype=float)
    if arr.ndim not in (2, 3):
        raise DataFormatError(
            f"features in {path} must have shape (n_conditions, n_features) or (n_runs, "
            f"n_conditions, n_features); got shape {arr.shape}."
        )
    return arr
