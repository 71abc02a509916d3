"""The codec's front door: ``encode`` spends a byte budget on MDCT atoms, ``decode`` renders.

``encode(audio, sample_rate, kbps=K)`` returns a compact ``.atoms`` file (format 1.2) whose every
byte, over the clip's duration, is at most ``K`` kb/s whenever that budget can hold any atom:

1. **Full band, native rate.** One sine-window MDCT (``scale`` samples per frame, default 2048)
   of every channel at the file's own sample rate; nothing is resampled or low-passed.
2. **Joint stereo.** For two channels the encoder codes L/R or mid/side
   (``M = (L + R) / sqrt 2``, ``S = (L - R) / sqrt 2``), whichever puts less energy in its
   weaker channel (``stereo="auto"``); the choice travels in the bitstream
   (``mdct_coding.stereo``) and the reader turns M/S atoms back into L/R atoms, so every
   renderer plays the file unchanged. Coefficients of all channels compete for one budget.
3. **Perceptual selection** (:mod:`atomsynth.offline.masking`): each coefficient is ranked by
   its power over a masking threshold (a spreading function over Bark bands), so what is
   masked costs nothing; plain loudness ranking is ``perceptual=False``.
4. **Quantization for the budget.** Velocities are log-magnitude steps of ``step_db`` dB over
   ``range_db`` dB under a short reference (:func:`short_ref`); the number of atoms is the
   largest that fits the budget (a binary search on the real file size).
5. **Bad cases.** When the budget cannot hold even the container plus a minimal payload
   (``min_payload_bytes``), the encoder keeps the most important atoms that fit in that
   minimum, exceeds the budget and says so in ``warnings``: a short clip never decodes to
   silence unless it *is* silence (an all-zero input gives an empty set).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from atomsynth.offline.atomizer import all_atoms, check_audio, check_scale, fit_bitrate
from atomsynth.offline.masking import importance
from atomsynth.rt.atomfile import from_bytes, to_bytes
from atomsynth.rt.atoms import AtomSet
from atomsynth.rt.errors import ParameterError
from atomsynth.rt.features import dequantize_mdct, order, quantize_mdct
from atomsynth.rt.mdct import mdct
from atomsynth.rt.mdct_codec import STEREO_MODES, ms_to_lr
from atomsynth.rt.reference import render

MIN_KBPS = 0.5
MAX_KBPS = 1000.0


@dataclass(frozen=True)
class Encoded:
    """What :func:`encode` made.

    Attributes
    ----------
    data : bytes
        The compact ``.atoms`` file.
    atom_set : AtomSet
        The set the file decodes to (L/R atoms at the input's rate and length).
    budget_bytes : float
        ``kbps * 1000 / 8 * duration``.
    stereo : str
        ``"mono"``, ``"lr"`` or ``"ms"``.
    warnings : tuple of str
        Human-readable problems (budget too small, ...); empty when all went to plan.
    """

    data: bytes
    atom_set: AtomSet
    budget_bytes: float
    stereo: str
    warnings: tuple[str, ...]

    @property
    def kbps(self) -> float:
        """Real bitrate: every byte of the file over the set's duration, kb/s."""
        return len(self.data) * 8.0 / self.atom_set.duration_s / 1000.0


def short_ref(top: float) -> float:
    """A reference magnitude ``>= top`` with few digits (cheap in the file's JSON header)."""
    if not top > 0:
        return 1.0
    unit = 10.0 ** (math.floor(math.log10(top)) - 2)  # one step in the third digit
    digits = math.ceil(top / unit)
    while float(f"{digits * unit:.3g}") < top:
        digits += 1
    return float(f"{digits * unit:.3g}")


def choose_stereo(coeffs: np.ndarray, stereo: str) -> str:
    """``"mono"`` for one channel; for two, ``stereo`` or (``"auto"``) L/R or M/S, whichever
    has less energy in its weaker channel; more channels are coded as they are (``"lr"``)."""
    if coeffs.shape[0] == 1:
        return "mono"
    if coeffs.shape[0] != 2 or stereo == "lr":
        return "lr"
    if stereo == "ms":
        return "ms"
    e_lr = np.sum(coeffs ** 2, axis=(1, 2))
    m, s = (coeffs[0] + coeffs[1]) / math.sqrt(2.0), (coeffs[0] - coeffs[1]) / math.sqrt(2.0)
    e_ms = np.array([np.sum(m ** 2), np.sum(s ** 2)])
    return "ms" if e_ms.min() < e_lr.min() else "lr"


def encode(
    audio: np.ndarray,
    sample_rate: int,
    *,
    kbps: float,
    scale: int = 2048,
    step_db: float = 3.0,
    range_db: float = 90.0,
    perceptual: bool = True,
    stereo: str = "auto",
    min_payload_bytes: int = 24,
) -> Encoded:
    """Encode ``audio`` into a compact atom file of at most ``kbps`` (see the module docstring).

    Parameters
    ----------
    audio : ndarray, shape (channels, samples) or (samples,)
    sample_rate : int
        Hz; the file keeps it (full band).
    kbps : float
        Budget in kb/s, every byte of the file counted (0.5 .. 1000).
    scale : int
        MDCT frame length in samples (128 .. 8192); halved (down to 128) while it is longer
        than the clip.
    step_db, range_db : float
        Velocity step and range under the reference, dB.
    perceptual : bool
        Rank coefficients by power over the masking threshold (else by power).
    stereo : str
        ``"auto"``, ``"lr"`` or ``"ms"`` (two channels only).
    min_payload_bytes : int
        Bytes of atoms written even when the budget is smaller than the container.

    Returns
    -------
    Encoded
    """
    x = check_audio(audio, sample_rate)
    scale = check_scale(scale)
    if not isinstance(kbps, (int, float)) or not MIN_KBPS <= kbps <= MAX_KBPS:
        raise ParameterError(f"kbps = {kbps!r} is out of range; allowed [{MIN_KBPS}, "
                             f"{MAX_KBPS}] kb/s")
    if not 0.1 <= step_db <= 12.0:
        raise ParameterError(f"step_db = {step_db!r} is out of range; allowed [0.1, 12] dB")
    if not 6.0 <= range_db <= 200.0:
        raise ParameterError(f"range_db = {range_db!r} is out of range; allowed [6, 200] dB")
    if stereo not in ("auto",) + STEREO_MODES[1:]:
        raise ParameterError(f"stereo = {stereo!r} is not one of auto, lr, ms")
    sr, n_samples = int(sample_rate), x.shape[1]
    duration_s = n_samples / sr
    budget = kbps * 1000.0 / 8.0 * duration_s
    while scale > 128 and scale > n_samples:  # a clip shorter than a frame: shorter frames
        scale //= 2
    coeffs = mdct(x, scale // 2)
    mode = choose_stereo(coeffs, stereo)
    if mode == "ms":
        coeffs = np.stack([(coeffs[0] + coeffs[1]) / math.sqrt(2.0),
                           (coeffs[0] - coeffs[1]) / math.sqrt(2.0)])
    n_levels = int(round(range_db / step_db)) + 1
    atoms = all_atoms(coeffs, scale)
    ref = short_ref(float(np.abs(atoms.value).max()) if len(atoms) else 0.0)
    feats = quantize_mdct(atoms, n_levels=n_levels, range_db=range_db, ref=ref)
    kept = dequantize_mdct(feats)  # the atoms that have a velocity, on the grid
    if perceptual and len(kept):
        score = importance(coeffs, kept, sample_rate=sr)
    else:
        score = kept.value ** 2
    rank = np.lexsort((kept.bin, kept.frame, kept.channel, -score))
    feats = feats.select(rank)
    quant = {"n_levels": n_levels, "range_db": float(range_db), "ref": ref, "order": "time",
             "stereo": mode}
    prov = {"tool": "atomsynth encode", "mdct_quantization": quant}

    def build(k: int) -> AtomSet:
        f = feats.select(slice(0, k))
        f = f.select(order(f, "time"))
        mdct_atoms = dequantize_mdct(f)
        if mode == "ms":
            mdct_atoms = ms_to_lr(mdct_atoms)
        return AtomSet(sample_rate=sr, channels=x.shape[0], mdct=mdct_atoms,
                       duration_s=duration_s, provenance=prov)

    warnings: list[str] = []
    floor = len(to_bytes(build(min(1, len(feats))), compact=True)) + min_payload_bytes
    target = budget
    if len(feats) and budget < floor:
        target = floor
        warnings.append(
            f"the budget of {kbps:g} kb/s ({budget:.0f} bytes over {duration_s:.3f} s) cannot "
            f"hold the container and any atoms; wrote the most important atoms that fit "
            f"{floor} bytes instead")
    k = fit_bitrate(len(feats), lambda k: len(to_bytes(build(k), compact=True)), target)
    if k == 0 and len(feats):
        k = 1
        warnings.append("not even one atom fits: wrote the most important one")
    atom_set = build(k)
    data = to_bytes(atom_set, compact=True)
    if len(data) > budget and not warnings:  # pragma: no cover - fit_bitrate guarantees it
        warnings.append(f"the file is {len(data)} bytes, over the {budget:.0f}-byte budget")
    return Encoded(data, from_bytes(data), budget, mode, tuple(warnings))


def decode(data: bytes, *, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Render an encoded file's bytes: (audio (channels, samples) float64, sample rate)."""
    atom_set = from_bytes(data)
    sr = int(sample_rate or atom_set.sample_rate)
    return render(atom_set, sample_rate=sr, duration_s=atom_set.duration_s), sr

