"""Log-spectrogram network ("stftnet" in the registry): fixed STFT front end + small 1-D CNN."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._layers import check_n_times, check_positive_int, check_probability, make_scaler
from .registry import register_model

__all__ = ["StftNet"]

#: Default STFT window in seconds when ``sfreq`` is known (``n_fft`` samples otherwise).
_DEFAULT_WIN_S = 1.0
_DEFAULT_N_FFT = 64


def _resolve_n_fft(n_fft: int | None, sfreq: float | None) -> int:
    if n_fft is not None:
        return check_positive_int("n_fft", n_fft, minimum=4)
    if sfreq is None:
        return _DEFAULT_N_FFT
    return max(4, round(_DEFAULT_WIN_S * float(sfreq)))


class _ResBlock(nn.Module):
    """Two 'same' convolutions over spectrogram frames with batch norm and a skip connection."""

    def __init__(self, width: int, kernel: int, drop: float):
        super().__init__()
        pad = kernel // 2
        self.body = nn.Sequential(
            nn.Conv1d(width, width, kernel, padding=pad, bias=False),
            nn.BatchNorm1d(width),
            nn.GELU(),
            nn.Dropout(drop),
            nn.Conv1d(width, width, kernel, padding=pad, bias=False),
            nn.BatchNorm1d(width),
        )
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class _Tower(nn.Module):
    """One member: input batch norm, 1x1 band mixing, residual blocks, pooling, readout."""

    def __init__(self, n_in: int, width: int, n_blocks: int, kernel: int, drop: float, n_out: int):
        super().__init__()
        self.input_norm = nn.BatchNorm1d(n_in)
        self.mix = nn.Sequential(
            nn.Conv1d(n_in, width, 1, bias=False), nn.BatchNorm1d(width), nn.GELU()
        )
        self.blocks = nn.Sequential(*[_ResBlock(width, kernel, drop) for _ in range(n_blocks)])
        self.dropout = nn.Dropout(drop)
        self.head = nn.Linear(2 * width, n_out)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = self.blocks(self.mix(self.input_norm(z)))  # (batch, width, n_frames)
        z = torch.cat([z.mean(dim=-1), z.amax(dim=-1)], dim=1)
        return self.head(self.dropout(z))


@register_model("stftnet")
class StftNet(nn.Module):
    """Fixed log-power spectrogram front end, then a small residual 1-D CNN over frames.

    Each channel's short-time Fourier transform (Hann window of ``n_fft`` samples, hop
    ``hop_length``, no padding) gives ``log(|STFT|^2 + eps)`` of shape (n_chans, n_freqs,
    n_frames). Frequency bins up to ``fmax`` (all bins without ``sfreq``) of all channels are
    stacked as the feature axis and standardised by batch norm; a 1x1 convolution mixes them
    into ``width`` learned "bands", ``n_blocks`` residual blocks of two kernel-``kernel_size``
    convolutions run over the frames, and mean- and max-pooling over frames feed a dropout +
    linear readout. The front end has no trainable parameters; the network is cheap on CPU
    and works for any number of channels, 1 included.

    Parameters
    ----------
    n_chans, n_times, n_outputs : int
        Input channels, input samples, number of outputs (classes).
    sfreq : float, optional
        Sampling rate: sets the default ``n_fft`` (1 s of signal) and makes ``fmax`` usable.
        Without it ``n_fft`` defaults to 64 samples.
    n_fft : int, optional
        STFT window length in samples (>= 4).
    hop_length : int, optional
        Step between frames; default ``n_fft // 4``.
    fmax : float, optional
        Keep frequency bins up to ``fmax`` Hz (needs ``sfreq``); default all bins.
    width : int, default=64
        Channels of the convolutional stack.
    n_blocks : int, default=2
        Residual blocks.
    kernel_size : int, default=3
        Kernel of the convolutions over frames (odd).
    drop_prob : float, default=0.3
        Dropout inside the blocks and before the readout.
    n_members : int, default=1
        Independently initialised copies of everything after the (shared, fixed) spectrogram;
        with more than one, the output is the mean of the members' log-softmax (an ensemble
        trained jointly: each member sees the same batches but its own initialisation and
        dropout masks).
    scale : sequence of float, optional
        Per-channel factors applied first.

    Examples
    --------
    >>> import torch
    >>> from neurodl.models import build_model, count_parameters
    >>> net = build_model("stftnet", n_chans=1, n_times=1024, n_outputs=5, sfreq=173.61)
    >>> count_parameters(net), tuple(net(torch.zeros(2, 1, 1024)).shape)
    (56245, (2, 5))
    """

    def __init__(
        self,
        n_chans: int,
        n_times: int,
        n_outputs: int,
        *,
        sfreq: float | None = None,
        n_fft: int | None = None,
        hop_length: int | None = None,
        fmax: float | None = None,
        width: int = 64,
        n_blocks: int = 2,
        kernel_size: int = 3,
        drop_prob: float = 0.3,
        n_members: int = 1,
        scale: Sequence[float] | None = None,
    ):
        super().__init__()
        self.n_chans, self.n_times, self.n_outputs, self.sfreq = n_chans, n_times, n_outputs, sfreq
        self.n_fft, self.hop_length, self.fmax = n_fft, hop_length, fmax
        self.width, self.n_blocks, self.kernel_size = width, n_blocks, kernel_size
        self.drop_prob, self.n_members, self.scale = drop_prob, n_members, scale
        c = check_positive_int("n_chans", n_chans)
        check_positive_int("n_outputs", n_outputs)
        w = check_positive_int("width", width)
        nb = check_positive_int("n_blocks", n_blocks, minimum=0)
        k = check_positive_int("kernel_size", kernel_size)
        if k % 2 == 0:
            from ..exceptions import ConfigError

            raise ConfigError(f"Invalid value for 'kernel_size': expected an odd integer, got {k}.")
        p = check_probability("drop_prob", drop_prob)
        m = check_positive_int("n_members", n_members)
        nfft = _resolve_n_fft(n_fft, sfreq)
        hop = (
            check_positive_int("hop_length", hop_length)
            if hop_length is not None
            else max(nfft // 4, 1)
        )
        check_n_times("stftnet", n_times, nfft)
        n_freqs = nfft // 2 + 1
        if fmax is not None:
            from ..exceptions import ConfigError

            if sfreq is None or not fmax > 0:
                raise ConfigError(
                    f"Invalid value for 'fmax': needs sfreq and a frequency > 0 Hz; got "
                    f"fmax={fmax!r} with sfreq={sfreq!r}."
                )
            n_freqs = max(1, min(n_freqs, int(fmax * nfft / float(sfreq)) + 1))
        self.n_fft_, self.hop_length_, self.n_freqs_ = nfft, hop, n_freqs
        self.n_frames_ = (n_times - nfft) // hop + 1
        self.register_buffer("window", torch.hann_window(nfft, periodic=True), persistent=False)

        self.scaler = make_scaler(c, scale)
        self.members = nn.ModuleList(
            [_Tower(c * n_freqs, w, nb, k, p, n_outputs) for _ in range(m)]
        )

    @classmethod
    def min_n_times(
        cls, sfreq: float | None = None, n_fft: int | None = None, **params: object
    ) -> int:
        """Smallest n_times giving one STFT frame: ``n_fft``."""
        return _resolve_n_fft(n_fft, sfreq)

    def log_spectrogram(self, x: torch.Tensor) -> torch.Tensor:
        """Log power of x (batch, n_chans, n_times) -> (batch, n_chans * n_freqs, n_frames)."""
        b, c, t = x.shape
        frames = x.reshape(b * c, t).unfold(-1, self.n_fft_, self.hop_length_)  # (bc, nf, nfft)
        frames = frames - frames.mean(dim=-1, keepdim=True)
        spec = torch.fft.rfft(frames * self.window, dim=-1)[..., : self.n_freqs_]
        power = spec.real.square() + spec.imag.square()
        logp = torch.log(power + 1e-6)  # (bc, n_frames, n_freqs)
        return (
            logp.reshape(b, c, -1, self.n_freqs_).permute(0, 1, 3, 2).reshape(b, -1, logp.shape[1])
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map x of shape (batch, n_chans, n_times) to logits of shape (batch, n_outputs).

        With ``n_members > 1`` the logits are the mean of the members' log-softmax outputs
        (their normalised geometric mean after a softmax).
        """
        z = self.log_spectrogram(self.scaler(x).float())
        if len(self.members) == 1:
            return self.members[0](z)
        logp = [torch.log_softmax(member(z), dim=1) for member in self.members]
        return torch.stack(logp).mean(dim=0)
