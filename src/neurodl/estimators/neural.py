"""scikit-learn estimators that train any registered torch model.

:class:`NeuralClassifier` and :class:`NeuralRegressor` are plain scikit-learn estimators
(``fit`` / ``predict`` / ``predict_proba`` / ``score``, ``get_params`` / ``set_params``,
:func:`sklearn.base.clone`), so :func:`neurodl.evaluation.cross_validate`, sklearn pipelines and
grid searches use them unchanged. Their shared fitting logic is :mod:`._neural_base`; the
training loop itself is :func:`neurodl.estimators.torch_engine.train` (its package docstring
states exactly what it does).

Input
-----
- 3-D ``X`` of shape ``(n_samples, n_chans, n_times)``: signals, passed to the model as is.
- 2-D ``X`` of shape ``(n_samples, n_features)`` (the documented 2-D mode): treated as a single
  channel, ``(n_samples, 1, n_features)``. It suits feature vectors with the ``"linear"`` /
  ``"mlp"`` models, and lets scikit-learn's estimator checks run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ..exceptions import ConfigError
from ._neural_base import _NeuralBase, _torch_threads  # noqa: F401  (used by analyses.interpret)

__all__ = ["NeuralClassifier", "NeuralRegressor"]


_COMMON_DOC = """
    Parameters
    ----------
    model : str, default="eegnet"
        Name of a registered model (:func:`neurodl.models.list_models`).
    model_params : dict or None
        Hyperparameters passed to the model's constructor.
    max_epochs : int, default=30
    batch_size : int, default=64
    lr : float, default=1e-3
        AdamW learning rate (peak rate for ``"onecycle"``).
    weight_decay : float, default=1e-2
        AdamW decoupled weight decay.
    schedule : {"cosine", "onecycle", "plateau", None}, default="cosine"
        Learning-rate schedule, stepped every batch (``"plateau"``: halve the rate when the
        monitored loss stops falling, stepped once per epoch).
    early_stopping : bool, default=True
        Stop after ``patience`` epochs without a lower validation loss and restore the best
        epoch's weights (needs a validation split).
    patience : int, default=10
    validation_fraction : float or None, default=0.2
        Share of the training samples held out as the inner validation split: grouped
        (:class:`~sklearn.model_selection.GroupShuffleSplit`) when ``fit`` gets ``groups`` of
        at least 2 values, else stratified by class (classification) or shuffled.
        ``0``/``None`` or fewer than 4 samples: no validation split, no early stopping.
    grad_clip : float or None, default=1.0
        Clip the global gradient L2 norm.
    deterministic : bool, default=True
        Deterministic algorithms during ``fit`` (restored afterwards).
    device : str, default="auto"
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    mixed_precision : {"auto", True, False}, default="auto"
        Autocast on CUDA (``"auto"`` and ``True``: on when on CUDA). Always off on CPU.
    channels_last : bool, default=False
        Channels-last memory format for the model on CUDA (ignored on CPU).
    checkpoint_dir : str or Path or None
        Folder for the per-epoch checkpoint, named after a fingerprint of the data, the
        parameters and the seed (atomic writes). With ``resume=True``, a later ``fit`` on the
        same data and parameters continues after the last saved epoch and ends with the same
        weights as an uninterrupted run; a finished run is restored without training. Needs an
        integer ``random_state`` to match across calls.
    resume : bool, default=True
    on_divergence : {"raise", "rollback"}, default="raise"
        A non-finite loss or gradient norm raises
        :class:`~neurodl.estimators.torch_engine.DivergenceError`, or rolls back to the last
        good epoch and stops (``stopped_reason_ == "diverged"``).
    cropped : bool, default=False
        Cropped training: the model sees crops of ``crop_len`` samples (one random crop per
        trial and epoch); predictions average the probabilities (outputs) of crops starting every
        ``crop_stride`` samples plus one ending at the last sample.
    crop_len : int or None
        Crop length in samples (required when ``cropped``).
    crop_stride : int or None
        Stride between prediction crops; default ``crop_len // 2``.
    sfreq : float or None
        Sampling rate passed to the model (models with kernels in seconds use it).
    callbacks : list of callables or None
        Called as ``callback(record)`` after each epoch with that epoch's history record.
    augment : list of dict or None
        Train-time augmentation: ``[{"name": "gaussian_noise", "p": 0.5, "std": 0.1}, ...]``
        (names and parameters: :mod:`neurodl.estimators.torch_engine.augment`). Applied per
        sample to training batches only, seeded by ``random_state``; never to the validation
        split or to ``predict`` inputs. ``frequency_shift`` and ``bandstop`` need ``sfreq``.
    adaptive_bn : bool, default=False
        Adaptive batch normalisation: ``predict``/``predict_proba`` recompute the network's
        batch-norm statistics on the inputs they are given (a copy; ``model_`` unchanged).
        This uses the unlabelled test inputs: call ``predict`` with one target (subject,
        recording, dataset) at a time, and report that the test inputs were used.
    batch_by_group : bool, default=False
        Domain-specific batch norm (Kobler et al. 2022): every training batch holds the samples
        of one group (``fit``'s ``groups``, e.g. the subject), so batch norm standardises each
        subject with its own statistics, and the inner validation split is scored subject by
        subject with batch norm re-estimated on each (as ``adaptive_bn`` does at test time).
        Use it with ``adaptive_bn=True`` and a ``batch_size`` of about one subject's samples.
        Needs ``groups`` in ``fit``; single-process training only.
    num_threads : int or None, default=None
        Torch intra-op threads during ``fit`` and ``predict`` (restored afterwards); ``None``
        keeps :func:`torch.get_num_threads`. Tiny networks often run fastest on 1 thread.
    random_state : int, RandomState or None
        Seed of the model initialisation, batch order, crops, dropout and validation split.
    verbose : int, default=0
        ``> 0``: log each epoch at INFO level to the ``neurodl`` logger.
"""

_ATTR_DOC = """
    Attributes
    ----------
    model_ : torch.nn.Module
        The trained network (eval mode).
    n_chans_, n_times_ : int
        Input shape seen in ``fit`` (2-D mode: ``1`` and ``n_features``).
    n_features_in_ : int
        ``X.shape[1]`` as seen in ``fit``.
    history_ : list of dict
        One record per epoch: ``epoch``, ``train_loss``, ``lr``, ``time_s``, and
        ``valid_loss`` / ``valid_accuracy`` (or ``valid_r2``) with a validation split
        (``train_accuracy`` for classifiers).
    best_epoch_ : int or None
        Epoch with the lowest validation loss.
    stopped_reason_ : str
        ``"max_epochs"``, ``"early_stopping"`` or ``"diverged"``.
    n_epochs_ : int
    seed_ : int
        The seed used.
    device_ : str
    checkpoint_path_ : Path or None
    calibration_ : dict or None
        The fitted calibration (classifiers with ``calibration`` set), else None.
"""


class NeuralClassifier(ClassifierMixin, _NeuralBase):
    __doc__ = (
        """Classifier training a registered torch model (trialwise or cropped).
"""
        + _COMMON_DOC
        + """    class_weight : None, "balanced" or dict, default=None
        Weights of the cross-entropy per class (``"balanced"``: inversely proportional to the
        class frequencies in the training split).
    calibration : {None, "temperature", "platt"}, default=None
        Probability calibration fitted after training on the inner validation split (held-out
        training samples, never test data; needs ``validation_fraction > 0``): temperature
        scaling, or Platt scaling (2 classes). Temperature scaling keeps the predicted class.
"""
        + _ATTR_DOC
        + """    classes_ : ndarray of shape (n_classes,)

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> X = rng.normal(size=(40, 2, 8)) + y[:, None, None]
    >>> clf = NeuralClassifier(
    ...     "linear", max_epochs=20, batch_size=8, lr=0.05, validation_fraction=0.0, random_state=0
    ... ).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
"""
    )

    _task = "classification"

    def __init__(
        self,
        model: str = "eegnet",
        model_params: dict[str, Any] | None = None,
        *,
        max_epochs: int = 30,
        batch_size: int = 64,
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        schedule: str | None = "cosine",
        early_stopping: bool = True,
        patience: int = 10,
        validation_fraction: float | None = 0.2,
        class_weight: str | dict | None = None,
        grad_clip: float | None = 1.0,
        deterministic: bool = True,
        device: str = "auto",
        mixed_precision: str | bool = "auto",
        channels_last: bool = False,
        checkpoint_dir: str | Path | None = None,
        resume: bool = True,
        on_divergence: str = "raise",
        cropped: bool = False,
        crop_len: int | None = None,
        crop_stride: int | None = None,
        sfreq: float | None = None,
        callbacks: list[Callable[[dict[str, Any]], Any]] | None = None,
        num_threads: int | None = None,
        random_state: Any = None,
        verbose: int = 0,
        augment: list[dict[str, Any]] | None = None,
        adaptive_bn: bool = False,
        calibration: str | None = None,
        batch_by_group: bool = False,
    ) -> None:
        self.model = model
        self.model_params = model_params
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.class_weight = class_weight
        self.grad_clip = grad_clip
        self.deterministic = deterministic
        self.device = device
        self.mixed_precision = mixed_precision
        self.channels_last = channels_last
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume
        self.on_divergence = on_divergence
        self.cropped = cropped
        self.crop_len = crop_len
        self.crop_stride = crop_stride
        self.sfreq = sfreq
        self.callbacks = callbacks
        self.num_threads = num_threads
        self.random_state = random_state
        self.verbose = verbose
        self.augment = augment
        self.adaptive_bn = adaptive_bn
        self.calibration = calibration
        self.batch_by_group = batch_by_group

    def _prepare_targets(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"NeuralClassifier needs samples of at least 2 classes; got 1 class "
                f"({self.classes_[0]!r})."
            )
        return y_enc.astype(np.int64), len(self.classes_)

    def _class_weight_vector(self, y_enc: np.ndarray) -> np.ndarray | None:
        if self.class_weight is None:
            return None
        from sklearn.utils.class_weight import compute_class_weight

        k = len(self.classes_)
        if self.class_weight == "balanced":
            present = np.unique(y_enc)
            w = np.ones(k)
            w[present] = compute_class_weight("balanced", classes=present, y=y_enc)
            return w
        unknown = [c for c in self.class_weight if c not in set(self.classes_.tolist())]
        if unknown:
            raise ConfigError(
                f"Invalid value for 'class_weight': classes {unknown} are not in the training "
                f"labels {self.classes_.tolist()}."
            )
        return np.array([float(self.class_weight.get(c, 1.0)) for c in self.classes_.tolist()])

    def fit(self, X: Any, y: Any = None, groups: Any = None) -> NeuralClassifier:
        """Train on ``X`` of shape (n_samples, n_chans, n_times) (or 2-D) and labels ``y``.

        ``X`` may be an EpochsDataset or ``mne.Epochs``; without ``y`` its own labels are used
        (``dataset.y``, or the events as :meth:`EpochsDataset.from_mne` numbers them).
        ``groups`` (one per sample) makes the inner validation split group-aware.
        """
        return self._fit(X, y, groups)  # type: ignore[return-value]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of shape (n_samples, n_classes), columns in ``classes_`` order."""
        return self._outputs(X)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class of each sample, shape (n_samples,)."""
        check_is_fitted(self, "model_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class NeuralRegressor(RegressorMixin, _NeuralBase):
    __doc__ = (
        """Regressor training a registered torch model (targets standardised internally).
"""
        + _COMMON_DOC
        + _ATTR_DOC
        + """    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
        Target standardisation learnt in ``fit`` (undone in ``predict``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3))
    >>> y = X @ np.array([1.0, -2.0, 0.5])
    >>> reg = NeuralRegressor(
    ...     "linear", max_epochs=30, batch_size=8, lr=0.05, validation_fraction=0.0, random_state=0
    ... ).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
