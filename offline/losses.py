"""Losses for fitting atoms: multi-resolution STFT magnitude, its multi-band variant, sparsity.

Each loss is a small :class:`torch.nn.Module` whose options are validated at construction
(:class:`~atomsynth.rt.errors.ParameterError` naming the option, the value and the range).
Signals are tensors of shape (..., samples); losses return a scalar.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from atomsynth.rt.errors import ParameterError


def _check_sizes(name: str, sizes: Sequence[int]) -> tuple[int, ...]:
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise ParameterError(f"{name} must list at least one FFT size")
    for s in sizes:
        if s < 16 or s > 65536 or s & (s - 1):
            raise ParameterError(f"{name}: FFT size {s} must be a power of two in [16, 65536]")
    return sizes


def _check_weight(name: str, value: float) -> float:
    value = float(value)
    if not value >= 0.0 or value == float("inf"):
        raise ParameterError(f"{name} = {value!r} is out of range; allowed [0, inf)")
    return value


_WINDOWS: dict[tuple, torch.Tensor] = {}


def _hann(n_fft: int, dtype, device) -> torch.Tensor:
    """The periodic Hann window of ``n_fft`` samples, made once per size, dtype and device."""
    key = (n_fft, dtype, str(device))
    w = _WINDOWS.get(key)
    if w is None:
        w = _WINDOWS[key] = torch.hann_window(n_fft, dtype=dtype, device=device)
    return w


def stft_magnitude(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """|STFT| with a periodic Hann window, shape (..., n_fft // 2 + 1, frames)."""
    lead = x.shape[:-1]
    flat = x.reshape(-1, x.shape[-1])
    if flat.shape[-1] < n_fft:
        flat = nn.functional.pad(flat, (0, n_fft - flat.shape[-1]))
    window = _hann(n_fft, x.dtype, x.device)
    spec = torch.stft(flat, n_fft, hop_length=hop, window=window, center=True,
                      return_complex=True)
    mag = spec.abs()
    return mag.reshape(*lead, *mag.shape[-2:])


class PreparedTarget:
    """A target's STFT magnitudes (and their logs and means) for every resolution of one
    :class:`MultiResolutionSTFTLoss`, from :meth:`MultiResolutionSTFTLoss.prepare`: pass it
    in place of the target when the same target is compared many times (fitting)."""

    def __init__(self, loss: MultiResolutionSTFTLoss, target: torch.Tensor) -> None:
        self.loss = loss
        self.shape = tuple(target.shape)
        self.dtype, self.device = target.dtype, target.device
        self.mags, self.logs, self.scales = [], [], []
        with torch.no_grad():
            for n_fft in loss.fft_sizes:
                b = stft_magnitude(target.detach(), n_fft, max(1, n_fft // loss.overlap))
                self.mags.append(b)
                self.logs.append(torch.log(b + loss.eps))
                self.scales.append(b.mean().clamp(min=loss.eps))


class MultiResolutionSTFTLoss(nn.Module):
    """Sum over FFT sizes of the mean L1 distance of STFT magnitudes, linear and log.

    ``sum_s  linear_weight * mean|S - S'| / mean|S|  +  log_weight * mean|log(S + eps) -
    log(S' + eps)|``; the linear term is normalized by the target's mean magnitude so that the
    loss does not depend on the recording's level.

    Parameters
    ----------
    fft_sizes : sequence of int
        Powers of two in [16, 65536]; hop is ``n_fft // overlap``.
    overlap : int
        Frames per window length (1 to 16).
    linear_weight, log_weight : float
        Weights of the two terms, >= 0, not both 0.
    eps : float
        Floor added inside the logarithm, > 0.
    """

    def __init__(self, *, fft_sizes: Sequence[int] = (2048, 1024, 512, 256, 128),
                 overlap: int = 4, linear_weight: float = 1.0, log_weight: float = 1.0,
                 eps: float = 1e-5) -> None:
        super().__init__()
        self.fft_sizes = _check_sizes("fft_sizes", fft_sizes)
        if not 1 <= int(overlap) <= 16:
            raise ParameterError(f"overlap = {overlap!r} is out of range; allowed [1, 16]")
        self.overlap = int(overlap)
        self.linear_weight = _check_weight("linear_weight", linear_weight)
        self.log_weight = _check_weight("log_weight", log_weight)
        if self.linear_weight == 0 and self.log_weight == 0:
            raise ParameterError("linear_weight and log_weight are both 0: the loss is empty")
        if not eps > 0:
            raise ParameterError(f"eps = {eps!r} is out of range; allowed (0, inf)")
        self.eps = float(eps)

    def prepare(self, target: torch.Tensor) -> PreparedTarget:
        """The target's spectra computed once; ``loss(output, prepared)`` equals
        ``loss(output, target)`` (no gradient flows to a prepared target)."""
        return PreparedTarget(self, target)

    def forward(self, output: torch.Tensor,
                target: torch.Tensor | PreparedTarget) -> torch.Tensor:
        """The loss, a scalar; ``target`` is a tensor of ``output``'s shape or a
        :class:`PreparedTarget` of this loss."""
        if isinstance(target, PreparedTarget):
            if target.loss is not self:
                raise ParameterError("the prepared target was made by another loss object")
            prepared = target
        else:
            prepared = None
        shape = prepared.shape if prepared is not None else tuple(target.shape)
        if tuple(output.shape) != shape:
            raise ParameterError(f"output shape {tuple(output.shape)} differs from target "
                                 f"shape {shape}")
        total = output.new_zeros(())
        for i, n_fft in enumerate(self.fft_sizes):
            hop = max(1, n_fft // self.overlap)
            a = stft_magnitude(output, n_fft, hop)
            if prepared is not None:
                b, log_b, scale = prepared.mags[i], prepared.logs[i], prepared.scales[i]
            else:
                b = stft_magnitude(target, n_fft, hop)
                log_b = torch.log(b + self.eps) if self.log_weight else None
                scale = b.mean().clamp(min=self.eps)
            if self.linear_weight:
                total = total + self.linear_weight * (a - b).abs().mean() / scale
            if self.log_weight:
                total = total + self.log_weight * (torch.log(a + self.eps) - log_b).abs().mean()
        return total / len(self.fft_sizes)


class MultiBandSTFTLoss(nn.Module):
    """The multi-band variant: octave bands, each compared at a resolution suited to it.

    The signals are split into ``n_bands`` octave bands below Nyquist (brick-wall masks in the
    frequency domain, the lowest band reaching down to 0 Hz); band ``i`` (counted from the top)
    is compared with :class:`MultiResolutionSTFTLoss` at FFT sizes ``base_fft * 2**i`` and half
    that, so low bands get long windows (frequency resolution) and high bands short ones (time
    resolution). The band losses are averaged.

    Parameters
    ----------
    n_bands : int
        1 to 10.
    base_fft : int
        FFT size of the top band (a power of two, 16 to 4096).
    linear_weight, log_weight, eps : float
        As in :class:`MultiResolutionSTFTLoss`.
    """

    def __init__(self, *, n_bands: int = 5, base_fft: int = 128, linear_weight: float = 1.0,
                 log_weight: float = 1.0, eps: float = 1e-5) -> None:
        super().__init__()
        if not 1 <= int(n_bands) <= 10:
            raise ParameterError(f"n_bands = {n_bands!r} is out of range; allowed [1, 10]")
        base = _check_sizes("base_fft", [base_fft])[0]
        if base > 4096:
            raise ParameterError(f"base_fft = {base} is out of range; allowed [16, 4096]")
        self.n_bands = int(n_bands)
        self.base_fft = base
        self.bands = nn.ModuleList(
            MultiResolutionSTFTLoss(fft_sizes=(min(65536, base << i), min(65536, base << i) // 2),
                                    linear_weight=linear_weight, log_weight=log_weight, eps=eps)
            for i in range(self.n_bands)
        )

    def split(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The octave bands of ``x``, top band first, each of shape ``x.shape``."""
        n = x.shape[-1]
        spec = torch.fft.rfft(x)
        k = torch.arange(spec.shape[-1], device=x.device)
        top = spec.shape[-1]
        out = []
        for i in range(self.n_bands):
            hi = top >> i
            lo = 0 if i == self.n_bands - 1 else top >> (i + 1)
            mask = ((k >= lo) & (k < hi) if i else (k >= lo)).to(x.dtype)
            out.append(torch.fft.irfft(spec * mask, n=n))
        return out

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if output.shape != target.shape:
            raise ParameterError(f"output shape {tuple(output.shape)} differs from target "
                                 f"shape {tuple(target.shape)}")
        total = output.new_zeros(())
        for loss, a, b in zip(self.bands, self.split(output), self.split(target), strict=True):
            total = total + loss(a, b)
        return total / self.n_bands


class SparsityLoss(nn.Module):
    """``weight * mean(10 ** (gain_db / 20))``: an L1 penalty on linear atom gains.

    Pushes unneeded atoms towards silence so that pruning can drop them.
    """

    def __init__(self, *, weight: float = 0.01) -> None:
        super().__init__()
        self.weight = _check_weight("weight", weight)

    def forward(self, gain_db: torch.Tensor) -> torch.Tensor:
        if gain_db.numel() == 0:
            return gain_db.new_zeros(())
        return self.weight * (10.0 ** (gain_db / 20.0)).mean()


__all__ = ["MultiBandSTFTLoss", "MultiResolutionSTFTLoss", "PreparedTarget", "SparsityLoss",
           "stft_magnitude"]
