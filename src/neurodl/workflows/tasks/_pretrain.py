"""Self-supervised pretraining from a config: ``options.pretrain`` of the decoding task.

The unlabelled pool (``options.pretrain.data``: any data section, e.g. every other run of the
subjects as 2 s windows) goes through the run's per-sample preprocessing, then the steps the
run fits per fold are fitted on the pool itself (no labelled sample is involved). A
:class:`~neurodl.estimators.pretraining.SSLPretrainer` learns the encoder once; the main model
``ssl_finetune`` (:class:`~neurodl.estimators.pretraining.FineTunedClassifier`) starts every
fold from it. The pool may not share a recording with the labelled samples, so no test window
can enter pretraining (refused with the shared recordings named); what the encoder saw is
recorded in ``results.json["pretraining"]``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from ...exceptions import ConfigError
from ..config import DataConfig, TaskOptions

__all__ = ["PretrainOptions", "check_pretrain_model", "pretrain_encoder", "shared_recordings"]


class PretrainOptions(TaskOptions):
    """Self-supervised pretraining of the main network's encoder on unlabelled windows."""

    data: DataConfig
    """The unlabelled pool, a data section like the run's ``data`` (labels, if any, are never
    used); it may not share a recording with the labelled samples."""
    objective: Literal["relative_positioning", "temporal_shuffling", "contrastive"] = (
        "relative_positioning"
    )
    """Pretext task (Banville et al. 2021; SimCLR for ``contrastive``)."""
    model: Literal["shallow", "eegnet"] = "shallow"
    """Registry network whose encoder (everything before the linear head) is pretrained."""
    model_params: dict[str, Any] = Field(default_factory=dict)
    """Hyper-parameters of that network (the fine-tuned model reuses them)."""
    tau_pos: float = Field(10.0, gt=0)
    """Seconds between onsets of two windows called close (relative positioning/shuffling)."""
    tau_neg: float = Field(30.0, gt=0)
    """Seconds between onsets of two windows called far (relative positioning)."""
    examples_per_window: float = Field(4.0, gt=0)
    """Pretext examples drawn per pool window."""
    max_epochs: int = Field(10, ge=1, le=10_000)
    """Training epochs over the pretext examples."""
    batch_size: int = Field(64, ge=1)
    """Pretext examples per optimisation step."""
    lr: float = Field(1e-3, gt=0)
    """AdamW learning rate of pretraining."""


def check_pretrain_model(name: str) -> None:
    """Refuse ``options.pretrain`` unless the main model starts from a pretrained encoder.

    Examples
    --------
    >>> check_pretrain_model("ssl_finetune")
    >>> check_pretrain_model("lda")
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: options.pretrain needs a model that starts from the pretrained encoder (model.name: ssl_finetune); got 'lda'.
    """
    from ...estimators import PRETRAINED

    if name not in PRETRAINED:
        raise ConfigError(
            "options.pretrain needs a model that starts from the pretrained encoder "
            f"(model.name: {', '.join(sorted(PRETRAINED))}); got {name!r}."
        )


def _norm(value: Any) -> str | None:
    text = str(value).strip()
    if text.lower() in ("", "0", "nan", "none"):
        return None  # unknown (a reader's default)
    return text.lstrip("0") or "0"


def _recording_keys(ds: Any) -> set[tuple[str | None, str | None, str | None]]:
    """(subject, session, run) of each recording, zeros stripped; None where unknown."""
    md = ds.metadata
    cols = [md[c] if c in md else ["0"] * len(md) for c in ("subject", "session", "run")]
    return {tuple(_norm(v) for v in key) for key in zip(*cols, strict=True)}


def shared_recordings(pool: Any, labelled: Any) -> list[str]:
    """Recordings of ``pool`` that may be recordings of ``labelled`` (conservatively).

    Two recordings may be the same when their subjects match and their sessions and runs
    match or are unknown on either side (readers name runs ``"04"`` or ``"4"``, sessions
    ``"0"`` when the files do not say).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from neurodl.data import EpochsDataset
    >>> md = lambda runs: pd.DataFrame({"subject": "S001", "session": "0", "run": runs})
    >>> lab = EpochsDataset(np.zeros((2, 1, 4)), np.array([0, 1]), md(["4", "8"]))
    >>> shared_recordings(EpochsDataset(np.zeros((2, 1, 4)), None, md(["01", "04"])), lab)
    ['S001/-/4']
    """
    out = []
    for p in sorted(_recording_keys(pool), key=str):
        for q in _recording_keys(labelled):
            if p[0] == q[0] and all(a is None or b is None or a == b for a, b in zip(p[1:], q[1:])):
                out.append("/".join(v or "-" for v in p))
                break
    return out