"""
    )

    _task = "regression"

    def __init__(
        self,
        model: str = "eegnet",
        model_params: dict[str, Any] | None = None,
        *,
        max_epochs: int = 30,
        batch_size: int = 64,
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        schedule: str | None = "cosine",
        early_stopping: bool = True,
        patience: int = 10,
        validation_fraction: float | None = 0.2,
        grad_clip: float | None = 1.0,
        deterministic: bool = True,
        device: str = "auto",
        mixed_precision: str | bool = "auto",
        channels_last: bool = False,
        checkpoint_dir: str | Path | None = None,
        resume: bool = True,
        on_divergence: str = "raise",
        cropped: bool = False,
        crop_len: int | None = None,
        crop_stride: int | None = None,
        sfreq: float | None = None,
        callbacks: list[Callable[[dict[str, Any]], Any]] | None = None,
        num_threads: int | None = None,
        random_state: Any = None,
        verbose: int = 0,
        augment: list[dict[str, Any]] | None = None,
        adaptive_bn: bool = False,
        batch_by_group: bool = False,
    ) -> None:
        self.model = model
        self.model_params = model_params
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.grad_clip = grad_clip
        self.deterministic = deterministic
        self.device = device
        self.mixed_precision = mixed_precision
        self.channels_last = channels_last
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume
        self.on_divergence = on_divergence
        self.cropped = cropped
        self.crop_len = crop_len
        self.crop_stride = crop_stride
        self.sfreq = sfreq
        self.callbacks = callbacks
        self.num_threads = num_threads
        self.random_state = random_state
        self.verbose = verbose
        self.augment = augment
        self.adaptive_bn = adaptive_bn
        self.batch_by_group = batch_by_group

    def _prepare_targets(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        y = np.asarray(y, dtype=np.float64)
        self._y_1d = y.ndim == 1
        y2 = y.reshape(len(y), -1)
        self.y_mean_ = y2.mean(axis=0)
        scale = y2.std(axis=0)
        self.y_scale_ = np.where(scale > 0, scale, 1.0)
        return ((y2 - self.y_mean_) / self.y_scale_).astype(np.float32), y2.shape[1]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X: Any, y: Any = None, groups: Any = None) -> NeuralRegressor:
        """Train on ``X`` of shape (n_samples, n_chans, n_times) (or 2-D) and targets ``y``.

        ``y`` of shape (n_samples,) or (n_samples, n_outputs); when ``X`` is an EpochsDataset,
        ``y`` may be left out (its ``dataset.y`` is used). ``groups`` makes the inner
        validation split group-aware.
        """
        return self._fit(X, y, groups)  # type: ignore[return-value]

    def predict(self, X: Any) -> np.ndarray:
        """Predictions of shape (n_samples,) (1-D ``y`` in fit) or (n_samples, n_outputs)."""
        out = self._outputs(X) * self.y_scale_ + self.y_mean_
        return out[:, 0] if self._y_1d else out
