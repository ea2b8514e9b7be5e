"""What the neural estimators share: parameter checks, the inner validation split, ``fit``.

:class:`_NeuralBase` holds the fit/predict logic of :class:`~neurodl.estimators.NeuralClassifier`
and :class:`~neurodl.estimators.NeuralRegressor` (``neural.py`` holds their parameters and
documentation): validation of the parameters (:data:`_PARAM_CHECKS`) and of ``X``, the inner
train/validation split, the checkpoint fingerprint, building the model and calling
:func:`neurodl.estimators.torch_engine.train`.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._logging import logger, use_log_level
from ..data.epochs import epochs_array
from ..exceptions import ConfigError, DataFormatError
from ._dataset_labels import labelled_samples
from .torch_engine import (
    SCHEDULES,
    DistContext,
    TrainConfig,
    TrainResult,
    build_augmenter,
    determinism,
    eval_crop_starts,
    predict_outputs,
    resolve_device,
    train,
)
from .torch_engine.adaptation import adapt_batchnorm, apply_calibration, fit_calibration

__all__ = ["INPUT_SD_MIN"]


def _is_int(v: Any, lo: int) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= lo


def _is_num(v: Any, lo: float, hi: float = np.inf, lo_open: bool = False) -> bool:
    if isinstance(v, bool) or not isinstance(v, int | float | np.number):
        return False
    return (v > lo if lo_open else v >= lo) and v <= hi


#: Parameter checks run at ``fit``: name -> (predicate, what is allowed).
_PARAM_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "model": (lambda v: isinstance(v, str) and bool(v), "a registered model name"),
    "model_params": (lambda v: v is None or isinstance(v, dict), "None or a dict"),
    "max_epochs": (lambda v: _is_int(v, 1), "an int >= 1"),
    "batch_size": (lambda v: _is_int(v, 1), "an int >= 1"),
    "lr": (lambda v: _is_num(v, 0.0, lo_open=True), "a float > 0"),
    "weight_decay": (lambda v: _is_num(v, 0.0), "a float >= 0"),
    "schedule": (lambda v: v in SCHEDULES, "'cosine', 'onecycle', 'plateau' or None"),
    "early_stopping": (lambda v: isinstance(v, bool), "True or False"),
    "patience": (lambda v: _is_int(v, 1), "an int >= 1"),
    "validation_fraction": (
        lambda v: v is None or (_is_num(v, 0.0, 1.0) and v < 1.0),
        "None or a float in [0, 1)",
    ),
    "grad_clip": (lambda v: v is None or _is_num(v, 0.0, lo_open=True), "None or a float > 0"),
    "deterministic": (lambda v: isinstance(v, bool), "True or False"),
    "device": (lambda v: isinstance(v, str), "'auto', 'cpu', 'cuda' or 'cuda:N'"),
    "mixed_precision": (lambda v: v in ("auto", True, False), "'auto', True or False"),
    "channels_last": (lambda v: isinstance(v, bool), "True or False"),
    "resume": (lambda v: isinstance(v, bool), "True or False"),
    "num_threads": (lambda v: v is None or _is_int(v, 1), "None or an int >= 1"),
    "on_divergence": (lambda v: v in ("raise", "rollback"), "'raise' or 'rollback'"),
    "cropped": (lambda v: isinstance(v, bool), "True or False"),
    "crop_len": (lambda v: v is None or _is_int(v, 1), "None or an int >= 1"),
    "crop_stride": (lambda v: v is None or _is_int(v, 1), "None or an int >= 1"),
    "sfreq": (lambda v: v is None or _is_num(v, 0.0, lo_open=True), "None or a float > 0"),
    "callbacks": (
        lambda v: v is None or (isinstance(v, list | tuple) and all(map(callable, v))),
        "None or a list of callables",
    ),
    "augment": (
        lambda v: v is None or isinstance(v, list | tuple),
        "None or a list of {name, p, params...} dicts",
    ),
    "adaptive_bn": (lambda v: isinstance(v, bool), "True or False"),
    "batch_by_group": (lambda v: isinstance(v, bool), "True or False"),
    "calibration": (
        lambda v: v in (None, "temperature", "platt"),
        "None, 'temperature' or 'platt'",
    ),
    "class_weight": (
        lambda v: v is None or v == "balanced" or isinstance(v, dict),
        "None, 'balanced' or a dict {class: weight}",
    ),
}

#: Parameters that do not change the result of a fit (left out of the checkpoint fingerprint).
_NOT_IN_FINGERPRINT = frozenset(
    {
        "verbose",
        "callbacks",
        "checkpoint_dir",
        "resume",
        "device",
        "deterministic",
        "num_threads",
        "adaptive_bn",  # used at prediction only
        "calibration",  # fitted after training
    }
)


def _stable(value: Any) -> Any:
    """A repr-safe copy of ``value``: arrays become (shape, dtype, sha256 of their bytes).

    numpy abbreviates the repr of arrays over 1000 elements, so two different masks of the
    same shape would otherwise give the same checkpoint fingerprint.
    """
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        return ("ndarray", arr.shape, arr.dtype.str, hashlib.sha256(arr.tobytes()).hexdigest())
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return type(value)(_stable(v) for v in value)
    return value


#: median per-channel SD below which a network's input is taken to be in volts (or similar)
INPUT_SD_MIN = 1e-4


def _check_input_scale(X3: np.ndarray, max_samples: int = 256) -> float:
    """Median per-channel SD of (up to ``max_samples`` of) the training input; logs a warning
    when it is so small (EEG in volts: ~1e-5) that batch-norm epsilons and weight decay swamp
    the signal and a network silently predicts one class."""
    sub = np.asarray(X3[:: max(1, len(X3) // max_samples)], dtype=np.float64)
    sd = float(np.median(sub.std(axis=(0, 2))))
    if 0 < sd < INPUT_SD_MIN:
        logger.warning(
            "The network's input has a median per-channel SD of %.3g (signals in volts?). "
            "Networks train poorly at this scale (batch-norm eps 1e-5 dominates; on EEGMMIDB "
            "they predicted one class): add the 'standardize' preprocessing step or scale the "
            "data to microvolts.",
            sd,
        )
    return sd


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Set torch's intra-op thread count for the block (``None``: unchanged); restored after."""
    import torch

    old = torch.get_num_threads()
    if n is not None and n != old:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)


