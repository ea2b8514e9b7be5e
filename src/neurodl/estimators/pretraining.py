"""Self-supervised pretraining of a registry network's encoder, then fine-tuning or probing.

:class:`SSLPretrainer` trains the encoder of ``shallow`` or ``eegnet`` (everything before the
linear head; :class:`~neurodl.models.pretext.FeatureExtractor`) on unlabelled windows of shape
``(n_windows, n_chans, n_times)`` with one pretext objective (:data:`SSL_OBJECTIVES`):

- ``"relative_positioning"`` (Banville et al. 2021, J Neural Eng 18:046020): pairs of windows
  of one recording, label 1 when their onsets are at most ``tau_pos`` seconds apart, 0 when at
  least ``tau_neg`` apart (half and half); ``|h(x1) - h(x2)|`` -> logistic loss.
- ``"temporal_shuffling"`` (same paper): three windows of one recording with onsets within
  ``tau_pos`` seconds, in temporal order (label 1) or with the middle one swapped with an end
  one (label 0); ``[|h1 - h2|, |h2 - h3|]`` -> logistic loss.
- ``"contrastive"`` (SimCLR, Chen et al. 2020): two views of each window through the engine's
  augmentations (:mod:`neurodl.estimators.torch_engine.augment`, ``augment`` specs, default
  :data:`CONTRASTIVE_AUGMENT`), a projection head and the NT-Xent loss (``temperature``).

The pretext examples (pairs, triplets) are drawn once, seeded, and the engine
(:func:`~neurodl.estimators.torch_engine.train`, custom objective) fits the network on them.
Labels are never used. The fitted encoder is a :class:`PretrainedEncoder` (a plain object, so
that :func:`sklearn.base.clone` copies it instead of resetting it), which
:class:`FineTunedClassifier` starts from:

- ``mode="finetune"``: a new linear head, then the whole network trained on the labelled
  windows (the engine's built-in loss, optional augmentation);
- ``mode="linear_probe"``: the encoder frozen, standardised features -> logistic regression;
- ``pretrained=None``: the same network and recipe from random weights ("from scratch").

What the encoder saw is recorded (:attr:`PretrainedEncoder.sample_ids`: the ids passed to
``fit``) so a protocol can prove that no test window entered pretraining; a fine-tune set with
another channel layout (number or names of channels, window length) is refused.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.standard_normal((40, 2, 100)).astype("float32")
>>> pre = SSLPretrainer("shallow", objective="contrastive", max_epochs=1,
...                     model_params={"pool_time_length": 20, "pool_time_stride": 10},
...                     sfreq=100.0).fit(X)
>>> clf = FineTunedClassifier(pre.encoder_, mode="linear_probe").fit(X, np.arange(40) % 2)
>>> clf.predict(X[:3]).shape
(3,)
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from ..exceptions import ConfigError, DataFormatError
from .pretext_tasks import contrastive_objective, draw_pairs, draw_triplets, example_objective
from .pretrained_encoder import (
    PretrainedEncoder,
    _check_positive,
    _windows_array,
    check_same_layout,
)
from .torch_engine import TrainConfig, build_augmenter, determinism, predict_outputs, train

__all__ = [
    "CONTRASTIVE_AUGMENT",
    "FINETUNE_MODES",
    "SSL_OBJECTIVES",
    "FineTunedClassifier",
    "PretrainedEncoder",
    "SSLPretrainer",
    "check_same_layout",
]

#: Pretext objectives: name -> what a training example is.
SSL_OBJECTIVES: dict[str, str] = {
    "relative_positioning": "pair of windows of one recording: close (<= tau_pos) or far (>= tau_neg)",
    "temporal_shuffling": "three windows within tau_pos: in order or shuffled",
    "contrastive": "two augmented views of a window (NT-Xent against the other windows)",
}
#: How the pretrained encoder is used on labelled windows.
FINETUNE_MODES = ("finetune", "linear_probe")
#: Default views of the contrastive objective (engine augmentation specs).
CONTRASTIVE_AUGMENT: list[dict[str, Any]] = [
    {"name": "time_shift", "p": 0.8, "max_shift": 25},
    {"name": "amplitude_scale", "p": 0.8, "low": 0.7, "high": 1.4},
    {"name": "gaussian_noise", "p": 0.5, "std": 0.2},
    {"name": "channel_dropout", "p": 0.5, "p_drop": 0.2},
    {"name": "ft_surrogate", "p": 0.3, "phase_noise": 0.5},
]


class SSLPretrainer(BaseEstimator):
    """Self-supervised pretraining of a registry network's encoder on unlabelled windows.

    Parameters
    ----------
    model : {"shallow", "eegnet"}, default="shallow"
    model_params : dict, optional
        Hyperparameters of the registry model.
    objective : str, default="relative_positioning"
        One of :data:`SSL_OBJECTIVES`.
    sfreq : float, optional
        Sampling rate (EEGNet's kernels and rate-dependent augmentations need it).
    tau_pos, tau_neg : float, default=10.0, 30.0
        Seconds between window onsets: "close" at most ``tau_pos``, "far" at least ``tau_neg``.
    examples_per_window : float, default=4.0
        Pretext examples drawn per window (pairs, triplets; the contrastive objective uses each
        window once per epoch).
    augment : list of dict, optional
        Views of the contrastive objective (default :data:`CONTRASTIVE_AUGMENT`).
    temperature : float, default=0.2
        NT-Xent temperature.
    max_epochs, batch_size, lr, weight_decay : training settings of the engine
    random_state : int, default=0
    num_threads : int or None, default=None
    batch_by_group : bool, default=False
        Each batch from one group of ``fit``'s ``groups`` (e.g. one subject): the contrastive
        objective's negatives are then windows of the same subject (subject-aware contrastive
        learning, Cheng et al. 2020), so the features must tell apart what varies *within* a
        subject rather than who the subject is. Pair and triplet examples go by the group of
        their first window.

    Attributes
    ----------
    encoder_ : PretrainedEncoder
    n_examples_ : int
        Pretext examples trained on.
    history_ : list of dict

    Examples
    --------
    Relative positioning on 24 unlabelled windows of 2 recordings (onsets 5 s apart): 4 pairs
    per window, one epoch:

    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((24, 2, 100)).astype("float32")  # 2 recordings of 12 windows
    >>> rec, onsets = np.repeat([0, 1], 12), np.tile(np.arange(12) * 5.0, 2)
    >>> pre = SSLPretrainer(
    ...     "shallow", model_params={"pool_time_length": 20, "pool_time_stride": 10},
    ...     objective="relative_positioning", max_epochs=1, batch_size=16, sfreq=100.0,
    ... ).fit(X, recordings=rec, onsets=onsets, ch_names=["C3", "C4"])
    >>> pre.n_examples_, len(pre.history_)
    (96, 1)
    >>> enc = pre.encoder_
    >>> enc.objective, enc.n_windows, enc.n_chans, enc.n_times, enc.ch_names
    ('relative_positioning', 24, 2, 100, ['C3', 'C4'])
    >>> pre.transform(X[:5]).shape  # encoder features
    (5, 240)

    The pair and triplet objectives need to know where each window lies:

    >>> SSLPretrainer(objective="relative_positioning").fit(X)
    Traceback (most recent call last):
    ...
    neurodl.exceptions.DataFormatError: objective='relative_positioning' needs 'recordings' and 'onsets' (seconds) for every window.
    """

    def __init__(
        self,
        model: str = "shallow",
        *,
        model_params: dict[str, Any] | None = None,
        objective: str = "relative_positioning",
        sfreq: float | None = None,
        tau_pos: float = 10.0,
        tau_neg: float = 30.0,
        examples_per_window: float = 4.0,
        augment: list[dict[str, Any]] | None = None,
        temperature: float = 0.2,
        max_epochs: int = 20,
        batch_size: int = 64,
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        random_state: int = 0,
        num_threads: int | None = None,
        batch_by_group: bool = False,
    ):
        self.model = model
        self.model_params = model_params
        self.objective = objective
        self.sfreq = sfreq
        self.tau_pos = tau_pos
        self.tau_neg = tau_neg
        self.examples_per_window = examples_per_window
        self.augment = augment
        self.temperature = temperature
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.random_state = random_state
        self.num_threads = num_threads
        self.batch_by_group = batch_by_group

    def _check_params(self) -> None:
        from ..models.pretext import feature_layer

        feature_layer(self.model)
        if self.objective not in SSL_OBJECTIVES:
            raise ConfigError(
                f"Invalid value for 'objective'. Allowed: {', '.join(map(repr, SSL_OBJECTIVES))}; "
                f"got {self.objective!r}."
            )
        for name in ("tau_pos", "tau_neg", "examples_per_window", "temperature", "lr"):
            _check_positive(name, getattr(self, name))
        for name in ("max_epochs", "batch_size"):
            _check_positive(name, getattr(self, name), integer=True)
        if self.tau_neg <= self.tau_pos:
            raise ConfigError(
                f"Invalid value for 'tau_neg'. Allowed: > tau_pos ({self.tau_pos!r}); "
                f"got {self.tau_neg!r}."
            )

    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        recordings: Any = None,
        onsets: Any = None,
        ch_names: list[str] | None = None,
        sample_ids: Any = None,
        groups: Any = None,
    ) -> SSLPretrainer:
        """Pretrain on unlabelled windows.

        Parameters
        ----------
        X : ndarray of shape (n_windows, n_chans, n_times)
        y : ignored
            Labels are never used.
        recordings : array-like of shape (n_windows,), optional
            Recording of each window (pairs and triplets stay within a recording); required by
            ``relative_positioning`` and ``temporal_shuffling``.
        onsets : array-like of shape (n_windows,), optional
            Onset of each window in seconds within its recording (same objectives).
        ch_names : list of str, optional
            Channel names, checked against the fine-tuning data later.
        sample_ids : array-like of shape (n_windows,), optional
            Ids of the windows (e.g. dataset indices), kept in ``encoder_.sample_ids``.
        groups : array-like of shape (n_windows,), optional
            Group of each window (e.g. the subject); required by ``batch_by_group``.
        """
        import torch

        from ..models import build_model
        from ..models.pretext import (
            FeatureExtractor,
            PairHead,
            PretextNet,
            ProjectionHead,
            TripletHead,
        )
        from ._neural_base import _torch_threads

        self._check_params()
        X = _windows_array(X)
        n = len(X)
        if ch_names is not None and len(ch_names) != X.shape[1]:
            raise DataFormatError(f"ch_names has {len(ch_names)} names for {X.shape[1]} channels.")
        ids = None if sample_ids is None else np.asarray(sample_ids)
        if ids is not None and len(ids) != n:
            raise DataFormatError(f"sample_ids has {len(ids)} entries for {n} windows.")
        seed = int(self.random_state)
        rng = np.random.default_rng(seed)
        n_ex = max(round(self.examples_per_window * n), 2)
        if self.objective == "contrastive":
            if n < 2:
                raise DataFormatError("The contrastive objective needs at least two windows.")
            examples, targets = np.arange(n, dtype=np.float64)[:, None], np.zeros(n)
        else:
            if recordings is None or onsets is None:
                raise DataFormatError(
                    f"objective={self.objective!r} needs 'recordings' and 'onsets' (seconds) "
                    "for every window."
                )
            rec, onset = np.asarray(recordings), np.asarray(onsets, dtype=np.float64)
            if len(rec) != n or len(onset) != n:
                raise DataFormatError(
                    f"recordings/onsets have {len(rec)}/{len(onset)} entries for {n} windows."
                )
            if self.objective == "relative_positioning":
                examples, targets = draw_pairs(rec, onset, n_ex, self.tau_pos, self.tau_neg, rng)
            else:
                examples, targets = draw_triplets(rec, onset, n_ex, self.tau_pos, rng)
        batch_groups = None
        if self.batch_by_group:
            if groups is None or len(groups) != n:
                raise DataFormatError(
                    "batch_by_group=True needs 'groups' (e.g. the subject) for every window; "
                    f"got {'none' if groups is None else len(groups)} for {n} windows."
                )
            codes = np.unique(np.asarray(groups), return_inverse=True)[1].reshape(-1)
            batch_groups = codes[examples[:, 0].astype(np.int64)]
        params = dict(self.model_params or {})
        cfg = TrainConfig(
            task="regression",
            max_epochs=int(self.max_epochs),
            batch_size=int(self.batch_size),
            lr=float(self.lr),
            weight_decay=float(self.weight_decay),
            early_stopping=False,
            seed=seed,
            batch_groups=batch_groups,
        )
        with _torch_threads(self.num_threads), torch.random.fork_rng(), determinism(True, "cpu"):
            torch.manual_seed(seed)
            net = build_model(
                self.model,
                n_chans=X.shape[1],
                n_times=X.shape[2],
                n_outputs=2,
                sfreq=self.sfreq,
                **params,
            )
            enc = FeatureExtractor(net, self.model)
            windows = torch.from_numpy(X)
            if self.objective == "contrastive":
                head: Any = ProjectionHead(enc.n_features)
                aug = build_augmenter(
                    CONTRASTIVE_AUGMENT if self.augment is None else self.augment, sfreq=self.sfreq
                )
                if aug is None:
                    raise ConfigError("The contrastive objective needs augment specs; got [].")
                objective = contrastive_objective(windows, aug, float(self.temperature), seed)
            else:
                k = examples.shape[1]
                head = PairHead(enc.n_features) if k == 2 else TripletHead(enc.n_features)
                objective = example_objective(windows, k)
            result = train(
                PretextNet(enc, head), examples, targets, None, None, cfg, objective=objective
            )
        net.eval()
        self.n_examples_ = len(examples)
        self.history_ = result.history
        self.encoder_ = PretrainedEncoder(
            network=net,
            model=self.model,
            model_params=params,
            sfreq=self.sfreq,
            n_chans=int(X.shape[1]),
            n_times=int(X.shape[2]),
            ch_names=None if ch_names is None else list(ch_names),
            objective=self.objective,
            n_windows=n,
            sample_ids=ids,
            history=result.history,
        )
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Encoder features of ``X`` (n, n_chans, n_times): ndarray (n, n_features)."""
        check_is_fitted(self, "encoder_")
        X = _windows_array(X)
        check_same_layout(self.encoder_, X.shape[1], X.shape[2], None)
        return self.encoder_.features(X)