def pretrain_encoder(
    pretrain: PretrainOptions, labelled: Any, preprocessing: list[dict[str, Any]], seed: int
) -> tuple[Any, dict[str, Any]]:
    """Pretrain the encoder on the pool; return it and what ``results.json`` records.

    Parameters
    ----------
    pretrain : PretrainOptions
        The ``options.pretrain`` section.
    labelled : EpochsDataset
        The run's labelled samples as read (to refuse a pool sharing a recording with them).
    preprocessing : list of dict
        The run's ``preprocessing`` section (applied to the pool the same way).
    seed : int
        Seed of pretraining.

    Returns
    -------
    encoder : PretrainedEncoder
        For ``model.params.pretrained`` of ``ssl_finetune``.
    record : dict
        Pool size and shape, recordings, objective, pretext loss per epoch.

    Examples
    --------
    >>> from neurodl.workflows.config import DataConfig
    >>> opts = PretrainOptions(data=DataConfig(source="simulate", simulator="motor_imagery"))
    >>> opts.objective, opts.max_epochs
    ('relative_positioning', 10)
    """
    from ...estimators.pretraining import SSLPretrainer
    from ...preprocessing import preprocess_before_split
    from ..data import load_samples

    pool, _ = load_samples(pretrain.data, seed=seed, need_labels=False)
    shared = shared_recordings(pool, labelled)
    if shared:
        raise ConfigError(
            f"options.pretrain.data shares {len(shared)} recording(s) with the labelled data "
            f"(subject/session/run, e.g. {', '.join(shared[:3])}): test windows would enter pretraining. Use other "
            "recordings (e.g. other runs) for the pool."
        )
    pool_ds, _, fold_steps = preprocess_before_split(pool, preprocessing)
    X = np.asarray(pool_ds.X, dtype=np.float32)
    if fold_steps is not None:  # steps fitted per fold: fitted here on the pool itself
        X = np.asarray(fold_steps.fit_transform(X), dtype=np.float32)
    if X.ndim != 3:
        raise ConfigError(
            f"options.pretrain needs windows (n_windows, n_chans, n_times) after preprocessing; "
            f"the pool has shape {X.shape}."
        )
    md = pool_ds.metadata
    if "onset" not in md and pretrain.objective != "contrastive":
        raise ConfigError(
            f"objective {pretrain.objective!r} needs each window's onset: cut the pool with "
            "the 'windows' or 'epochs' sampler (data.to_samples), or use 'contrastive'."
        )
    recordings = md["recording"].astype(str).to_numpy() if "recording" in md else None
    onsets = md["onset"].to_numpy(dtype=float) if "onset" in md else None
    pre = SSLPretrainer(
        pretrain.model,
        model_params=dict(pretrain.model_params) or None,
        objective=pretrain.objective,
        sfreq=pool_ds.sfreq,
        tau_pos=pretrain.tau_pos,
        tau_neg=pretrain.tau_neg,
        examples_per_window=pretrain.examples_per_window,
        max_epochs=pretrain.max_epochs,
        batch_size=pretrain.batch_size,
        lr=pretrain.lr,
        random_state=seed,
        num_threads=1,
    )
    pre.fit(
        X,
        recordings=recordings,
        onsets=onsets,
        ch_names=pool_ds.ch_names,
        sample_ids=np.arange(len(X)),
    )
    record = {
        "objective": pretrain.objective,
        "model": pretrain.model,
        "n_windows": int(X.shape[0]),
        "window_shape": [int(s) for s in X.shape[1:]],
        "n_recordings": len(_recording_keys(pool)),
        "n_examples": int(pre.n_examples_),
        "pretext_loss": [float(h.get("train_loss", np.nan)) for h in pre.history_],
        "shared_recordings_with_labelled_data": 0,
    }
    return pre.encoder_, record
