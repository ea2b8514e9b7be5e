"""RSA figures: RDMs ordered by category, MDS, model comparisons with the noise ceiling,
layer-wise curves, and the stimuli and training loss of a network's task.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._base import PALETTE, _new_figure

__all__ = [
    "CATEGORY_GROUPS",
    "category_order",
    "plot_layer_curves",
    "plot_mds",
    "plot_model_comparison",
    "plot_rdms",
    "plot_stimuli",
    "plot_training",
]


#: Category groups of the 92 images, in display order: (label, condition-descriptor test).
CATEGORY_GROUPS: dict[str, tuple[str, ...]] = {
    "human body": ("is_human", "is_body"),
    "human face": ("is_human", "is_face"),
    "animal body": ("is_nonhumani", "is_body"),
    "animal face": ("is_nonhumani", "is_face"),
    "natural object": ("is_natObj",),
    "artificial object": ("is_artiObj",),
}


def category_order(condition_descriptors: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Order conditions by category group.

    Returns
    -------
    order : ndarray of shape (n_conditions,)
        Condition indices, grouped as in :data:`CATEGORY_GROUPS` (stable within a group;
        conditions in no group go last).
    group : ndarray of shape (n_conditions,)
        Group label of each condition (in original order; ``"other"`` when none matches).

    Examples
    --------
    Six images described as in the 92-image set (an artificial object, a human face, an animal
    body, a human body, a natural object, an animal face):

    >>> from neurodl.report.figures import category_order
    >>> desc = {"is_human": [0, 1, 0, 1, 0, 0], "is_nonhumani": [0, 0, 1, 0, 0, 1],
    ...         "is_body": [0, 0, 1, 1, 0, 0], "is_face": [0, 1, 0, 0, 0, 1],
    ...         "is_natObj": [0, 0, 0, 0, 1, 0], "is_artiObj": [1, 0, 0, 0, 0, 0]}
    >>> order, group = category_order(desc)
    >>> order.tolist()
    [3, 1, 2, 5, 4, 0]
    >>> print(*group[order], sep=", ")
    human body, human face, animal body, animal face, natural object, artificial object
    """
    n = len(next(iter(condition_descriptors.values())))
    group = np.full(n, "other", dtype=object)
    rank = np.full(n, len(CATEGORY_GROUPS))
    for k, (label, keys) in enumerate(CATEGORY_GROUPS.items()):
        if not all(key in condition_descriptors for key in keys):
            continue
        hit = np.all([np.asarray(condition_descriptors[key], bool) for key in keys], axis=0)
        hit &= rank == len(CATEGORY_GROUPS)
        group[hit], rank[hit] = label, k
    return np.argsort(rank, kind="stable"), group.astype(str)


