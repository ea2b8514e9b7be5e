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
#: Strided (stride 2, kernel 7) convolutions in the optional raw-waveform branch.
_RAW_LAYERS = 4


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


class _RawBranch(nn.Module):
    """Waveform features: per-window mean removed, batch norm, strided convolutions, pooling."""

    def __init__(self, n_chans: int, width: int, n_layers: int = _RAW_LAYERS, kernel: int = 7):
        super().__init__()
        layers: list[nn.Module] = [nn.BatchNorm1d(n_chans)]
        n_in = n_chans
        for _ in range(n_layers):
            layers += [
                nn.Conv1d(n_in, width, kernel, stride=2, padding=kernel // 2, bias=False),
                nn.BatchNorm1d(width),
                nn.GELU(),
            ]
            n_in = width
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.body(x - x.mean(dim=-1, keepdim=True))  # (batch, width, n_times / 2**n_layers)
        return torch.cat([z.mean(dim=-1), z.amax(dim=-1)], dim=1)


class _Tower(nn.Module):
    """One member: input batch norm, 1x1 band mixing, residual blocks, pooling, readout."""

    def __init__(
        self,
        n_in: int,
        width: int,
        n_blocks: int,
        kernel: int,
        drop: float,
        n_out: int,
        n_chans: int = 1,
        raw_width: int = 0,
    ):
        super().__init__()
        self.input_norm = nn.BatchNorm1d(n_in)
        self.mix = nn.Sequential(
            nn.Conv1d(n_in, width, 1, bias=False), nn.BatchNorm1d(width), nn.GELU()
        )
        self.blocks = nn.Sequential(*[_ResBlock(width, kernel, drop) for _ in range(n_blocks)])
        self.dropout = nn.Dropout(drop)
        self.head = nn.Linear(2 * width + 2 * raw_width, n_out)
        self.raw = _RawBranch(n_chans, raw_width) if raw_width else None

    def forward(
        self, z: torch.Tensor, x: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        z = self.input_norm(z)
        if mask is not None:
            z = z.masked_fill(mask, 0.0)  # 0 = the batch mean after the input batch norm
        z = self.blocks(self.mix(z))  # (batch, width, n_frames)
        z = torch.cat([z.mean(dim=-1), z.amax(dim=-1)], dim=1)
        if self.raw is not None and x is not None:
            z = torch.cat([z, self.raw(x)], dim=1)
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
    raw_width : int, default=0
        With ``raw_width > 0`` each member also gets a raw-waveform branch beside the
        spectrogram: the (scaled) signal minus its per-window mean -> batch norm -> 4 strided
        convolutions (kernel 7, stride 2, ``raw_width`` channels, BN, GELU) -> mean and max over
        time, concatenated with the spectrogram features before the readout. It sees what log
        power discards: polarity, spike shape, the amplitude distribution (e.g. clipping).
        0 (default) leaves the network exactly as without the option.
    freq_mask, time_mask : int, default=0
        Training-time-only masking of the normalised spectrogram (SpecAugment-style): in
        ``train()`` mode each sample gets, per member, one band of ``0..freq_mask`` consecutive
        frequency rows (all channels' copies of the bins) and one span of ``0..time_mask``
        consecutive frames set to 0 (the batch mean after the input batch norm). No effect in
        ``eval()`` mode; 0 (default) draws no random numbers at all.

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
        raw_width: int = 0,
        freq_mask: int = 0,
        time_mask: int = 0,
    ):
        super().__init__()
        self.n_chans, self.n_times, self.n_outputs, self.sfreq = n_chans, n_times, n_outputs, sfreq
        self.n_fft, self.hop_length, self.fmax = n_fft, hop_length, fmax
        self.width, self.n_blocks, self.kernel_size = width, n_blocks, kernel_size
        self.drop_prob, self.n_members, self.scale = drop_prob, n_members, scale
        self.raw_width, self.freq_mask, self.time_mask = raw_width, freq_mask, time_mask
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
        rw = check_positive_int("raw_width", raw_width, minimum=0)
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
        self.freq_mask_ = check_positive_int("freq_mask", freq_mask, minimum=0)
        self.time_mask_ = check_positive_int("time_mask", time_mask, minimum=0)
        for name, size, limit in (
            ("freq_mask", self.freq_mask_, n_freqs),
            ("time_mask", self.time_mask_, self.n_frames_),
        ):
            if size > limit:
                from ..exceptions import ConfigError

                raise ConfigError(
                    f"Invalid value for {name!r}: expected at most {limit} (the spectrogram's "
                    f"{'frequency bins' if name == 'freq_mask' else 'frames'}), got {size}."
                )
        self.register_buffer("window", torch.hann_window(nfft, periodic=True), persistent=False)

        self.scaler = make_scaler(c, scale)
        self.members = nn.ModuleList(
            [_Tower(c * n_freqs, w, nb, k, p, n_outputs, c, rw) for _ in range(m)]
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

    def spec_mask(self, batch: int, device: torch.device | None = None) -> torch.Tensor | None:
        """Random mask of shape (batch, n_chans * n_freqs, n_frames), True where masked.

        One band of ``U{0..freq_mask}`` bins (the same bins in every channel) and one span of
        ``U{0..time_mask}`` frames per sample; None when both sizes are 0.
        """
        if not (self.freq_mask_ or self.time_mask_):
            return None
        nf, nt = self.n_freqs_, self.n_frames_
        mask = torch.zeros(batch, nf, nt, dtype=torch.bool, device=device)
        for size, n, axis in ((self.freq_mask_, nf, 1), (self.time_mask_, nt, 2)):
            if not size:
                continue
            width = torch.randint(0, size + 1, (batch, 1), device=device)
            start = (torch.rand(batch, 1, device=device) * (n - width + 1)).long()
            pos = torch.arange(n, device=device)[None, :]
            hit = (pos >= start) & (pos < start + width)  # (batch, n)
            mask |= hit[:, :, None] if axis == 1 else hit[:, None, :]
        return mask.repeat(1, self.n_chans, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map x of shape (batch, n_chans, n_times) to logits of shape (batch, n_outputs).

        With ``n_members > 1`` the logits are the mean of the members' log-softmax outputs
        (their normalised geometric mean after a softmax).
        """
        xs = self.scaler(x).float()
        z = self.log_spectrogram(xs)
        raw = xs if self.raw_width else None
        masks = [
            self.spec_mask(z.shape[0], z.device) if self.training else None for _ in self.members
        ]
        if len(self.members) == 1:
            return self.members[0](z, raw, masks[0])
        logp = [
            torch.log_softmax(member(z, raw, mask), dim=1)
            for member, mask in zip(self.members, masks, strict=True)
        ]
        return torch.stack(logp).mean(dim=0)
