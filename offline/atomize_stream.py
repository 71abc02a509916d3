"""Single-scale atomizing of an audio file of any length in bounded memory.

The same atoms as :func:`atomsynth.offline.atomizer.atomize` with ``keep_top`` and/or
``threshold_db`` (or neither: every coefficient within ``range_db``), computed from the file in
chunks of frames instead of the whole signal:

1. pass 1 reads the file chunk by chunk and finds the loudest coefficient (the velocity
   reference);
2. pass 2 reads it again, quantizes each chunk's coefficients against that reference and keeps
   the wanted ones (a running top-``keep_top`` in the loudest-first order);
3. pass 3 measures the SNR on [0, length): the inverse MDCT of each chunk's coefficients (the
   signal) and of their difference from the kept atoms (the error), overlap-added chunk by
   chunk, so the signal is never held or rendered in full.

Memory: one chunk of audio and coefficients (``chunk_frames`` x hop x channels) plus the kept
atoms.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator

import numpy as np
import soundfile as sf

from atomsynth.offline.atomizer import (
    all_atoms,
    check_scale,
    features_to_set,
    loudest_first,
)
from atomsynth.rt.atoms import AtomSet, MdctAtoms
from atomsynth.rt.errors import AtomsynthError, ParameterError
from atomsynth.rt.features import MdctFeatures, dequantize_mdct, quantize_mdct
from atomsynth.rt.mdct import imdct_frames, mdct, n_frames


def _chunks(path: str | os.PathLike, hop: int, chunk_frames: int
            ) -> Iterator[tuple[int, np.ndarray]]:
    """``(first frame, coefficients (C, F, hop))`` for consecutive chunks of frames."""
    try:
        f = sf.SoundFile(str(path))
    except (RuntimeError, sf.LibsndfileError, OSError) as exc:
        raise AtomsynthError(f"{path}: cannot read audio ({exc})") from None
    with f:
        length = f.frames
        total = n_frames(length, hop)
        for t0 in range(0, total, chunk_frames):
            t1 = min(t0 + chunk_frames, total)
            a = 0 if t0 == 0 else (t0 - 1) * hop
            b = min(t1 * hop, length)
            f.seek(a)
            y = f.read(b - a, dtype="float64", always_2d=True).T
            if not np.isfinite(y).all():
                raise AtomsynthError(f"{path}: NaN or infinite samples near {a / f.samplerate:.3f}"
                                     " s")
            c = mdct(y, hop)
            yield t0, (c[:, :t1] if t0 == 0 else c[:, 1 : t1 - t0 + 1])


def atomize_file(path: str | os.PathLike, *, scale: int = 2048, keep_top: int | None = None,
                 threshold_db: float | None = None, n_levels: int = 64, range_db: float = 96.0,
                 order: str = "velocity", chunk_frames: int = 512,
                 progress: Callable[[float], None] | None = None) -> tuple[AtomSet, float]:
    """Atomize the file at ``path`` (see the module). Returns ``(atom_set, snr_db)``."""
    scale = check_scale(scale)
    quantize_mdct(MdctAtoms.empty(), n_levels=n_levels, range_db=range_db)  # checks them
    if keep_top is not None and (not isinstance(keep_top, (int, np.integer)) or keep_top < 0):
        raise ParameterError(f"keep_top = {keep_top!r} must be a non-negative integer")
    if threshold_db is not None and (not math.isfinite(threshold_db) or threshold_db < 0):
        raise ParameterError(f"threshold_db = {threshold_db!r} must be a finite value >= 0 dB")
    hop = scale // 2
    info = sf.info(str(path))
    sr, channels, length = int(info.samplerate), int(info.channels), int(info.frames)
    if length == 0:
        raise ParameterError(f"{path}: the file holds no samples")
    total = n_frames(length, hop)
    ref = 0.0
    for i, (_, c) in enumerate(_chunks(path, hop, chunk_frames)):
        ref = max(ref, float(np.abs(c).max(initial=0.0)))
        if progress is not None:
            progress(0.5 * min(1.0, (i + 1) * chunk_frames / total))
    ref = ref if ref > 0 else 1.0
    kept: MdctFeatures | None = None
    for i, (t0, c) in enumerate(_chunks(path, hop, chunk_frames)):
        atoms = all_atoms(c, scale)
        feats = quantize_mdct(atoms, n_levels=n_levels, range_db=range_db, ref=ref)
        feats.columns["frame"] = feats.columns["frame"] + t0
        if threshold_db is not None:
            below = (feats.n_levels - 1 - feats.columns["velocity"]) * feats.step_db
            feats = feats.select(below <= threshold_db + 1e-9)
        kept = feats if kept is None else _concat(kept, feats)
        if keep_top is not None and len(kept) > keep_top:
            kept = kept.select(loudest_first(kept)[:keep_top])
        if progress is not None:
            progress(0.5 + 0.5 * min(1.0, (i + 1) * chunk_frames / total))
    kept = kept.select(loudest_first(kept))
    # the error of the kept atoms on [0, length), by inverse MDCT and overlap-add chunk by
    # chunk (the signal itself is the inverse of all coefficients: exact reconstruction)
    kept_atoms = dequantize_mdct(kept)
    sig = err = 0.0
    carry = np.zeros((2, channels, hop))
    for t0, c in _chunks(path, hop, chunk_frames):
        nf = c.shape[1]
        sel = (kept_atoms.frame >= t0) & (kept_atoms.frame < t0 + nf)
        q = np.zeros_like(c)
        q[kept_atoms.channel[sel], kept_atoms.frame[sel] - t0, kept_atoms.bin[sel]] = \
            kept_atoms.value[sel]
        start = (t0 - 1) * hop  # seg covers samples [start, start + (nf + 1) hop)
        lo, hi = max(0, -start), max(0, min(nf * hop, length - start))
        for k, coeffs in enumerate((c, c - q)):
            blocks = imdct_frames(coeffs)  # (C, nf, 2 hop)
            seg = np.zeros((channels, (nf + 1) * hop))
            seg[:, :hop] += carry[k]
            seg[:, : nf * hop] += blocks[..., :hop].reshape(channels, -1)
            seg[:, hop:] += blocks[..., hop:].reshape(channels, -1)
            e = float(np.sum(seg[:, lo:hi] ** 2))
            sig, err = (sig + e, err) if k == 0 else (sig, err + e)
            carry[k] = seg[:, nf * hop :]
    end = (total - 1) * hop  # the last carry covers [end, end + hop)
    lo, hi = max(0, -end), max(0, min(hop, length - end))
    sig += float(np.sum(carry[0][:, lo:hi] ** 2))
    err += float(np.sum(carry[1][:, lo:hi] ** 2))
    snr = 10.0 * math.log10(sig / err) if err > 0 else math.inf
    prov = {"tool": "atomsynth atomize", "method": "mdct", "scale": scale}
    aset = features_to_set(kept, sample_rate=sr, channels=channels, n_samples=length,
                           order=order, provenance=prov)
    return aset, snr


def _concat(a: MdctFeatures, b: MdctFeatures) -> MdctFeatures:
    cols = {k: np.concatenate([a.columns[k], b.columns[k]]) for k in a.columns}
    return MdctFeatures(cols, a.ref, a.range_db, a.n_levels, np.concatenate([a.group, b.group]))


__all__ = ["atomize_file"]
