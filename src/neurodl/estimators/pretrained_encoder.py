"""The pretrained encoder object and the checks shared by pretraining and fine-tuning.

:class:`PretrainedEncoder` is what :class:`~neurodl.estimators.pretraining.SSLPretrainer` fits
and :class:`~neurodl.estimators.pretraining.FineTunedClassifier` starts from: the network, its
input layout and where it came from; :func:`check_same_layout` refuses fine-tuning data with
another channel layout or window length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..exceptions import ConfigError, DataFormatError

__all__ = ["PretrainedEncoder", "check_same_layout"]


@dataclass
class PretrainedEncoder:
    """A pretrained network and where it came from.

    Attributes
    ----------
    network : torch.nn.Module
        The registry network (its classification head untrained), eval mode.
    model : str
        Registry name.
    model_params : dict
    sfreq : float or None
    n_chans, n_times : int
        Input layout the encoder was trained on.
    ch_names : list of str or None
    objective : str
    n_windows : int
        Unlabelled windows it was trained on.
    sample_ids : ndarray or None
        The ids of those windows, as passed to :meth:`SSLPretrainer.fit`.
    history : list of dict

    Examples
    --------
    What :meth:`SSLPretrainer.fit` stores as ``encoder_``, here around an untrained network;
    :meth:`features` maps windows to the encoder's features:

    >>> import numpy as np
    >>> from neurodl.models import build_model
    >>> net = build_model(
    ...     "shallow", n_chans=2, n_times=100, n_outputs=2, pool_time_length=20,
    ...     pool_time_stride=10,
    ... ).eval()
    >>> enc = PretrainedEncoder(
    ...     network=net, model="shallow", model_params={}, sfreq=100.0, n_chans=2, n_times=100,
    ...     ch_names=["C3", "C4"], objective="contrastive", n_windows=40,
    ... )
    >>> feats = enc.features(np.zeros((5, 2, 100), dtype="float32"))
    >>> feats.shape
    (5, 240)
    """

    network: Any
    model: str
    model_params: dict[str, Any]
    sfreq: float | None
    n_chans: int
    n_times: int
    ch_names: list[str] | None
    objective: str
    n_windows: int
    sample_ids: np.ndarray | None = None
    history: list[dict[str, float]] = field(default_factory=list)

    def features(self, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Encoder features of ``X`` (n, n_chans, n_times): ndarray (n, n_features), eval mode."""
        import torch

        from ..models.pretext import FeatureExtractor

        enc = FeatureExtractor(self.network, self.model).eval()
        X = np.asarray(X, dtype=np.float32)
        out = []
        with torch.no_grad():
            for s in range(0, len(X), batch_size):
                out.append(enc(torch.from_numpy(X[s : s + batch_size])).numpy())
        return np.concatenate(out) if out else np.zeros((0, enc.n_features), np.float32)


def check_same_layout(
    encoder: PretrainedEncoder, n_chans: int, n_times: int, ch_names: list[str] | None
) -> None:
    """Refuse fine-tuning data whose channels or window length differ from the pretraining set.

    Examples
    --------
    An encoder pretrained on C3 and C4 with 100-sample windows:

    >>> from neurodl.models import build_model
    >>> net = build_model(
    ...     "shallow", n_chans=2, n_times=100, n_outputs=2, pool_time_length=20,
    ...     pool_time_stride=10,
    ... ).eval()
    >>> enc = PretrainedEncoder(
    ...     network=net, model="shallow", model_params={}, sfreq=100.0, n_chans=2, n_times=100,
    ...     ch_names=["C3", "C4"], objective="contrastive", n_windows=40,
    ... )
    >>> check_same_layout(enc, 2, 100, ["C3", "C4"])  # same layout: fine
    >>> check_same_layout(enc, 2, 100, ["C4", "C3"])
    Traceback (most recent call last):
    ...
    neurodl.exceptions.DataFormatError: The fine-tuning data have another channel layout than the pretraining set: pretrained on 2 channels ['C3', 'C4']; got 2 channels ['C4', 'C3']. Pretrain on data with the same channels (same names, same order).
    >>> check_same_layout(enc, 2, 50, None)
    Traceback (most recent call last):
    ...
    neurodl.exceptions.DataFormatError: The fine-tuning windows have 50 samples; the encoder was pretrained on 100-sample windows. Cut windows of the same length.
    """
    if n_chans != encoder.n_chans or (
        ch_names is not None and encoder.ch_names is not None and list(ch_names) != encoder.ch_names
    ):
        names = f" {list(ch_names)}" if ch_names is not None else ""
        known = f" {encoder.ch_names}" if encoder.ch_names is not None else ""
        raise DataFormatError(
            "The fine-tuning data have another channel layout than the pretraining set: "
            f"pretrained on {encoder.n_chans} channels{known}; got {n_chans} channels{names}. "
            "Pretrain on data with the same channels (same names, same order)."
        )
    if n_times != encoder.n_times:
        raise DataFormatError(
            f"The fine-tuning windows have {n_times} samples; the encoder was pretrained on "
            f"{encoder.n_times}-sample windows. Cut windows of the same length."
        )


def _check_positive(name: str, value: Any, integer: bool = False) -> None:
    ok = isinstance(value, int | float | np.number) and not isinstance(value, bool) and value > 0
    if integer:
        ok = ok and float(value).is_integer()
    if not ok:
        kind = "an int >= 1" if integer else "a number > 0"
        raise ConfigError(f"Invalid value for {name!r}. Allowed: {kind}; got {value!r}.")


def _windows_array(X: Any) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 3:
        raise DataFormatError(
            f"X must be 3-D (n_windows, n_chans, n_times); got shape {tuple(X.shape)}."
        )
    if not np.isfinite(X).all():
        raise DataFormatError("X holds non-finite values (NaN or inf).")
    return X
