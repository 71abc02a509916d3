"""Opus as the codec to beat: encode and decode a signal through ``opusenc`` / ``opusdec``.

Uses the opus-tools command-line programs (Debian package ``opus-tools``). The signal is written
to a temporary 24-bit WAV, encoded with ``opusenc --bitrate K`` (VBR, the default), decoded with
``opusdec --rate <input rate>`` to float WAV, and cut (or zero-padded) to the input's length:
opusdec already removes the encoder's pre-skip, so the output is sample-aligned. The real
bitrate is the ``.opus`` file's size (every byte, Ogg framing and headers included) over the
input's duration.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from atomsynth.rt.errors import AtomsynthError, ParameterError
from atomsynth.rt.params import check_sample_rate


@dataclass(frozen=True)
class OpusResult:
    """Decoded audio (channels, samples) float64, the ``.opus`` size and the real bitrate."""

    audio: np.ndarray
    nbytes: int
    bitrate_bps: float
    target_kbps: float


def opus_available() -> bool:
    """True if ``opusenc`` and ``opusdec`` are on the PATH."""
    return shutil.which("opusenc") is not None and shutil.which("opusdec") is not None


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise AtomsynthError(f"{name} was not found on the PATH; install opus-tools "
                             "(apt-get install opus-tools)")
    return path


def opus_roundtrip(audio: np.ndarray, sample_rate: int, *, bitrate_kbps: float,
                   extra_args: tuple[str, ...] = ()) -> OpusResult:
    """Encode ``audio`` (channels, samples) with Opus at ``bitrate_kbps`` and decode it.

    Parameters
    ----------
    audio : ndarray, shape (channels, samples)
        Input in [-1, 1] (values beyond are clipped by the 24-bit WAV).
    sample_rate : int
        Rate of ``audio`` in Hz; the decoded audio has the same rate and length.
    bitrate_kbps : float
        Target bitrate, 6 to 256 kb/s (opusenc's range for mono is 6 to 256).
    extra_args : tuple of str
        More opusenc options (e.g. ``("--hard-cbr",)``).

    Returns
    -------
    OpusResult
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[1] == 0 or not 1 <= x.shape[0] <= 8:
        raise ParameterError(f"audio must have shape (1..8 channels, samples > 0), got {x.shape}")
    check_sample_rate(sample_rate, hi=192000)
    if not np.isfinite(bitrate_kbps) or not 6.0 <= bitrate_kbps <= 512.0:
        raise ParameterError(f"bitrate_kbps = {bitrate_kbps!r} is out of range; allowed "
                             "[6, 512] kb/s")
    enc, dec = _tool("opusenc"), _tool("opusdec")
    with tempfile.TemporaryDirectory(prefix="atomsynth-opus-") as tmp:
        src, coded, out = Path(tmp, "in.wav"), Path(tmp, "x.opus"), Path(tmp, "out.wav")
        sf.write(src, np.clip(x, -1.0, 1.0).T, int(sample_rate), subtype="PCM_24")
        _call([enc, "--quiet", "--bitrate", f"{bitrate_kbps:g}", *extra_args, str(src),
               str(coded)])
        _call([dec, "--quiet", "--rate", str(int(sample_rate)), "--float", str(coded),
               str(out)])
        data, sr = sf.read(out, dtype="float64", always_2d=True)
        nbytes = coded.stat().st_size
    y = np.zeros_like(x)
    n = min(x.shape[1], data.shape[0])
    y[:, :n] = data[:n, : x.shape[0]].T
    return OpusResult(y, nbytes, nbytes * 8.0 * sample_rate / x.shape[1], float(bitrate_kbps))


def _call(cmd: list[str]) -> None:
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AtomsynthError(f"{Path(cmd[0]).name} failed: {exc}") from None
    if res.returncode != 0:
        raise AtomsynthError(f"{Path(cmd[0]).name} failed ({res.returncode}): "
                             f"{res.stderr.strip()[-500:]}")