def _rank_transform(vec: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(vec) / len(vec)


def plot_rdms(rdms: Any, *, titles: list[str] | None = None, n_cols: int = 4) -> Any:
    """RDM images ordered by category with separators (values shown as percentiles).

    Parameters
    ----------
    rdms : neurodl.analyses.rsa.RDMs
        ``n_rdms`` RDMs; their ``condition_descriptors`` set the category order
        (:func:`category_order`).
    titles : list of str of length n_rdms, optional
        Panel titles (default: ``rdms.names``).
    n_cols : int, default=4

    Returns
    -------
    fig : matplotlib.figure.Figure
        One image axes per RDM (blank axes fill the grid) and a colour bar.

    Examples
    --------
    Two RDMs over six conditions, four of them in a category group (the others go last):

    >>> import numpy as np
    >>> from neurodl.analyses.rsa import RDMs, compute_rdm
    >>> from neurodl.report.figures import plot_rdms
    >>> rng = np.random.default_rng(0)
    >>> patterns = rng.normal(size=(6, 30))  # 6 conditions x 30 voxels
    >>> desc = {"is_human": [0, 1, 1, 0, 0, 0], "is_body": [0, 1, 0, 0, 0, 0],
    ...         "is_face": [0, 0, 1, 0, 0, 0], "is_natObj": [0, 0, 0, 0, 0, 1],
    ...         "is_artiObj": [1, 0, 0, 0, 0, 0]}
    >>> vectors = [compute_rdm(p).dissimilarities[0]
    ...            for p in (patterns, patterns + rng.normal(size=(6, 30)))]
    >>> rdms = RDMs(np.stack(vectors), names=["hIT", "model"], condition_descriptors=desc)
    >>> fig = plot_rdms(rdms)
    >>> [ax.get_title() for ax in fig.axes], fig.axes[-1].get_ylabel()
    (['hIT', 'model', ''], 'dissimilarity (percentile)')
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['human body', 'human face', 'natural object', 'artificial object']
    """
    from scipy.spatial.distance import squareform

    order, group = category_order(rdms.condition_descriptors)
    bounds = np.flatnonzero(group[order][1:] != group[order][:-1]) + 0.5
    n = rdms.n_rdms
    n_cols = min(n_cols, n)
    n_rows = -(-n // n_cols)
    fig = _new_figure(2.6 * n_cols + 0.6, 2.6 * n_rows + 0.3, pad=False)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    im = None
    for i, ax in enumerate(axes.ravel()):
        if i >= n:
            ax.set_axis_off()
            continue
        mat = squareform(_rank_transform(rdms.dissimilarities[i]))[np.ix_(order, order)]
        np.fill_diagonal(mat, 0.0)
        im = ax.imshow(mat, cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        for b in bounds:
            ax.axhline(b, color="white", linewidth=0.8)
            ax.axvline(b, color="white", linewidth=0.8)
        ax.set_title((titles or rdms.names)[i], fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    labels = [g for g in CATEGORY_GROUPS if g in set(group)]
    if labels:
        axes[0, 0].set_yticks(
            [np.mean(np.flatnonzero(group[order] == g)) for g in labels], labels, fontsize=7
        )
    if im is not None:
        fig.colorbar(im, ax=axes, shrink=0.7, label="dissimilarity (percentile)")
    return fig


def plot_mds(rdm_vector: np.ndarray, group: np.ndarray, *, title: str, seed: int = 0) -> Any:
    """2-D metric MDS of one RDM (``sklearn.manifold.MDS``, precomputed, seeded), by category.

    Parameters
    ----------
    rdm_vector : ndarray of shape (n_conditions * (n_conditions - 1) / 2,)
        Condensed dissimilarities (``scipy.spatial.distance.pdist`` order).
    group : ndarray of shape (n_conditions,)
        Category group of each condition (as returned by :func:`category_order`).
    title : str
    seed : int, default=0

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes, one scatter per category group present.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.spatial.distance import pdist
    >>> from neurodl.report.figures import plot_mds
    >>> patterns = np.random.default_rng(0).normal(size=(6, 30))
    >>> group = np.array(["human face"] * 3 + ["natural object"] * 2 + ["other"])
    >>> fig = plot_mds(pdist(patterns, "correlation"), group, title="hIT")
    >>> fig.axes[0].get_title(), fig.axes[0].get_legend_handles_labels()[1]
    ('hIT', ['human face', 'natural object', 'other'])
    """
    import inspect

    from scipy.spatial.distance import squareform
    from sklearn.manifold import MDS

    kwargs: dict[str, Any] = {
        "n_components": 2,
        "dissimilarity": "precomputed",
        "random_state": seed,
        "n_init": 4,
    }
    params = inspect.signature(MDS).parameters
    if "normalized_stress" in params:
        kwargs["normalized_stress"] = "auto"
    if "metric" in params and "metric_mds" in params:  # scikit-learn >= 1.8 renamed the option
        kwargs.pop("dissimilarity")
        kwargs["metric"] = "precomputed"
    if "init" in params:
        kwargs["init"] = "random"
    mat = squareform(np.asarray(rdm_vector, dtype=float))
    xy = MDS(**kwargs).fit_transform(mat)
    fig = _new_figure(5.6, 4.6, pad=False)
    ax = fig.add_subplot()
    for k, label in enumerate([g for g in CATEGORY_GROUPS if g in set(group)] + ["other"]):
        sel = group == label
        if sel.any():
            ax.scatter(*xy[sel].T, s=22, color=PALETTE[k % len(PALETTE)], label=label)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def plot_model_comparison(result: Any, *, alpha: float = 0.05) -> Any:
    """Bar chart of model scores with CIs, subject dots, the noise-ceiling band and the
    pairwise FDR-corrected significance matrix beside it.

    Parameters
    ----------
    result : neurodl.analyses.rsa.RSAResult
        From :func:`neurodl.analyses.rsa.evaluate_models` (``model_names``, ``scores``,
        ``subject_scores``, ``noise_ceiling``, optional ``ci``, ``p_values``,
        ``pairwise_p_fdr``, ``pairwise_diff``).
    alpha : float, default=0.05
        Significance level of the stars.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two axes: the bars (models sorted by score) and the pairwise matrix (hidden when
        there are no pairwise tests).

    Examples
    --------
    The true RDM against a random one, four subjects, a subject bootstrap:

    >>> import numpy as np
    >>> from neurodl.analyses.rsa import RDMs, evaluate_models
    >>> from neurodl.report.figures import plot_model_comparison
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.random(15)  # condensed RDM of 6 conditions
    >>> models = RDMs(np.stack([rng.random(15), truth]), names=["random", "true"])
    >>> result = evaluate_models(models, truth + 0.1 * rng.normal(size=(4, 15)),
    ...                          bootstrap="subjects", n_bootstrap=100)
    >>> fig = plot_model_comparison(result)
    >>> bars, pairwise = fig.axes
    >>> [t.get_text() for t in bars.get_xticklabels()]  # best first
    ['true', 'random']
    >>> bars.get_ylabel(), bars.get_legend_handles_labels()[1]
    ('RDM correlation with hIT (pearson)', ['noise ceiling', '95% bootstrap CI'])
    >>> pairwise.get_title().splitlines()[0]
    'row vs column: * FDR q < 0.05'
    """
    names, scores = list(result.model_names), np.asarray(result.scores)
    order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")
    fig = _new_figure(11.0, 4.4, pad=False)
    ax, axm = fig.subplots(1, 2, width_ratios=[1.6, 1.0])
    x = np.arange(len(names))
    nc = result.noise_ceiling
    if np.isfinite(nc.lower) and np.isfinite(nc.upper):
        ax.axhspan(nc.lower, nc.upper, color="#d9d9d9", zorder=0, label="noise ceiling")
    ax.bar(x, scores[order], color=PALETTE[0], width=0.7, zorder=2)
    if result.ci is not None:
        ci = result.ci[order]
        ax.errorbar(
            x,
            scores[order],
            yerr=np.abs(ci.T - scores[order]),
            fmt="none",
            ecolor="black",
            capsize=3,
            zorder=3,
            label=f"{int(100 * result.settings['confidence'])}% bootstrap CI",
        )
    subj = result.subject_scores[order]
    for i in range(subj.shape[1]):
        ax.scatter(x + 0.18, subj[:, i], s=8, color="#444444", zorder=4)
    if result.p_values is not None:
        for i, p in zip(x, result.p_values[order], strict=True):
            if p < alpha:
                ax.text(i, 0.0, "*", ha="center", va="bottom", color="white", fontsize=12)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(x, [names[i] for i in order], rotation=40, ha="right", fontsize=8)
    ax.set_ylabel(f"RDM correlation with hIT ({result.method})")
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.legend(fontsize=7, frameon=False, loc="upper right")
    if result.pairwise_p_fdr is not None:
        q = result.pairwise_p_fdr[np.ix_(order, order)]
        diff = result.pairwise_diff[np.ix_(order, order)]
        sig = np.where(q < alpha, np.sign(diff), 0.0)
        axm.imshow(sig, cmap="coolwarm_r", vmin=-1.5, vmax=1.5, interpolation="nearest")
        for i, j in zip(*np.nonzero(q < alpha), strict=True):
            axm.text(j, i, "*", ha="center", va="center", fontsize=9)
        short = [names[i][:12] for i in order]
        axm.set_xticks(x, short, rotation=60, ha="right", fontsize=7)
        axm.set_yticks(x, short, fontsize=7)
        axm.set_title(
            f"row vs column: * FDR q < {alpha:g}\n(blue: row better, red: column better)",
            fontsize=8,
        )
    else:
        axm.set_axis_off()
    return fig


def plot_layer_curves(result: Any, *, alpha: float = 0.05) -> Any:
    """Per-layer scores (trained vs untrained, bootstrap CIs) per area, with the ceiling band.

    Parameters
    ----------
    result : object
        A network-vs-brain comparison with ``areas``, ``layers``, ``networks``,
        ``results`` (an :class:`~neurodl.analyses.rsa.RSAResult` per area),
        ``scores(area, network)`` (shape (n_layers,)), ``ci(area, network)``
        (shape (n_layers, 2) or None) and ``control_tests`` (per area, ``p_fdr`` of shape
        (n_layers,)).
    alpha : float, default=0.05
        Layers with a trained-vs-control ``p_fdr`` below it get a star.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per area, one line per network.

    Examples
    --------
    A :class:`~neurodl.analyses.rsa.model_brain.ModelBrainResult` built by hand from
    :func:`~neurodl.analyses.rsa.evaluate_models` (models named ``"<network>:<layer>"``), the
    trained network's later layers closer to IT than the untrained control:

    >>> import numpy as np
    >>> from neurodl.analyses.rsa import RDMs, evaluate_models
    >>> from neurodl.analyses.rsa.model_brain import ModelBrainResult
    >>> from neurodl.report.figures import plot_layer_curves
    >>> rng = np.random.default_rng(0)
    >>> truth, layers = rng.random(15), ["conv1", "conv2", "fc"]
    >>> trained = [rng.random(15), 0.5 * truth + 0.5 * rng.random(15), truth]
    >>> names = [f"{net}:{layer}" for net in ("trained", "untrained") for layer in layers]
    >>> models = RDMs(np.stack(trained + [rng.random(15) for _ in layers]), names=names)
    >>> it = evaluate_models(models, truth + 0.1 * rng.normal(size=(4, 15)),
    ...                      bootstrap="subjects", n_bootstrap=100, pairwise=False)
    >>> result = ModelBrainResult(layers=layers, networks=["trained", "untrained"], areas=["IT"],
    ...                           results={"IT": it}, rdms={},
    ...                           control_tests={"IT": {"p_fdr": np.array([0.5, 0.04, 0.01])}})
    >>> fig = plot_layer_curves(result)
    >>> ax = fig.axes[0]
    >>> ax.get_title(), ax.get_legend_handles_labels()[1]
    ('IT (pearson)', ['noise ceiling', 'trained', 'untrained'])
    >>> len(ax.texts)  # a star on each layer with p_fdr < 0.05
    2
    """
    n_areas = len(result.areas)
    fig = _new_figure(5.2 * n_areas, 4.0, pad=False)
    axes = np.atleast_1d(fig.subplots(1, n_areas, squeeze=False).ravel())
    x = np.arange(len(result.layers))
    for ax, area in zip(axes, result.areas, strict=True):
        res = result.results[area]
        nc = res.noise_ceiling
        if np.isfinite(nc.lower) and np.isfinite(nc.upper):
            ax.axhspan(nc.lower, nc.upper, color="#d9d9d9", zorder=0, label="noise ceiling")
        for net in result.networks:
            sc, ci = result.scores(area, net), result.ci(area, net)
            colour = PALETTE[0] if net == "trained" else "#888888"
            ax.plot(x, sc, "o-", color=colour, label=net, zorder=3)
            if ci is not None:
                ax.fill_between(x, ci[:, 0], ci[:, 1], color=colour, alpha=0.18, zorder=2)
        test = result.control_tests.get(area)
        if test is not None:
            top = np.nanmax(
                [
                    np.nanmax(result.ci(area, n) if res.ci is not None else result.scores(area, n))
                    for n in result.networks
                ]
            )
            for i in np.flatnonzero(test["p_fdr"] < alpha):
                ax.text(x[i], top, "*", ha="center", va="bottom", fontsize=12)
        ax.axhline(0.0, color="black", linewidth=0.6)
        ax.set_xticks(x, result.layers, rotation=30, fontsize=8)
        ax.set_title(f"{area} ({res.method})", fontsize=10)
        ax.set_ylabel("RDM correlation")
        ax.spines["top"].set_visible(False)
        ax.spines["right"].set_visible(False)
    axes[0].legend(fontsize=7, frameon=False, loc="upper left")
    return fig


def plot_stimuli(X: np.ndarray, y: np.ndarray, classes: list[str], *, n: int = 16) -> Any:
    """A grid of generated training images with their class names.

    Parameters
    ----------
    X : ndarray of shape (n_images, 3, height, width)
        RGB images with values in [0, 1] (clipped).
    y : ndarray of shape (n_images,)
        Class index of each image.
    classes : list of str
        Class names, indexed by ``y``.
    n : int, default=16
        Number of images shown (the first ones), at most 8 per row.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per grid cell.

    Examples
    --------
    Ten 8 x 8 RGB images of two classes: a grid of 2 rows of 8 cells, the last 6 blank:

    >>> import numpy as np
    >>> from neurodl.report.figures import plot_stimuli
    >>> X = np.random.default_rng(0).random((10, 3, 8, 8))
    >>> fig = plot_stimuli(X, np.arange(10) % 2, ["circle", "square"], n=10)
    >>> len(fig.axes), [ax.get_title() for ax in fig.axes[:3]]
    (16, ['circle', 'square', 'circle'])
    >>> sum(bool(ax.images) for ax in fig.axes)
    10
    """
    n = min(n, len(X))
    n_cols = min(8, n)
    n_rows = -(-n // n_cols)
    fig = _new_figure(1.2 * n_cols, 1.35 * n_rows, pad=False)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if i < n:
            ax.imshow(np.clip(X[i].transpose(1, 2, 0), 0, 1), interpolation="nearest")
            ax.set_title(classes[int(y[i])], fontsize=7)
    return fig


def plot_training(losses: list[float]) -> Any:
    """Training loss per epoch.

    Parameters
    ----------
    losses : list of float of length n_epochs
        Mean cross-entropy of each training epoch.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes with one line.

    Examples
    --------
    >>> from neurodl.report.figures import plot_training
    >>> fig = plot_training([2.3, 1.1, 0.6, 0.4])
    >>> ax = fig.axes[0]
    >>> ax.lines[0].get_xdata().tolist(), ax.get_xlabel(), ax.get_ylabel()
    ([1, 2, 3, 4], 'epoch', 'cross-entropy (train)')
    """
    fig = _new_figure(4.6, 3.0, pad=False)
    ax = fig.add_subplot()
    ax.plot(np.arange(1, len(losses) + 1), losses, "o-", color=PALETTE[0])
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy (train)")
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    return fig
