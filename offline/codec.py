"""The MDCT codec: matching pursuit (optionally on the residual of a resonant fit) to a
quantized, ordered :class:`AtomSet` whose compact file fits a bitrate.

:func:`pursue` runs :func:`~atomsynth.offline.pursuit.matching_pursuit` with the given stop
rules, quantizes the atoms to their discrete features (velocity levels over a dB range under
the loudest atom) and orders them. With ``base`` (a resonant fit), the pursuit runs on
``audio - render(base)`` and the result carries both families; a bitrate then counts the whole
file, resonant atoms included.
"""

from __future__ import annotations

import math

import numpy as np

from atomsynth.offline.atomizer import check_audio, features_to_set
from atomsynth.offline.pursuit import PursuitResult, check_scales, matching_pursuit
from atomsynth.rt.atomfile import to_bytes
from atomsynth.rt.atoms import AtomSet, MdctAtoms
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.features import ORDERS, _check_quant, quantize_mdct
from atomsynth.rt.params import MDCT_SCALES
from atomsynth.rt.reference import render


def residual_of(audio: np.ndarray, sample_rate: int, base: AtomSet) -> np.ndarray:
    """``audio - render(base)`` at ``sample_rate`` over the audio's length, (C, T)."""
    x = check_audio(audio, sample_rate)
    if base.channels != x.shape[0]:
        raise ParameterError(f"the fit has {base.channels} channel(s), the audio "
                             f"{x.shape[0]}")
    if len(base.mdct):
        raise ParameterError(f"the fit already has {len(base.mdct)} MDCT atoms; a residual "
                             "layer needs a resonant-only fit")
    y = render(base, sample_rate=int(sample_rate), duration_s=x.shape[1] / sample_rate)
    return x - y[:, : x.shape[1]]


def quantized_set(atoms: MdctAtoms, *, sample_rate: int, channels: int, n_samples: int,
                  n_levels: int, range_db: float, order: str, provenance: dict,
                  base: AtomSet | None = None) -> AtomSet:
    """Quantize ``atoms`` to discrete features, order them and build the set (with ``base``'s
    resonant atoms and tables when given)."""
    feats = quantize_mdct(atoms, n_levels=n_levels, range_db=range_db)
    out = features_to_set(feats, sample_rate=sample_rate, channels=channels,
                          n_samples=n_samples, order=order, provenance=provenance)
    if base is not None:
        prov = dict(base.provenance)
        prov.update(out.provenance)
        prov["residual_of"] = base.provenance.get("tool", "resonant fit")
        out = base.replace(sample_rate=int(sample_rate), mdct=out.mdct,
                           duration_s=n_samples / float(sample_rate), provenance=prov)
    return out


def pursue(
    audio: np.ndarray,
    sample_rate: int,
    *,
    scales=MDCT_SCALES,
    max_atoms: int | None = None,
    snr_db: float | None = None,
    bitrate_bps: float | None = None,
    n_levels: int = 64,
    range_db: float = 96.0,
    order: str = "velocity",
    greed: float = 1.0,
    base: AtomSet | None = None,
    progress=None,
) -> tuple[AtomSet, PursuitResult]:
    """Matching pursuit to a quantized atom set (see the module docstring).

    Parameters
    ----------
    audio : ndarray, shape (channels, samples)
    sample_rate : int
    scales : sequence of int
        MDCT frame lengths of the union, 128 .. 8192.
    max_atoms, snr_db, bitrate_bps : optional
        Stop rules (at least one): pursuit steps, SNR in dB (of the unquantized pursuit, on
        the signal or residual being pursued), bitrate of the compact file in bit/s.
    n_levels, range_db : int, float
        Velocity quantization of the atoms.
    order : str
        Atom order in the set (:data:`atomsynth.rt.features.ORDERS`).
    greed : float
        Weak-greedy factor of :func:`matching_pursuit` (1 = plain matching pursuit).
    base : AtomSet, optional
        A resonant fit: pursue its residual and carry its atoms.
    progress : callable, optional

    Returns
    -------
    (AtomSet, PursuitResult)
    """
    x = check_audio(audio, sample_rate)
    scales = check_scales(scales)
    _check_quant(n_levels, range_db)
    if order not in ORDERS:
        raise ParameterError(f"order = {order!r} is not one of {list(ORDERS)}")
    if bitrate_bps is not None and (not math.isfinite(bitrate_bps) or bitrate_bps <= 0):
        raise ParameterError(f"bitrate_bps = {bitrate_bps!r} must be a positive bitrate")
    target = residual_of(x, sample_rate, base) if base is not None else x
    prov = {"tool": "atomsynth atomize", "method": "matching pursuit",
            "scales": list(scales), "greed": greed}
    kw = dict(sample_rate=int(sample_rate), channels=x.shape[0], n_samples=x.shape[1],
              n_levels=n_levels, range_db=range_db, order=order, provenance=prov, base=base)
    size_of = budget = None
    if bitrate_bps is not None:
        budget = bitrate_bps * x.shape[1] / sample_rate / 8.0

        def size_of(atoms: MdctAtoms) -> int:
            return len(to_bytes(quantized_set(atoms, **kw), compact=True))

    result = matching_pursuit(target, sample_rate, scales=scales, max_atoms=max_atoms,
                              snr_db=snr_db, size_of=size_of, budget_bytes=budget,
                              greed=greed, progress=progress)
    return quantized_set(result.atoms, **kw), result
