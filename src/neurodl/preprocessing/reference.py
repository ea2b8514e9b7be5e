"""Re-referencing: average, reference channel(s), bipolar montages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._logging import logger
from ..data import Recording
from ..exceptions import ConfigError
from ._base import check_recording

__all__ = ["REFERENCE_CH_TYPES", "set_reference"]

#: Channel types re-referenced by default (as MNE's ``set_eeg_reference``). When a recording has
#: none of them (e.g. synthetic ``misc`` channels), all channels are re-referenced.
REFERENCE_CH_TYPES = ("eeg", "seeg", "ecog", "dbs")


def _unknown(names: Sequence[str], rec: Recording, what: str) -> None:
    missing = [c for c in names if c not in rec.ch_names]  # type: ignore[operator]
    if missing:
        avail = rec.ch_names[:40] + (["..."] if rec.n_channels > 40 else [])  # type: ignore[index]
        raise ConfigError(f"Unknown {what} channel(s) {missing}. Available: {avail}.")


def _target_channels(rec: Recording, ch_types: Sequence[str] | None) -> np.ndarray:
    types = np.asarray(rec.ch_types)
    if ch_types is None:
        mask = np.isin(types, REFERENCE_CH_TYPES)
        if not mask.any():
            logger.info(
                "No channels of type %s: re-referencing all %d channels.",
                "/".join(REFERENCE_CH_TYPES),
                rec.n_channels,
            )
            mask[:] = True
        return mask
    ch_types = [ch_types] if isinstance(ch_types, str) else list(ch_types)
    mask = np.isin(types, ch_types)
    if not mask.any():
        raise ConfigError(
            f"No channels of type(s) {ch_types}; types present: {sorted(set(types))}."
        )
    return mask


def _bipolar(rec: Recording, pairs: Any, drop_refs: bool) -> Recording:
    try:
        pairs = [(str(a), str(c)) for a, c in pairs]
    except (TypeError, ValueError):
        raise ConfigError(
            f"'bipolar' must be a list of (anode, cathode) channel-name pairs; got {pairs!r}."
        ) from None
    if not pairs:
        raise ConfigError("'bipolar' must name at least one (anode, cathode) pair; got [].")
    _unknown([c for p in pairs for c in p], rec, "bipolar")
    names = [f"{a}-{c}" for a, c in pairs]
    clash = [n for n in names if n in rec.ch_names or names.count(n) > 1]  # type: ignore[operator]
    if clash:
        raise ConfigError(f"Bipolar channel name(s) {sorted(set(clash))} already exist.")
    idx = {c: i for i, c in enumerate(rec.ch_names)}  # type: ignore[arg-type]
    new = np.stack([rec.data[idx[a]] - rec.data[idx[c]] for a, c in pairs])
    used = {c for p in pairs for c in p} if drop_refs else set()
    keep = [i for i, c in enumerate(rec.ch_names) if c not in used]  # type: ignore[arg-type]
    out = rec.copy()
    out.data = np.concatenate([rec.data[keep], new])
    out.ch_names = [rec.ch_names[i] for i in keep] + names  # type: ignore[index]
    out.ch_types = [rec.ch_types[i] for i in keep] + [rec.ch_types[idx[a]] for a, _ in pairs]  # type: ignore[index]
    out.units = [rec.units[i] for i in keep] + [rec.units[idx[a]] for a, _ in pairs]  # type: ignore[index]
    return out


def set_reference(
    rec: Recording,
    ref: str | Sequence[str] | None = None,
    *,
    bipolar: Sequence[tuple[str, str]] | None = None,
    drop_refs: bool = True,
    ch_types: Sequence[str] | None = None,
) -> Recording:
    """Re-reference a recording to the average, to reference channel(s) or to bipolar pairs.

    Parameters
    ----------
    rec : Recording
        The continuous recording.
    ref : "average" or list of str, optional
        ``"average"``: subtract the mean over the re-referenced channels at each time point.
        A list of channel names: subtract the mean of those channels (they stay in the recording,
        a single reference channel becomes flat), as :func:`mne.set_eeg_reference`.
    bipolar : list of (str, str), optional
        Pairs ``(anode, cathode)``; each creates the channel ``"anode-cathode"`` = anode -
        cathode, appended after the remaining channels, as :func:`mne.set_bipolar_reference`.
        Give either ``ref`` or ``bipolar``.
    drop_refs : bool, default=True
        Bipolar only: drop the channels used as anodes or cathodes.
    ch_types : list of str, optional
        ``ref`` only: channel types to re-reference. Default: the EEG-like types in
        :data:`REFERENCE_CH_TYPES`, or all channels if the recording has none of them.

    Returns
    -------
    Recording
        A new recording.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodl.data import Recording
    >>> rec = Recording(np.arange(6.0).reshape(3, 2), 1.0, ["Fp1", "F7", "Cz"])
    >>> set_reference(rec, bipolar=[("Fp1", "F7")]).ch_names
    ['Cz', 'Fp1-F7']
    """
    check_recording(rec)
    if (ref is None) == (bipolar is None):
        raise ConfigError(
            "Give exactly one of 'ref' ('average' or a list of channel names) and 'bipolar' "
            f"(a list of (anode, cathode) pairs); got ref={ref!r}, bipolar={bipolar!r}."
        )
    if bipolar is not None:
        return _bipolar(rec, bipolar, drop_refs)
    target = _target_channels(rec, ch_types)
    if isinstance(ref, str):
        if ref != "average":
            raise ConfigError(
                "Invalid value for 'ref'. Allowed: 'average' or a list of channel names; "
                f"got {ref!r}."
            )
        ref_idx = np.flatnonzero(target)
    else:
        names = [str(c) for c in ref]  # type: ignore[union-attr]
        if not names:
            raise ConfigError("'ref' must name at least one channel; got [].")
        _unknown(names, rec, "reference")
        ref_idx = np.array([rec.ch_names.index(c) for c in names])  # type: ignore[union-attr]
    out = rec.copy()
    ref_signal = rec.data[ref_idx].mean(axis=0)
    out.data[target] = rec.data[target] - ref_signal
    return out
