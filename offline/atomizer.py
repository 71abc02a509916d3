"""The MDCT atomizer: every MDCT bin of every channel becomes an atom with discrete features.

``atomize`` takes the orthonormal sine-window MDCT of one scale (:mod:`atomsynth.rt.mdct`),
turns every nonzero coefficient into an atom (scale, frame, bin, channel, sign, quantized
velocity; :mod:`atomsynth.rt.features`), keeps the important ones (the loudest ``keep_top``, or
all within ``threshold_db`` of the loudest, or as many loudest as fit ``bitrate_bps`` in a
compact ``.atoms`` file) and orders them. The values in the returned set are the *dequantized*
velocities with their signs, so the set is exactly its discrete features: saving, coding and
re-atomizing give back the same atoms.
"""

from __future__ import annotations

import math

import numpy as np

from atomsynth.rt.atoms import AtomSet, MdctAtoms
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.features import (
    ORDERS,
    MdctFeatures,
    _check_quant,
    dequantize_mdct,
    quantize_mdct,
)
from atomsynth.rt.features import (
    order as feature_order,
)
from atomsynth.rt.mdct import mdct
from atomsynth.rt.params import MDCT_SCALES, check_sample_rate


def check_audio(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Validate ``audio`` (channels, samples) and ``sample_rate``; returns float64 (C, T)."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or not 1 <= x.shape[0] <= 64 or x.shape[1] == 0:
        raise ParameterError(f"audio must have shape (1..64 channels, samples > 0), got "
                             f"{np.shape(audio)}")
    if not np.isfinite(x).all():
        raise ParameterError("audio contains NaN or infinite samples")
    check_sample_rate(sample_rate)
    return x


def check_scale(scale: int) -> int:
    if scale not in MDCT_SCALES:
        raise ParameterError(f"scale = {scale!r} is not one of {list(MDCT_SCALES)}")
    return int(scale)


def all_atoms(coeffs: np.ndarray, scale: int) -> MdctAtoms:
    """Every nonzero coefficient of ``coeffs`` (C, F, N) as an MDCT atom of ``scale``."""
    ch, fr, k = np.nonzero(coeffs)
    return MdctAtoms(ch.size, scale=scale, frame=fr, bin=k, channel=ch, value=coeffs[ch, fr, k])


def features_to_set(features: MdctFeatures, *, sample_rate: int, channels: int,
                    n_samples: int, order: str, provenance: dict) -> AtomSet:
    """Order ``features``, dequantize and wrap them in an :class:`AtomSet`."""
    features = features.select(feature_order(features, order))
    atoms = dequantize_mdct(features)
    prov = dict(provenance)
    prov["mdct_quantization"] = {"n_levels": features.n_levels, "range_db": features.range_db,
                                 "ref": features.ref, "order": order}
    return AtomSet(sample_rate=int(sample_rate), channels=int(channels), mdct=atoms,
                   duration_s=n_samples / float(sample_rate), provenance=prov)


def loudest_first(features: MdctFeatures) -> np.ndarray:
    """Permutation putting the loudest atoms first; ties broken by position (deterministic)."""
    return feature_order(features, "velocity")


def fit_bitrate(n_max: int, size_of, budget_bytes: float) -> int:
    """Largest ``k <= n_max`` with ``size_of(k) <= budget_bytes`` (``size_of`` is monotone)."""
    if size_of(n_max) <= budget_bytes:
        return n_max
    lo, hi = 0, n_max  # size_of(lo) fits (or lo == 0), size_of(hi) does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if size_of(mid) <= budget_bytes:
            lo = mid
        else:
            hi = mid
    return lo


def atoms_for_snr(coeffs: np.ndarray, snr_db: list[float]) -> list[int | None]:
    """Fewest largest coefficients of an orthonormal transform reaching each SNR (dB).

    The error of keeping the K largest is the energy of the others (Parseval), so this is
    exact for one MDCT scale. ``None`` where even all coefficients do not reach it.
    """
    e = np.sort(np.ravel(coeffs) ** 2)[::-1]
    total = float(e.sum())
    rest = total - np.cumsum(e)
    out: list[int | None] = []
    for snr in snr_db:
        hit = np.flatnonzero(rest <= total * 10.0 ** (-snr / 10.0))
        out.append(int(hit[0]) + 1 if hit.size else None)
    return out


def atomize(
    audio: np.ndarray,
    sample_rate: int,
    *,
    scale: int = 2048,
    keep_top: int | None = None,
    threshold_db: float | None = None,
    bitrate_bps: float | None = None,
    n_levels: int = 64,
    range_db: float = 96.0,
    order: str = "velocity",
    snr_db: float | None = None,
) -> AtomSet:
    """MDCT atoms of ``audio`` with discrete features.

    Parameters
    ----------
    audio : ndarray, shape (channels, samples) or (samples,)
        The signal, float64.
    sample_rate : int
        Its rate in Hz (the atom set's native rate).
    scale : int
        MDCT frame length 2N in samples, one of 128 .. 8192.
    keep_top : int, optional
        Keep only the ``keep_top`` loudest atoms.
    threshold_db : float, optional
        Keep only atoms at most ``threshold_db`` dB under the loudest.
    bitrate_bps : float, optional
        Keep as many of the loudest atoms as fit this bitrate in a compact ``.atoms`` file
        (every byte of the file counted, over the signal's duration).
    n_levels, range_db : int, float
        Velocity quantization: ``n_levels`` levels over ``range_db`` dB under the loudest atom
        (atoms further down are dropped).
    order : str
        ``velocity`` (loudest first), ``time``, ``frequency``, ``channel`` or ``none``.
    snr_db : float, optional
        Keep the fewest loudest atoms whose (unquantized) coefficients reach this SNR.

    Returns
    -------
    AtomSet
        ``mdct`` holds the kept atoms (dequantized values), ``duration_s`` is the input's
        length; ``provenance["mdct_quantization"]`` records ``n_levels``, ``range_db``, ``ref``
        and ``order``.
    """
    x = check_audio(audio, sample_rate)
    scale = check_scale(scale)
    _check_quant(n_levels, range_db)
    if order not in ORDERS:
        raise ParameterError(f"order = {order!r} is not one of {list(ORDERS)}")
    if keep_top is not None and (not isinstance(keep_top, (int, np.integer)) or keep_top < 0):
        raise ParameterError(f"keep_top = {keep_top!r} must be a non-negative integer")
    if threshold_db is not None and (not math.isfinite(threshold_db) or threshold_db < 0):
        raise ParameterError(f"threshold_db = {threshold_db!r} must be a finite value >= 0 dB")
    if bitrate_bps is not None and (not math.isfinite(bitrate_bps) or bitrate_bps <= 0):
        raise ParameterError(f"bitrate_bps = {bitrate_bps!r} must be a positive bitrate")
    if snr_db is not None and (not math.isfinite(snr_db) or snr_db <= 0):
        raise ParameterError(f"snr_db = {snr_db!r} must be a positive number of dB")
    coeffs = mdct(x, scale // 2)
    feats = quantize_mdct(all_atoms(coeffs, scale), n_levels=n_levels, range_db=range_db)
    feats = feats.select(loudest_first(feats))
    if threshold_db is not None:
        below = (feats.n_levels - 1 - feats.columns["velocity"]) * feats.step_db
        feats = feats.select(below <= threshold_db + 1e-9)
    if keep_top is not None:
        feats = feats.select(slice(0, int(keep_top)))
    if snr_db is not None:
        feats = feats.select(slice(0, atoms_for_snr(coeffs, [snr_db])[0] or len(feats)))
    prov = {"tool": "atomsynth atomize", "method": "mdct", "scale": scale}
    args = dict(sample_rate=sample_rate, channels=x.shape[0], n_samples=x.shape[1],
                order=order, provenance=prov)
    if bitrate_bps is not None:
        from atomsynth.rt.atomfile import to_bytes

        budget = bitrate_bps * x.shape[1] / sample_rate / 8.0

        def size_of(k: int) -> int:
            return len(to_bytes(features_to_set(feats.select(slice(0, k)), **args),
                                compact=True))

        feats = feats.select(slice(0, fit_bitrate(len(feats), size_of, budget)))
    return features_to_set(feats, **args)
