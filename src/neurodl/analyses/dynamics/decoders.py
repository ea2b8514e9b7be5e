"""Behaviour decoders (Wiener, Kalman, GRU/LSTM), re-exported.

They are estimators and live in :mod:`neurodl.estimators.dynamics.decoders`;
:func:`make_decoder` builds them by name through :func:`neurodl.estimators.make_estimator`.
"""

from __future__ import annotations

from ...estimators.dynamics.decoders import KalmanFilterDecoder, RNNDecoder, WienerFilter
from ...estimators.registry import DECODERS, make_decoder

__all__ = ["DECODERS", "KalmanFilterDecoder", "RNNDecoder", "WienerFilter", "make_decoder"]
