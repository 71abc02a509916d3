"""Matching pursuit over a union of MDCT bases (scales 128 .. 8192 samples).

At every step the atom with the largest ``|<residual, atom>|`` over all scales, frames, bins
and channels (joint multichannel selection) is chosen, its coefficient is subtracted from the
residual, and only the frames of every scale that overlap the chosen atom's support are
re-analysed (Numba kernels in :mod:`.mp_kernels`: a radix-2 FFT DCT-IV per frame, a per-frame
max cache and a tournament tree over frames for O(log frames) selection). Ties go to the
smaller scale, channel, frame and bin, so the result is deterministic. Atoms are orthonormal,
so the residual energy falls by ``value**2`` per step; the SNR stop rule uses that.

Stop rules: ``max_atoms`` (steps), ``snr_db`` (residual energy under the signal's by that many
dB), ``bitrate_bps`` (the quantized atoms' compact ``.atoms`` file fits the bitrate). An atom
picked twice is merged into one (values summed), so the output has unique atoms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from atomsynth.offline import mp_kernels as K
from atomsynth.offline.atomizer import check_audio
from atomsynth.rt.atoms import MdctAtoms
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.mdct import n_frames
from atomsynth.rt.params import MDCT_SCALES
from atomsynth.rt.progress import ProgressBar


@dataclass
class PursuitResult:
    """Outcome of :func:`matching_pursuit`.

    Attributes
    ----------
    atoms : MdctAtoms
        The unique selected atoms (duplicates merged), in order of first selection.
    steps : int
        Pursuit steps taken (atoms selected, counting repeats).
    snr_db : float
        ``10 log10(signal energy / residual energy)`` of the unquantized atoms.
    step_energy : ndarray, shape (steps,)
        Residual energy after each step (for sparsity curves).
    signal_energy : float
    seconds : float
        Wall-clock time of the pursuit itself (kernels), excluding JIT compilation.
    selection : ndarray, shape (steps, 4), int64
        (index into ``MDCT_SCALES``, channel, frame, bin) of each step in order.
    values : ndarray, shape (steps,)
        Coefficient of each step.
    """

    atoms: MdctAtoms
    steps: int
    snr_db: float
    step_energy: np.ndarray
    signal_energy: float
    seconds: float
    selection: np.ndarray
    values: np.ndarray

    def atoms_at(self, steps: int) -> MdctAtoms:
        """The merged atoms after the first ``steps`` steps (a prefix of the pursuit)."""
        return merge_selection(self.selection[:steps], self.values[:steps])

    def steps_for_snr(self, snr_db: float) -> int | None:
        """Steps needed to reach ``snr_db`` (None if never reached)."""
        target = self.signal_energy * 10.0 ** (-snr_db / 10.0)
        hit = np.flatnonzero(self.step_energy <= target)
        return int(hit[0]) + 1 if hit.size else None


def merge_selection(selection: np.ndarray, values: np.ndarray) -> MdctAtoms:
    """Unique atoms of a selection sequence, values summed, ordered by first selection."""
    if selection.shape[0] == 0:
        return MdctAtoms.empty()
    key = selection.astype(np.int64)
    _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    total = np.zeros(first.size)
    np.add.at(total, inv, values)
    order = np.argsort(first, kind="stable")
    first, total = first[order], total[order]
    keep = total != 0.0
    first, total = first[keep], total[keep]
    sel = key[first]
    return MdctAtoms(first.size, scale=np.asarray(MDCT_SCALES)[sel[:, 0]], channel=sel[:, 1],
                     frame=sel[:, 2], bin=sel[:, 3], value=total)


class _Tables:
    """Per-scale kernel tables, flat, offset by the cumulative hop (see mp_kernels)."""

    def __init__(self, hops: np.ndarray) -> None:
        tot = int(hops.sum())
        self.tb_off = np.concatenate([[0], np.cumsum(hops)[:-1]]).astype(np.int64)
        self.win = np.zeros(2 * tot)
        self.pre_re, self.pre_im = np.zeros(tot // 2), np.zeros(tot // 2)
        self.post_re, self.post_im = np.zeros(tot // 2), np.zeros(tot // 2)
        self.tw_re, self.tw_im = np.zeros(tot // 4), np.zeros(tot // 4)
        self.rev = np.zeros(tot // 2, dtype=np.int64)
        self.costab = np.zeros(8 * tot)
        for h, to in zip(hops, self.tb_off, strict=True):
            h, to = int(h), int(to)
            n = np.arange(2 * h)
            self.win[2 * to:2 * to + 2 * h] = np.sin(np.pi * (n + 0.5) / (2 * h))
            half = np.arange(h // 2)
            pre = np.exp(-1j * np.pi * (half + 0.25) / h)
            post = np.exp(-1j * np.pi * half / h)
            self.pre_re[to // 2:to // 2 + h // 2], self.pre_im[to // 2:to // 2 + h // 2] = (
                pre.real, pre.imag)
            self.post_re[to // 2:to // 2 + h // 2], self.post_im[to // 2:to // 2 + h // 2] = (
                post.real, post.imag)
            nfft = h // 2
            tw = np.exp(-2j * np.pi * np.arange(nfft // 2) / nfft)
            self.tw_re[to // 4:to // 4 + h // 4], self.tw_im[to // 4:to // 4 + h // 4] = (
                tw.real, tw.imag)
            bits = int(math.log2(nfft))
            idx = np.arange(nfft)
            rev = np.zeros(nfft, dtype=np.int64)
            for b in range(bits):
                rev |= ((idx >> b) & 1) << (bits - 1 - b)
            self.rev[to // 2:to // 2 + h // 2] = rev
            self.costab[8 * to:8 * to + 8 * h] = np.cos(np.pi * np.arange(8 * h) / (4 * h))


def check_scales(scales) -> tuple[int, ...]:
    scales = tuple(sorted({int(s) for s in scales}))
    if not scales:
        raise ParameterError("scales must name at least one MDCT scale")
    for s in scales:
        if s not in MDCT_SCALES:
            raise ParameterError(f"scale {s} is not one of {list(MDCT_SCALES)}")
    return scales


def matching_pursuit(
    audio: np.ndarray,
    sample_rate: int,
    *,
    scales=MDCT_SCALES,
    max_atoms: int | None = None,
    snr_db: float | None = None,
    size_of=None,
    budget_bytes: float | None = None,
    greed: float = 1.0,
    max_round: int = 256,
    chunk: int = 2000,
    progress: ProgressBar | None = None,
) -> PursuitResult:
    """Greedy matching pursuit of ``audio`` over the union of MDCT bases at ``scales``.

    Parameters
    ----------
    audio : ndarray, shape (channels, samples)
    sample_rate : int
        Rate in Hz (only validated; the atoms live on the sample grid).
    scales : sequence of int
        Frame lengths 2N of the bases, from 128 .. 8192.
    max_atoms : int, optional
        Stop after this many steps. At least one stop rule is required.
    snr_db : float, optional
        Stop once the residual is this many dB under the signal.
    size_of, budget_bytes : callable, float, optional
        Bitrate stop rule: ``size_of(atoms: MdctAtoms) -> int`` bytes of the coded atoms; the
        pursuit runs in chunks and stops at the last step whose atoms fit ``budget_bytes``.
    greed : float
        In (0, 1]. 1 is plain matching pursuit. Below 1, each round also takes every further
        atom at least ``greed`` times the round's largest coefficient that is orthogonal to
        the atoms already taken in the round (same scale, or disjoint support), so coefficients
        stay exact and the frames they touch are re-analysed once per round: a weak-greedy
        pursuit that is several times faster at nearly the same sparsity.
    max_round : int
        Most atoms per round.
    chunk : int
        Steps between progress updates / bitrate checks.
    progress : callable, optional
        Called with the fraction done.
    """
    x = check_audio(audio, sample_rate)
    scales = check_scales(scales)
    if max_atoms is None and snr_db is None and budget_bytes is None:
        raise ParameterError("matching pursuit needs a stop rule: max_atoms, snr_db or a bitrate")
    if max_atoms is not None and (not isinstance(max_atoms, (int, np.integer)) or
                                  not 0 <= max_atoms <= 50_000_000):
        raise ParameterError(f"max_atoms = {max_atoms!r} is out of range; allowed [0, 5e7]")
    if snr_db is not None and (not math.isfinite(snr_db) or not 0 < snr_db <= 300):
        raise ParameterError(f"snr_db = {snr_db!r} is out of range; allowed (0, 300] dB")
    if not (isinstance(greed, (int, float)) and 0.0 < greed <= 1.0):
        raise ParameterError(f"greed = {greed!r} is out of range; allowed (0, 1]")
    if not isinstance(max_round, (int, np.integer)) or not 1 <= max_round <= 65536:
        raise ParameterError(f"max_round = {max_round!r} is out of range; allowed [1, 65536]")
    if budget_bytes is not None and (size_of is None or not budget_bytes > 0):
        raise ParameterError("a bitrate stop needs size_of and a positive budget")
    import time

    channels, length = x.shape
    hops = np.array([s // 2 for s in scales], dtype=np.int64)
    pad = int(hops.max())
    span = -(-length // pad) * pad
    resid = np.zeros((channels, pad + span + pad))
    resid[:, pad:pad + length] = x
    n_fr = np.array([n_frames(length, int(h)) for h in hops], dtype=np.int64)
    fr_off = np.concatenate([[0], np.cumsum(channels * n_fr)[:-1]]).astype(np.int64)
    co_off = np.concatenate([[0], np.cumsum(channels * n_fr * hops)[:-1]]).astype(np.int64)
    n_leaves = int((channels * n_fr).sum())
    n_pow2 = 1 << max(1, (n_leaves - 1).bit_length())
    coef = np.zeros(int((channels * n_fr * hops).sum()))
    fmax = np.full(n_pow2, -1.0)
    fbin = np.zeros(n_pow2, dtype=np.int64)
    tree = np.zeros(2 * n_pow2, dtype=np.int64)
    tb = _Tables(hops)
    wre, wim = np.zeros(pad), np.zeros(pad)
    stamp = np.zeros(n_pow2, dtype=np.int64)
    d_c, d_s, d_t = (np.zeros(max_round, dtype=np.int64) for _ in range(3))
    round_id = 0
    common = (hops, n_fr, fr_off, co_off, tb.tb_off, pad, channels, tb.win, tb.pre_re,
              tb.pre_im, tb.post_re, tb.post_im, tb.tw_re, tb.tw_im, tb.rev)
    sidx = np.array([MDCT_SCALES.index(s) for s in scales], dtype=np.int64)
    t0 = time.perf_counter()
    K.init_all(resid, coef, fmax, fbin, tree, n_pow2, *common, wre, wim)
    signal_energy = float(np.sum(x * x))
    energy = signal_energy
    target = signal_energy * 10.0 ** (-snr_db / 10.0) if snr_db is not None else -1.0
    limit = max_atoms if max_atoms is not None else 50_000_000
    cap = min(limit, 1 << 16)
    sel = [np.zeros(cap, dtype=np.int64) for _ in range(4)] + [np.zeros(cap)]
    energies = np.zeros(cap)
    n = 0
    fitted = None
    while n < limit and energy > target:
        step = min(chunk, limit - n)
        if n + step > sel[0].size:
            new = max(2 * sel[0].size, n + step)
            sel = [np.concatenate([a, np.zeros(new - a.size, dtype=a.dtype)]) for a in sel]
            energies = np.concatenate([energies, np.zeros(new - energies.size)])
        n0 = n
        n, energy, round_id = K.run(
            resid, coef, fmax, fbin, tree, n_pow2, *common, tb.costab, wre, wim, energy, target,
            step, float(greed), int(max_round), stamp, round_id, d_c, d_s, d_t,
            sel[0], sel[1], sel[2], sel[3], sel[4], n)
        energies[n0:n] = energy + np.cumsum(sel[4][n0:n][::-1] ** 2)[::-1] - sel[4][n0:n] ** 2
        if progress is not None:
            frac = n / limit if max_atoms is not None else 0.0
            if snr_db is not None and energy > 0:
                frac = max(frac, math.log10(signal_energy / energy) * 10.0 / snr_db)
            cur = 10 * math.log10(signal_energy / energy) if energy > 0 else math.inf
            progress(min(frac, 0.99), f"{n} atoms, {cur:.1f} dB")
        if budget_bytes is not None:
            selection = _selection(sel, n, sidx)
            if size_of(merge_selection(selection, sel[4][:n])) > budget_bytes:
                lo, hi = 0 if fitted is None else fitted, n
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if size_of(merge_selection(selection[:mid], sel[4][:mid])) <= budget_bytes:
                        lo = mid
                    else:
                        hi = mid
                n = lo
                energy = float(energies[n - 1]) if n else signal_energy
                break
            fitted = n
        if n - n0 < step:
            break
    seconds = time.perf_counter() - t0
    selection = _selection(sel, n, sidx)
    values = sel[4][:n].copy()
    snr = 10 * math.log10(signal_energy / energy) if energy > 0 else math.inf
    return PursuitResult(merge_selection(selection, values), n, snr, energies[:n].copy(),
                         signal_energy, seconds, selection, values)


def _selection(sel: list[np.ndarray], n: int, sidx: np.ndarray) -> np.ndarray:
    """(steps, 4) int64: index into MDCT_SCALES, channel, frame, bin."""
    out = np.stack([a[:n] for a in sel[:4]], axis=1)
    out[:, 0] = sidx[out[:, 0]]
    return out


def warm_up() -> None:
    """Compile the kernels (first call costs seconds) on a tiny signal."""
    matching_pursuit(np.zeros((1, 512)) + 1e-3, 8000, scales=(128, 256), max_atoms=2)