class _NeuralBase(BaseEstimator):
    """Shared fit/predict logic; subclasses set ``_task`` and define ``__init__``."""

    _task: ClassVar[str]

    # ---------------------------------------------------------------- validation
    def _check_params(self) -> None:
        params = self.get_params(deep=False)
        for name, (ok, allowed) in _PARAM_CHECKS.items():
            if name in params and not ok(params[name]):
                raise ConfigError(
                    f"Invalid value for {name!r}. Allowed: {allowed}; got {params[name]!r}."
                )
        if self.cropped and self.crop_len is None:
            raise ConfigError(
                "cropped=True needs 'crop_len' (crop length in samples); got crop_len=None."
            )

    def _validate_X(self, X: Any, y: Any = None, *, reset: bool) -> Any:
        if reset:  # fit(EpochsDataset or mne.Epochs) without y: the samples' own labels
            X, y = labelled_samples(X, y)
        X = epochs_array(X)  # an mne.Epochs or EpochsDataset: its data array
        kw = {"allow_nd": True, "dtype": [np.float32, np.float64], "ensure_min_samples": 1}
        ndim = getattr(X, "ndim", None)
        if not reset and ndim in (2, 3) and ndim != self.input_ndim_:
            raise DataFormatError(
                f"X has {ndim} dimensions but the estimator was fitted on "
                f"{self.input_ndim_}-D input."
            )
        if reset:
            X, y = validate_data(
                self, X, y, multi_output=self._task == "regression", y_numeric=False, **kw
            )
        else:
            X = validate_data(self, X, reset=False, **kw)
        if X.ndim not in (2, 3):
            raise DataFormatError(
                f"X must be 2-D (n_samples, n_features) or 3-D (n_samples, n_chans, n_times); "
                f"got shape {X.shape}."
            )
        if reset:
            self.input_ndim_ = X.ndim
        X3 = X[:, None, :] if X.ndim == 2 else X
        return (X3, y) if reset else X3

    def _resolve_seed(self) -> int:
        if _is_int(self.random_state, 0):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    def _valid_split(
        self, y: np.ndarray, groups: np.ndarray | None, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Inner train/validation split: grouped when ``groups`` has 2 values or more, else
        stratified (a training fold of one subject or session splits its samples)."""
        from sklearn.model_selection import (
            GroupShuffleSplit,
            ShuffleSplit,
            StratifiedShuffleSplit,
        )

        n = len(y)
        idx = np.arange(n)
        frac = self.validation_fraction or 0.0
        if frac <= 0 or n < 4 or round(frac * n) < 1:
            return idx, idx[:0]
        if groups is not None:
            groups = np.asarray(groups)
            if len(groups) != n:
                raise DataFormatError(
                    f"groups must have one entry per sample ({n}); got {len(groups)}."
                )
        if groups is not None and len(np.unique(groups)) >= 2:  # one group: split its samples
            splitter: Any = GroupShuffleSplit(n_splits=1, test_size=frac, random_state=seed)
            tr, va = next(splitter.split(idx, y, groups))
            return tr, va
        if self._task == "classification":
            counts = np.bincount(y)
            n_valid = max(round(frac * n), len(counts))
            if counts.min() >= 2 and n - n_valid >= len(counts):
                splitter = StratifiedShuffleSplit(n_splits=1, test_size=n_valid, random_state=seed)
                return next(splitter.split(idx, y))
        splitter = ShuffleSplit(n_splits=1, test_size=frac, random_state=seed)
        return next(splitter.split(idx))

    # ---------------------------------------------------------------- fitting
    def _group_codes(
        self, groups: Any, tr: np.ndarray, va: np.ndarray
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Group codes of the training and validation samples under ``batch_by_group``."""
        if not getattr(self, "batch_by_group", False):
            return None, None
        if groups is None:
            raise ConfigError(
                "batch_by_group=True draws each batch from one group: pass groups to fit "
                "(one per sample, e.g. the subject)."
            )
        codes = np.unique(np.asarray(groups), return_inverse=True)[1].reshape(-1)
        if np.bincount(codes[tr]).max(initial=0) < 2:
            raise ConfigError(
                "batch_by_group=True needs groups of at least 2 training samples; every "
                f"group given has 1 ({len(np.unique(codes[tr]))} groups: single trials or "
                "segments?). Group by subject or session."
            )
        return codes[tr], (codes[va] if len(va) else None)

    def _fingerprint(self, X: np.ndarray, y: np.ndarray, groups: Any, seed: int) -> str:
        h = hashlib.sha256()
        for arr in (X, y, np.asarray([] if groups is None else groups, dtype=str)):
            arr = np.ascontiguousarray(arr)
            h.update(str((arr.shape, arr.dtype.str)).encode())
            h.update(arr.tobytes())
        params = {
            k: v
            for k, v in sorted(self.get_params(deep=False).items())
            if k not in _NOT_IN_FINGERPRINT
        }
        h.update(repr((_stable(params), seed, type(self).__name__)).encode())
        return h.hexdigest()

    def _prepare_targets(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        raise NotImplementedError

    def _class_weight_vector(self, y_enc: np.ndarray) -> np.ndarray | None:
        return None

    def _fit(
        self,
        X: Any,
        y: Any,
        groups: Any = None,
        *,
        dist: DistContext | None = None,
    ) -> _NeuralBase:
        import torch

        from ..models import build_model

        self._check_params()
        X3, y = self._validate_X(X, y, reset=True)
        y_enc, n_outputs = self._prepare_targets(y)
        self.n_chans_, self.n_times_ = int(X3.shape[1]), int(X3.shape[2])
        self.input_sd_ = _check_input_scale(X3)
        seed = self._resolve_seed()
        self.seed_ = seed
        crop_len = int(self.crop_len) if self.cropped else None
        if crop_len is not None and crop_len > self.n_times_:
            raise ConfigError(
                f"Invalid value for 'crop_len'. Allowed: <= n_times ({self.n_times_}); "
                f"got {crop_len}."
            )
        self.crop_len_ = crop_len
        self.crop_stride_ = (
            (int(self.crop_stride) if self.crop_stride else max(crop_len // 2, 1))
            if crop_len
            else None
        )
        device = resolve_device(self.device)
        on_gpu = device.startswith("cuda")
        self.device_ = device
        self.mixed_precision_ = on_gpu and self.mixed_precision in ("auto", True)
        dist = dist or DistContext()
        if dist.active and self.batch_size % dist.world_size:
            raise ConfigError(
                f"Invalid value for 'batch_size'. Allowed: a multiple of the world size "
                f"({dist.world_size}) under data-parallel training; got {self.batch_size}."
            )
        tr, va = self._valid_split(
            np.asarray(y_enc) if y_enc.ndim == 1 else y_enc[:, 0], groups, seed
        )
        calibration = getattr(self, "calibration", None)
        if calibration is not None and len(va) < 2:
            raise ConfigError(
                f"calibration={calibration!r} is fitted on the inner validation split (never on "
                "test data) and needs one: set 'validation_fraction' > 0 (got "
                f"{self.validation_fraction!r}, {len(va)} validation samples)."
            )
        batch_groups, valid_groups = self._group_codes(groups, tr, va)
        cfg = TrainConfig(
            task=self._task,  # type: ignore[arg-type]
            max_epochs=int(self.max_epochs),
            batch_size=int(self.batch_size),
            lr=float(self.lr),
            weight_decay=float(self.weight_decay),
            schedule=self.schedule,
            early_stopping=bool(self.early_stopping) and len(va) > 0,
            patience=int(self.patience),
            grad_clip=None if self.grad_clip is None else float(self.grad_clip),
            class_weight=self._class_weight_vector(y_enc[tr]),
            deterministic=self.deterministic,
            device=device,
            mixed_precision=self.mixed_precision_,
            channels_last=bool(self.channels_last) and on_gpu,
            on_divergence=self.on_divergence,
            crop_len=crop_len,
            crop_stride=self.crop_stride_,
            seed=seed,
            augment=build_augmenter(self.augment, sfreq=self.sfreq),
            batch_groups=batch_groups,
            valid_groups=valid_groups,
        )
        ckpt_path = None
        fingerprint = self._fingerprint(X3, y_enc, groups, seed)
        if self.checkpoint_dir is not None:
            ckpt_path = Path(self.checkpoint_dir) / f"{type(self).__name__}-{fingerprint[:16]}.pt"
        self.checkpoint_path_ = ckpt_path

        with (
            _torch_threads(self.num_threads),
            use_log_level("info" if self.verbose else None),
            torch.random.fork_rng(devices=[torch.cuda.current_device()] if on_gpu else []),
            determinism(cfg.deterministic, device),
        ):
            torch.manual_seed(seed)
            net = build_model(
                self.model,
                n_chans=self.n_chans_,
                n_times=crop_len or self.n_times_,
                n_outputs=n_outputs,
                sfreq=self.sfreq,
                **(self.model_params or {}),
            ).to(device)
            if cfg.channels_last:
                net = net.to(memory_format=torch.channels_last)
            model = net
            if dist.active:
                from torch.nn.parallel import DistributedDataParallel as DDP

                model = DDP(net, device_ids=[torch.cuda.current_device()] if on_gpu else None)
            result: TrainResult = train(
                model,
                X3[tr],
                y_enc[tr],
                X3[va] if len(va) else None,
                y_enc[va] if len(va) else None,
                cfg,
                checkpoint_path=ckpt_path,
                fingerprint=fingerprint,
                resume=self.resume,
                callbacks=list(self.callbacks or ()),
                dist=dist,
            )
        net.eval()
        self.model_ = net
        self.calibration_ = None
        if calibration is not None:  # held-out training samples only
            with _torch_threads(self.num_threads):
                probs = predict_outputs(
                    net,
                    X3[va],
                    task="classification",
                    device=device,
                    crop_len=crop_len,
                    crop_stride=self.crop_stride_,
                    mixed_precision=self.mixed_precision_,
                )
            self.calibration_ = fit_calibration(probs, y_enc[va], calibration)
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.stopped_reason_ = result.stopped_reason
        self.n_epochs_ = len(result.history)
        self.n_train_, self.n_valid_ = len(tr), len(va)
        return self

    def _outputs(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        X3 = self._validate_X(X, reset=False)
        if self.crop_len_ is None and X3.shape[2] != self.n_times_:
            raise DataFormatError(
                f"X has {X3.shape[2]} time samples; the model was fitted on n_times="
                f"{self.n_times_}."
            )
        if self.crop_len_ is not None and X3.shape[2] < self.crop_len_:
            raise DataFormatError(
                f"X has {X3.shape[2]} time samples, fewer than crop_len={self.crop_len_}."
            )
        with _torch_threads(self.num_threads), use_log_level("info" if self.verbose else None):
            net = self.model_
            if self.adaptive_bn:  # batch-norm statistics of these (unlabelled) inputs
                X_adapt = X3
                if self.crop_len_ is not None:  # the crops the model sees at prediction
                    starts = eval_crop_starts(X3.shape[2], self.crop_len_, self.crop_stride_)
                    X_adapt = np.concatenate([X3[:, :, s : s + self.crop_len_] for s in starts])
                net = adapt_batchnorm(net, X_adapt, device=self.device_)
            out = predict_outputs(
                net,
                X3,
                task=self._task,  # type: ignore[arg-type]
                device=self.device_,
                crop_len=self.crop_len_,
                crop_stride=self.crop_stride_,
                mixed_precision=self.mixed_precision_,
            )
        return apply_calibration(out, getattr(self, "calibration_", None))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.non_deterministic = False
        return tags
