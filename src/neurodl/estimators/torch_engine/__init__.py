"""The training engine every neural estimator reuses: one loop, resumable and distributable.

Functional core behind :class:`~neurodl.estimators.NeuralClassifier`,
:class:`~neurodl.estimators.NeuralRegressor` and the dynamics estimators: :func:`train` fits a
torch module on arrays, :func:`predict_outputs` applies it (trialwise or averaged over crops).

Modules, one concern each: :mod:`.settings` (:class:`TrainConfig`, schedules, optimisers,
:class:`LossContext`, :class:`TrainResult`), :mod:`.loop` (:func:`train`), :mod:`.losses`
(built-in losses and custom objectives), :mod:`.augment` (train-time augmentation),
:mod:`.evaluate` (prediction, validation),
:mod:`.checkpoint` (atomic, resumable checkpoints), :mod:`.parallel` (batch order, DDP),
:mod:`.cropping` (cropped training and prediction), :mod:`.precision` (mixed precision) and
:mod:`.devices` (device choice, determinism).

What the loop does, exactly
---------------------------
- **Optimiser and schedule**: AdamW (``lr``, ``weight_decay`` decoupled), or Adam with
  ``weight_decay`` as an L2 penalty added to the gradient (``optimizer="adam"``; see
  :data:`OPTIMIZERS`); the learning rate follows :data:`SCHEDULES` per optimisation step
  (``"cosine"``: cosine annealing from ``lr`` to 0 over all steps; ``"onecycle"``: one-cycle
  with peak ``lr``; ``None``: constant; ``"plateau"``: halved after ``plateau_patience`` epochs without a lower validation loss, or
  training loss without validation, stepped once per epoch).
- **Batches**: each epoch draws the permutation ``torch.randperm(n, generator=seed + epoch)``,
  exactly as :class:`torch.utils.data.DistributedSampler` does, and cuts it into consecutive
  batches of ``batch_size`` (the last one may be smaller; a last batch of a single sample is
  skipped so that batch norm never sees one sample). Batches depend only on the seed and epoch, so
  a resumed run sees the same batches, and DDP ranks together see the same global batches.
- **Loss**: cross-entropy (optionally class-weighted; normalised by the batch's total weight) or
  mean squared error. Gradients are clipped to ``grad_clip`` (global L2 norm) when set.
- **Custom objectives** (``objective=`` of :func:`train`): a callable
  ``objective(model, xb, yb, ctx) -> losses`` or ``-> (weighted_losses, weights)`` replaces the
  built-in loss; ``losses`` has one entry per sample (shape ``(batch,)``) and the batch loss is
  ``sum(weighted_losses) / sum(weights)`` (weights all-reduced over DDP ranks), exactly how the
  built-in losses are reduced. ``ctx`` is a :class:`LossContext` (``epoch``, global optimisation
  ``step``, ``training``, ``steps_per_epoch``, ``max_epochs``): schedules inside the loss (a KL
  warm-up by epoch or step) and training-only corruption (coordinated dropout) live in the
  objective. The validation loss is the same objective with ``ctx.training=False``, called in
  eval mode without gradients on batches of ``predict_batch_size`` (no validation metric is
  recorded). ``xb``/``yb`` may have any shape after the sample axis (``y`` float32). The
  built-in MSE written as an objective reproduces the built-in path's weights exactly.
- **Augmentation** (``cfg.augment``, an :class:`~.augment.Augmenter`): each training batch,
  after cropping, goes through the augmenter with a generator seeded from ``(seed, epoch,
  batch index)`` (:func:`~.augment.augment_seed`); each transform hits a random subset of
  samples with per-sample parameters. Validation and prediction inputs are never augmented.
  With mixup the loss is ``lam * loss(y) + (1 - lam) * loss(y_partner)`` per sample (weights
  mixed the same way).
- **Cropped training** (``crop_len`` set): each training sample is replaced by one crop of
  ``crop_len`` samples starting at a uniformly drawn offset (generator ``seed + epoch``,
  independent per sample and epoch). At prediction, crops start at ``0, crop_stride,
  2 * crop_stride, ...`` plus a last crop ending at the final sample, and the class
  probabilities (classification) or outputs (regression) are averaged over crops.
- **Validation and early stopping**: after every epoch the validation loss (cross-entropy of the
  predicted probabilities, or MSE) and metric (accuracy or R^2) are computed; with
  ``early_stopping`` training stops after ``patience`` epochs without a lower validation loss and
  the best epoch's weights are restored.
- **Divergence guard**: a non-finite training loss or gradient norm in an epoch either raises
  :class:`DivergenceError` (``on_divergence="raise"``) or rolls the model, optimiser and
  scheduler back to the end of the last good epoch and stops (``on_divergence="rollback"``,
  recorded as ``stopped_reason="diverged"``). ``on_divergence="skip"`` (a NaN guard for
  stochastic objectives) skips each batch whose loss or gradient norm is not finite (no
  optimiser or scheduler step; counted in the epoch record's ``n_skipped``) and rolls back and
  stops only when every batch of an epoch was skipped.
- **Checkpoints**: with ``checkpoint_path`` set, the whole state (model, optimiser, scheduler,
  grad scaler, RNG states, epoch, history, best weights, patience counter) is written after
  every epoch to a temporary file in the same folder and moved over the checkpoint with
  :func:`os.replace` (atomic: a crash leaves the previous checkpoint intact). A run started
  again with the same fingerprint continues after the last saved epoch and ends with the same
  weights as an uninterrupted run (same machine, same threads, deterministic mode).
- **Determinism**: ``deterministic=True`` switches on
  :func:`torch.use_deterministic_algorithms` (and deterministic cuDNN) for the duration of the
  fit only, restored afterwards; all randomness comes from generators seeded with ``seed``.
  The global torch RNG is forked, so fitting does not change the caller's RNG state.
- **Devices**: mixed precision (bfloat16 autocast where supported, else float16 with a grad
  scaler) and channels-last memory format apply on CUDA only; on CPU they are off.
"""

from __future__ import annotations

from .augment import AUGMENTATIONS, Augmenter, build_augmenter, check_augment, make_transform
from .checkpoint import CHECKPOINT_VERSION, atomic_torch_save, load_checkpoint
from .cropping import crop_starts, eval_crop_starts
from .devices import determinism, resolve_device
from .evaluate import predict_outputs
from .loop import train
from .parallel import DistContext, epoch_permutation
from .settings import (
    EPOCH_SCHEDULES,
    ON_DIVERGENCE,
    OPTIMIZERS,
    SCHEDULES,
    DivergenceError,
    LossContext,
    Objective,
    TrainConfig,
    TrainResult,
)

__all__ = [
    "AUGMENTATIONS",
    "CHECKPOINT_VERSION",
    "EPOCH_SCHEDULES",
    "ON_DIVERGENCE",
    "OPTIMIZERS",
    "SCHEDULES",
    "Augmenter",
    "DistContext",
    "DivergenceError",
    "LossContext",
    "Objective",
    "TrainConfig",
    "TrainResult",
    "atomic_torch_save",
    "build_augmenter",
    "check_augment",
    "crop_starts",
    "determinism",
    "epoch_permutation",
    "eval_crop_starts",
    "load_checkpoint",
    "make_transform",
    "predict_outputs",
    "resolve_device",
    "train",
]
