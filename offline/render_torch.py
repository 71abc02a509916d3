"""The resonant atom (docs/index.md, "The atom model") as a differentiable PyTorch renderer.

It computes the same function as :mod:`atomsynth.rt.reference` (same burst, same noise, same
modes, same normalization, same onset rounding) in float32 or float64, batched over atoms and
over *segments*: every atom belongs to one segment (an output window of ``length`` samples) and
the result has shape (segments, channels, length).

How it is computed
------------------
* Burst: the counter-based noise of each atom (bit-identical to NumPy,
  :mod:`atomsynth.offline.noise_torch`; its spectrum cached per key and FFT length), filtered
  in the frequency domain with the atom's own FFT length ``M`` (atoms are grouped by ``M``),
  times the gamma envelope, cut at the reference's burst length ``L``. Burst-region work is
  done per group of atoms whose ``L`` share a power of two.
* Every sum over modes of powers ``p_m^t`` is split as ``t = block c + f`` (``p^t = p^(block c)
  p^f``) and done as a batched *real* matrix product, ``Im(sum_m C_m P_m^f) = [Re C, Im C] @
  [Im P^f; Re P^f]``: no (atoms, modes, samples) tensor. Coarse powers come from float64 poles
  (their exponents reach the window length); the block (at most 256) is small enough that no
  power of the fastest-decaying mode overflows.
* Resonance inside the burst (``n < L``): FFT convolution of the burst with ``h[0:L]``.
* Resonance after the burst: the closed form ``Im(sum_m w_m s_m p_m^(n - L + 1))`` with the mode
  states ``s_m`` at the burst's last sample, evaluated on the window's sample grid.
* Onset: the reference starts an atom on sample ``n0 = floor(onset_s sr + 0.5)``. The renderer
  places it exactly there (so it equals the reference), and differentiates through a continuous
  delay with a straight-through estimator: the delay is ``n0 + (x - stop_grad(x))`` with
  ``x = onset_s sr``; the burst part is added at ``n0`` (scatter) plus ``-(delay -
  stop_grad(delay)) head'`` (``head'`` its band-limited derivative, a term whose value is 0), and
  the delay enters the exponent of the free decay.
* The sum over atoms (gain, pan and segment folded in) is one (segments x channels, atoms) x
  (atoms, samples) matrix product.

Discrete quantities (burst length ``L``, noise FFT length ``M``, onset sample, which modes lie
under Nyquist, ``n_modes``, ``seed``, ``preset``) are read from detached values each call; the
envelope's -80 dB cut and the clamps of T60 to [0.001, 120] s have zero gradient where they bite.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from atomsynth.offline.noise_torch import uniform_noise_rows
from atomsynth.rt.atoms import ResonantAtoms
from atomsynth.rt.burst import (
    burst_length_array,
    convolution_fft_length,
    noise_fft_length_array,
)
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.modes import T60_MAX_S, T60_MIN_S, ModeTable, mode_triples
from atomsynth.rt.params import MAX_MODES

LN1000 = math.log(1000.0)
SQRT3 = math.sqrt(3.0)
SQRT_PI = math.sqrt(math.pi)

CONTINUOUS = (
    "onset_s", "gain_db", "pan", "f0_hz", "t60_s", "damping", "inharmonicity", "brightness",
    "cutoff_hz", "noise_hz", "noise_bw_hz", "attack_s", "burst_shape", "mix",
)
"""The continuous parameters the renderer differentiates with respect to."""

DISCRETE = ("n_modes", "seed", "preset")


def params_from_atoms(
    atoms: ResonantAtoms, *, dtype=torch.float32, device=None, requires_grad: bool = False
) -> dict[str, torch.Tensor]:
    """The continuous columns of ``atoms`` as tensors of shape (n,), discrete ones as int64."""
    out: dict[str, torch.Tensor] = {}
    for name in CONTINUOUS:
        t = torch.tensor(np.asarray(atoms[name], dtype=np.float64), dtype=dtype, device=device)
        out[name] = t.requires_grad_(requires_grad)
    for name in DISCRETE:
        out[name] = torch.tensor(np.asarray(atoms[name]).astype(np.int64), device=device)
    return out


def atoms_from_params(params: Mapping[str, torch.Tensor], *, clip: bool = True,
                      **extra_columns) -> ResonantAtoms:
    """A validated :class:`ResonantAtoms` from renderer tensors (values clipped into range)."""
    from atomsynth.rt.params import RESONANT_PARAMS

    cols = {}
    specs = {s.name: s for s in RESONANT_PARAMS}
    for name in CONTINUOUS + DISCRETE:
        v = params[name].detach().cpu().numpy()
        if clip:
            s = specs[name]
            v = np.clip(v.astype(np.float64), s.lo, s.hi)
        cols[name] = v
    cols.update(extra_columns)
    return ResonantAtoms(**cols)


# White-noise spectra depend only on the key and the FFT length: kept between calls (fitting
# renders the same atoms' noise at every step). One row per (seed, M, dtype, device).
_NOISE_CACHE: dict[tuple, torch.Tensor] = {}
_NOISE_CACHE_SIZE = 2048


def _white_spectrum(seeds: np.ndarray, m: int, dtype, device) -> torch.Tensor:
    """``rfft(sqrt(3) * uniform_noise(seed, 0, m))`` for every seed, shape (len(seeds), m/2+1)."""
    keys = [(int(s), m, dtype, str(device)) for s in seeds]
    rows = [_NOISE_CACHE.get(k) for k in keys]  # local references: safe if another thread
    missing = [i for i, r in enumerate(rows) if r is None]  # clears the cache meanwhile
    if missing:
        white = uniform_noise_rows(seeds[missing], 0, m, dtype=dtype, device=device) * SQRT3
        spec = torch.fft.rfft(white, dim=1)
        if len(_NOISE_CACHE) + len(missing) > _NOISE_CACHE_SIZE:
            _NOISE_CACHE.clear()
        for row, i in enumerate(missing):
            rows[i] = _NOISE_CACHE[keys[i]] = spec[row]
    return torch.stack(rows)


def _mode_tables_torch(p, tables, dtype, device):
    """ratio, g, d (float) and exists (bool), shape (n, MAX_MODES); ratio differentiable in B."""
    n = p["f0_hz"].shape[0]
    m = torch.arange(1, MAX_MODES + 1, dtype=dtype, device=device)
    ratio = m[None, :] * torch.sqrt(1.0 + p["inharmonicity"][:, None] * m[None, :] ** 2)
    preset = p["preset"].detach().cpu().numpy()
    n_modes = p["n_modes"].detach().cpu().numpy()
    if (preset >= 0).any():
        if preset.max() >= len(tables):
            raise ParameterError(
                f"preset = {int(preset.max())} but {len(tables)} mode table(s) were given")
        proxy = ResonantAtoms(n, n_modes=n_modes, preset=preset)
        r_np, g_np, d_np, ex_np = mode_triples(proxy, tuple(tables))
        rows = torch.as_tensor(preset >= 0, device=device)
        ratio = torch.where(rows[:, None], torch.as_tensor(r_np, dtype=dtype, device=device),
                            ratio)
        g = torch.as_tensor(g_np, dtype=dtype, device=device)
        d = torch.as_tensor(d_np, dtype=dtype, device=device)
        exists = torch.as_tensor(ex_np, device=device)
    else:
        g = torch.ones((n, MAX_MODES), dtype=dtype, device=device)
        d = g
        exists = m[None, :] <= torch.as_tensor(n_modes, device=device)[:, None].to(dtype)
    return ratio, g, d, exists


def mode_bank(p: Mapping[str, torch.Tensor], tables: Sequence[ModeTable], sample_rate: float,
              n_cols: int | None = None):
    """Frequencies (Hz), amplitudes and T60s (s) of every atom's modes, shape (n, n_cols).

    The torch twin of :func:`atomsynth.rt.modes.atom_modes`; inactive modes have amplitude 0.
    """
    dtype, device = p["f0_hz"].dtype, p["f0_hz"].device
    ratio, g, d, exists = _mode_tables_torch(p, tables, dtype, device)
    if n_cols is not None:
        ratio, g, d, exists = ratio[:, :n_cols], g[:, :n_cols], d[:, :n_cols], exists[:, :n_cols]
    cols = ratio.shape[1]
    m0 = torch.arange(cols, dtype=dtype, device=device)
    freq = p["f0_hz"][:, None] * ratio
    bright = p["brightness"].clamp(min=1e-30)[:, None]
    tilt = torch.where(m0[None, :] == 0, torch.ones_like(freq), bright ** m0[None, :])
    lowpass = torch.exp(-0.5 * (freq / p["cutoff_hz"][:, None]) ** 2)
    t60 = p["t60_s"][:, None] * d * ratio ** (-p["damping"][:, None])
    active = exists & (freq.detach() < 0.5 * sample_rate)
    amp = torch.where(active, g * tilt * lowpass, torch.zeros_like(freq))
    t60 = torch.where(active, t60.clamp(T60_MIN_S, T60_MAX_S), torch.full_like(t60, T60_MIN_S))
    freq = torch.where(active, freq, torch.zeros_like(freq))
    return freq, amp, t60, active


def _resonance_norm(amp, attack_s, shape, bw_hz):
    """Torch twin of :func:`atomsynth.rt.burst.resonance_norm`, per atom, shape (n,)."""
    power = (amp**2).sum(dim=1)
    k2 = 2.0 * shape
    e_env = attack_s * torch.exp(k2 + torch.lgamma(k2 + 1.0) - (k2 + 1.0) * torch.log(k2))
    tau = attack_s * torch.sqrt(k2 + 1.0) / k2
    bw = torch.sqrt(bw_hz**2 + 1.0 / (8.0 * math.pi**2 * tau**2))
    safe = torch.where(power > 0, power, torch.ones_like(power))
    norm = torch.sqrt(2.0 * bw * SQRT_PI / e_env) / torch.sqrt(safe)
    return torch.where(power > 0, norm, torch.zeros_like(norm))


def bursts(p: Mapping[str, torch.Tensor], sample_rate: float) -> tuple[torch.Tensor, np.ndarray]:
    """Every atom's excitation burst, zero-padded: ``(b (n, L_max), L (n,) int64)``."""
    sr = float(sample_rate)
    dtype, device = p["f0_hz"].dtype, p["f0_hz"].device
    attack = p["attack_s"]
    shape = p["burst_shape"]
    lengths = burst_length_array(attack.detach().cpu().double().numpy(),
                             shape.detach().cpu().double().numpy(), sr)
    ffts = noise_fft_length_array(lengths, p["noise_bw_hz"].detach().cpu().double().numpy(), sr)
    n = lengths.size
    l_max = int(lengths.max()) if n else 1
    seeds = p["seed"].detach().cpu().numpy()
    pieces = []
    order = []
    for m in np.unique(ffts):
        idx = np.flatnonzero(ffts == m)
        m = int(m)
        spec = _white_spectrum(np.ascontiguousarray(seeds[idx]), m, dtype, device)
        freqs = torch.arange(spec.shape[1], dtype=dtype, device=device) * (sr / m)
        it = torch.as_tensor(idx, device=device)
        hz, bw = p["noise_hz"][it][:, None], p["noise_bw_hz"][it][:, None]
        gain = torch.exp(-0.5 * ((freqs[None, :] - hz) / bw) ** 2) * torch.sqrt(
            sr / (2.0 * bw * SQRT_PI))
        band = torch.fft.irfft(spec * gain, n=m, dim=1)
        take = min(m, l_max)
        band = band[:, :take]
        if take < l_max:
            band = torch.nn.functional.pad(band, (0, l_max - take))
        pieces.append(band)
        order.append(idx)
    if n == 0:
        return torch.zeros((0, 1), dtype=dtype, device=device), lengths
    band = torch.cat(pieces)
    inv = np.empty(n, dtype=np.int64)
    inv[np.concatenate(order)] = np.arange(n)
    band = band[torch.as_tensor(inv, device=device)]
    idx_n = torch.arange(l_max, dtype=dtype, device=device)
    x = idx_n[None, :] / (sr * attack[:, None])
    x_safe = torch.where(idx_n[None, :] > 0, x, torch.ones_like(x))
    env = torch.exp(shape[:, None] * (torch.log(x_safe) + 1.0 - x_safe))
    inside = (torch.arange(l_max, device=device)[None, :]
              < torch.as_tensor(lengths, device=device)[:, None]) & (idx_n[None, :] > 0)
    env = torch.where(inside, env, torch.zeros_like(env))
    return band * env, lengths