class FineTunedClassifier(ClassifierMixin, BaseEstimator):
    """A classifier on a (pretrained) registry network: fine-tuned, linearly probed or from scratch.

    Parameters
    ----------
    pretrained : PretrainedEncoder or None
        ``SSLPretrainer(...).fit(...).encoder_``; None trains ``model`` from random weights.
    model : str, default="shallow"
        Registry model when ``pretrained`` is None (else the pretrained one is used).
    model_params : dict, optional
        Its hyperparameters (``pretrained=None`` only).
    mode : {"finetune", "linear_probe"}, default="finetune"
    sfreq : float, optional
        Sampling rate (``pretrained=None``: EEGNet kernels; augmentations).
    n_steps : int, default=300
        Optimisation steps of fine-tuning (epochs = ``ceil(n_steps / batches per epoch)``):
        the same effort whatever the number of labels.
    batch_size, lr, weight_decay : training settings of the engine
    augment : list of dict, optional
        Engine augmentation specs for fine-tuning (training batches only).
    C : float, default=1.0
        Inverse regularisation of the linear probe's logistic regression.
    random_state : int, default=0
    num_threads : int or None, default=None

    Attributes
    ----------
    classes_ : ndarray
    network_ : torch.nn.Module
        The fine-tuned network (``finetune``) or the frozen one (``linear_probe``).
    probe_ : sklearn Pipeline (``linear_probe``)
    history_ : list of dict (``finetune``)

    Examples
    --------
    An encoder pretrained as in :class:`SSLPretrainer`, then fine-tuned for 4 steps on labels
    (a copy of the network with a new head), or probed linearly (the encoder frozen):

    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((24, 2, 100)).astype("float32")  # 2 recordings of 12 windows
    >>> rec, onsets = np.repeat([0, 1], 12), np.tile(np.arange(12) * 5.0, 2)
    >>> pre = SSLPretrainer(
    ...     "shallow", model_params={"pool_time_length": 20, "pool_time_stride": 10},
    ...     objective="relative_positioning", max_epochs=1, batch_size=16, sfreq=100.0,
    ... ).fit(X, recordings=rec, onsets=onsets, ch_names=["C3", "C4"])
    >>> y = np.arange(24) % 2
    >>> ft = FineTunedClassifier(pre.encoder_, n_steps=4, batch_size=8).fit(X, y)
    >>> ft.predict_proba(X[:3]).shape, len(ft.history_), ft.network_ is pre.encoder_.network
    ((3, 2), 2, False)
    >>> probe = FineTunedClassifier(pre.encoder_, mode="linear_probe").fit(X, y)
    >>> probe.predict(X[:3]).shape, probe.network_ is pre.encoder_.network
    ((3,), True)
    >>> FineTunedClassifier(None, mode="linear_probe").fit(X, y)
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: mode='linear_probe' needs a pretrained encoder; got pretrained=None.
    """

    def __init__(
        self,
        pretrained: PretrainedEncoder | None = None,
        *,
        model: str = "shallow",
        model_params: dict[str, Any] | None = None,
        mode: str = "finetune",
        sfreq: float | None = None,
        n_steps: int = 300,
        batch_size: int = 32,
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        augment: list[dict[str, Any]] | None = None,
        C: float = 1.0,
        random_state: int = 0,
        num_threads: int | None = None,
    ):
        self.pretrained = pretrained
        self.model = model
        self.model_params = model_params
        self.mode = mode
        self.sfreq = sfreq
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.augment = augment
        self.C = C
        self.random_state = random_state
        self.num_threads = num_threads

    def fit(self, X: Any, y: Any, *, ch_names: list[str] | None = None) -> FineTunedClassifier:
        """Fit on labelled windows ``X`` (n, n_chans, n_times), labels ``y`` (n,)."""
        import torch
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from ..models import build_model
        from ._neural_base import _torch_threads

        if self.mode not in FINETUNE_MODES:
            raise ConfigError(
                f"Invalid value for 'mode'. Allowed: {', '.join(map(repr, FINETUNE_MODES))}; "
                f"got {self.mode!r}."
            )
        pre = self.pretrained
        if pre is not None and not isinstance(pre, PretrainedEncoder):
            raise ConfigError(
                "Invalid value for 'pretrained'. Allowed: None or a PretrainedEncoder "
                f"(SSLPretrainer(...).fit(...).encoder_); got {type(pre).__name__}."
            )
        if pre is None and self.mode == "linear_probe":
            raise ConfigError(
                "mode='linear_probe' needs a pretrained encoder; got pretrained=None."
            )
        _check_positive("n_steps", self.n_steps, integer=True)
        _check_positive("batch_size", self.batch_size, integer=True)
        X = _windows_array(X)
        if pre is not None:
            check_same_layout(pre, X.shape[1], X.shape[2], ch_names)
        y = np.asarray(y)
        if len(y) != len(X):
            raise DataFormatError(f"y has {len(y)} labels for {len(X)} windows.")
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise DataFormatError(f"Need labels of at least two classes; got {self.classes_!r}.")
        seed = int(self.random_state)
        if self.mode == "linear_probe":
            self.network_ = pre.network
            self.probe_ = make_pipeline(
                StandardScaler(), LogisticRegression(C=self.C, max_iter=2000)
            )
            with _torch_threads(self.num_threads):
                self.probe_.fit(pre.features(X), y_enc)
            return self
        sfreq = pre.sfreq if pre is not None else self.sfreq
        bs = min(int(self.batch_size), len(X))
        batches = max(1, len(X) // bs if len(X) % bs == 1 else math.ceil(len(X) / bs))
        cfg = TrainConfig(
            task="classification",
            max_epochs=max(1, math.ceil(int(self.n_steps) / batches)),
            batch_size=bs,
            lr=float(self.lr),
            weight_decay=float(self.weight_decay),
            early_stopping=False,
            seed=seed,
            augment=build_augmenter(self.augment, sfreq=sfreq),
        )
        with _torch_threads(self.num_threads), torch.random.fork_rng(), determinism(True, "cpu"):
            torch.manual_seed(seed)
            if pre is None:
                net = build_model(
                    self.model,
                    n_chans=X.shape[1],
                    n_times=X.shape[2],
                    n_outputs=len(self.classes_),
                    sfreq=sfreq,
                    **(self.model_params or {}),
                )
            else:
                net = copy.deepcopy(pre.network)
                net.head = torch.nn.Linear(net.head.in_features, len(self.classes_))
            result = train(net, X, y_enc.astype(np.int64), None, None, cfg)
        net.eval()
        self.network_, self.history_ = net, result.history
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of ``X`` (n, n_chans, n_times): ndarray (n, n_classes)."""
        from ._neural_base import _torch_threads

        check_is_fitted(self, "network_")
        X = _windows_array(X)
        with _torch_threads(self.num_threads):
            if self.mode == "linear_probe":
                return self.probe_.predict_proba(self.pretrained.features(X))
            return predict_outputs(self.network_, X, task="classification")

    def predict(self, X: Any) -> np.ndarray:
        """Predicted class labels of ``X``: ndarray (n,)."""
        return self.classes_[self.predict_proba(X).argmax(1)]
