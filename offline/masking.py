"""A simple simultaneous-masking model for ranking MDCT coefficients (the encoder's selection).

Per channel and MDCT frame: the power of each bin is summed into critical bands (Bark,
Zwicker's formula ``z = 13 atan(0.00076 f) + 3.5 atan((f / 7500)^2)``, one band per Bark);
each band masks its neighbours through a triangular spreading function (``LOWER_SLOPE_DB``
per Bark towards lower bands, ``UPPER_SLOPE_DB`` towards higher ones); the masking threshold of
a bin is its band's spread energy, ``OFFSET_DB`` lower, shared among the band's bins, and never
under ``FLOOR_DB`` below the loudest bin of the file (a stand-in for the threshold in quiet,
since the playback level is unknown). A frame's threshold also decays from the previous frame's
by at most ``POST_MASKING_DB_PER_S`` (forward masking after loud sounds). A coefficient's
*importance* is its power over that threshold (signal-to-mask ratio): the encoder spends bits
on the largest ratios, so what is masked costs nothing.
"""

from __future__ import annotations

import numpy as np

from atomsynth.rt.atoms import MdctAtoms

LOWER_SLOPE_DB = 27.0
UPPER_SLOPE_DB = 12.0
OFFSET_DB = 12.0
FLOOR_DB = 60.0
POST_MASKING_DB_PER_S = 300.0


def bark(f_hz: np.ndarray) -> np.ndarray:
    """Critical-band rate in Bark of frequencies in Hz (Zwicker and Terhardt)."""
    f = np.asarray(f_hz, dtype=np.float64)
    return 13.0 * np.arctan(0.00076 * f) + 3.5 * np.arctan((f / 7500.0) ** 2)


def masking_threshold(coeffs: np.ndarray, sample_rate: int, *, offset_db: float = OFFSET_DB,
                      floor_db: float = FLOOR_DB) -> np.ndarray:
    """Per-bin masking threshold (power) of MDCT coefficients.

    Parameters
    ----------
    coeffs : ndarray, shape (channels, frames, N)
        Orthonormal MDCT coefficients of hop ``N``.
    sample_rate : int
        Hz; bin ``k`` is centred at ``(k + 1/2) sample_rate / (2 N)``.

    Returns
    -------
    ndarray, shape (channels, frames, N)
    """
    n = coeffs.shape[-1]
    power = coeffs ** 2
    band = np.floor(bark((np.arange(n) + 0.5) * sample_rate / (2.0 * n))).astype(np.int64)
    n_bands = int(band.max()) + 1
    width = np.bincount(band, minlength=n_bands).astype(np.float64)
    onehot = np.zeros((n, n_bands))
    onehot[np.arange(n), band] = 1.0
    energy = power @ onehot  # (C, F, bands)
    dz = np.arange(n_bands)[None, :] - np.arange(n_bands)[:, None]  # maskee - masker
    spread_db = np.where(dz >= 0, -UPPER_SLOPE_DB * dz, LOWER_SLOPE_DB * dz)
    spread = 10.0 ** ((spread_db - offset_db) / 10.0)  # (masker, maskee)
    thr_band = (energy @ spread) / np.maximum(width, 1.0)
    top = float(power.max()) if power.size else 0.0
    floor = top * 10.0 ** (-floor_db / 10.0) if top > 0 else 1e-30
    thr = np.maximum(thr_band[..., band], floor)
    hop_s = n / float(sample_rate)
    keep = 10.0 ** (-POST_MASKING_DB_PER_S * hop_s / 10.0)
    for t in range(1, thr.shape[1]):
        np.maximum(thr[:, t], thr[:, t - 1] * keep, out=thr[:, t])
    return thr


def importance(coeffs: np.ndarray, atoms: MdctAtoms, *, sample_rate: int) -> np.ndarray:
    """Signal-to-mask ratio of each of ``atoms`` (one scale, positions into ``coeffs``)."""
    thr = masking_threshold(coeffs, sample_rate)
    return atoms.value ** 2 / thr[atoms.channel, atoms.frame, atoms.bin]