_BLOCK_CAP = 256


def _block_size(t60: torch.Tensor, active: torch.Tensor, sr: float, cap: int = 512) -> int:
    """Largest power of two (<= ``cap``) over which the fastest active mode decays by < e^40."""
    fastest = t60[active].min().item() if bool(active.any()) else 1.0
    per_sample = LN1000 / (fastest * sr)
    block = cap
    while block > 1 and per_sample * block > 40.0:
        block //= 2
    return block


def pan_gains(pan: torch.Tensor, channels: int) -> torch.Tensor:
    """Constant-power pan gains, shape (n, channels) (torch twin of the reference's)."""
    n = pan.shape[0]
    if channels == 1:
        return torch.ones((n, 1), dtype=pan.dtype, device=pan.device)
    theta = (pan + 1.0) * (math.pi / 4.0)
    lr = torch.stack([torch.cos(theta), torch.sin(theta)], dim=1)
    if channels == 2:
        return lr
    return torch.cat([lr, torch.zeros((n, channels - 2), dtype=pan.dtype, device=pan.device)],
                     dim=1)


def render_atoms(
    params: Mapping[str, torch.Tensor],
    *,
    sample_rate: float,
    length: int,
    channels: int = 1,
    segment: torch.Tensor | np.ndarray | None = None,
    n_segments: int | None = None,
    segment_start_s: torch.Tensor | np.ndarray | float = 0.0,
    tables: Sequence[ModeTable] = (),
    per_atom: bool = False,
) -> torch.Tensor:
    """Render resonant atoms into one window per segment, differentiably.

    Parameters
    ----------
    params : mapping of str to Tensor
        Every name of :data:`CONTINUOUS` (float tensors of shape (n,), all of one dtype and
        device) and of :data:`DISCRETE` (int64 tensors of shape (n,)); see
        :func:`params_from_atoms`.
    sample_rate : float
        Hz.
    length : int
        Samples per segment window.
    channels : int
        Output channels (constant-power pan across channels 0 and 1).
    segment : int array of shape (n,), optional
        The segment each atom sounds in (default all in segment 0).
    n_segments : int, optional
        Number of windows (default ``segment.max() + 1``).
    segment_start_s : float or array of shape (n_segments,)
        Time of each window's first sample; onsets are absolute times. An atom may start before
        its window (its ring-out is rendered) but not after its end.
    tables : sequence of ModeTable
        Mode tables for atoms with ``preset >= 0``.
    per_atom : bool
        Return every atom's own signal, shape (n, channels, length), instead of the sum.

    Returns
    -------
    Tensor, shape (n_segments, channels, length), the params' dtype
    """
    sr = float(sample_rate)
    p = params
    dtype, device = p["f0_hz"].dtype, p["f0_hz"].device
    n = p["f0_hz"].shape[0]
    length = int(length)
    if segment is None:
        segment = np.zeros(n, dtype=np.int64)
    seg = torch.as_tensor(np.asarray(segment, dtype=np.int64), device=device)
    if n_segments is None:
        n_segments = int(seg.max()) + 1 if n else 1
    starts = torch.as_tensor(np.broadcast_to(np.asarray(segment_start_s, dtype=np.float64),
                                             (n_segments,)).copy(), dtype=torch.float64)
    if n == 0:
        shape = (0, channels, length) if per_atom else (n_segments, channels, length)
        return torch.zeros(shape, dtype=dtype, device=device)

    # Onset: integer sample like the reference, straight-through gradient of the real delay.
    start_samples = np.floor(starts.numpy() * sr + 0.5).astype(np.int64)
    x = p["onset_s"] * sr
    n0 = torch.floor(x.detach().double() + 0.5)
    local = (n0 - torch.as_tensor(start_samples, device=device)[seg]).to(dtype)
    delay = local + (x - x.detach())  # value: integer sample offset in the window

    cols = int(p["n_modes"].max().item()) if (p["preset"] < 0).all() else MAX_MODES
    freq, amp, t60, active = mode_bank(p, tables, sr, n_cols=max(1, min(MAX_MODES, cols)))
    mix = p["mix"]
    norm = _resonance_norm(amp, p["attack_s"], p["burst_shape"], p["noise_bw_hz"])
    weights = amp * ((1.0 - mix) * norm / sr)[:, None]  # (n, K)
    # Inactive modes (amplitude 0) get a slow decay so that no power of them overflows.
    t60_safe = torch.where(active, t60, torch.ones_like(t60))
    # Poles in float64 whatever the dtype: powers up to the window length keep their phase.
    decay = -LN1000 / (t60_safe.double() * sr)  # (n, K), log|p|
    omega = (2.0 * math.pi / sr) * freq.double()  # (n, K), arg p
    block = _block_size(t60.detach(), active, sr, cap=_BLOCK_CAP)
    # Fine powers (exponents < block) are accurate in the working dtype.
    fine_re, fine_im = _powers(decay.to(dtype), omega.to(dtype), torch.arange(
        block, dtype=dtype, device=device)[None, None, :], dtype)
    local_i = local.detach().round().long()

    # Burst region, per group of atoms whose burst lengths share a power of two (one long
    # burst does not make every atom's burst work long).
    lengths = burst_length_array(p["attack_s"].detach().cpu().double().numpy(),
                             p["burst_shape"].detach().cpu().double().numpy(), sr)
    classes = np.maximum(4, np.ceil(np.log2(lengths)).astype(np.int64))
    coefs, order, flat_idx, flat_val = [], [], [], []
    for c in np.unique(classes):
        idx = np.flatnonzero(classes == c)
        it = torch.as_tensor(idx, device=device)
        sub = {k: v[it] for k, v in p.items()}
        c_re, c_im, head = _burst_region(
            sub, sr, weights[it], decay[it], omega[it], fine_re[it], fine_im[it], block)
        coefs.append(torch.cat([c_re, c_im], dim=1))
        order.append(idx)
        # The head at its integer onset sample, with the straight-through gradient of a
        # continuous delay: head(t - d) differentiates to -head'(t - d), the band-limited
        # derivative of the head; the added term's value is exactly zero.
        l_b = head.shape[1]
        nd = 1 << (2 * l_b).bit_length()
        kk = torch.arange(nd // 2 + 1, dtype=dtype, device=device)
        ramp = (2.0 * math.pi / nd) * kk
        ramp = torch.where(kk == nd // 2, torch.zeros_like(ramp), ramp)
        spec = torch.fft.rfft(head.detach(), nd)
        dhead = torch.fft.irfft(torch.complex(-spec.imag * ramp, spec.real * ramp),
                                nd)[:, :l_b]
        d = delay[it]
        head = head - (d - d.detach())[:, None] * dhead
        pos = local_i[it][:, None] + torch.arange(l_b, device=device)[None, :]
        keep = (pos >= 0) & (pos < length)
        flat_val.append(torch.where(keep, head, torch.zeros((), dtype=dtype, device=device))
                        .reshape(-1))
        flat_idx.append((it[:, None] * length + pos.clamp(0, length - 1)).reshape(-1))
    inv = np.empty(n, dtype=np.int64)
    inv[np.concatenate(order)] = np.arange(n)
    coef = torch.cat(coefs)[torch.as_tensor(inv, device=device)]
    n_k = freq.shape[1]
    coef_re, coef_im = coef[:, :n_k], coef[:, n_k:]

    # Free decay after the burst on the window's grid: Im(sum_k coef_k p_k^(t - s)) with
    # s = delay + L - 1 and t = block c + f, i.e. a real (n, C, 2K) x (n, 2K, block) product.
    lens_dev = torch.as_tensor(lengths, device=device)
    n_blocks = -(-length // block)
    shift = delay.double() + lens_dev.double() - 1.0  # (n,)
    coarse = (torch.arange(n_blocks, dtype=torch.float64, device=device)[None, :] * block
              - shift[:, None]).clamp(min=-float(block))  # (n, nb)
    ct_re, ct_im = _powers(decay, omega, coarse[:, None, :], dtype)  # (n, K, nb)
    a_re = coef_re[:, :, None] * ct_re - coef_im[:, :, None] * ct_im
    a_im = coef_re[:, :, None] * ct_im + coef_im[:, :, None] * ct_re
    left = torch.cat([a_re, a_im], dim=1).transpose(1, 2)  # (n, nb, 2K)
    tail = torch.bmm(left, torch.cat([fine_im, fine_re], dim=1)).reshape(n, -1)[:, :length]
    grid = torch.arange(length, device=device)
    after = grid[None, :] >= (local_i + lens_dev)[:, None]
    sig = torch.where(after, tail, torch.zeros((), dtype=dtype, device=device))
    sig = sig.reshape(-1).scatter_add(0, torch.cat(flat_idx), torch.cat(flat_val)).reshape(
        n, length)

    g = (10.0 ** (p["gain_db"] / 20.0))[:, None] * pan_gains(p["pan"], channels)  # (n, C)
    if per_atom:
        return sig[:, None, :] * g[:, :, None]
    if n_segments == 1:
        return (g.t() @ sig)[None]
    # (segments * C, n) matrix of gains, zero outside each atom's segment.
    one_hot = (seg[None, :] == torch.arange(n_segments, device=device)[:, None]).to(dtype)
    mat = (one_hot[:, None, :] * g.t()[None, :, :]).reshape(n_segments * channels, n)
    return (mat @ sig).reshape(n_segments, channels, length)


def _burst_region(p, sr, weights, decay, omega, fine_re, fine_im, block):
    """Burst ``b``, ``b + b (*) h`` inside it (the head, (n, L_max)) and the mode states at
    the burst's last sample times the mode weights (real and imaginary parts, (n, K)), for a
    group of atoms; powers as coarse p^(block c) times fine p^f in batched products."""
    b, lengths = bursts(p, sr)
    dtype, device = b.dtype, b.device
    n, l_max = b.shape
    lens_dev = torch.as_tensor(lengths, device=device)
    nb_b = -(-l_max // block)
    c_b = torch.arange(nb_b, dtype=torch.float64, device=device)[None, None, :] * block
    cb_re, cb_im = _powers(decay, omega, c_b, dtype)  # (n, K, nb_b)
    w = weights[:, :, None]
    # h[c block + f] = sum_k w_k Im(P_c P_f) = sum_k w_k (Re P_c Im P_f + Im P_c Re P_f)
    left = torch.cat([w * cb_re, w * cb_im], dim=1).transpose(1, 2)  # (n, nb_b, 2K)
    h_burst = torch.bmm(left, torch.cat([fine_im, fine_re], dim=1)).reshape(n, -1)[:, :l_max]
    nfft = convolution_fft_length(l_max)
    conv = torch.fft.irfft(torch.fft.rfft(b, nfft) * torch.fft.rfft(h_burst, nfft), nfft)[:, :l_max]
    inside = torch.arange(l_max, device=device)[None, :] < lens_dev[:, None]
    head = p["mix"][:, None] * b + torch.where(inside, conv, torch.zeros_like(conv))
    # state_k = sum_r p_k^r brev[r], r = L - 1 - j: (fine @ brev blocks), then coarse powers.
    r = torch.arange(nb_b * block, device=device)[None, :]
    src = (lens_dev[:, None] - 1 - r).clamp(min=0)
    brev = torch.where(r < lens_dev[:, None], torch.gather(
        torch.nn.functional.pad(b, (0, max(0, nb_b * block - l_max))), 1, src),
        torch.zeros((), dtype=dtype, device=device)).reshape(n, nb_b, block).transpose(1, 2)
    in_re = torch.bmm(fine_re, brev)  # (n, K, nb_b)
    in_im = torch.bmm(fine_im, brev)
    st_re = (cb_re * in_re - cb_im * in_im).sum(-1)  # (n, K)
    st_im = (cb_re * in_im + cb_im * in_re).sum(-1)
    return weights * st_re, weights * st_im, head


def _powers(decay: torch.Tensor, omega: torch.Tensor, t: torch.Tensor, dtype):
    """Real and imaginary parts of ``p^t = exp(decay t) (cos + i sin)(omega t)``, computed in
    the dtype of ``decay``, ``omega`` (n, K) (float64 for long exponents; ``t`` broadcastable
    to (n, K, T)) and returned as ``dtype``, shape (n, K, T)."""
    mag = torch.exp(decay[:, :, None] * t)
    ang = omega[:, :, None] * t
    return (mag * torch.cos(ang)).to(dtype), (mag * torch.sin(ang)).to(dtype)


__all__ = ["CONTINUOUS", "DISCRETE", "atoms_from_params", "bursts", "mode_bank",
           "params_from_atoms", "render_atoms"]
