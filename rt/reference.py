"""The NumPy float64 reference renderer: the ground truth every other renderer is tested against.

``render(atom_set)`` returns the audio of an atom set, shape (channels, samples), at any sample
rate. A resonant atom's resonance ``sum_j b[j] h[n - j]`` with
``h[n] = sum_m a_m r_m^n sin(w_m n)`` is evaluated exactly through the complex poles
``p_m = r_m exp(i w_m)``: inside the burst as an FFT convolution with the sampled ``h``, after
it as ``Im(sum_m a_m s_m p_m^(n - L + 1))`` where ``s_m`` is the mode's state at the burst's
last sample, one matrix-vector product per chunk of samples. MDCT atoms are synthesized on
their native sample grid by inverse MDCT and overlap-add.
"""

from __future__ import annotations

import math

import numpy as np

from atomsynth.rt.atoms import AtomSet, MdctAtoms, ResonantAtoms
from atomsynth.rt.burst import burst, convolution_fft_length, resonance_norm
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.extent import (
    atom_extent_samples,
    burst_lengths,
    ceil_samples,
    mdct_start_sample,
)
from atomsynth.rt.mdct import imdct_frames, overlap_add
from atomsynth.rt.modes import ModeTable, atom_modes
from atomsynth.rt.params import check_sample_rate
from atomsynth.rt.progress import Progress
from atomsynth.rt.resample import resample_stream

LN1000 = math.log(1000.0)
_TAIL_CHUNK = 8192


def pan_gains(pan: float | np.ndarray, channels: int) -> np.ndarray:
    """Constant-power pan gains, shape (channels,) or (channels, n).

    Mono: 1. Two or more channels: ``cos(theta), sin(theta)`` on channels 0 and 1 with
    ``theta = (pan + 1) pi / 4`` (-3 dB each in the centre), 0 elsewhere.
    """
    pan = np.asarray(pan, dtype=np.float64)
    out = np.zeros((channels,) + pan.shape)
    if channels == 1:
        out[0] = 1.0
        return out
    theta = (pan + 1.0) * (np.pi / 4.0)
    out[0] = np.cos(theta)
    out[1] = np.sin(theta)
    return out


def mode_poles(freq_hz: np.ndarray, t60_s: np.ndarray, sample_rate: float) -> np.ndarray:
    """Complex poles ``r exp(i w)`` with ``r = exp(-ln(1000) / (T sr))``, ``w = 2 pi f / sr``."""
    return np.exp(-LN1000 / (t60_s * sample_rate) + 2j * np.pi * freq_hz / sample_rate)


def resonant_atom_signal(
    atoms: ResonantAtoms,
    index: int,
    tables: tuple[ModeTable, ...],
    sample_rate: float,
) -> np.ndarray:
    """The mono signal of one resonant atom over its extent (burst + decay to -100 dB).

    Returns float64 of shape (length,) starting at the atom's onset sample, before pan and
    before ``gain_db`` is applied.
    """
    one = atoms.select([index])
    bank = atom_modes(one, tables, sample_rate)
    _, extent = atom_extent_samples(one, tables, sample_rate)
    total = int(extent[0])
    b = burst(
        seed=int(one.seed[0]),
        attack_s=float(one.attack_s[0]),
        burst_shape=float(one.burst_shape[0]),
        noise_hz=float(one.noise_hz[0]),
        noise_bw_hz=float(one.noise_bw_hz[0]),
        sample_rate=sample_rate,
    )
    length = b.size
    mix = float(one.mix[0])
    out = np.zeros(total)
    out[:length] = mix * b
    active = bank.active[0]
    if not active.any() or mix >= 1.0:
        return out
    amp = bank.amp[0, active]
    norm = resonance_norm(
        amp,
        attack_s=float(one.attack_s[0]),
        burst_shape=float(one.burst_shape[0]),
        noise_bw_hz=float(one.noise_bw_hz[0]),
    )
    weights = amp * ((1.0 - mix) * norm / sample_rate)  # per-mode output weight
    log_p = np.log(mode_poles(bank.freq_hz[0, active], bank.t60_s[0, active], sample_rate))
    # p^i for i < C, once per atom; every other power is p^(c0) times a column of this
    # (an exact exponential for the offset, one matrix-vector product per chunk).
    span = min(_TAIL_CHUNK, max(length, total - length, 1))
    chunk = np.exp(log_p[:, None] * np.arange(span)[None, :])  # (M, C)
    # Inside the burst: FFT convolution of b with h[0:L], h[c0 + i] = sum_m w_m Im(p^(c0 + i)).
    h_burst = np.empty(length)
    state = np.zeros(log_p.size, dtype=complex)  # s_m = sum_j b[j] p_m^(L - 1 - j)
    for c0 in range(0, length, span):
        n = min(span, length - c0)
        h_burst[c0 : c0 + n] = ((weights * np.exp(log_p * c0)) @ chunk[:, :n]).imag
        state = state * np.exp(log_p * n) + chunk[:, n - 1 :: -1] @ b[c0 : c0 + n]
    nfft = convolution_fft_length(length)
    conv = np.fft.irfft(np.fft.rfft(b, nfft) * np.fft.rfft(h_burst, nfft), nfft)[:length]
    out[:length] += conv
    # After the burst: free decay from each mode's state at n = L - 1.
    coef = weights * state
    for start in range(length, total, span):
        stop = min(start + span, total)
        shift = coef * np.exp(log_p * (start - length + 1))
        out[start:stop] += (shift @ chunk[:, : stop - start]).imag
    return out


def _render_resonant(
    atoms: ResonantAtoms,
    tables: tuple[ModeTable, ...],
    out: np.ndarray,
    sample_rate: float,
    progress: Progress | None,
    done: float,
    share: float,
) -> None:
    """Add every resonant atom into ``out`` (shape (C, T))."""
    n = len(atoms)
    if n == 0:
        return
    start, _ = atom_extent_samples(atoms, tables, sample_rate)
    length = out.shape[1]
    gains = 10.0 ** (atoms.gain_db / 20.0)
    pans = pan_gains(atoms.pan, out.shape[0])
    for i in range(n):
        s0 = int(start[i])
        if s0 >= length:
            continue
        sig = resonant_atom_signal(atoms, i, tables, sample_rate)
        stop = min(length, s0 + sig.size)
        out[:, s0:stop] += (gains[i] * pans[:, i])[:, None] * sig[None, : stop - s0]
        if progress is not None and (i % 16 == 15 or i == n - 1):
            progress(done + share * (i + 1) / n)


def _render_mdct(atoms: MdctAtoms, out: np.ndarray) -> None:
    """Add every MDCT atom into ``out`` (shape (C, T)) on the native sample grid."""
    length = out.shape[1]
    channels = out.shape[0]
    for scale in np.unique(atoms.scale):
        hop = int(scale) // 2
        sel = atoms.scale == scale
        frame = atoms.frame[sel].astype(np.int64)
        keep = mdct_start_sample(atoms.select(sel)) < length
        if not keep.any():
            continue
        frame, k = frame[keep], atoms.bin[sel][keep].astype(np.int64)
        ch, value = atoms.channel[sel][keep].astype(np.int64), atoms.value[sel][keep]
        first, last = int(frame.min()), int(frame.max())
        # Work through the frames in blocks to bound memory: (C, frames, N) coefficients.
        per_block = max(1, (1 << 21) // (hop * channels))
        order = np.argsort(frame, kind="stable")
        frame, k, ch, value = frame[order], k[order], ch[order], value[order]
        for f0 in range(first, last + 1, per_block):
            f1 = min(f0 + per_block, last + 1)
            lo, hi = np.searchsorted(frame, [f0, f1])
            if lo == hi:
                continue
            coeffs = np.zeros((channels, f1 - f0, hop))
            np.add.at(coeffs, (ch[lo:hi], frame[lo:hi] - f0, k[lo:hi]), value[lo:hi])
            overlap_add(imdct_frames(coeffs), hop, f0, out)


def render(
    atom_set: AtomSet,
    *,
    sample_rate: int | None = None,
    duration_s: float | None = None,
    groups: list[int] | np.ndarray | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Render an atom set (dry: room sends are applied by the effects bus).

    Parameters
    ----------
    atom_set : AtomSet
    sample_rate : int, optional
        Output rate in Hz; default the set's native rate. MDCT atoms are rendered at the native
        rate and resampled (:func:`~atomsynth.rt.resample.resample_stream`, as the streaming
        synthesizer does).
    duration_s : float, optional
        Output length in seconds; default ``atom_set.length_s``.
    groups : sequence of int, optional
        Render only atoms of these groups (stems).
    progress : callable, optional
        Called with the fraction done in [0, 1].

    Returns
    -------
    ndarray, float64, shape (channels, ceil(duration_s * sample_rate))
    """
    sr = atom_set.sample_rate if sample_rate is None else sample_rate
    check_sample_rate(sr)
    dur = atom_set.length_s if duration_s is None else duration_s
    if not math.isfinite(dur) or not 0 <= dur <= 86400:
        raise ParameterError(f"duration_s = {dur!r} is out of range; allowed [0, 86400] s")
    resonant, mdct_atoms = atom_set.resonant, atom_set.mdct
    if groups is not None:
        groups = np.asarray(groups)
        resonant = resonant.select(np.isin(resonant.group, groups))
        mdct_atoms = mdct_atoms.select(np.isin(mdct_atoms.group, groups))
    channels = atom_set.channels
    out = np.zeros((channels, ceil_samples(dur, sr)))
    share = 1.0 if not len(mdct_atoms) else 0.9
    _render_resonant(resonant, atom_set.mode_tables, out, float(sr), progress, 0.0, share)
    if len(mdct_atoms):
        native_sr = atom_set.sample_rate
        if sr == native_sr:
            _render_mdct(mdct_atoms, out)
        else:
            native = np.zeros((channels, ceil_samples(dur, native_sr)))
            _render_mdct(mdct_atoms, native)
            out += resample_stream(native, native_sr, sr, out.shape[1])
    if progress is not None:
        progress(1.0)
    return out


def render_stems(
    atom_set: AtomSet,
    *,
    sample_rate: int | None = None,
    duration_s: float | None = None,
    progress: Progress | None = None,
) -> dict[int, np.ndarray]:
    """One rendering per group that has atoms: ``{group_id: (channels, samples)}``.

    The stems sum to :func:`render`'s mix (the mix of the same call is ``sum(stems.values())``).
    """
    groups = [int(g) for g in atom_set.groups]
    stems: dict[int, np.ndarray] = {}
    for i, g in enumerate(groups):
        def sub(frac: float, i: int = i) -> None:
            if progress is not None:
                progress((i + frac) / len(groups))

        stems[g] = render(atom_set, sample_rate=sample_rate, duration_s=duration_s,
                          groups=[g], progress=sub)
    return stems


__all__ = ["burst_lengths", "pan_gains", "render", "render_stems", "resonant_atom_signal"]
